"""``python -m lossbench``: the command line (:mod:`lossbench.cli`)."""

import sys

from .cli import main

sys.exit(main())
