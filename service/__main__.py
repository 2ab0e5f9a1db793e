"""``python -m service MODEL_DIR``: run the REST API (same as ``slotfill serve``)."""

import sys

from service.cli import main

sys.exit(main())
