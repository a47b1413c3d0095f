"""Domain errors with a stable machine code and a readable Chinese message (docs/api.md, errors)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "VALIDATION"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class ValidationFailed(DomainError):
    code = "VALIDATION"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Conflict(DomainError):
    code = "CONFLICT"


class WindowClosed(DomainError):
    code = "WINDOW_CLOSED"


class QueueUnavailable(DomainError):
    code = "QUEUE_UNAVAILABLE"


class TimedOut(DomainError):
    """The database did not answer in time (a statement timeout, a lock held too long)."""

    code = "TIMEOUT"


class Unavailable(DomainError):
    """The database connection was lost (a restart, a fail-over, a killed backend): try again."""

    code = "UNAVAILABLE"


class NotOperational(Exception):
    """The service cannot run as configured (bad setting, database unreachable, missing file).

    Not a GraphQL answer: the command line prints `message` (which says how to fix it) as one line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseUnavailable(NotOperational):
    """DATABASE_URL names a database that cannot be opened."""
