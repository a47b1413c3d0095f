"""A private arq queue per test on the test Redis (db 15): nothing is shared with other tests or
with a concurrent pytest process, and every key of the queue is removed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from arq.connections import ArqRedis, create_pool

from zizhu.domain.comparison import queue


@asynccontextmanager
async def open_pool() -> AsyncIterator[ArqRedis]:
    pool = await create_pool(queue.redis_settings(), default_queue_name=queue.queue_name())
    try:
        yield pool
    finally:
        await pool.aclose()


async def drop_queue(name: str, extra_job_ids: tuple[str, ...] = ()) -> None:
    async with open_pool() as pool:
        keys = [k async for k in pool.scan_iter(match=f"arq:*:{name}:*")]
        keys += [k async for k in pool.scan_iter(match=f"{name}:*")]
        keys += [f"arq:{kind}:{j}" for j in extra_job_ids for kind in ("job", "result", "retry", "in-progress")]
        await pool.delete(name, *keys)


@pytest.fixture
async def arq_queue(monkeypatch) -> AsyncIterator[str]:
    """A unique ZIZHU_QUEUE for this test; yields its name."""
    name = f"zizhu-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv(queue.QUEUE_ENV, name)
    yield name
    await drop_queue(name)


@pytest.fixture
async def pool(arq_queue) -> AsyncIterator[ArqRedis]:
    async with open_pool() as p:
        yield p
