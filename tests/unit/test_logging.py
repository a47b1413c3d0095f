"""Logging (日志) of every `zizhu.*` logger: levels, format and handlers set up once."""

from __future__ import annotations

import datetime as dt

TICK = dt.datetime(2024, 1, 9, 18, 0, tzinfo=dt.UTC)  # 02:00 on 2024-01-10 in Shanghai
QUEUE_HEALTH = """{ queueHealth { queue redisReachable aliveWorkers queuedJobs runningJobs
  workers { workerId alive lastHeartbeat } lastNightlyTick { day error runs { id status } }
  stalledRuns { id period status } } }"""


def test_logging_of_every_zizhu_logger(monkeypatch):
    import io
    import json
    import logging

    from zizhu.domain import settings
    from zizhu.domain.operations import logs

    monkeypatch.setenv("ZIZHU_LOG_FORMAT", "json")
    stream = io.StringIO()
    handler = logs.configure(settings.load(), stream=stream)
    try:
        logging.getLogger("zizhu.worker").info("比对已排队 %s", 7)
        logging.getLogger("zizhu.anything.new").debug("not at INFO")
        (line,) = stream.getvalue().splitlines()
        record = json.loads(line)
        assert (record["level"], record["logger"], record["message"]) == ("INFO", "zizhu.worker", "比对已排队 7")
    finally:
        for name in (logs.ROOT_LOGGER, *logs.ALSO):
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
