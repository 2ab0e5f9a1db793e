"""A linear-chain CRF over BIO tags whose transition table forbids illegal moves.

Constraints (``O -> I-x``, ``B-x -> I-y``, start ``-> I-x``) are applied in the loss and in
decoding alike, so the model's distribution gives illegal sequences no mass: Viterbi can never
emit one, and the marginals used as confidences are those of legal sequences only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

import numpy as np
import torch
from torch import nn

from slotfill.model import crf_decode
from slotfill.model.spans import split_tag
from slotfill.model.viterbi_bio import BioColumns, viterbi_batch

_FORBIDDEN = float("-inf")
_TINY = 1e-30
# Batches of up to this much work per step (utterances x tags x tags) are decoded in NumPy on the
# CPU (model.crf_decode), larger ones in torch on their own device. bench/crf_decode.py: up to 8
# utterances NumPy was as fast or faster with one torch thread and with two (2-2.5 times for one
# utterance); with two threads torch won on ATIS's tag set (159) from 16 utterances and on SNIPS's
# (72) from 32. With the bundled model's 7 tags NumPy also won at 256 utterances (7,400 against
# 5,900 texts/s for parse_batch), and it keeps the service's model thread off torch's per-operator
# release and retake of the interpreter lock, which under overload cost a wait each.
NUMPY_MAX_WORK = 8 * 159 * 159
# Emissions, lengths, and the transition, start and end tables, as NumPy arrays.
_NumpyInputs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _decode_with_numpy(emissions: torch.Tensor) -> bool:
    """Small batches in NumPy, whatever the device (on a GPU, torch would launch a handful of tiny
    kernels per token); large batches in torch."""
    batch, _, tags = emissions.shape
    return batch * tags * tags <= NUMPY_MAX_WORK


def _chosen(paths: list[list[int]], marginals: np.ndarray) -> list[list[float]]:
    """Each path's own marginal probability at each of its tokens, from (B, T, K) marginals."""
    return [marginals[row, np.arange(len(path)), path].tolist() for row, path in enumerate(paths)]


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _full_precision(
    method: Callable[Concatenate[CRF, torch.Tensor, _P], _R],
) -> Callable[Concatenate[CRF, torch.Tensor, _P], _R]:
    """Run a CRF computation in (at least) float32 with autocast off, whatever the caller's context.

    Mixed-precision training wraps the model in ``torch.autocast``, which would run the forward
    algorithm's matrix products in float16: there ``_TINY`` rounds to zero, a tag whose every
    allowed predecessor has underflowed gets ``log(0)``, and its gradient turns NaN, so the loss
    scaler skips step after step. The CRF is a few (K, K) products per token: float32 costs nothing.
    """

    @functools.wraps(method)
    def wrapper(self: CRF, emissions: torch.Tensor, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        if emissions.dtype not in (torch.float32, torch.float64):
            emissions = emissions.float()
        with torch.autocast(emissions.device.type, enabled=False):
            return method(self, emissions, *args, **kwargs)

    return wrapper


def allowed_transitions(tags: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean tables (K, K) of allowed ``from -> to`` moves and (K,) of allowed first tags.

    >>> allowed, first = allowed_transitions(["O", "B-a", "I-a", "B-b"])
    >>> allowed[0].tolist(), first.tolist()
    ([True, True, False, True], [True, True, False, True])
    """
    parts = [split_tag(tag) for tag in tags]
    allowed = torch.ones(len(tags), len(tags), dtype=torch.bool)
    for j, (prefix, label) in enumerate(parts):
        if prefix == "I":
            for i, (prev_prefix, prev_label) in enumerate(parts):
                allowed[i, j] = prev_prefix != "O" and prev_label == label
    first = torch.tensor([prefix != "I" for prefix, _ in parts])
    return allowed, first


def _log_matmul(log_vector: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """log(exp(log_vector) @ matrix), computed stably: (B, K) x (K, K) -> (B, K).

    The forward algorithm's log-sum-exp over K x K moves, done as one matrix product on rescaled
    probabilities: many times faster than broadcasting (B, K, K) in log space, for the same sums.
    """
    peak = log_vector.max(dim=1, keepdim=True).values
    return torch.log((log_vector - peak).exp() @ matrix + _TINY) + peak


class CRF(nn.Module):
    """Transition scores plus log-likelihood, Viterbi decoding and per-token marginals."""

    def __init__(self, tags: Sequence[str]) -> None:
        super().__init__()
        allowed, first = allowed_transitions(tags)
        self.transitions = nn.Parameter(torch.zeros(len(tags), len(tags)))
        self.start = nn.Parameter(torch.zeros(len(tags)))
        self.end = nn.Parameter(torch.zeros(len(tags)))
        self.penalty: torch.Tensor
        self.start_penalty: torch.Tensor
        self.register_buffer("penalty", torch.where(allowed, 0.0, _FORBIDDEN), persistent=False)
        self.register_buffer("start_penalty", torch.where(first, 0.0, _FORBIDDEN), persistent=False)
        self._numpy_cache: tuple[tuple[float, ...], crf_decode.DecodeTables] | None = None
        # Whether decoding splits the table by column (model.viterbi_bio): it depends on which
        # moves are allowed, never on the learnt scores.
        self.bio_split = BioColumns.of(torch.where(allowed, 0.0, _FORBIDDEN).numpy()) is not None

    def _tables(self, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transition, start and end scores with the BIO penalties, divided by ``temperature``."""
        tables = self.transitions + self.penalty, self.start + self.start_penalty, self.end
        if temperature == 1.0:
            return tables
        trans, start, end = (table / temperature for table in tables)
        return trans, start, end

    def _forward_scores(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> list[torch.Tensor]:
        """alpha_t (B, K) for every t: log-sum of all paths ending in each tag at t.

        ``emissions`` come already divided by ``temperature``; the tables are divided here.
        """
        trans, start, _ = self._tables(temperature)
        exp_trans = trans.exp()  # forbidden moves become exact zeros
        alpha = start + emissions[:, 0]
        alphas = [alpha]
        for t in range(1, emissions.shape[1]):
            step = _log_matmul(alpha, exp_trans) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)
            alphas.append(alpha)
        return alphas

    def log_partition(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """log Z per utterance (B,); ``emissions`` come already divided by ``temperature``."""
        end = self._tables(temperature)[2]
        return torch.logsumexp(self._forward_scores(emissions, mask, temperature)[-1] + end, dim=1)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unnormalised log score of the given tag paths (B,)."""
        # Gold paths are legal, so the raw (unpenalised) tables score them exactly.
        trans, start, end = self.transitions, self.start, self.end
        maskf = mask.to(emissions.dtype)
        score = start[tags[:, 0]] + emissions.gather(2, tags.unsqueeze(2)).squeeze(2).mul(maskf).sum(1)
        score = score + (trans[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1)).squeeze(1)
        return score + end[last]

    @_full_precision
    def nll(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """Negative log-likelihood of the gold paths (B,), every score divided by ``temperature``
        (what ``training.temperature`` minimises on dev)."""
        if temperature == 1.0:
            return self.log_partition(emissions, mask) - self.path_score(emissions, tags, mask)
        # A path's score is linear in every score, so dividing them all divides it.
        gold = self.path_score(emissions, tags, mask) / temperature
        return self.log_partition(emissions / temperature, mask, temperature) - gold

    def _numpy_inputs(self, emissions: torch.Tensor, mask: torch.Tensor) -> _NumpyInputs:
        """Emissions, lengths and the penalised tables as NumPy arrays on the CPU."""
        trans, start, end = (table.detach().to("cpu", emissions.dtype).numpy() for table in self._tables())
        return emissions.detach().cpu().numpy(), mask.sum(1).cpu().numpy(), trans, start, end

    @staticmethod
    def _divided(inputs: _NumpyInputs, temperature: float) -> _NumpyInputs:
        """``_numpy_inputs`` with every score (emissions and tables) divided by ``temperature``."""
        if temperature == 1.0:
            return inputs
        emissions, lengths, trans, start, end = inputs
        return emissions / temperature, lengths, trans / temperature, start / temperature, end / temperature

    @_full_precision
    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Best legal tag path of each utterance, cut to its length."""
        if _decode_with_numpy(emissions):
            return crf_decode.viterbi(*self._numpy_inputs(emissions, mask))
        return self._viterbi_torch(emissions, mask)

    @_full_precision
    def marginals(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """P(tag at t = k | utterance) for every token (B, T, K), by forward-backward, with every
        score divided by ``temperature`` (above 1 the model is less sure, below 1 more)."""
        if _decode_with_numpy(emissions):
            probs = crf_decode.marginals(*self._divided(self._numpy_inputs(emissions, mask), temperature))
            return torch.from_numpy(probs).to(emissions.device)
        return self._marginals_torch(emissions, mask, temperature)

    @_full_precision
    def decode(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> tuple[list[list[int]], torch.Tensor]:
        """``viterbi`` and ``marginals`` together, moving the inputs to NumPy once.

        The temperature changes only the marginals: dividing every score of every path by the same
        positive number leaves the best path the best.
        """
        if _decode_with_numpy(emissions):
            inputs = self._numpy_inputs(emissions, mask)
            probs = torch.from_numpy(crf_decode.marginals(*self._divided(inputs, temperature)))
            probs = probs.to(emissions.device)
            return crf_decode.viterbi(*inputs), probs
        return self._viterbi_torch(emissions, mask), self._marginals_torch(emissions, mask, temperature)

    def best_paths(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> tuple[list[list[int]], list[list[float]]]:
        """Each utterance's best path and the marginal probability of each tag on it: what
        ``decode`` gives, read where the answer needs it.

        One utterance (what a chatbot sends) goes to ``crf_decode.decode_one``, in float64 on
        tables computed once per set of weights and temperature rather than once per call.
        """
        if emissions.shape[0] == 1:  # one row has no padding: its length is the width
            scores = emissions[0].detach().to("cpu", torch.float64).numpy()
            path, probs = crf_decode.decode_one(scores, self.decode_tables(temperature))
            return [path], [probs]
        return self._best_paths_of_batch(emissions, mask, temperature)

    @_full_precision
    def _best_paths_of_batch(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float
    ) -> tuple[list[list[int]], list[list[float]]]:
        paths, marginals = self.decode(emissions, mask, temperature)
        return paths, _chosen(paths, marginals.detach().cpu().numpy())

    def decodes_with_numpy(self, emissions: torch.Tensor) -> bool:
        """Whether a batch of these emissions decodes in NumPy rather than torch: small work, or
        any batch on a large BIO tag set, whose Viterbi prunes to a few moves per step
        (``model.viterbi_bio``) and whose forward-backward goes in slices of small work."""
        return self.bio_split or _decode_with_numpy(emissions)

    def best_paths_in_numpy(
        self, emissions: np.ndarray, lengths: np.ndarray, temperature: float = 1.0
    ) -> tuple[list[list[int]], list[list[float]]]:
        """``best_paths`` of a batch already in float64 NumPy (B, T, K), on the float64 tables."""
        tables = self.decode_tables(temperature)
        inputs = (emissions, lengths, tables.trans, tables.start, tables.end)
        if tables.columns is None:
            paths = crf_decode.viterbi(*inputs)
            return paths, _chosen(paths, crf_decode.marginals(*self._divided(inputs, temperature)))
        paths = viterbi_batch(emissions, lengths, tables.start, tables.end, tables.columns)
        emissions, lengths, trans, start, end = self._divided(inputs, temperature)
        # Slices of small work keep each product single-threaded (``crf_decode._log_matmul``).
        rows = max(1, NUMPY_MAX_WORK // len(start) ** 2)
        probs = []
        for begin in range(0, len(paths), rows):
            part = slice(begin, begin + rows)
            marginals = crf_decode.marginals(emissions[part], lengths[part], trans, start, end)
            probs += _chosen(paths[part], marginals)
        return paths, probs

    def decode_tables(self, temperature: float = 1.0) -> crf_decode.DecodeTables:
        """The penalised tables in float64 for ``decode_one``, kept until a table changes.

        Keyed by the tensors' version counters, which every in-place change (an optimiser step,
        ``load_state_dict``) increments, so training never decodes with stale tables.
        """
        key = (*(table._version for table in (self.transitions, self.start, self.end)), temperature)
        if self._numpy_cache is None or self._numpy_cache[0] != key:
            with torch.no_grad():
                trans, start, end = (t.detach().to("cpu", torch.float64).numpy() for t in self._tables())
            self._numpy_cache = (key, crf_decode.DecodeTables.of(trans, start, end, temperature))
        return self._numpy_cache[1]

    def _viterbi_torch(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        trans, start, end = self._tables()
        into = trans.t().contiguous()  # (to, from): the max runs over the contiguous last axis
        score = start + emissions[:, 0]  # (B, K)
        history = []
        for t in range(1, emissions.shape[1]):
            best, index = (score.unsqueeze(1) + into).max(dim=2)  # (B, K) each
            history.append(index)
            score = torch.where(mask[:, t : t + 1], best + emissions[:, t], score)
        lengths = mask.sum(1)
        tags = self._backtrack(history, (score + end).argmax(1), lengths)
        return [row[:n] for row, n in zip(tags.tolist(), lengths.tolist(), strict=True)]

    @staticmethod
    def _backtrack(history: list[torch.Tensor], last: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Follow the back-pointers from each utterance's best last tag, all utterances at once.

        ``history[t][b, j]`` is the best tag at ``t`` before tag ``j`` at ``t + 1``. Walking from the
        right, position ``length - 1`` takes the best last tag; earlier positions follow pointers;
        positions past the end hold padding that the caller cuts off.
        """
        width = len(history) + 1
        tags = torch.zeros(last.shape[0], width, dtype=torch.long, device=last.device)
        current = last
        for t in range(width - 1, -1, -1):
            if t < width - 1:
                current = history[t].gather(1, current.unsqueeze(1)).squeeze(1)
            current = torch.where(lengths - 1 == t, last, current)
            tags[:, t] = current
        return tags

    def _marginals_torch(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        # Rounding in the rescaled sums can overshoot 1 by ~1e-5 when the model is sure; clamp.
        return self.log_marginals(emissions, mask, temperature).exp().clamp(0.0, 1.0)

    def log_marginals(
        self, emissions: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """log P(tag at t = k | utterance) (B, T, K) by forward-backward in torch, differentiable:
        what a student learns a teacher's marginals through (``training.distill``). Tags the BIO
        rules forbid come out as -inf at an utterance's first token and near log(1e-30) after it."""
        if temperature != 1.0:
            emissions = emissions / temperature
        trans, _, end = self._tables(temperature)
        exp_trans_t = trans.exp().t()
        alphas = self._forward_scores(emissions, mask, temperature)
        beta = end.expand_as(alphas[-1])
        betas = [beta]
        for t in range(emissions.shape[1] - 1, 0, -1):
            step = _log_matmul(emissions[:, t] + beta, exp_trans_t)
            # Past an utterance's end beta stays at the end scores, so its last token sees them.
            beta = torch.where(mask[:, t : t + 1], step, beta)
            betas.append(beta)
        log_z = torch.logsumexp(alphas[-1] + end, dim=1, keepdim=True)
        joint = torch.stack([a + b for a, b in zip(alphas, betas[::-1], strict=True)], dim=1)
        return joint - log_z.unsqueeze(1)
