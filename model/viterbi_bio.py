"""One utterance's best path over a large BIO tag set, scoring only the moves BIO allows.

Why: a Viterbi step scores every move from every tag to every tag, K x K of them. At ATIS's 159
tags that was 566 of ``crf_decode.decode_one``'s 740 µs for an 11-token sentence. Half of those
tags are I- tags, which only their own B- and I- tag may precede (the CRF's tables hold ``-inf``
for every other move), so their columns need two candidates, not 159. The other columns (O and
the B- tags, which any tag may precede) are scored as before, on a table of their columns alone.
Small tag sets gain nothing from the split (a few more array operations per step than they save)
and keep the dense step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]
Index = npt.NDArray[np.intp]

MIN_TAGS = 32  # below this, the dense step is as fast
MAX_SOURCES = 4  # a column with at most this many allowed predecessors is scored sparsely


@dataclass(frozen=True)
class BioColumns:
    """The transition table split by target tag: columns any tag may precede, and the rest."""

    dense: Index  # (D,) target tags with many allowed predecessors
    dense_trans: Array  # (K, D) their columns of the table
    sparse: Index  # (S,) target tags with at most MAX_SOURCES allowed predecessors
    sources: Index  # (S, M) each one's allowed predecessors, the first repeated to fill M
    sparse_trans: Array  # (S, M) the scores of those moves

    @classmethod
    def of(cls, trans: Array) -> BioColumns | None:
        """The split of ``trans`` (penalised: forbidden moves ``-inf``), or None where it would
        not pay (a small tag set, or few columns to skip).

        >>> import numpy as np
        >>> trans = np.zeros((40, 40)); trans[:, 20:] = -np.inf  # tags 20+ only from themselves
        >>> trans[np.arange(20, 40), np.arange(20, 40)] = 0.0
        >>> columns = BioColumns.of(trans)
        >>> len(columns.dense), len(columns.sparse), columns.sources[0].tolist()
        (20, 20, [20])
        """
        tags = trans.shape[0]
        allowed = np.isfinite(trans)
        counts = allowed.sum(0)
        few = (counts > 0) & (counts <= MAX_SOURCES)
        if tags < MIN_TAGS or few.sum() < tags // 4:
            return None
        dense, sparse = np.flatnonzero(~few), np.flatnonzero(few)
        width = int(counts[sparse].max())
        sources = np.empty((len(sparse), width), dtype=np.intp)
        for row, column in enumerate(sparse):
            found = np.flatnonzero(allowed[:, column])
            sources[row] = np.concatenate([found, np.repeat(found[:1], width - len(found))])
        return cls(
            dense,
            np.ascontiguousarray(trans[:, dense]),
            sparse,
            sources,
            trans[sources, sparse[:, None]],
        )


def viterbi_one(emissions: Array, start: Array, end: Array, columns: BioColumns) -> list[int]:
    """The best path of one utterance (T, K): ``crf_decode.decode_one``'s Viterbi, column-split.

    Ties go to the lowest predecessor, as in the dense step: both scan predecessors in order.
    """
    width, tags = emissions.shape
    back = np.empty((max(width - 1, 0), tags), dtype=np.intp)
    rows = np.arange(len(columns.sparse))
    places = np.arange(len(columns.dense))
    score = start + emissions[0]
    for t in range(1, width):
        dense = score[:, None] + columns.dense_trans  # (K, D)
        dense_best = dense.argmax(0)
        sparse = score[columns.sources] + columns.sparse_trans  # (S, M)
        sparse_best = sparse.argmax(1)
        step = np.empty(tags)
        step[columns.dense] = dense[dense_best, places]
        step[columns.sparse] = sparse[rows, sparse_best]
        back[t - 1, columns.dense] = dense_best
        back[t - 1, columns.sparse] = columns.sources[rows, sparse_best]
        score = step + emissions[t]
    path = [int((score + end).argmax())]
    pointers = back.tolist()
    for t in range(width - 2, -1, -1):
        path.append(pointers[t][path[-1]])
    path.reverse()
    return path
