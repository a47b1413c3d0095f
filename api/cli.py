"""The `zizhu` command line (DESIGN.md §5): serve, worker, migrate, demo, import, compare, …"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from zizhu.domain import db
from zizhu.domain.errors import DomainError


async def _with_orm(coro_factory):
    await db.init()
    try:
        return await coro_factory()
    finally:
        await db.close()


def cmd_migrate(args) -> int:
    asyncio.run(db.migrate())
    print("数据库已迁移到最新版本，代码表已更新")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from zizhu.api.app import create_app

    if not args.no_migrate:
        asyncio.run(db.migrate())
    print(f"zizhu API: http://{args.host}:{args.port}/graphql  (health: /healthz)", flush=True)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return 0


def cmd_worker(args) -> int:
    from zizhu.workers.main import run_worker

    run_worker()
    return 0


def cmd_demo(args) -> int:
    from zizhu.domain.demo import DEMO_ACCOUNTS, load_demo

    asyncio.run(db.migrate())
    summary = asyncio.run(_with_orm(lambda: load_demo(scale=args.scale, progress=_progress)))
    print("演示数据已载入：" + "，".join(f"{k} {v}" for k, v in summary.items()))
    print("演示账号（用户名 / 密码 / 角色 / 范围）：")
    for username, password, role, scope, _stages in DEMO_ACCOUNTS:
        print(f"  {username:<14} {password:<14} {role:<20} {scope}")
    return 0


def _progress(done: int, label: str = "") -> None:
    print(f"\r{label} {done:,} 行", end="", file=sys.stderr, flush=True)


def cmd_import(args) -> int:
    from zizhu.domain.imports import ImportRejected, run_import

    async def go():
        return await run_import(args.kind, Path(args.file), actor="cli", progress=_progress)

    try:
        result = asyncio.run(_with_orm(go))
    except ImportRejected as rejected:
        print(file=sys.stderr)
        print(f"文件被拒绝，未写入任何数据：{len(rejected.errors)} 处错误", file=sys.stderr)
        for e in rejected.errors[: args.max_errors]:
            print(f"  第{e.row}行 [{e.column}] {e.message}", file=sys.stderr)
        if len(rejected.errors) > args.max_errors:
            print(f"  …… 另有 {len(rejected.errors) - args.max_errors} 处错误", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(f"导入完成：共 {result.rows} 行，新增 {result.inserted}，更新 {result.updated}，未变 {result.unchanged}")
    return 0


def cmd_compare(args) -> int:
    from zizhu.domain.comparison.engine import run_comparison_now

    run = asyncio.run(_with_orm(lambda: run_comparison_now(args.period, trigger="CLI", requested_by="cli")))
    print(
        f"比对批次 {run.id} {run.status}：特殊群体 {run.members}，匹配 {run.matched}，未匹配 {run.unmatched}，"
        f"已资助 {run.funded}，未资助 {run.unfunded}"
    )
    return 0 if run.status == "SUCCEEDED" else 1


def cmd_carry_over(args) -> int:
    from zizhu.domain.reasons.carryover import carry_over_legacy_reasons

    count = asyncio.run(_with_orm(lambda: carry_over_legacy_reasons(actor="cli")))
    print(f"已继承 {count} 条 2023 年秋季学期脱贫家庭学生未资助原因")
    return 0


def cmd_template(args) -> int:
    from zizhu.domain.exports.templates import template_bytes

    Path(args.output).write_bytes(template_bytes(args.kind))
    print(f"已写入 {args.output}")
    return 0


def cmd_export_schema(args) -> int:
    from zizhu.api.schema import schema

    text = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"已写入 {args.output}")
    return 0


def cmd_user_add(args) -> int:
    from zizhu.domain.accounts.users import add_user

    password = os.environ.get("ZIZHU_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("请通过 ZIZHU_PASSWORD 环境变量提供密码", file=sys.stderr)
            return 2
        password = getpass.getpass("密码: ")
    account = asyncio.run(
        _with_orm(lambda: add_user(args.username, password, args.role, args.scope, args.stage or []))
    )
    print(f"账号 {account.username}（{account.role}，范围 {account.scope_code}）已保存")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zizhu", description="全国学生资助管理信息系统 V3.3.2 功能服务")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="start the GraphQL API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--no-migrate", action="store_true", help="do not migrate before serving")
    s.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="start the arq worker (02:00 cron, on-demand jobs)").set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply migrations and seed code lists").set_defaults(func=cmd_migrate)

    d = sub.add_parser("demo", help="load the demo data set and its accounts")
    d.add_argument("--scale", type=int, default=None, help="generate about this many students (benchmarks)")
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("import", help="import a CSV or .xlsx file")
    i.add_argument("kind", choices=["regions", "schools", "students", "aid", "special-groups", "legacy-reasons"])
    i.add_argument("file")
    i.add_argument("--max-errors", type=int, default=200, help="how many bad rows to print")
    i.set_defaults(func=cmd_import)

    c = sub.add_parser("compare", help="run the special-group comparison in-process")
    c.add_argument("--period", required=True)
    c.set_defaults(func=cmd_compare)

    sub.add_parser("carry-over", help="carry 2023 autumn poverty-family reasons into the new module").set_defaults(
        func=cmd_carry_over
    )

    from zizhu.domain.exports.templates import TEMPLATE_KINDS

    t = sub.add_parser("template", help="write the blank .xlsx import template of an import kind")
    t.add_argument("kind", choices=TEMPLATE_KINDS)
    t.add_argument("--output", "-o", required=True)
    t.set_defaults(func=cmd_template)

    e = sub.add_parser("export-schema", help="print the GraphQL SDL")
    e.add_argument("--output", "-o", default="-")
    e.set_defaults(func=cmd_export_schema)

    u = sub.add_parser("user", help="manage accounts")
    usub = u.add_subparsers(dest="user_command", required=True)
    ua = usub.add_parser("add", help="create or reset an account")
    ua.add_argument("username")
    ua.add_argument("--role", required=True)
    ua.add_argument("--scope", required=True, help="school code (school roles) or region code")
    ua.add_argument("--stage", action="append", help="limit to a stage (repeatable)")
    ua.set_defaults(func=cmd_user_add)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DomainError as e:
        print(f"错误：{e.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
