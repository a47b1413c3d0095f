"""Safe log lines (日志脱敏): no full resident ID number and no unbounded value in any log record.

Design notes: docs/design/domain-operations.md."""

from __future__ import annotations

import logging
import re
import traceback

MAX_MESSAGE = 2_000
MAX_LINE = 500
MAX_TRACEBACK = 16_000

# 18-character resident ID numbers standing alone (not inside a longer run of digits/letters).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…（截断，共 {len(text)} 字符）"


def redact(text: str, limit: int = MAX_MESSAGE) -> str:
    """Mask every ID number in `text` and cut it to `limit` characters."""
    return _cut(_ID_NUMBER.sub(r"\1********\2", text), limit)


def _traceback(exc_info) -> str:
    lines = "".join(traceback.format_exception(*exc_info)).rstrip("\n").split("\n")
    text = "\n".join(redact(line, MAX_LINE) for line in lines)
    return text if len(text) <= MAX_TRACEBACK else "…\n" + text[-MAX_TRACEBACK:]


def sanitise(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = _traceback(record.exc_info)
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info, MAX_TRACEBACK)


def install() -> None:
    """Rewrite every log record of this process as it is made (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "zizhu_redacting", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        sanitise(record)
        return record

    factory.zizhu_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
