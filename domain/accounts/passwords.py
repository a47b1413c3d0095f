"""Password hashing (密码散列) off the event loop, with a cap on how many run at once.

argon2 takes ~100 ms of CPU per hash or check; it releases the GIL, so it runs in a worker
thread and the event loop keeps serving other requests. At most `MAX_CONCURRENT` hashes run at
once per process: further sign-ins wait their turn instead of taking every core. A sign-in for an
unknown username checks the password against a dummy hash, so it costs the same as a wrong
password and the timing does not tell which usernames exist.
"""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_CONCURRENT = max(1, min(4, (os.cpu_count() or 2) // 2))

_hasher = PasswordHasher()
_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
_dummy_hash: str | None = None


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        for old in [lp for lp in _slots if lp.is_closed()]:
            del _slots[old]
        slot = _slots[loop] = asyncio.Semaphore(MAX_CONCURRENT)
    return slot


async def _off_loop(func, *args):
    async with _slot():
        return await asyncio.to_thread(func, *args)


def _check(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await _off_loop(_hasher.hash, password)


async def check_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown user) a dummy is checked and False returned."""
    global _dummy_hash
    if password_hash is None:
        if _dummy_hash is None:
            _dummy_hash = await hash_password(os.urandom(16).hex())
        await _off_loop(_check, _dummy_hash, password)
        return False
    return await _off_loop(_check, password_hash, password)
