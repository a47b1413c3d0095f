"""Operations over HTTP and GraphQL (运维): /readyz, /metrics, the queueHealth query, and the
per-operation request metrics."""

from __future__ import annotations

import datetime as dt
import time

import strawberry
from graphql import GraphQLError, OperationDefinitionNode
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from zizhu.api.comparison.runs import ComparisonRun
from zizhu.api.gql.directives import RoleGuard
from zizhu.api.gql.errors import GRAPHQL_VALIDATION, INTERNAL
from zizhu.api.gql.from_domain import FromDomain
from zizhu.domain import settings
from zizhu.domain.accounts.scopes import ADMINS
from zizhu.domain.errors import DomainError
from zizhu.domain.operations import health, metrics

REQUESTS = Counter("zizhu_graphql_requests", "GraphQL operations, by root field and outcome", ["operation", "outcome"])
LATENCY = Histogram(
    "zizhu_graphql_request_duration_seconds",
    "GraphQL operation latency, by root field",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def _operation_name(document) -> str:
    """The first root field of the executed operation: a bounded label (schema fields only)."""
    for definition in getattr(document, "definitions", ()):
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                name = getattr(selection, "name", None)
                if name is not None:
                    return name.value
    return "unknown"


def _outcome(errors: list[GraphQLError] | None) -> str:
    if not errors:
        return "ok"
    original = errors[0].original_error
    if isinstance(original, DomainError):
        return original.code
    return GRAPHQL_VALIDATION if original is None or isinstance(original, GraphQLError) else INTERNAL


class RequestMetrics(SchemaExtension):
    """Counts every operation by its first root field and outcome, and times it."""

    def on_operation(self):
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        result = ctx.result
        errors = (result.errors if result else None) or ctx.pre_execution_errors
        # A document that did not parse or validate (errors without an original exception) may name
        # anything: one label for all of them.
        invalid = ctx.graphql_document is None or any(e.original_error is None for e in errors or ())
        operation = "invalid" if invalid else _operation_name(ctx.graphql_document)
        REQUESTS.labels(operation, _outcome(errors)).inc()
        LATENCY.labels(operation).observe(time.perf_counter() - started)


async def readyz(request: Request) -> JSONResponse:
    """Readiness: database, Redis and a recent worker heartbeat; 503 with the failing checks."""
    checks = await health.readiness()
    ready = all(c.ok for c in checks)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {c.name: {"ok": c.ok, **({"detail": c.detail} if c.detail else {})} for c in checks},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    if not settings.load().metrics:
        return Response(status_code=404)
    await metrics.refresh()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


ROUTES = [Route("/readyz", readyz), Route("/metrics", metrics_endpoint)]


@strawberry.type(description="worker（后台任务进程）")
class WorkerStatus(FromDomain):
    worker_id: str = strawberry.field(description="worker 标识")
    host: str = strawberry.field(description="所在主机")
    pid: int = strawberry.field(description="进程号")
    started_at: dt.datetime
    last_heartbeat: dt.datetime = strawberry.field(description="最近一次心跳时间")
    alive: bool = strawberry.field(description="最近一次心跳是否在 ZIZHU_WORKER_STALE_SECONDS 之内")


@strawberry.type(description="上一次每日 02:00 比对调度")
class QueueTick(FromDomain):
    at: dt.datetime = strawberry.field(description="调度时间")
    day: str = strawberry.field(description="北京时间日期")
    error: str | None = strawberry.field(description="调度失败时的原因")
    runs: list[ComparisonRun] = strawberry.field(description="本次调度的比对批次及其结果")


@strawberry.type(description="任务队列状况（系统管理员）")
class QueueHealth(FromDomain):
    queue: str = strawberry.field(description="队列名称")
    redis_reachable: bool = strawberry.field(description="Redis 是否可连接")
    workers: list[WorkerStatus] = strawberry.field(description="已知的 worker 及其心跳")
    alive_workers: int = strawberry.field(description="近期有心跳的 worker 数")
    queued_jobs: int = strawberry.field(description="排队中的任务数")
    running_jobs: int = strawberry.field(description="执行中的任务数")
    last_nightly_tick: QueueTick | None = strawberry.field(description="上一次每日 02:00 调度（尚无时为空）")
    stalled_runs: list[ComparisonRun] = strawberry.field(
        description="无 worker 接手的排队批次：没有存活的 worker，或排队超过 10 分钟"
    )


@strawberry.type
class OperationsQuery:
    @strawberry.field(
        description="任务队列状况：worker 心跳、排队与执行中的任务、上次每日比对、无人接手的批次（系统管理员）",
        extensions=[RoleGuard(*ADMINS)],
    )
    async def queue_health(self, info: Info) -> QueueHealth:
        viewer = await info.context.viewer()
        h = await health.queue_health(viewer)
        now = dt.datetime.now(dt.UTC)
        tick = None
        if h.last_tick is not None:
            tick = QueueTick.from_domain(h.last_tick, runs=[ComparisonRun.from_domain(r) for r in h.last_tick_runs])
        return QueueHealth.from_domain(
            h,
            redis_reachable=h.redis_ok,
            workers=[WorkerStatus.from_domain(w, last_heartbeat=w.last_seen, alive=w.alive(now)) for w in h.workers],
            last_nightly_tick=tick,
            stalled_runs=[ComparisonRun.from_domain(r) for r in h.stalled_runs],
        )
