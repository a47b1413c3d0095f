"""The arq worker (后台任务): `main` holds the settings and the 02:00 cron, `jobs` wires each job to
a domain service. `run_worker` is the one entry the command line uses (its seam to the queue).
"""

from zizhu.workers.main import run_worker

__all__ = ["run_worker"]
