"""Worker heartbeats (worker 心跳) and the record of the last nightly tick, kept in Redis.

Every running worker writes `{queue}:worker:{worker id}` every HEARTBEAT_S seconds (with a TTL,
so a killed worker's key disappears); a worker is *alive* while its last heartbeat is younger
than ZIZHU_WORKER_STALE_SECONDS. The 02:00 tick writes `{queue}:nightly-tick` when it ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
from dataclasses import dataclass

from zizhu.domain import settings
from zizhu.domain.comparison import queue

log = logging.getLogger("zizhu.worker")

HEARTBEAT_S = 10
KEY_TTL_S = 24 * 3600  # a dead worker stays listed (as not alive) for a day


@dataclass(frozen=True)
class WorkerBeat:
    worker_id: str
    host: str
    pid: int
    started_at: dt.datetime
    last_seen: dt.datetime

    def alive(self, now: dt.datetime) -> bool:
        return (now - self.last_seen).total_seconds() <= settings.load().worker_stale_seconds


@dataclass(frozen=True)
class NightlyTick:
    at: dt.datetime
    day: str
    run_ids: tuple[int, ...]
    error: str | None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_key(wid: str) -> str:
    return f"{queue.queue_name()}:worker:{wid}"


def _tick_key() -> str:
    return f"{queue.queue_name()}:nightly-tick"


async def beat(redis, wid: str, started_at: dt.datetime) -> None:
    host, _, pid = wid.rpartition(":")
    record = {"host": host, "pid": int(pid), "started_at": started_at.isoformat(), "last_seen": utcnow().isoformat()}
    await redis.set(_worker_key(wid), json.dumps(record), ex=KEY_TTL_S)


async def keep_beating(redis, wid: str) -> None:
    """Write this worker's heartbeat until cancelled; a Redis hiccup only skips one beat."""
    started_at = utcnow()
    while True:
        try:
            await beat(redis, wid, started_at)
        except Exception as exc:
            log.warning("heartbeat not written: %s", exc)
        await asyncio.sleep(HEARTBEAT_S)


async def forget(redis, wid: str) -> None:
    await redis.delete(_worker_key(wid))


async def workers(redis) -> list[WorkerBeat]:
    """Every worker that sent a heartbeat in the last day, newest first."""
    found = []
    async for key in redis.scan_iter(match=_worker_key("*")):
        raw = await redis.get(key)
        if not raw:
            continue
        data = json.loads(raw)
        wid = (key.decode() if isinstance(key, bytes) else key).split(":worker:", 1)[1]
        found.append(
            WorkerBeat(
                wid,
                data["host"],
                data["pid"],
                dt.datetime.fromisoformat(data["started_at"]),
                dt.datetime.fromisoformat(data["last_seen"]),
            )
        )
    return sorted(found, key=lambda w: w.last_seen, reverse=True)


async def live_workers() -> list[WorkerBeat]:
    """The workers alive now (QueueUnavailable when Redis cannot be reached)."""
    async with queue.connection() as redis:
        now = utcnow()
        return [w for w in await workers(redis) if w.alive(now)]


async def record_tick(redis, day: dt.date, run_ids: list[int], error: str | None = None) -> None:
    record = {"at": utcnow().isoformat(), "day": day.isoformat(), "run_ids": run_ids, "error": error}
    await redis.set(_tick_key(), json.dumps(record), ex=KEY_TTL_S * 7)


async def last_tick(redis) -> NightlyTick | None:
    raw = await redis.get(_tick_key())
    if not raw:
        return None
    data = json.loads(raw)
    return NightlyTick(dt.datetime.fromisoformat(data["at"]), data["day"], tuple(data["run_ids"]), data.get("error"))
