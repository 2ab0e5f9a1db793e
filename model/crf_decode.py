"""Viterbi and forward-backward in NumPy, for the small batches of a chatbot backend.

Both algorithms walk the utterance token by token, a handful of array operations per token. With
one or a few utterances those arrays are tiny, so what a step costs is the fixed price of each
operation: about a microsecond in NumPy against several in torch, whose every call goes through
its dispatcher (and on a GPU launches a kernel). ``model.crf.CRF`` sends batches of up to
``NUMPY_MAX_WORK`` (utterances x tags x tags) here, on any device; larger ones stay in torch,
which spreads the (B, K, K) work over its threads. ``bench/crf_decode.py`` measures both decoders.

Inputs are the CRF's tables with the BIO penalties already added (forbidden moves are ``-inf``),
emissions (B, T, K) and each utterance's length; padding past a length is never read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from slotfill.model.viterbi_bio import BioColumns, viterbi_one

Array = npt.NDArray[np.floating]

_TINY = 1e-30


def viterbi(
    emissions: Array, lengths: npt.NDArray[np.integer], trans: Array, start: Array, end: Array
) -> list[list[int]]:
    """Best tag path of each utterance, cut to its length.

    >>> import numpy as np
    >>> trans = np.array([[0.0, 0.0], [-np.inf, 0.0]])  # tag 1 may not go back to tag 0
    >>> viterbi(np.array([[[0.0, 1.0], [2.0, 0.0]]]), np.array([2]), trans, np.zeros(2), np.zeros(2))
    [[0, 0]]
    """
    batch, width, _ = emissions.shape
    into = np.ascontiguousarray(trans.T)  # (to, from): the max runs over the contiguous last axis
    score = start + emissions[:, 0]
    history = np.empty((max(width - 1, 0), batch, trans.shape[0]), dtype=np.intp)
    for t in range(1, width):
        candidates = score[:, None, :] + into  # (B, to, from)
        best = candidates.argmax(2)
        history[t - 1] = best
        step = np.take_along_axis(candidates, best[:, :, None], 2)[:, :, 0] + emissions[:, t]
        score = np.where((t < lengths)[:, None], step, score)
    last = (score + end).argmax(1)
    paths = []
    for row in range(batch):
        path = [int(last[row])]
        for t in range(int(lengths[row]) - 1, 0, -1):
            path.append(int(history[t - 1, row, path[-1]]))
        paths.append(path[::-1])
    return paths


def _log_matmul(log_vector: Array, matrix: Array) -> Array:
    """log(exp(log_vector) @ matrix), rescaled by the row maximum so nothing overflows.

    NumPy's bundled OpenBLAS runs products of about a million multiply-adds and up on a thread per
    core, whatever ``torch.set_num_threads`` says; on a busy machine that once made a 64-utterance
    ATIS forward-backward 100 times slower. The batches sent here (``model.crf.NUMPY_MAX_WORK``)
    keep the product at about 200,000 multiply-adds at most, single-threaded.
    """
    peak = log_vector.max(1, keepdims=True)
    product: Array = np.log(np.exp(log_vector - peak) @ matrix + _TINY) + peak
    return product


def marginals(
    emissions: Array, lengths: npt.NDArray[np.integer], trans: Array, start: Array, end: Array
) -> Array:
    """P(tag at t = k | utterance) for every token (B, T, K), by forward-backward.

    Rows past an utterance's length hold values the caller ignores.
    """
    batch, width, tags = emissions.shape
    exp_trans = np.exp(trans)  # forbidden moves become exact zeros
    exp_trans_t = np.ascontiguousarray(exp_trans.T)
    alphas = np.empty_like(emissions)
    alpha = start + emissions[:, 0]
    alphas[:, 0] = alpha
    for t in range(1, width):
        step = _log_matmul(alpha, exp_trans) + emissions[:, t]
        alpha = np.where((t < lengths)[:, None], step, alpha)
        alphas[:, t] = alpha
    betas = np.empty_like(emissions)
    beta: Array = np.broadcast_to(end, (batch, tags))
    betas[:, width - 1] = beta
    for t in range(width - 1, 0, -1):
        # Past an utterance's end beta stays at the end scores, so its last token sees them.
        back = _log_matmul(emissions[:, t] + beta, exp_trans_t)
        beta = np.where((t < lengths)[:, None], back, beta)
        betas[:, t - 1] = beta
    final = alphas[:, -1] + end
    peak = final.max(1, keepdims=True)
    log_z = np.log(np.exp(final - peak).sum(1, keepdims=True)) + peak
    # Rounding in the rescaled sums can overshoot 1 by ~1e-5 when the model is sure; clamp.
    probs: Array = np.clip(np.exp(alphas + betas - log_z[:, :, None]), 0.0, 1.0)
    return probs


@dataclass(frozen=True)
class DecodeTables:
    """What ``decode_one`` needs of a CRF at one temperature, computed once per set of weights.

    ``pair`` holds exp(trans / temperature) and its transpose, stacked (2, K, K), so the forward
    and the backward pass advance together in one product per step; ``edges`` the exponentiated
    start and end scores (2, 1, K), each shifted by its maximum (a constant the normalisation
    removes). Forbidden moves are exact zeros in ``pair``.
    """

    trans: Array
    start: Array
    end: Array
    temperature: float
    pair: Array
    edges: Array
    columns: BioColumns | None  # a large BIO tag set's split table (``model.viterbi_bio``)

    @classmethod
    def of(cls, trans: Array, start: Array, end: Array, temperature: float = 1.0) -> DecodeTables:
        moves = np.exp(trans / temperature)
        first, last = start / temperature, end / temperature
        edges = np.stack((np.exp(first - first.max()), np.exp(last - last.max())))[:, None, :]
        pair = np.stack((moves, np.ascontiguousarray(moves.T)))
        return cls(trans, start, end, temperature, pair, edges, BioColumns.of(trans))


def decode_one(emissions: Array, tables: DecodeTables) -> tuple[list[int], list[float]]:
    """One utterance's best path and, per token, the marginal probability of the tag it chose.

    What a chatbot backend asks for with every message, in about a third of the array operations
    per token of ``viterbi`` plus ``marginals``, which is what one short utterance costs: no batch
    to mask; Viterbi keeps each step's candidates and takes all their argmaxes in one call at the
    end (on a large BIO tag set it scores only the moves BIO allows, ``model.viterbi_bio``);
    forward-backward runs on scaled probabilities (each step divided by its sum, as in HMM
    toolkits) instead of in log space, the forward and the backward pass as the two rows of one
    (2, 1, K) @ (2, K, K) product per step. In float64, a step that underflows would need a tag
    ``e^-700`` below the best, a probability nobody reads. The temperature divides every score for
    the marginals only: it never changes the best path.

    >>> import numpy as np
    >>> trans = np.array([[0.0, 0.0], [-np.inf, 0.0]])  # tag 1 may not go back to tag 0
    >>> tables = DecodeTables.of(trans, np.zeros(2), np.zeros(2))
    >>> path, probs = decode_one(np.array([[0.0, 1.0], [2.0, 0.0]]), tables)
    >>> path, [round(p, 3) for p in probs]  # paths 00, 01, 11 score 2, 0, 1: P(00) = e²/(e² + 1 + e)
    ([0, 0], [0.755, 0.665])
    """
    width, tags = emissions.shape
    if tables.columns is not None:
        path = viterbi_one(emissions, tables.start, tables.end, tables.columns)
    else:
        path = _dense_viterbi_one(emissions, tables)

    scaled = emissions if tables.temperature == 1.0 else emissions / tables.temperature
    weights = np.exp(scaled - scaled.max(1, keepdims=True))
    # Row 0 carries what flows into each token from the left (alpha before its own weight), row 1
    # beta from the right: each step multiplies by a token's weights and moves one token on.
    walks = np.empty((width, 2, 1, tags))
    state = walks[0] = tables.edges
    steps = np.stack((weights[:-1], weights[:0:-1]), axis=1)[:, :, None, :]
    for t in range(1, width):
        state = np.matmul(state * steps[t - 1], tables.pair)
        state /= state.sum(2, keepdims=True)
        walks[t] = state
    joint = walks[:, 0, 0] * weights * walks[::-1, 1, 0]
    chosen: Array = joint[np.arange(width), path] / joint.sum(1)
    return path, chosen.tolist()


def _dense_viterbi_one(emissions: Array, tables: DecodeTables) -> list[int]:
    """Viterbi over every move: each step's candidates kept, all argmaxes taken in one call."""
    width, tags = emissions.shape
    candidates = np.empty((width - 1, tags, tags))  # (step, from, to)
    score = tables.start + emissions[0]
    for t in range(1, width):
        step = candidates[t - 1]
        np.add(score[:, None], tables.trans, out=step)
        score = step.max(0) + emissions[t]
    path = [int((score + tables.end).argmax())]
    if width > 1:
        pointers = candidates.argmax(1).tolist()
        for t in range(width - 2, -1, -1):
            path.append(pointers[t][path[-1]])
        path.reverse()
    return path
