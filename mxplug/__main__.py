"""``python -m mxplug``: the same as the ``mxplug`` console script."""
import sys

from .cli import main

sys.exit(main())
