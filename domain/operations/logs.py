"""Logging (日志) for every `zizhu.*` logger: INFO by default, plain text or JSON lines.

`configure()` is called once by each process entry point (the command line, `serve` and each of its
server processes, `worker`) with the validated settings; ZIZHU_LOG_LEVEL and ZIZHU_LOG_FORMAT choose
level and format. Times are ISO 8601 with the zone offset (`2026-12-04T23:02:29.759+08:00`); no
record carries terminal colours. While a request is served, `request` holds its id, operation and
account, and every record written meanwhile (errors included) carries them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from zizhu.domain.settings import Settings

ROOT_LOGGER = "zizhu"
# Library loggers that share the handler, so a JSON deployment gets JSON lines from them too.
ALSO = ("arq", "uvicorn.error")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
REQUEST_FIELDS = ("request_id", "operation", "account")
# uvicorn adds a copy of some messages with ANSI colours; collectors want none of it.
DROPPED_ATTRIBUTES = ("color_message",)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclasses.dataclass
class RequestFields:
    """What identifies the request being served, for its log records."""

    request_id: str
    operation: str | None = None
    account: str | None = None


request: ContextVar[RequestFields | None] = ContextVar("zizhu_request", default=None)


def note(**fields: str | None) -> None:
    """Add the operation or the account to the current request's fields (outside a request: nothing)."""
    current = request.get()
    if current is not None:
        for name, value in fields.items():
            setattr(current, name, value)


def iso_time(created: float) -> str:
    """A record's time as ISO 8601 with the local zone offset, to the millisecond."""
    return dt.datetime.fromtimestamp(created).astimezone().isoformat(timespec="milliseconds")


class RequestContext(logging.Filter):
    """Stamps every record with the current request's fields and drops terminal colours."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request.get()
        for name in REQUEST_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, getattr(current, name) if current is not None else None)
        for name in DROPPED_ATTRIBUTES:
            record.__dict__.pop(name, None)
        if isinstance(record.msg, str) and "\x1b" in record.msg:
            record.msg = _ANSI.sub("", record.msg)
        return True


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_time(record.created)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{name}={getattr(record, name)}" for name in REQUEST_FIELDS if getattr(record, name, None)]
        return f"{line} [{' '.join(fields)}]" if fields else line


class JsonLines(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_time(record.created)


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonLines(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    return TextFormatter(TEXT_FORMAT)


def configure(settings: Settings, stream=None) -> logging.Handler:
    """Send `zizhu.*` (and arq, uvicorn.error) records at the configured level to stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings.log_format))
    handler.addFilter(RequestContext())
    handler.set_name("zizhu")
    for name in (ROOT_LOGGER, *ALSO):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h.get_name() != "zizhu"] + [handler]
        logger.setLevel(
            settings.log_level if name == ROOT_LOGGER else max(logging.INFO, logging.getLevelName(settings.log_level))
        )
        logger.propagate = False
    return handler
