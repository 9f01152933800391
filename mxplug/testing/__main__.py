"""``python -m mxplug.testing --backend NAME [--quick]``: see :mod:`mxplug.testing.kit`."""
import sys

from .kit import main

sys.exit(main())
