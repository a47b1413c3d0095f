"""Domain errors with a stable machine code and a readable Chinese message (docs/api.md, errors)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the client can act on: `code` is its `extensions.code`, `label` says what it means."""

    code = "VALIDATION"
    label = "输入不合规则（字段、行列或限制见 message 与 extensions）"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class ValidationFailed(DomainError):
    code = "VALIDATION"


class NotFound(DomainError):
    code = "NOT_FOUND"
    label = "不存在，或不在本账号的数据范围内"


class Forbidden(DomainError):
    code = "FORBIDDEN"
    label = "本账号的角色无权执行此操作"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    label = "未登录、令牌无效或已过期，或账号已停用"


class Conflict(DomainError):
    code = "CONFLICT"
    label = "与当前数据冲突（已被他人修改、状态不允许等）"


class WindowClosed(DomainError):
    code = "WINDOW_CLOSED"
    label = "不在该动作的时间窗口内"


class QueueUnavailable(DomainError):
    code = "QUEUE_UNAVAILABLE"
    label = "任务队列不可用，请稍后重试"


class TimedOut(DomainError):
    """The database did not answer in time (a statement timeout, a lock held too long)."""

    code = "TIMEOUT"
    label = "数据库繁忙，查询超时，请稍后重试"


class NotOperational(Exception):
    """The service cannot run as configured (bad setting, database unreachable, missing file).

    Not a GraphQL answer: the command line prints `message` (which says how to fix it) as one line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseUnavailable(NotOperational):
    """DATABASE_URL names a database that cannot be opened."""
