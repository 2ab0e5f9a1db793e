"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Used for everything slotfill writes (model folders, training data, reports), so an interrupted
run cannot leave a truncated file behind. The temporary file sits in the target's folder, so
``os.replace`` is a rename on one file system; it is opened with ``open(..., "x")`` rather than
``tempfile.mkstemp`` (which makes it 0600), so the umask sets the permissions as for any file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary_path)``, then move the result onto ``path`` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("xb"):
            pass  # claim the name with the umask's permissions; ``write`` fills it
        mode = temporary.stat().st_mode
        write(temporary)
        os.chmod(temporary, mode)  # some writers (safetensors) recreate the file as 0600
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 with ``\\n`` line endings, atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data``, flushed to disk, atomically."""

    def write(temporary: Path) -> None:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    write_atomic(path, write)
