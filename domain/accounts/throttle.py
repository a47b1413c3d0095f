"""Sign-in throttling (登录限流): repeated failures slow a caller down; nobody is locked out.

Design notes: docs/design/domain-accounts.md."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, cast

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from zizhu.domain import settings

PAIR_FREE = 5  # failures of one (username, client) before the first wait
CLIENT_FREE = 30  # failures from one client address, any usernames, before the first wait
BASE_DELAY_S = 30
MAX_DELAY_S = 15 * 60
WINDOW_S = 60 * 60  # a key is forgotten this long after its last failure
MAX_KEYS = 100_000  # in-process store
REDIS_TIMEOUT_S = 0.5
REDIS_RETRY_S = 30.0

log = logging.getLogger("zizhu.accounts")
clock: Callable[[], float] = time.time  # wall clock: shared by every process through Redis

# n = failures so far (reset when the last one is older than the window), t = time of the last
_FAIL = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if t + tonumber(ARGV[2]) <= tonumber(ARGV[1]) then n = 0 end
n = n + 1
redis.call('HSET', KEYS[1], 'n', n, 't', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return n
"""


def delay_after(failures: int, free: int) -> float:
    """Seconds an attempt must wait after the last of `failures` (0 while within `free`)."""
    if failures < free:
        return 0.0
    return float(min(MAX_DELAY_S, BASE_DELAY_S * 2 ** min(failures - free, 20)))


def _wait(state: tuple[int, float] | None, free: int) -> int:
    if not state:
        return 0
    failures, last = state
    now = clock()
    if last + WINDOW_S <= now:
        return 0
    return max(0, math.ceil(last + delay_after(failures, free) - now))


class MemoryStore:
    """Failures by key in this process: {key: (failures, last failure)}, least recently failed first."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self.keys: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def get(self, keys: list[str]) -> list[tuple[int, float] | None]:
        return [self.keys.get(k) for k in keys]

    async def fail(self, key: str) -> None:
        now = clock()
        failures, last = self.keys.pop(key, (0, 0.0))
        if last + WINDOW_S <= now:
            failures = 0
        self.keys[key] = (failures + 1, now)
        while len(self.keys) > self.max_keys:
            self.keys.popitem(last=False)

    async def forget(self, prefix: str) -> None:
        for key in [k for k in self.keys if k.startswith(prefix)]:
            del self.keys[key]

    async def clear(self) -> None:
        self.keys.clear()


class RedisStore:
    """The same in Redis: one hash per key, expiring with the window."""

    def __init__(self) -> None:
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._url = ""

    def client(self) -> aioredis.Redis:
        url, loop = settings.load().redis_url, asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._url != url:
            self._client = aioredis.from_url(
                url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S, decode_responses=True
            )
            self._loop, self._url = loop, url
        return self._client

    async def get(self, keys: list[str]) -> list[tuple[int, float] | None]:
        pipe = self.client().pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, ["n", "t"])
        return [(int(n), float(t)) if n and t else None for n, t in await pipe.execute()]

    async def fail(self, key: str) -> None:
        args = (key, repr(clock()), str(WINDOW_S), str(WINDOW_S + MAX_DELAY_S))
        await cast(Awaitable[Any], self.client().eval(_FAIL, 1, *args))

    async def forget(self, prefix: str) -> None:
        redis = self.client()
        async for key in redis.scan_iter(match=prefix + "*", count=500):
            await redis.delete(key)

    async def clear(self) -> None:
        await self.forget(_prefix())


memory = MemoryStore()
shared = RedisStore()
_redis_down_until = 0.0


def _prefix() -> str:
    return f"{settings.load().queue}:signin:"


def _pair_prefix(username: str) -> str:
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]  # any text, fixed length, no glob characters
    return f"{_prefix()}pair:{digest}:"


def _keys(username: str, client: str | None) -> tuple[str, str | None]:
    client = client or "-"
    return _pair_prefix(username) + client, (f"{_prefix()}client:{client}" if client != "-" else None)


async def _call(method: str, *args):
    """The call on Redis, or on the in-process store while Redis does not answer."""
    global _redis_down_until
    if clock() >= _redis_down_until:
        try:
            return await getattr(shared, method)(*args)
        except (OSError, RedisError, TimeoutError) as error:
            _redis_down_until = clock() + REDIS_RETRY_S
            log.warning("sign-in throttle kept in this process: Redis did not answer (%s)", type(error).__name__)
    return await getattr(memory, method)(*args)


async def retry_after(username: str, client: str | None) -> int:
    """Seconds before this username from this client may try to sign in again (0 = now)."""
    pair, address = _keys(username, client)
    states = await _call("get", [pair, address] if address else [pair])
    return max(_wait(states[0], PAIR_FREE), _wait(states[1], CLIENT_FREE) if address else 0)


async def record_failure(username: str, client: str | None) -> None:
    pair, address = _keys(username, client)
    await _call("fail", pair)
    if address:
        await _call("fail", address)


async def record_success(username: str) -> None:
    """A correct password (or a new one, or an unlock) forgets every pair of the username — never a
    client's own count: a caller with one valid account must not reset its count between guesses."""
    await _call("forget", _pair_prefix(username))
    await memory.forget(_pair_prefix(username))


async def clear() -> None:
    """Forget everything (tests)."""
    global _redis_down_until
    _redis_down_until = 0.0
    await memory.clear()
    try:
        await shared.clear()
    except (OSError, RedisError, TimeoutError):
        pass
