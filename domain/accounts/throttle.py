"""Sign-in throttling (登录限流): too many failed sign-ins lock a username, or a client, for a while.

Each key (a username as typed, or a client address) keeps the times of its recent failures. When
`limit` failures fall within `window` seconds the key is refused until the oldest of them is
`window` seconds old; refused attempts never check the password, so the right password after a
run of wrong ones is refused too. Unknown usernames are counted exactly like real ones, so a lock
tells nothing about which usernames exist. The state lives in the API process (bounded: the least
recently failed keys are forgotten first).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

ACCOUNT_LIMIT = 5  # failures of one username within WINDOW_S
CLIENT_LIMIT = 30  # failures from one client address within WINDOW_S
WINDOW_S = 15 * 60
MAX_KEYS = 100_000


@dataclass
class Throttle:
    limit: int
    window: float = WINDOW_S
    clock: Callable[[], float] = time.monotonic
    max_keys: int = MAX_KEYS

    def __post_init__(self) -> None:
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again (0 = now)."""
        failures = self._failures.get(key)
        if not failures:
            return 0
        now = self.clock()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, key: str) -> None:
        failures = self._failures.pop(key, None) or deque(maxlen=self.limit)
        failures.append(self.clock())
        self._failures[key] = failures  # most recently failed last
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def clear(self) -> None:
        self._failures.clear()


accounts = Throttle(ACCOUNT_LIMIT)
clients = Throttle(CLIENT_LIMIT)


def retry_after(username: str, client: str | None) -> int:
    """Seconds before this username from this client may try to sign in again (0 = now)."""
    return max(accounts.retry_after(username), clients.retry_after(client) if client else 0)


def record_failure(username: str, client: str | None) -> None:
    accounts.failed(username)
    if client:
        clients.failed(client)


def record_success(username: str) -> None:
    """A correct password clears the username's failures (never the client's: a caller with one
    valid account must not be able to reset its count between guesses at others)."""
    accounts.forget(username)
