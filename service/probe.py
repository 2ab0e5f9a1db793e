"""``python -m slotfill.service.probe [URL]``: exit 0 when ``URL`` answers 200, else 1 with one line.

The container's ``HEALTHCHECK``: the image has no curl, and this needs only the standard library
(no torch), so a probe costs a Python start-up and one request.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/readyz"


def probe(url: str, timeout_s: float = 3.0) -> str | None:
    """``None`` when ``url`` answers 200, else why not, in a few words."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"{url}: {reason}"
    return None if status == 200 else f"{url}: HTTP {status}"


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: python -m slotfill.service.probe [URL]", file=sys.stderr)
        return 2
    problem = probe(argv[0] if argv else DEFAULT_URL)
    if problem is not None:
        print(f"not ready: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
