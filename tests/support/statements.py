"""Count the SQL statements the ORM's clients send (tortoise logs each one on `tortoise.db_client`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(str(record.args[0]) if record.args else record.getMessage())


@contextmanager
def statements() -> Iterator[list[str]]:
    """Yields the list of statements sent inside the block (filled as they are sent)."""
    logger = logging.getLogger("tortoise.db_client")
    collector = _Collector()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield collector.statements
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)
        logger.propagate = propagate
