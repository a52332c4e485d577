"""Entry point: ``python -m alliance.testing.sim``."""

import sys

from alliance.testing.sim.runner import main

sys.exit(main())
