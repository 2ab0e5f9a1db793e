"""``TaggerEnsemble``: members' scores averaged into one CRF and one intent distribution."""

from __future__ import annotations

import pytest
import torch

from slotfill.model.batch import Featurizer, collate
from slotfill.model.config import ModelConfig
from slotfill.model.encoders.trigram import TrigramEncoder
from slotfill.model.encoders.vocab import Vocabulary, WordEncoder
from slotfill.model.ensemble import TaggerEnsemble, build_tagger, member_config
from slotfill.model.tagger import SlotTagger

TAGS = ("O", "B-dest", "I-dest", "B-time", "I-time")
INTENTS = ("airfare", "flight", "flight#airfare")
SENTENCES = [["arrive", "taipei", "on", "november", "2nd"], ["fly", "to", "new", "york"], ["fares"]]
SIZES = {"word": 20, "trigram": 64}  # ids per encoder


def _config(**changes: object) -> ModelConfig:
    base = ModelConfig(
        slot_tags=TAGS, intents=INTENTS, word_dim=8, trigram_dim=8, hidden_size=8, trigram_buckets=64
    )
    return base.replace(**changes)


def _members(config: ModelConfig, seeds: tuple[int, ...] = (1, 2)) -> list[SlotTagger]:
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        member = SlotTagger(member_config(config), SIZES)
        with torch.no_grad():  # CRF tables start at zero: make them differ between members
            for table in (member.crf.transitions, member.crf.start, member.crf.end):  # type: ignore[union-attr]
                table.normal_()
        members.append(member.eval())
    return members


def _batch(config: ModelConfig) -> tuple[Featurizer, object]:
    words = Vocabulary(["arrive", "taipei", "on", "fly", "to"])
    featurizer = Featurizer(config, [WordEncoder(words), TrigramEncoder(config.trigram_buckets)])
    return featurizer, collate([featurizer.featurize(s) for s in SENTENCES])


def test_scores_are_the_members_mean() -> None:
    config = _config(members=2)
    members = _members(config)
    ensemble = TaggerEnsemble(config, members).eval()
    _, batch = _batch(config)
    with torch.no_grad():
        outputs = [m(batch) for m in members]  # type: ignore[arg-type]
        joint = ensemble(batch)  # type: ignore[arg-type]
    mean_emissions = (outputs[0].emissions + outputs[1].emissions) / 2
    assert torch.allclose(joint.emissions, mean_emissions)
    mean_probs = (outputs[0].intent_logits.softmax(-1) + outputs[1].intent_logits.softmax(-1)) / 2  # type: ignore[union-attr]
    assert torch.allclose(joint.intent_logits.softmax(-1), mean_probs, atol=1e-6)  # type: ignore[union-attr]
    for name in ("transitions", "start", "end"):
        tables = [getattr(m.crf, name) for m in members]
        assert torch.allclose(getattr(ensemble.crf, name), (tables[0] + tables[1]) / 2)


def test_the_best_path_has_the_best_mean_path_score_over_the_members() -> None:
    """Viterbi on the averaged scores = the legal path whose members' mean score is highest."""
    config = _config(members=2)
    members = _members(config)
    ensemble = TaggerEnsemble(config, members).eval()
    _, batch = _batch(config)
    with torch.no_grad():
        outputs = [m(batch) for m in members]  # type: ignore[arg-type]
        members = [m.requires_grad_(False) for m in members]
        decoded = ensemble.decode(ensemble(batch), batch.mask)  # type: ignore[arg-type]
    import itertools

    from slotfill.model.crf import allowed_transitions

    allowed, first = allowed_transitions(TAGS)
    for row, sentence in enumerate(SENTENCES):
        n = len(sentence)

        def mean_score(path: tuple[int, ...], row: int = row, n: int = n) -> float:
            total = 0.0
            for member, output in zip(members, outputs, strict=True):
                crf = member.crf
                assert crf is not None
                emissions = output.emissions[row, :n]
                total += float(crf.start[path[0]] + crf.end[path[-1]])
                total += sum(float(emissions[t, tag]) for t, tag in enumerate(path))
                total += sum(float(crf.transitions[a, b]) for a, b in itertools.pairwise(path))
            return total / len(members)

        legal = [
            path
            for path in itertools.product(range(len(TAGS)), repeat=n)
            if first[path[0]] and all(allowed[a, b] for a, b in itertools.pairwise(path))
        ]
        assert tuple(decoded.tags[row]) == max(legal, key=mean_score)


def test_identical_members_answer_as_one_of_them() -> None:
    config = _config(members=2)
    (member,) = _members(config, seeds=(3,))
    twin = SlotTagger(member_config(config), SIZES).eval()
    twin.load_state_dict(member.state_dict())
    ensemble = TaggerEnsemble(config, [member, twin]).eval()
    _, batch = _batch(config)
    with torch.no_grad():
        alone = member.decode(member(batch), batch.mask)  # type: ignore[arg-type]
        joint = ensemble.decode(ensemble(batch), batch.mask)  # type: ignore[arg-type]
    assert joint.tags == alone.tags
    assert joint.intents == alone.intents
    for joint_row, alone_row in zip(joint.tag_probs, alone.tag_probs, strict=True):
        assert joint_row == pytest.approx(alone_row, abs=1e-5)
    assert joint.intent_probs == pytest.approx(alone.intent_probs, abs=1e-5)


def test_build_tagger_makes_one_network_or_an_ensemble() -> None:
    assert type(build_tagger(_config(), SIZES)) is SlotTagger
    ensemble = build_tagger(_config(members=3), SIZES)
    assert isinstance(ensemble, TaggerEnsemble)
    assert len(ensemble.members) == 3
    assert all(m.config == member_config(_config(members=3)) for m in ensemble.members)  # type: ignore[attr-defined]


def test_members_are_uncalibrated_single_networks() -> None:
    config = _config(members=2, slot_temperature=1.5, intent_temperature=0.8)
    single = member_config(config)
    assert (single.members, single.slot_temperature, single.intent_temperature) == (1, 1.0, 1.0)


def test_mismatched_members_are_refused() -> None:
    config = _config(members=2)
    with pytest.raises(ValueError, match="needs as many networks"):
        TaggerEnsemble(config, _members(config, seeds=(1,)))
    other = SlotTagger(member_config(_config(hidden_size=12)), SIZES)
    with pytest.raises(ValueError, match="member 1's settings or labels differ"):
        TaggerEnsemble(config, [_members(config, seeds=(1,))[0], other])
    with pytest.raises(ValueError, match="one network"):
        SlotTagger(config, SIZES)


def test_an_ensemble_without_crf_averages_emissions_only() -> None:
    config = _config(members=2, crf=False)
    members = [SlotTagger(member_config(config), SIZES).eval() for _ in range(2)]
    ensemble = TaggerEnsemble(config, members).eval()
    assert ensemble.crf is None
    _, batch = _batch(config)
    with torch.no_grad():
        decoded = ensemble.decode(ensemble(batch), batch.mask)  # type: ignore[arg-type]
    assert [len(tags) for tags in decoded.tags] == [len(s) for s in SENTENCES]


def test_round_to_storage_keeps_float16_values_and_is_idempotent() -> None:
    config = _config(members=2)
    ensemble = TaggerEnsemble(config, _members(config))
    ensemble.round_to_storage()
    for name, tensor in ensemble.state_dict().items():
        assert torch.equal(tensor, tensor.half().float()), name
        assert tensor.dtype == torch.float32, name
    before = {k: v.clone() for k, v in ensemble.state_dict().items()}
    ensemble.round_to_storage()
    assert all(torch.equal(before[k], v) for k, v in ensemble.state_dict().items())
    kept = SlotTagger(member_config(_config(weights_dtype="float32")), SIZES)
    original = {k: v.clone() for k, v in kept.state_dict().items()}
    kept.round_to_storage()
    assert all(torch.equal(original[k], v) for k, v in kept.state_dict().items())
