"""Viterbi over a large BIO tag set, scoring only the moves BIO allows and could still win.

Why: a Viterbi step scores every move from every tag to every tag, K x K of them. At ATIS's 159
tags that was 566 of ``crf_decode.decode_one``'s 740 µs for an 11-token sentence. Half of those
tags are I- tags, which only their own B- and I- tag may precede (the CRF's tables hold ``-inf``
for every other move), so their columns need two candidates, not 159. The other columns (O and
the B- tags, which any tag may precede) are scored on a table of their columns alone. Small tag
sets gain nothing from the split (a few more array operations per step than they save) and keep
the dense step.

Those columns are pruned exactly: a predecessor whose score trails the step's best by more than
the best can lose on any column's move (``BioColumns.reach``) can never be chosen, and a trained
tagger's emissions dwarf its transition scores, so on ATIS test one predecessor survived per step
on average (at most 7 of 159). Where only the best survives, every O and B- column comes from it:
one row of the table. ``viterbi_batch`` takes a whole batch a step at a time, so that any batch on
such a tag set decodes in NumPy rather than in torch's (B, K, K) steps.

Inside, tags are renumbered with the O and B- tags first (``BioColumns.order``), so a step's
scores are two slices joined rather than two scattered writes.
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
    """The transition table split by target tag, in the renumbered order (``order[i]`` is the
    tag at position i): first the D columns any tag may precede, then the S others."""

    order: Index  # (K,) tag ids: the D dense columns, then the S sparse ones
    dense_trans: Array  # (K, D) the dense columns' moves, rows in the renumbered order
    sources: Index  # (S, M) each sparse column's allowed predecessors (renumbered), the first
    # repeated to fill M
    sparse_trans: Array  # (S, M) the scores of those moves
    reach: Array  # (K,) per best predecessor: how far another may trail it and still win a column

    @property
    def dense_count(self) -> int:
        return int(self.dense_trans.shape[1])

    @classmethod
    def of(cls, trans: Array) -> BioColumns | None:
        """The split of ``trans`` (penalised: forbidden moves ``-inf``), or None where it would
        not pay (a small tag set, or few columns to skip).

        >>> import numpy as np
        >>> trans = np.zeros((40, 40)); trans[:, 20:] = -np.inf  # tags 20+ only from themselves
        >>> trans[np.arange(20, 40), np.arange(20, 40)] = 0.0
        >>> columns = BioColumns.of(trans)
        >>> columns.dense_count, len(columns.sources), columns.sources[0].tolist()
        (20, 20, [20])
        """
        tags = trans.shape[0]
        allowed = np.isfinite(trans)
        counts = allowed.sum(0)
        few = (counts > 0) & (counts <= MAX_SOURCES)
        if tags < MIN_TAGS or few.sum() < tags // 4:
            return None
        dense, sparse = np.flatnonzero(~few), np.flatnonzero(few)
        order = np.concatenate([dense, sparse])
        position = np.argsort(order)  # tag id -> renumbered position
        width = int(counts[sparse].max())
        sources = np.empty((len(sparse), width), dtype=np.intp)
        for row, column in enumerate(sparse):
            found = np.flatnonzero(allowed[:, column])
            sources[row] = np.concatenate([found, np.repeat(found[:1], width - len(found))])
        dense_trans = np.ascontiguousarray(trans[order][:, dense])
        # Tag i beats the best predecessor b on column j only if score_i + trans_ij >= score_b +
        # trans_bj, so only if score_b - score_i <= max_i' trans_i'j - trans_bj. reach[b] is the
        # largest such gap over the columns (inf where b may not move to one of them).
        with np.errstate(invalid="ignore"):
            gaps = dense_trans.max(0)[None, :] - dense_trans
        reach = np.where(np.isfinite(dense_trans).all(1), np.nan_to_num(gaps, nan=np.inf).max(1), np.inf)
        # Positions rise with tag ids within each part, so the sources stay in ascending order.
        return cls(order, dense_trans, position[sources], trans[sources, sparse[:, None]], reach)


def viterbi_one(emissions: Array, start: Array, end: Array, columns: BioColumns) -> list[int]:
    """The best path of one utterance (T, K): ``crf_decode.decode_one``'s Viterbi, split.

    Ties go to the lowest predecessor, as in the dense step: survivors are scanned in tag order
    (a tie puts both tags among them), sources in the order of their ids, and the pruned score
    strictly less than the step's best on every column.
    """
    order, width, dense_count = columns.order, emissions.shape[0], columns.dense_count
    scores = emissions[:, order]
    rows = np.arange(len(columns.sources))
    places = np.arange(dense_count)
    back_dense = np.empty((max(width - 1, 0), dense_count), dtype=np.intp)
    back_sparse = np.empty((max(width - 1, 0), len(rows)), dtype=np.intp)
    score = start[order] + scores[0]
    for t in range(1, width):
        best = int(score.argmax())
        near = np.flatnonzero(score >= score[best] - columns.reach[best])
        if near.size == 1:
            dense = score[best] + columns.dense_trans[best]
            back_dense[t - 1] = best
        else:
            near = near[np.argsort(order[near])]  # tag order, for ties
            candidates = score[near, None] + columns.dense_trans[near]  # (N, D)
            chosen = candidates.argmax(0)
            dense = candidates[chosen, places]
            back_dense[t - 1] = near[chosen]
        sparse = score[columns.sources] + columns.sparse_trans  # (S, M)
        sparse_best = sparse.argmax(1)
        back_sparse[t - 1] = columns.sources[rows, sparse_best]
        score = np.concatenate((dense, sparse[rows, sparse_best])) + scores[t]
    path = [int((score + end[order]).argmax())]
    dense_pointers, sparse_pointers = back_dense.tolist(), back_sparse.tolist()
    for t in range(width - 2, -1, -1):
        at = path[-1]
        path.append(dense_pointers[t][at] if at < dense_count else sparse_pointers[t][at - dense_count])
    best_path: list[int] = order[path[::-1]].tolist()
    return best_path


def viterbi_batch(
    emissions: Array, lengths: npt.NDArray[np.integer], start: Array, end: Array, columns: BioColumns
) -> list[list[int]]:
    """``viterbi_one`` of each utterance of a padded batch (B, T, K), a step for all at once.

    Where only a row's best predecessor survives the pruning (almost every step of a trained
    tagger), its O and B- columns all come from that tag: one gathered row of the table. The few
    rows where more survive are scored over their survivors alone, one at a time.
    """
    order, dense_count = columns.order, columns.dense_count
    batch, width, tags = emissions.shape
    scores = emissions[:, :, order]
    rows = np.arange(batch)
    sparse_rows = np.arange(len(columns.sources))
    places = np.arange(dense_count)
    back = np.empty((max(width - 1, 0), batch, tags), dtype=np.intp)
    score = start[order] + scores[:, 0]
    for t in range(1, width):
        best = score.argmax(1)
        top = score[rows, best]
        near = score >= (top - columns.reach[best])[:, None]
        dense = top[:, None] + columns.dense_trans[best]  # (B, D)
        back[t - 1, :, :dense_count] = best[:, None]
        for row in np.flatnonzero(near.sum(1) > 1).tolist():
            survivors = np.flatnonzero(near[row])
            survivors = survivors[np.argsort(order[survivors])]  # tag order, for ties
            candidates = score[row, survivors, None] + columns.dense_trans[survivors]
            chosen = candidates.argmax(0)
            dense[row] = candidates[chosen, places]
            back[t - 1, row, :dense_count] = survivors[chosen]
        sparse = score[:, columns.sources] + columns.sparse_trans  # (B, S, M)
        sparse_best = sparse.argmax(2)
        back[t - 1, :, dense_count:] = columns.sources[sparse_rows, sparse_best]
        step = np.concatenate((dense, np.take_along_axis(sparse, sparse_best[:, :, None], 2)[:, :, 0]), 1)
        score = np.where((t < lengths)[:, None], step + scores[:, t], score)
    last = (score + end[order]).argmax(1)
    path = np.empty((batch, width), dtype=np.intp)
    current = last
    for t in range(width - 1, -1, -1):
        current = np.where(lengths - 1 == t, last, current)  # each row's walk starts at its end
        path[:, t] = current
        if t > 0:
            current = back[t - 1, rows, current]
    tagged = order[path].tolist()
    return [row[:length] for row, length in zip(tagged, lengths.tolist(), strict=True)]
