"""``python -m devices``: decode, ports, simulate (see :mod:`devices.cli`)."""

import sys

from devices.cli import main

sys.exit(main())
