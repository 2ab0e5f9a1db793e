"""``python -m slotfill ...``: the ``slotfill`` command."""

import sys

from slotfill.cli import main

sys.exit(main())
