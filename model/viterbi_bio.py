"""One utterance's best path over a large BIO tag set, scoring only the moves BIO allows.

Why: a Viterbi step scores every move from every tag to every tag, K x K of them. At ATIS's 159
tags that was 566 of ``crf_decode.decode_one``'s 740 µs for an 11-token sentence. Half of those
tags are I- tags, which only their own B- and I- tag may precede (the CRF's tables hold ``-inf``
for every other move), so their columns need two candidates, not 159. The other columns (O and
the B- tags, which any tag may precede) are scored as before, on a table of their columns alone.
Small tag sets gain nothing from the split (a few more array operations per step than they save)
and keep the dense step.

The remaining columns are pruned exactly: a predecessor whose score trails the step's best by more
than the best can lose on any column's move (``BioColumns.reach``) can never be chosen, and a
trained tagger's emissions dwarf its transition scores, so on ATIS test one predecessor survived
per step on average (at most 7). ``viterbi_batch`` takes a whole batch a step at a time, so that
any batch on such a tag set decodes in NumPy rather than in torch's (B, K, K) steps.
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
    reach: Array  # (K,) per best predecessor: how far another may trail it and still win a column

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
        dense_trans = np.ascontiguousarray(trans[:, dense])
        # Tag i beats the best predecessor b on column j only if score_i + trans_ij >= score_b +
        # trans_bj, so only if score_b - score_i <= max_i' trans_i'j - trans_bj. reach[b] is the
        # largest such gap over the columns (inf where b may not move to one of them).
        with np.errstate(invalid="ignore"):
            gaps = dense_trans.max(0)[None, :] - dense_trans
        reach = np.where(np.isfinite(dense_trans).all(1), np.nan_to_num(gaps, nan=np.inf).max(1), np.inf)
        return cls(dense, dense_trans, sparse, sources, trans[sources, sparse[:, None]], reach)


def viterbi_one(emissions: Array, start: Array, end: Array, columns: BioColumns) -> list[int]:
    """The best path of one utterance (T, K): ``crf_decode.decode_one``'s Viterbi, column-split.

    Ties go to the lowest predecessor, as in the dense step: both scan predecessors in order, and
    the pruned ones score strictly less than the step's best on every column.
    """
    width, tags = emissions.shape
    back = np.empty((max(width - 1, 0), tags), dtype=np.intp)
    rows = np.arange(len(columns.sparse))
    places = np.arange(len(columns.dense))
    score = start + emissions[0]
    for t in range(1, width):
        best = int(score.argmax())
        near = np.flatnonzero(score >= score[best] - columns.reach[best])  # ascending: ties as before
        dense = score[near, None] + columns.dense_trans[near]  # (N, D)
        dense_best = dense.argmax(0)
        sparse = score[columns.sources] + columns.sparse_trans  # (S, M)
        sparse_best = sparse.argmax(1)
        step = np.empty(tags)
        step[columns.dense] = dense[dense_best, places]
        step[columns.sparse] = sparse[rows, sparse_best]
        back[t - 1, columns.dense] = near[dense_best]
        back[t - 1, columns.sparse] = columns.sources[rows, sparse_best]
        score = step + emissions[t]
    path = [int((score + end).argmax())]
    pointers = back.tolist()
    for t in range(width - 2, -1, -1):
        path.append(pointers[t][path[-1]])
    path.reverse()
    return path


def viterbi_batch(
    emissions: Array, lengths: npt.NDArray[np.integer], start: Array, end: Array, columns: BioColumns
) -> list[list[int]]:
    """``viterbi_one`` of each utterance of a padded batch (B, T, K), a step for all at once.

    Where only a row's best predecessor survives the pruning (almost every step of a trained
    tagger), its O and B- columns all come from that tag: one gathered row of the table. The few
    rows where more survive are scored over their survivors alone, one at a time.
    """
    batch, width, tags = emissions.shape
    rows = np.arange(batch)
    sparse_rows = np.arange(len(columns.sparse))
    places = np.arange(len(columns.dense))
    back = np.empty((max(width - 1, 0), batch, tags), dtype=np.intp)
    score = start + emissions[:, 0]
    for t in range(1, width):
        best = score.argmax(1)
        top = score[rows, best]
        near = score >= (top - columns.reach[best])[:, None]
        dense = top[:, None] + columns.dense_trans[best]  # (B, D)
        dense_back = np.repeat(best[:, None], len(columns.dense), 1)
        for row in np.flatnonzero(near.sum(1) > 1).tolist():
            survivors = np.flatnonzero(near[row])
            candidates = score[row, survivors, None] + columns.dense_trans[survivors]
            chosen = candidates.argmax(0)
            dense[row] = candidates[chosen, places]
            dense_back[row] = survivors[chosen]
        sparse = score[:, columns.sources] + columns.sparse_trans  # (B, S, M)
        sparse_best = sparse.argmax(2)
        step = np.empty((batch, tags))
        step[:, columns.dense] = dense
        step[:, columns.sparse] = np.take_along_axis(sparse, sparse_best[:, :, None], 2)[:, :, 0]
        back[t - 1][:, columns.dense] = dense_back
        back[t - 1][:, columns.sparse] = columns.sources[sparse_rows, sparse_best]
        score = np.where((t < lengths)[:, None], step + emissions[:, t], score)
    last = (score + end).argmax(1)
    path = np.empty((batch, width), dtype=np.intp)
    current = last
    for t in range(width - 1, -1, -1):
        current = np.where(lengths - 1 == t, last, current)  # each row's walk starts at its end
        path[:, t] = current
        if t > 0:
            current = back[t - 1, rows, current]
    return [row[:length] for row, length in zip(path.tolist(), lengths.tolist(), strict=True)]
