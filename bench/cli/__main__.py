"""``python -m lossbench.cli``: the command line (:func:`lossbench.cli.main`)."""

import sys

from . import main

sys.exit(main())
