"""A clock moved by hand (for leases): `now()` stands still until `advance`, and `sleep` returns
when the clock has been advanced past the sleeper's deadline — no test waits for real time."""

from __future__ import annotations

import asyncio
import datetime as dt


class ManualClock:
    def __init__(self, now: dt.datetime) -> None:
        self.value = now
        self._sleepers: list[tuple[dt.datetime, asyncio.Future]] = []

    def now(self) -> dt.datetime:
        return self.value

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.value + dt.timedelta(seconds=seconds), future))
        try:
            await future
        finally:
            self._sleepers = [(t, f) for t, f in self._sleepers if f is not future]

    async def advance(self, seconds: float, settle_s: float = 30.0) -> None:
        """Move the clock, wake the sleepers now due, and return once each of them is asleep again
        (what it did on waking, e.g. a renewal, is done); fails after `settle_s` if one never is."""
        self.value += dt.timedelta(seconds=seconds)
        due = [f for t, f in self._sleepers if t <= self.value]
        waiting = len(self._sleepers)
        for future in due:
            future.set_result(None)

        def settled() -> bool:
            current = [f for _, f in self._sleepers]
            return len(current) >= waiting and not any(f in due for f in current)

        async with asyncio.timeout(settle_s):  # a condition to wait for, not time to pass
            while not settled():
                await asyncio.sleep(0.01)
