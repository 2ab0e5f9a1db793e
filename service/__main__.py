"""``python -m slotfill.service MODEL_DIR``: run the REST API (exactly ``slotfill serve``)."""

import sys

from slotfill.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
