"""The `zizhu` command line (命令行): one subcommand per task of an operator or an admin.

`commands` declares the subcommands; `progress` prints their progress. The worker is started
through `zizhu.workers.run_worker`, the one seam between the API's CLI and the queue.
"""

from zizhu.api.cli.commands import main

__all__ = ["main"]
