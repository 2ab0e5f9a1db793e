"""Readers and writers of the training-data formats: JointBERT folders, CoNLL and JSON Lines.

Use the facade: :func:`read_split` (format detected from the files present), :func:`write_split`,
:func:`detect_format` and :func:`available_splits`. Bad data raises
:class:`training.data.DataError` naming the file and line.
"""

from slotfill.training.formats.bio import BIO_POLICIES
from slotfill.training.formats.detect import FORMATS, available_splits, detect_format, read_split, write_split

__all__ = ["BIO_POLICIES", "FORMATS", "available_splits", "detect_format", "read_split", "write_split"]
