"""``python -m cogdyn.cli``: the ``cogdyn`` command."""

import sys

from cogdyn.cli import main

sys.exit(main())
