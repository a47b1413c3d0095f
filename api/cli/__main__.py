"""`python -m zizhu.api.cli` runs the command line."""

import sys

from zizhu.api.cli import main

sys.exit(main())
