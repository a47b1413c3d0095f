"""The `zizhu` command line (命令行): serve, worker, migrate, demo, import, compare, carry-over, verify-counts, …

Each subcommand is one `add_*` function registered with `@subcommand`: it declares its parser
(help for every option, choices, defaults) and the `run_*` function that carries it out. Adding a
subcommand is writing one such pair. Settings are validated once, before any command runs; any
mistake ends as one Chinese line that says how to fix it (a traceback only with `--debug`), and
every database command first checks, with a timeout, that the database can be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from zizhu.api.cli.progress import Progress
from zizhu.domain import db, installation, settings
from zizhu.domain.errors import DomainError, NotOperational
from zizhu.domain.imports.kinds import KINDS
from zizhu.domain.operations import logs
from zizhu.domain.reference.codes import Role, Stage

SUBCOMMANDS: list[Callable[[Any], None]] = []
DEFAULT_MAX_ERRORS = 200


def subcommand(add: Callable[[Any], None]) -> Callable[[Any], None]:
    """Register a function that adds one subcommand to the `zizhu` parser."""
    SUBCOMMANDS.append(add)
    return add


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (默认) unless it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += "（默认：%(default)s）"
        return text


def _version() -> str:
    try:
        return metadata.version("zizhu")
    except metadata.PackageNotFoundError:
        return "未安装"


def _run_with_database(work: Callable[[], Awaitable[Any]]) -> Any:
    """Check the database answers, open the ORM, run `work`, close the ORM."""

    async def session():
        await db.check_reachable()
        await db.init()
        try:
            return await work()
        finally:
            await db.close()

    return asyncio.run(session())


def _migrate() -> None:
    async def go():
        await db.check_reachable()
        await installation.migrate()

    asyncio.run(go())


# --- serve, worker, migrate ---------------------------------------------------------------


def run_migrate(args) -> int:
    _migrate()
    print("数据库已迁移到最新版本，代码表和 2023-2024-1 学前资助名单填报/审核时间已就绪")
    return 0


@subcommand
def add_migrate(sub) -> None:
    p = sub.add_parser("migrate", help="应用数据库迁移并更新代码表（可重复执行）", formatter_class=HelpFormatter)
    p.set_defaults(func=run_migrate)


def _port_in_use(host: str, port: int) -> bool:
    """Whether another process listens on host:port (bound as uvicorn binds: SO_REUSEADDR)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _metrics_dir(port: int) -> Path:
    """The multiprocess metrics folder: $PROMETHEUS_MULTIPROC_DIR, else one per port in the temp folder."""
    import tempfile

    from zizhu.domain.operations import metrics

    return Path(metrics.multiprocess_dir() or Path(tempfile.gettempdir()) / f"zizhu-metrics-{port}")


def run_serve(args) -> int:
    import uvicorn

    from zizhu.domain.operations import metrics

    if _port_in_use(args.host, args.port):
        raise NotOperational(f"端口 {args.host}:{args.port} 已被占用：请先停止占用它的进程，或用 --port 换一个端口")
    if args.no_migrate:
        asyncio.run(db.check_reachable())
    else:
        _migrate()
    print(f"zizhu API: http://{args.host}:{args.port}/graphql  (/healthz /readyz /metrics)", flush=True)
    cfg = settings.load()
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_config": None,
        "log_level": cfg.log_level.lower(),
        "access_log": False,  # one record per request comes from zizhu.access instead
        **proxy_options(cfg),
    }
    try:
        if args.workers > 1:  # several processes: uvicorn imports the app factory in each of them
            settings.share_development_key()  # one development signing key for every process
            metrics.prepare_multiprocess_dir(_metrics_dir(args.port))
            uvicorn.run("zizhu.api.app:create_served_app", factory=True, workers=args.workers, **options)
        else:
            from zizhu.api.app import create_app

            uvicorn.run(create_app(), **options)
    except SystemExit as stop:  # uvicorn could not start (it already logged why)
        if stop.code:
            raise NotOperational(f"API 未能在 {args.host}:{args.port} 启动（见上方日志）") from None
    return 0


def proxy_options(cfg: settings.Settings) -> dict:
    """uvicorn's proxy-header options: X-Forwarded-For / -Proto believed only from the addresses in
    ZIZHU_TRUSTED_PROXIES (none by default: the client is the TCP peer)."""
    trusted = cfg.trusted_proxies
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or ""}


@subcommand
def add_serve(sub) -> None:
    p = sub.add_parser("serve", help="启动 GraphQL API（先迁移数据库）", formatter_class=HelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="监听地址；容器中用 0.0.0.0")
    p.add_argument("--port", type=int, default=8000, help="监听端口")
    p.add_argument("--no-migrate", action="store_true", help="启动前不迁移数据库（由单独的 migrate 步骤负责时）")
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="服务进程数（共用一个端口；生产环境约每个 CPU 核一个）",
    )
    p.set_defaults(func=run_serve)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"须为正整数，而不是“{text}”")
    return value


def run_worker(args) -> int:
    from zizhu.domain.comparison import queue
    from zizhu.workers import run_worker as start

    asyncio.run(db.check_reachable())
    asyncio.run(queue.check_reachable())
    start()
    return 0


def run_worker_check(args) -> int:
    """Exit 0 when a worker of this queue (on this host with --this-host) sent a heartbeat recently."""
    import socket

    from zizhu.domain.comparison import queue
    from zizhu.domain.operations import heartbeat

    asyncio.run(queue.check_reachable())  # Redis down: say so, not that a comparison could not be queued
    alive = asyncio.run(heartbeat.live_workers())
    if args.this_host:
        alive = [w for w in alive if w.host == socket.gethostname()]
    if not alive:
        print(f"没有存活的 worker（{settings.load().worker_stale_seconds} 秒内无心跳）", file=sys.stderr)
        return 1
    print(f"存活的 worker：{', '.join(w.worker_id for w in alive)}")
    return 0


@subcommand
def add_worker(sub) -> None:
    p = sub.add_parser(
        "worker", help="启动后台 worker：每日 02:00（北京时间）比对与按需任务", formatter_class=HelpFormatter
    )
    p.add_argument("--check", action="store_true", help="不启动，只检查是否有 worker 近期发出心跳（健康检查用）")
    p.add_argument("--this-host", action="store_true", help="与 --check 合用：只看本机（本容器）的 worker")
    p.set_defaults(func=lambda args: run_worker_check(args) if args.check else run_worker(args))


# --- data ---------------------------------------------------------------------------------


def run_demo(args) -> int:
    from zizhu.domain.demo import DEMO_ACCOUNTS, load_demo

    _migrate()
    progress = Progress()
    try:
        summary = _run_with_database(lambda: load_demo(scale=args.scale, progress=progress, force=args.force))
    finally:
        progress.close()
    print("演示数据已载入：" + "，".join(f"{k} {v}" for k, v in summary.items()))
    print("演示账号（用户名 / 密码 / 角色 / 范围；已存在的同名账号保持原样，未改密码）：")
    for username, password, role, scope, _stages in DEMO_ACCOUNTS:
        print(f"  {username:<14} {password:<14} {role:<20} {scope}")
    return 0


@subcommand
def add_demo(sub) -> None:
    p = sub.add_parser(
        "demo", help="载入演示数据和演示账号（仅用于试用，勿在生产环境执行）", formatter_class=HelpFormatter
    )
    p.add_argument(
        "--scale", type=int, default=None, metavar="N", help="生成约 N 名学生（基准测试用）；默认为小型演示集"
    )
    p.add_argument("--force", action="store_true", help="数据库已有数据或不是开发环境时也载入（已有账号不会被改动）")
    p.set_defaults(func=run_demo)


def _import_file(text: str) -> Path:
    path = Path(text)
    if path.is_dir():
        raise NotOperational(f"{text} 是一个目录：请指定要导入的 CSV 或 .xlsx 文件")
    if not path.is_file():
        raise NotOperational(f"文件 {text} 不存在：请检查路径和文件名")
    return path


def run_import(args) -> int:
    from zizhu.domain.imports import ImportRejected
    from zizhu.domain.imports import run_import as import_file

    path = _import_file(args.file)
    progress = Progress()
    try:
        result = _run_with_database(
            lambda: import_file(args.kind, path, actor="cli", progress=progress, encoding=args.encoding)
        )
    except ImportRejected as rejected:
        progress.close()
        if len(rejected.errors) == 1 and not rejected.errors[0].column:  # the file as a whole: one line
            (e,) = rejected.errors
            print(f"文件被拒绝，未写入任何数据：第{e.row}行 {e.message}", file=sys.stderr)
            return 2
        print(f"文件被拒绝，未写入任何数据：{len(rejected.errors)} 处错误", file=sys.stderr)
        for e in rejected.errors[: args.max_errors]:
            print(f"  第{e.row}行 [{e.column}] {e.message}", file=sys.stderr)
        if len(rejected.errors) > args.max_errors:
            print(f"  …… 另有 {len(rejected.errors) - args.max_errors} 处错误", file=sys.stderr)
        return 2
    progress.close()
    print(f"导入完成：共 {result.rows} 行，新增 {result.inserted}，更新 {result.updated}，未变 {result.unchanged}")
    return 0


@subcommand
def add_import(sub) -> None:
    kinds = "\n".join(f"  {name:<15} {spec.label}：{'、'.join(spec.headers)}" for name, spec in KINDS.items())
    p = sub.add_parser(
        "import",
        help="导入 CSV 或 .xlsx 文件（整份导入或整份拒绝）",
        formatter_class=HelpFormatter,
        description=f"首行为表头。各类文件的表头：\n{kinds}",
    )
    p.add_argument("kind", choices=list(KINDS), help="文件类型")
    p.add_argument("file", help="CSV（UTF-8 或 GBK/GB18030）或 .xlsx 文件")
    p.add_argument("--encoding", default=None, help="CSV 的编码，如 utf-8、gb18030；默认自动识别")
    p.add_argument("--max-errors", type=int, default=DEFAULT_MAX_ERRORS, help="被拒绝时最多列出多少处错误")
    p.set_defaults(func=run_import)


def run_compare(args) -> int:
    from zizhu.domain.comparison.engine import run_comparison_now
    from zizhu.domain.comparison.schedule import require_known_period

    async def go():
        await require_known_period(args.period)
        return await run_comparison_now(args.period, trigger="CLI", requested_by="cli", full=args.full)

    run = _run_with_database(go)
    print(
        f"比对批次 {run.id} {run.status}：特殊群体 {run.members}，匹配 {run.matched}，未匹配 {run.unmatched}，"
        f"已资助 {run.funded}，未资助 {run.unfunded}"
    )
    if run.status == "SUCCEEDED" and not run.members:
        print(
            f"警告：资助周期 {args.period} 没有特殊群体学生名单，请先导入（zizhu import special-groups …）",
            file=sys.stderr,
        )
    return 0 if run.status == "SUCCEEDED" else 1


@subcommand
def add_compare(sub) -> None:
    p = sub.add_parser("compare", help="在本进程中立即比对一个资助周期", formatter_class=HelpFormatter)
    p.add_argument(
        "--period",
        required=True,
        metavar="PERIOD",
        help="资助周期，如 2023-2024-1（秋季学期）、2023-2024-2（春季学期）",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="全量重算每个学生（默认：全国比对在可行时只重算上次比对以来数据有变化的学生）",
    )
    p.set_defaults(func=run_compare)


def run_carry_over(args) -> int:
    from zizhu.domain.reasons.carryover import carry_over_legacy_reasons

    count = _run_with_database(lambda: carry_over_legacy_reasons(actor="cli"))
    print(f"已继承 {count} 条 2023 年秋季学期脱贫家庭学生未资助原因")
    return 0


@subcommand
def add_carry_over(sub) -> None:
    p = sub.add_parser(
        "carry-over",
        help="把 2023 年秋季学期脱贫家庭学生的未资助原因继承到新模块（可重复执行）",
        formatter_class=HelpFormatter,
    )
    p.set_defaults(func=run_carry_over)


def run_verify_counts(args) -> int:
    from zizhu.domain.comparison.reason_counts import KEY, recount

    differences = _run_with_database(recount)
    for d in differences:
        where = " ".join(f"{k}={d[k]}" for k in KEY)
        print(f"不一致：{where} 计数器={d['stored']} 重新统计={d['counted']}")
    if differences:
        print(f"原因计数器与重新统计有 {len(differences)} 处不一致")
        return 1
    print("原因计数器与重新统计一致")
    return 0


@subcommand
def add_verify_counts(sub) -> None:
    p = sub.add_parser(
        "verify-counts",
        help="从已发布的未资助名单和未资助原因重新统计原因数，与原因计数器逐项比较（有不一致时退出码为 1）",
        formatter_class=HelpFormatter,
    )
    p.set_defaults(func=run_verify_counts)


def run_template(args) -> int:
    from zizhu.domain.exports.templates import template_bytes

    Path(args.output).write_bytes(template_bytes(args.kind))
    print(f"已写入 {args.output}")
    return 0


@subcommand
def add_template(sub) -> None:
    from zizhu.domain.exports.templates import TEMPLATE_KINDS

    p = sub.add_parser(
        "template", help="写出某类导入文件的空白 .xlsx 模板（含填写说明）", formatter_class=HelpFormatter
    )
    p.add_argument("kind", choices=TEMPLATE_KINDS, help="导入类型")
    p.add_argument("--output", "-o", required=True, help="写入的文件")
    p.set_defaults(func=run_template)


def run_export_schema(args) -> int:
    from zizhu.api.schema import schema

    text = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"已写入 {args.output}")
    return 0


@subcommand
def add_export_schema(sub) -> None:
    p = sub.add_parser("export-schema", help="输出 GraphQL SDL", formatter_class=HelpFormatter)
    p.add_argument("--output", "-o", default="-", help="写入的文件；- 表示标准输出")
    p.set_defaults(func=run_export_schema)


def run_schema_changes(args) -> int:
    from zizhu.api.cli import schema_changes

    against = Path(args.against) if args.against else schema_changes.latest_release()
    if against is None:
        print(f"{schema_changes.RELEASES} 中没有已发布版本的 SDL（release-<版本>.graphql），无从比较")
        return 1
    old, new = against.read_text(encoding="utf-8"), Path(args.schema).read_text(encoding="utf-8")
    changelog = Path(args.changelog).read_text(encoding="utf-8") if Path(args.changelog).exists() else ""
    breaks = schema_changes.breaking_changes(old, new, changelog)
    for note in schema_changes.dangerous_changes(old, new):
        print(f"注意（不破坏现有请求）：{note}")
    for b in breaks:
        print(f"{'已记录' if b.recorded else '未记录'}的不兼容变更 {b.coordinate}：{b.description}")
    missing = [b for b in breaks if not b.recorded]
    if missing:
        print(
            f"{args.changelog} 的 Unreleased 一节须写明以上未记录的不兼容变更（写出其名称，如 {missing[0].coordinate}）"
        )
        return 1
    print(
        f"{args.schema} 与 {against} 相比：" + (f"{len(breaks)} 处不兼容变更，均已记录" if breaks else "没有不兼容变更")
    )
    return 0


@subcommand
def add_schema_changes(sub) -> None:
    p = sub.add_parser(
        "schema-changes",
        help="检查 schema.graphql 相对上一发布版本的不兼容变更是否都记入 CHANGELOG.md（持续集成用）",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--schema", default="schema.graphql", help="当前的 SDL")
    p.add_argument("--against", help="上一发布版本的 SDL；默认为 docs/schema 中版本最新的 release-<版本>.graphql")
    p.add_argument("--changelog", default="CHANGELOG.md", help="变更记录")
    p.set_defaults(func=run_schema_changes)


# --- accounts -----------------------------------------------------------------------------


def _new_password() -> str:
    """The password from ZIZHU_PASSWORD, else asked for on a terminal."""
    password = os.environ.get("ZIZHU_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise NotOperational("请通过 ZIZHU_PASSWORD 环境变量提供密码（非交互方式运行时无法询问密码）")
        password = getpass.getpass("密码: ")
    return password


def run_user_passwd(args) -> int:
    from zizhu.domain.accounts.users import set_password

    password = _new_password()
    _run_with_database(lambda: set_password("cli", args.username, password))
    print(f"账号 {args.username} 的密码已更改，此前签发的令牌均已失效")
    return 0


def run_user_active(args) -> int:
    from zizhu.domain.accounts.users import set_active

    active = args.user_command == "enable"
    _run_with_database(lambda: set_active("cli", args.username, active))
    print(f"账号 {args.username} 已{'启用' if active else '停用，此前签发的令牌均已失效'}")
    return 0


def run_user_unlock(args) -> int:
    from zizhu.domain.accounts.users import unlock

    _run_with_database(lambda: unlock("cli", args.username))
    print(f"已清除账号 {args.username} 在所有客户端的登录失败记录，可立即再试")
    return 0


def run_user_add(args) -> int:
    from zizhu.domain.accounts.users import add_user

    password = _new_password()
    account = _run_with_database(
        lambda: add_user(args.username, password, args.role, args.scope, args.stage or [], display_name=args.name)
    )
    print(f"账号 {account.username}（{account.role}，范围 {account.scope_code}）已保存")
    return 0


@subcommand
def add_user_commands(sub) -> None:
    p = sub.add_parser("user", help="管理账号", formatter_class=HelpFormatter)
    users = p.add_subparsers(dest="user_command", required=True, metavar="{add,passwd,disable,enable,unlock}")
    a = users.add_parser(
        "add", help="新建账号或重置已有账号（密码取自 ZIZHU_PASSWORD，否则询问）", formatter_class=HelpFormatter
    )
    a.add_argument("username", help="用户名")
    a.add_argument("--role", required=True, choices=[r.value for r in Role], help="角色")
    a.add_argument(
        "--scope", required=True, help="范围：学校角色为 10 位学校标识码，其余为 6 位行政区划代码（全国 000000）"
    )
    a.add_argument("--stage", action="append", choices=[s.value for s in Stage], help="限定学段（可重复）；默认不限")
    a.add_argument("--name", help="姓名（填报原因时显示为填报人）；不给则保留原值")
    a.set_defaults(func=run_user_add)
    pw = users.add_parser(
        "passwd", help="设置新密码（取自 ZIZHU_PASSWORD，否则询问）；此前的令牌全部失效", formatter_class=HelpFormatter
    )
    pw.add_argument("username", help="用户名")
    pw.set_defaults(func=run_user_passwd)
    for name, text in (("disable", "停用账号；其令牌全部失效"), ("enable", "重新启用账号（旧令牌不会恢复）")):
        d = users.add_parser(name, help=text, formatter_class=HelpFormatter)
        d.add_argument("username", help="用户名")
        d.set_defaults(func=run_user_active)
    u = users.add_parser(
        "unlock",
        help="清除该用户名的登录失败记录（登录被限流时）；限流状态在 Redis 中时对所有服务进程生效",
        formatter_class=HelpFormatter,
    )
    u.add_argument("username", help="用户名")
    u.set_defaults(func=run_user_unlock)


# --- the catalogue: projects and reason codes ------------------------------------------------


def run_project_set(args) -> int:
    from zizhu.domain.comparison.catalogue import ProjectChange, set_project
    from zizhu.domain.reference.codes import Cycle, ProjectKind

    change = ProjectChange(
        code=args.code,
        name=args.name,
        stage=Stage(args.stage) if args.stage else None,
        kind=ProjectKind(args.kind) if args.kind else None,
        cycle=Cycle(args.cycle) if args.cycle else None,
        retired=True if args.retire else (False if args.restore else None),
    )
    row = _run_with_database(lambda: set_project("cli", change))
    state = "已停用" if row.retired else "在用"
    print(f"资助项目 {row.code}（{row.name}，{row.stage}，{row.kind}，{row.cycle}，{state}）已保存；下次比对起生效")
    return 0


def run_project_list(args) -> int:
    from zizhu.domain.comparison.catalogue import list_projects

    for p in _run_with_database(list_projects):
        print("\t".join((p.code, p.name, p.stage, p.kind, p.cycle, "已停用" if p.retired else "在用")))
    return 0


@subcommand
def add_project_commands(sub) -> None:
    from zizhu.domain.reference.codes import Cycle, ProjectKind

    p = sub.add_parser("project", help="维护资助项目目录", formatter_class=HelpFormatter)
    projects = p.add_subparsers(dest="project_command", required=True, metavar="{set,list}")
    s = projects.add_parser("set", help="新增或修改资助项目（下次比对起生效）", formatter_class=HelpFormatter)
    s.add_argument("code", help="资助项目代码（大写字母、数字、下划线）")
    s.add_argument("--name", help="项目名称")
    s.add_argument("--stage", choices=[x.value for x in Stage], help="学段（新增时必填，之后不能修改）")
    s.add_argument("--kind", choices=[x.value for x in ProjectKind], help="类别：RELIEF 助困 / MERIT 奖优 / OTHER 其他")
    s.add_argument("--cycle", choices=[x.value for x in Cycle], help="周期：SEMESTER 学期 / YEAR 学年")
    state = s.add_mutually_exclusive_group()
    state.add_argument("--retire", action="store_true", help="停用")
    state.add_argument("--restore", action="store_true", help="重新启用")
    s.set_defaults(func=run_project_set)
    ls = projects.add_parser("list", help="列出资助项目目录", formatter_class=HelpFormatter)
    ls.set_defaults(func=run_project_list)


def run_reason_code_set(args) -> int:
    from zizhu.domain.reasons.codes import ReasonCodeChange, set_reason_code

    change = ReasonCodeChange(
        code=args.code, label=args.label, needs_detail=True if args.needs_detail else None, retired=args.retire or None
    )
    row = _run_with_database(lambda: set_reason_code("cli", change))
    print(f"未资助原因 {row.code}（{row.label}）{'已停用' if row.retired else '已保存'}")
    return 0


def run_reason_code_list(args) -> int:
    from zizhu.domain.reasons.codes import list_reason_codes

    for r in _run_with_database(list_reason_codes):
        flags = ("须填写说明" if r.needs_detail else "") + ("（已停用）" if r.retired else "")
        print("\t".join((r.code, r.label, flags)))
    return 0


@subcommand
def add_reason_code_commands(sub) -> None:
    p = sub.add_parser("reason-code", help="维护未资助原因代码（代码不重复使用）", formatter_class=HelpFormatter)
    reasons = p.add_subparsers(dest="reason_code_command", required=True, metavar="{set,list}")
    s = reasons.add_parser("set", help="新增或停用原因代码", formatter_class=HelpFormatter)
    s.add_argument("code", help="两位数字代码")
    s.add_argument("--label", help="原因名称（新增时必填）")
    s.add_argument("--needs-detail", action="store_true", help="选择时须填写说明（新增时）")
    s.add_argument("--retire", action="store_true", help="停用（不能再启用）")
    s.set_defaults(func=run_reason_code_set)
    ls = reasons.add_parser("list", help="列出原因代码", formatter_class=HelpFormatter)
    ls.set_defaults(func=run_reason_code_list)


# --- the parser and the entry point --------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zizhu",
        description="全国学生资助管理信息系统 V3.3.2 功能服务（GraphQL API 与后台 worker）",
        formatter_class=HelpFormatter,
        epilog="配置取自环境变量（DATABASE_URL、REDIS_URL、ZIZHU_SECRET_KEY、ZIZHU_ENV 等），见 docs/operations.md",
    )
    p.add_argument("--version", action="version", version=f"zizhu {_version()}")
    p.add_argument("--debug", action="store_true", help="出错时显示完整的 Python 调用栈")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return p


def explain(exc: BaseException) -> str:
    """One line for a failure, saying what to do about it."""
    if isinstance(exc, (NotOperational, DomainError)):
        return exc.message
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}：{exc.filename}"
    return f"{type(exc).__name__}: {exc}（加 --debug 查看详细信息）"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        logs.configure(settings.load())
        return args.func(args)
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"错误：{explain(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, (NotOperational, DomainError)) else 1
