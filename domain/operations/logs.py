"""Logging (日志) for every `zizhu.*` logger: INFO by default, plain text or JSON lines.

`configure()` is called once by each process entry point (the command line, `serve`, `worker`)
with the validated settings; ZIZHU_LOG_LEVEL and ZIZHU_LOG_FORMAT choose level and format.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from zizhu.domain.settings import Settings

ROOT_LOGGER = "zizhu"
# Library loggers that share the handler, so a JSON deployment gets JSON lines from them too.
ALSO = ("arq", "uvicorn.error")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def configure(settings: Settings, stream=None) -> logging.Handler:
    """Send `zizhu.*` (and arq, uvicorn.error) records at the configured level to stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings.log_format))
    handler.set_name("zizhu")
    for name in (ROOT_LOGGER, *ALSO):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h.get_name() != "zizhu"] + [handler]
        logger.setLevel(
            settings.log_level if name == ROOT_LOGGER else max(logging.INFO, logging.getLevelName(settings.log_level))
        )
        logger.propagate = False
    return handler
