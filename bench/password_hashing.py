"""Benchmark: what password checks do to the event loop, on it and off it (in-process).

    python bench/password_hashing.py

A 5 ms ticker runs on the event loop while 8 argon2 checks run, first one after another on the
loop, then through `zizhu.domain.accounts.passwords.check_password` (worker threads, capped);
prints the longest gap between ticks and the total time of each, twice.
"""

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zizhu.domain.accounts import passwords


async def ticker(stop, gaps):
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def run(mode):
    h = passwords._hasher.hash("secret-password")
    stop, gaps = asyncio.Event(), []
    t = asyncio.create_task(ticker(stop, gaps))
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    if mode == "on-loop":
        for _ in range(8):
            passwords._check(h, "wrong")
            await asyncio.sleep(0)
    else:
        await asyncio.gather(*(passwords.check_password(h, "wrong") for _ in range(8)))
    took = time.perf_counter() - start
    stop.set()
    await t
    return max(gaps) * 1000, took * 1000


async def main():
    for mode in ("on-loop", "off-loop", "on-loop", "off-loop"):
        lag, took = await run(mode)
        print(f"{mode:9} 8 checks: max event-loop gap {lag:7.1f} ms, all done in {took:7.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
