"""Logging for the service: JSON lines (or plain text) on stderr, one access line per request.

Fields passed with ``extra=`` become JSON keys. User text is personal data: the access line holds
its length, and the text itself only when ``SLOTFILL_LOG_TEXT=true``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

access_logger = logging.getLogger("slotfill.access")
# Record attributes that are not extra fields (uvicorn's color_message duplicates the message).
_RESERVED = {
    *logging.LogRecord("", 0, "", 0, "", (), None).__dict__,
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in record.__dict__.items() if key not in _RESERVED}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **extra_fields(record),
        }
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def escape_controls(text: str) -> str:
    r"""``text`` with every control character written as an escape, so it stays on one line.

    A request path is the client's to choose: "/x%0a2026-12-04 ERROR forged" would otherwise
    write a line of its own into a text log, one nobody could tell from the service's.

    >>> escape_controls("/x\n2026 ERROR forged\x1b[31m")
    '/x\\n2026 ERROR forged\\x1b[31m'
    """
    if text.isprintable():
        return text
    # Not printable: the C categories (controls, format characters) and the Z separators but the
    # space, such as U+2028, which some log viewers break lines at.
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for people reading a terminal.

    Each record is one line: control characters in the message (a request path, an error naming
    user input) are escaped, and extra fields are written as ``repr``, which escapes them too. A
    traceback, the one legitimately multi-line part, follows as the formatter always wrote it.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        line = escape_controls(super().formatMessage(record))
        extras = " ".join(f"{key}={value!r}" for key, value in extra_fields(record).items())
        return f"{line} {extras}" if extras else line


def configure_logging(log_format: str = "json", level: str = "info") -> None:
    """Send every logger (uvicorn's included) to one stderr handler in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the service writes its own access lines
