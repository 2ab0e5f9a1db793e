"""The training loop: gradient clipping, early stopping with the best weights kept, epoch logs."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import pytest
import torch

from slotfill.model.batch import Batch, Featurizer, collate
from slotfill.model.config import ModelConfig, ModelOptions
from slotfill.model.predictor import Predictor
from slotfill.model.spans import tags_to_spans
from slotfill.model.tagger import SlotTagger
from slotfill.training.builder import build_model
from slotfill.training.data import Example
from slotfill.training.seeding import seed_everything
from slotfill.training.trainer import (
    EpochLog,
    FitResult,
    TrainConfig,
    _Encoded,
    _Stepper,
    evaluate_examples,
    fit,
)

SMALL = ModelOptions(word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=256)
CPU = torch.device("cpu")
TINY_CLIP = 1e-3

Data = tuple[list[Example], list[Example]]


def _grad_norm(parameters: Iterator[torch.nn.Parameter] | list[torch.nn.Parameter]) -> float:
    grads = [p.grad.detach().flatten() for p in parameters if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.cat(grads)))


def _fresh_model(train: list[Example], seed: int = 0) -> tuple[SlotTagger, Featurizer]:
    seed_everything(seed)
    return build_model(train, SMALL)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", 0),
        ("batch_size", 0),
        ("patience", 0),
        ("lr", 0.0),
        ("weight_decay", -0.1),
        ("clip_norm", -1.0),
        ("schedule", "linear"),
        ("slot_swap", 1.5),
        ("slot_swap", -0.5),
        ("intent_weight", -1.0),
        ("intent_smoothing", 1.0),
        ("intent_smoothing", -0.1),
        ("ema", 1.0),
        ("ema", -0.1),
    ],
)
def test_train_config_refuses_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})  # type: ignore[arg-type]


# --- slot swapping ----------------------------------------------------------------------------


def test_encoded_batches_swap_slot_values_only_when_asked(travel_data: Data) -> None:
    train = travel_data[0]
    model, featurizer = _fresh_model(train)
    everything = list(range(len(train)))
    plain = _Encoded(model, featurizer, train)
    once, again = plain.batch(everything, CPU), plain.batch(everything, CPU)
    assert torch.equal(once[0].ids["word"], again[0].ids["word"]) and torch.equal(once[1], again[1])
    assert plain.new_epoch() == [len(e.tokens) for e in train]
    swapping = _Encoded(model, featurizer, train, slot_swap=1.0, seed=0)
    lengths = swapping.new_epoch()
    first = swapping.batch(everything, CPU)
    assert first[0].lengths.tolist() == lengths  # the lengths batches are bucketed by
    swapping.new_epoch()
    second = swapping.batch(everything, CPU)
    assert not torch.equal(first[0].ids["word"], second[0].ids["word"])  # new values every epoch
    assert first[2] is not None and once[2] is not None
    assert torch.equal(first[2], once[2])  # an utterance keeps its intent
    # Each span is swapped for one span of the same slot: per utterance, the same slots in order.
    names = model.config.slot_tags

    def slots(batch: Batch, tags: torch.Tensor) -> list[list[str]]:
        rows = [row[:n] for row, n in zip(tags.tolist(), batch.lengths.tolist(), strict=True)]
        return [[span.label for span in tags_to_spans([names[t] for t in row])] for row in rows]

    assert slots(*first[:2]) == slots(*second[:2]) == slots(*once[:2])
    assert any(slots(*once[:2]))


# --- gradient clipping -------------------------------------------------------------------------


def _one_step(model: SlotTagger, featurizer: Featurizer, train: list[Example], clip: float) -> float:
    """One full-batch step without dropout; returns what ``step`` reports (the pre-clip norm)."""
    model.eval()  # no dropout: the same loss for every clip setting
    stepper = _Stepper(model, TrainConfig(clip_norm=clip), CPU, steps=1)
    batch = _Encoded(model, featurizer, train).batch(list(range(len(train))), CPU)
    return stepper.step(stepper.loss(*batch))


@pytest.fixture(scope="module")
def initial(travel_data: Data) -> tuple[SlotTagger, Featurizer]:
    return _fresh_model(travel_data[0])


def test_step_clips_the_global_norm_to_the_threshold(
    initial: tuple[SlotTagger, Featurizer], travel_data: Data
) -> None:
    model, featurizer = copy.deepcopy(initial)
    before = _one_step(model, featurizer, travel_data[0], TINY_CLIP)
    assert before > 100 * TINY_CLIP  # the returned norm is the one before clipping
    after = _grad_norm(list(model.parameters()))
    assert after <= TINY_CLIP * (1 + 1e-4)
    assert after == pytest.approx(TINY_CLIP, rel=1e-3)  # rescaled, not zeroed


def test_clip_norm_zero_turns_clipping_off(initial: tuple[SlotTagger, Featurizer], travel_data: Data) -> None:
    clipped_model, featurizer = copy.deepcopy(initial)
    clipped_before = _one_step(clipped_model, featurizer, travel_data[0], TINY_CLIP)
    model, featurizer = copy.deepcopy(initial)
    before = _one_step(model, featurizer, travel_data[0], 0.0)
    assert before == pytest.approx(clipped_before)  # same loss, same gradient
    assert _grad_norm(list(model.parameters())) == pytest.approx(before)  # left as it was
    assert not all(
        torch.equal(a, b) for a, b in zip(model.parameters(), clipped_model.parameters(), strict=True)
    )


def _long_utterance_step(length: int, clip: float) -> tuple[float, float]:
    """One step on an utterance of ``length`` words through an IRNN whose memory grows by 1.01 a
    step (the lecture's exploding gradient); the norm before clipping and the one applied."""
    config = ModelConfig(
        slot_tags=("O", "B-x", "I-x"),
        encoders=("word",),
        word_dim=2,
        hidden_size=2,
        cell="irnn",
        bidirectional=False,
        crf=False,
        dropout=0.0,
    )
    featurizer = Featurizer.fit(config, [["a"]])
    torch.manual_seed(0)
    model = SlotTagger(config, featurizer.sizes).eval()
    rnn = model.encoder.rnn
    with torch.no_grad():
        for param in model.embedder.parameters():
            param.abs_().add_(0.5)  # positive inputs keep the ReLU linear
        rnn.get_parameter("weight_ih_l0").abs_()
        rnn.get_parameter("weight_hh_l0").copy_(1.01 * torch.eye(2))
        model.slot_head.weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, -1.0], [-1.0, -1.0]]))
    stepper = _Stepper(model, TrainConfig(clip_norm=clip), CPU, steps=1)
    batch = collate([featurizer.featurize(["a"] * length)])
    wrong = torch.ones(1, length, dtype=torch.long)  # gold B-x, which the slot head scores low
    norm = stepper.step(stepper.loss(batch, wrong, None))
    return norm, _grad_norm(list(model.parameters()))


def test_clipping_bounds_the_step_where_the_gradient_explodes_over_a_long_utterance() -> None:
    short, _ = _long_utterance_step(10, 5.0)
    exploded, applied = _long_utterance_step(1000, 5.0)
    assert exploded > 1000 * short  # the gradient grows with the length, as w^t does
    assert applied <= 5.0 * (1 + 1e-4)
    unclipped, applied_unclipped = _long_utterance_step(1000, 0.0)
    assert applied_unclipped == pytest.approx(unclipped) and unclipped == pytest.approx(exploded)


class _NormSpy(torch.optim.AdamW):
    """AdamW that records the gradient norm it is about to apply (after any clipping)."""

    seen: ClassVar[list[float]] = []  # reset by the applied_norms fixture

    def step(self, closure: Callable[[], float] | None = None) -> Any:
        params = [p for group in self.param_groups for p in group["params"]]
        _NormSpy.seen.append(_grad_norm(params))
        return super().step(closure)


@pytest.fixture
def applied_norms(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    _NormSpy.seen = []
    monkeypatch.setattr(torch.optim, "AdamW", _NormSpy)
    return _NormSpy.seen


def _short_fit(travel_data: Data, clip: float) -> FitResult:
    train, dev = travel_data
    model, featurizer = _fresh_model(train)
    config = TrainConfig(epochs=2, batch_size=8, clip_norm=clip, seed=0)
    return fit(model, featurizer, train, dev, config, CPU, progress=False)


def test_fit_applies_only_clipped_gradients(travel_data: Data, applied_norms: list[float]) -> None:
    result = _short_fit(travel_data, TINY_CLIP)
    assert len(applied_norms) == 2 * 4  # 2 epochs of 32 utterances in batches of 8
    assert max(applied_norms) <= TINY_CLIP * (1 + 1e-4)
    # The log keeps the norm before clipping, which is what tells you clipping was active.
    assert all(entry.grad_norm > 100 * TINY_CLIP for entry in result.history)


def test_fit_without_clipping_applies_the_logged_norms(travel_data: Data, applied_norms: list[float]) -> None:
    result = _short_fit(travel_data, 0.0)
    assert min(applied_norms) > 100 * TINY_CLIP
    per_epoch = [sum(applied_norms[i : i + 4]) / 4 for i in (0, 4)]
    assert per_epoch == pytest.approx([entry.grad_norm for entry in result.history])


def test_cosine_schedule_anneals_the_learning_rate_to_zero(initial: tuple[SlotTagger, Featurizer]) -> None:
    model, _ = copy.deepcopy(initial)
    stepper = _Stepper(model, TrainConfig(schedule="cosine", lr=1e-2), CPU, steps=10)
    rates = []
    for _ in range(10):
        loss = sum(p.sum() for p in model.parameters())
        stepper.step(loss)  # type: ignore[arg-type]
        rates.append(stepper.optimizer.param_groups[0]["lr"])
    assert rates == sorted(rates, reverse=True)
    assert rates[-1] < 1e-2 * 0.05


# --- the moving average of the weights ----------------------------------------------------------


def test_ema_averages_the_weights_after_every_step(initial: tuple[SlotTagger, Featurizer]) -> None:
    """average_1 = w_1, then average_k = d * average_(k-1) + (1 - d) * w_k, the raw model untouched."""
    model, _ = copy.deepcopy(initial)
    decay = 0.7
    stepper = _Stepper(model, TrainConfig(ema=decay, lr=1e-2), CPU, steps=4)
    assert stepper.scored is not model
    expected: list[torch.Tensor] = []
    for _ in range(4):
        loss = sum((p**2).sum() for p in model.parameters())
        stepper.step(loss)  # type: ignore[arg-type]
        weights = [p.detach().clone() for p in model.parameters()]
        pairs = zip(expected, weights, strict=True)
        expected = [decay * e + (1 - decay) * w for e, w in pairs] if expected else weights
    averaged = list(stepper.scored.parameters())
    for got, want in zip(averaged, expected, strict=True):
        torch.testing.assert_close(got, want)
    assert not all(torch.equal(a, r) for a, r in zip(averaged, model.parameters(), strict=True))
    # Constant buffers (the CRF's -inf penalties) are copied, never averaged into NaN.
    for name, buffer in stepper.scored.named_buffers():
        assert torch.equal(buffer, dict(model.named_buffers())[name])


def test_off_by_default_the_scored_weights_are_the_model(initial: tuple[SlotTagger, Featurizer]) -> None:
    model, _ = copy.deepcopy(initial)
    stepper = _Stepper(model, TrainConfig(), CPU, steps=1)
    assert stepper.average is None and stepper.scored is model


def test_fit_with_ema_keeps_and_scores_the_averaged_weights(travel_data: Data) -> None:
    train, dev = travel_data
    config = TrainConfig(epochs=3, batch_size=8, seed=0)
    plain_model, featurizer = _fresh_model(train)
    fit(plain_model, featurizer, train, dev, config, CPU, progress=False)
    model, featurizer = _fresh_model(train)
    result = fit(model, featurizer, train, dev, config.replace(ema=0.9), CPU, progress=False)
    # The dev scores (and so the best epoch) are those of the weights fit returns: the average.
    assert evaluate_examples(Predictor(model, featurizer, CPU), dev) == result.best_dev
    assert not all(
        torch.equal(a, b) for a, b in zip(model.parameters(), plain_model.parameters(), strict=True)
    )


# --- early stopping and the epoch log ----------------------------------------------------------


class Fitted(NamedTuple):
    model: SlotTagger
    featurizer: Featurizer
    result: FitResult
    seen: list[EpochLog]
    log_path: Path


EPOCHS = 30


@pytest.fixture(scope="module")
def fitted(travel_data: Data, tmp_path_factory: pytest.TempPathFactory) -> Fitted:
    """A fit with patience 1, so that it stops early and the last epoch is not the best."""
    train, dev = travel_data
    model, featurizer = _fresh_model(train)
    seen: list[EpochLog] = []
    log_path = tmp_path_factory.mktemp("fit") / "train_log.jsonl"
    config = TrainConfig(epochs=EPOCHS, batch_size=8, patience=1, seed=0)
    result = fit(
        model, featurizer, train, dev, config, CPU, log_path=log_path, progress=False, on_epoch=seen.append
    )
    return Fitted(model, featurizer, result, seen, log_path)


def test_early_stopping_stops_when_patience_runs_out(fitted: Fitted) -> None:
    history = fitted.result.history
    assert len(history) < EPOCHS
    assert len(history) == fitted.result.best_epoch + 1  # patience 1: the first epoch with no gain
    assert [entry.epoch for entry in history] == list(range(1, len(history) + 1))
    best = history[fitted.result.best_epoch - 1]
    assert best.dev_slot_f1 == fitted.result.best_dev.slot.f1
    assert history[-1].dev_slot_f1 <= best.dev_slot_f1


def test_fit_returns_the_weights_of_the_best_epoch(fitted: Fitted, travel_data: Data) -> None:
    predictor = Predictor(fitted.model, fitted.featurizer, CPU)
    assert not fitted.model.training
    assert evaluate_examples(predictor, travel_data[1]) == fitted.result.best_dev


def test_every_epoch_is_reported_and_logged_as_one_json_line(fitted: Fitted) -> None:
    assert fitted.seen == fitted.result.history
    lines = fitted.log_path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [asdict(entry) for entry in fitted.result.history]
    for entry in fitted.seen:
        assert entry.train_loss > 0 and entry.grad_norm > 0 and entry.seconds > 0
        assert entry.dev_intent_accuracy is not None


def test_intents_are_scored_only_when_every_example_has_one(fitted: Fitted, travel_data: Data) -> None:
    predictor = Predictor(fitted.model, fitted.featurizer, CPU)
    dev = travel_data[1]
    assert evaluate_examples(predictor, dev).intent_accuracy is not None
    without_one = [*dev[:-1], Example(dev[-1].tokens, dev[-1].tags, None)]
    scores = evaluate_examples(predictor, without_one)
    assert scores.intent_accuracy is None
    assert scores.slot == evaluate_examples(predictor, dev).slot


def test_evaluation_measures_the_calibration_of_the_answers_it_scores(
    fitted: Fitted, travel_data: Data
) -> None:
    predictor = Predictor(fitted.model, fitted.featurizer, CPU)
    dev = travel_data[1]
    scores = evaluate_examples(predictor, dev)
    intent, slots = scores.intent_calibration, scores.slot_calibration
    assert intent is not None and slots is not None
    # The same answers as the accuracy scores: every utterance's intent, every predicted span.
    assert intent.count == len(dev) and intent.accuracy == pytest.approx(scores.intent_accuracy)
    assert slots.count == scores.slot.predicted and slots.accuracy == pytest.approx(scores.slot.precision)
    assert sum(b.count for b in slots.bins) == slots.count
    assert 0.0 <= slots.ece <= 1.0 and 0.0 <= intent.ece <= 1.0
    without_intent = [*dev[:-1], Example(dev[-1].tokens, dev[-1].tags, None)]
    assert evaluate_examples(predictor, without_intent).intent_calibration is None


# --- Ctrl-C -------------------------------------------------------------------------------------


class _CtrlC:
    """An epoch callback that raises KeyboardInterrupt, as Ctrl-C would, at epoch ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, entry: EpochLog) -> None:
        if entry.epoch == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_after_an_epoch_ends_training_with_the_best_epoch_so_far(travel_data: Data) -> None:
    train, dev = travel_data
    model, featurizer = _fresh_model(train)
    config = TrainConfig(epochs=EPOCHS, batch_size=8, seed=0)
    result = fit(model, featurizer, train, dev, config, CPU, progress=False, on_epoch=_CtrlC(3))
    assert result.interrupted
    assert [entry.epoch for entry in result.history] == [1, 2, 3]
    assert result.best_epoch in (1, 2)  # epoch 3 was stopped before it was compared
    assert not model.training
    assert evaluate_examples(Predictor(model, featurizer, CPU), dev) == result.best_dev


def test_ctrl_c_before_any_epoch_finished_is_not_swallowed(travel_data: Data) -> None:
    train, dev = travel_data
    model, featurizer = _fresh_model(train)
    config = TrainConfig(epochs=EPOCHS, batch_size=8, seed=0)
    with pytest.raises(KeyboardInterrupt):
        fit(model, featurizer, train, dev, config, CPU, progress=False, on_epoch=_CtrlC(1))


def test_a_finished_fit_is_not_marked_interrupted(fitted: Fitted) -> None:
    assert not fitted.result.interrupted
