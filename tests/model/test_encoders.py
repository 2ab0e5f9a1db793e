"""The encoder registry, word ids, hashed letter trigrams, sentencepiece pieces, and the embedder
that reads them."""

from __future__ import annotations

import re
import zlib
from typing import get_args

import pytest
import torch

from slotfill.model.artifact import CONFIG, METRICS, PICKLE_SUFFIXES, WEIGHTS
from slotfill.model.batch import Featurizer, collate
from slotfill.model.config import Encoder, ModelConfig, ModelOptions
from slotfill.model.embedder import TokenEmbedder
from slotfill.model.encoders import ENCODERS, encoder_class
from slotfill.model.encoders.base import PAD, BagEncoder, EncoderStateError, IdEncoder
from slotfill.model.encoders.shape import (
    LONG,
    MAX_PARTS,
    ShapeEncoder,
    shape_count,
    shape_id,
    shape_parts,
    word_shape,
)
from slotfill.model.encoders.subword import SubwordEncoder, SubwordModel
from slotfill.model.encoders.trigram import TrigramEncoder, letter_trigrams, trigram_ids
from slotfill.model.encoders.vocab import OTHER, VOCAB_FILE, Vocabulary, WordEncoder, word_key
from slotfill.model.tagger import SlotTagger

SENTENCES = [
    ["arrive", "taipei", "on", "november", "2nd"],
    ["leave", "Taipei", "on", "monday"],
    ["fly", "from", "boston", "to", "denver", "on", "june", "5th"],
]

# Small sizes for every encoder, so each can be fitted on SENTENCES in a moment.
SMALL = ModelOptions(word_dim=4, trigram_dim=3, trigram_buckets=64, spm_dim=5, spm_vocab_size=40)
PROBES = ["taipei", "Taipei", "unseen", "6:30", "2nd", "東京", "x"]

# ---- the registry --------------------------------------------------------------------------


def test_the_settings_accept_exactly_the_registered_encoders() -> None:
    assert get_args(Encoder) == tuple(ENCODERS)
    for name in ENCODERS:
        assert ModelOptions(encoders=(name,)).encoders == (name,)
        assert f"{name} (" in (ModelOptions.model_fields["encoders"].description or "")  # in --help
    *others, last = (repr(name) for name in ENCODERS)
    known = f"{', '.join(others)} or {last}"
    with pytest.raises(ValueError, match=re.escape(f"encoders.1: Input should be {known}, got 'bert'")):
        ModelOptions(encoders=("word", "bert"))


def test_an_unknown_encoder_name_is_refused_naming_the_known_ones() -> None:
    assert encoder_class("word") is WordEncoder
    with pytest.raises(
        ValueError, match="unknown encoder 'bert'; the encoders are word, trigram, spm, shape"
    ):
        encoder_class("bert")


def test_the_registry_order_is_the_saved_models_order() -> None:
    """The embeddings are concatenated in this order: changing it would scramble saved weights."""
    assert list(ENCODERS)[:3] == ["word", "trigram", "spm"]


@pytest.mark.parametrize("name", list(ENCODERS))
def test_each_encoder_is_registered_under_its_name_and_is_one_kind(name: str) -> None:
    kind = ENCODERS[name]
    assert kind.name == name and name.isidentifier() and name != "bags"  # its table's attribute name
    assert issubclass(kind, IdEncoder) != issubclass(kind, BagEncoder)
    assert kind.summary
    for file in kind.files:  # JSON or sentencepiece's format, never a pickle or a name the folder uses
        assert file.endswith((".json", ".model")) and not file.endswith(PICKLE_SUFFIXES)
        assert file not in (CONFIG, WEIGHTS, METRICS)


def test_no_two_encoders_share_a_file() -> None:
    files = [file for kind in ENCODERS.values() for file in kind.files]
    assert len(files) == len(set(files))


@pytest.mark.parametrize("name", list(ENCODERS))
def test_each_encoder_round_trips_its_state(name: str) -> None:
    kind = ENCODERS[name]
    fitted = kind.fit(SMALL, SENTENCES)
    saved = fitted.save()
    assert set(saved) == set(kind.files)
    assert all(isinstance(data, bytes) for data in saved.values())
    loaded = kind.load(SMALL, dict(saved))
    assert len(loaded) == len(fitted) > 0
    assert loaded.save() == saved
    for token in PROBES:
        assert loaded.encode(token) == fitted.encode(token)


@pytest.mark.parametrize("name", list(ENCODERS))
def test_each_encoders_ids_fit_its_table(name: str) -> None:
    kind = ENCODERS[name]
    encoder = kind.fit(SMALL, SENTENCES)
    table = kind.table(SMALL, len(encoder))
    weight = table.get_parameter("weight")
    assert tuple(weight.shape) == (len(encoder), kind.dim(SMALL))
    for token in PROBES:
        ids = encoder.encode(token)
        if isinstance(ids, int):
            assert isinstance(encoder, IdEncoder) and ids != PAD
            ids = (ids,)
        assert len(ids) >= 1
        assert all(0 <= i < len(encoder) for i in ids)


def test_a_featurizer_round_trips_through_its_files() -> None:
    config = ModelConfig(slot_tags=("O",), encoders=tuple(ENCODERS), **SMALL.model_dump(exclude={"encoders"}))
    fitted = Featurizer.fit(config, SENTENCES)
    files = fitted.save()
    assert set(files) == {file for kind in ENCODERS.values() for file in kind.files}
    loaded = Featurizer.load(config, files.__getitem__)
    assert loaded.sizes == fitted.sizes and list(loaded.encoders) == list(ENCODERS)
    assert loaded.featurize(PROBES) == fitted.featurize(PROBES)


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"{", "not valid JSON"), (b'{"taipei": 2}', "list of words"), (b'["a", "a"]', "unique")],
)
def test_unusable_vocabulary_files_are_refused_naming_the_file(data: bytes, words: str) -> None:
    with pytest.raises(EncoderStateError, match=words) as caught:
        WordEncoder.load(SMALL, {VOCAB_FILE: data})
    assert caught.value.file == VOCAB_FILE


# ---- vocabulary ----------------------------------------------------------------------------


def test_vocab_reserves_pad_and_other() -> None:
    vocab = Vocabulary.build(SENTENCES)
    assert len(vocab) == len(vocab.words) + 2  # ids 0 and 1 are padding and "other", not words
    ids = vocab.encode(["taipei", "tainan", "boston"])
    assert ids[1] == OTHER  # never seen
    assert ids[0] > OTHER
    assert ids[2] > OTHER
    assert PAD not in vocab.encode([w for s in SENTENCES for w in s])


def test_vocab_orders_by_frequency_then_alphabet() -> None:
    vocab = Vocabulary.build(SENTENCES)
    # "on" x3, "taipei" x2 (case folded), then the rest alphabetically, digits folded to 0.
    assert vocab.to_json()[:4] == ["on", "taipei", "0nd", "0th"]
    assert vocab.encode(["on", "TAIPEI"]) == [2, 3]


def test_vocab_rare_words_become_other() -> None:
    vocab = Vocabulary.build(SENTENCES, min_freq=2)
    assert vocab.to_json() == ["on", "taipei"]
    assert vocab.encode(["on", "taipei", "boston", "zzz"]) == [2, 3, OTHER, OTHER]


def test_vocab_json_round_trip() -> None:
    vocab = Vocabulary.build(SENTENCES)
    again = Vocabulary(vocab.to_json())
    words = [w for s in SENTENCES for w in s] + ["unseen", "7th"]
    assert again.encode(words) == vocab.encode(words)
    assert len(again) == len(vocab)


def test_vocab_refuses_duplicate_words() -> None:
    with pytest.raises(ValueError, match="unique"):
        Vocabulary(["taipei", "taipei"])


def test_vocab_never_encodes_a_real_word_as_padding() -> None:
    assert Vocabulary(["taipei"]).encode(["<pad>", "<PAD>"]) == [OTHER, OTHER]


def test_vocab_builds_from_words_that_look_reserved() -> None:
    vocab = Vocabulary.build([["<other>", "<pad>", "taipei"]])
    assert vocab.encode(["taipei"]) != [OTHER]


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("Flight-1291", "flight-0000"),
        ("2nd", "0nd"),
        ("6:30", "0:00"),
        ("١٢", "00"),  # Arabic-Indic digits are digits too
        ("ＴＡＩＰＥＩ", "taipei"),  # NFKC folds full-width letters
        ("Straße", "strasse"),  # case folding, not lowering
        ("taipei", "taipei"),
    ],
)
def test_word_key(word: str, key: str) -> None:
    assert word_key(word) == key


def test_digit_folding_shares_ids() -> None:
    vocab = Vocabulary.build([["flight", "1291"]])
    assert vocab.to_json() == ["0000", "flight"]  # ties sort alphabetically
    assert vocab.encode(["8384", "0000", "129"]) == [2, 2, OTHER]


# ---- letter trigrams -----------------------------------------------------------------------


def test_trigram_ids_are_pinned() -> None:
    """Hard-coded: a change of hash or of the word marking silently breaks every saved model."""
    assert trigram_ids("taipei", 512) == (151, 132, 471, 412, 348, 325)
    assert trigram_ids("taipei", 20_000) == (3447, 16068, 16439, 3068, 12508, 11749)
    assert trigram_ids("taipei", 512) == tuple(
        zlib.crc32(g.encode()) % 512 for g in letter_trigrams("taipei")
    )


def test_trigrams_mark_word_boundaries() -> None:
    assert letter_trigrams("Taipei") == ["#ta", "tai", "aip", "ipe", "pei", "ei#"]
    assert letter_trigrams("a") == ["#a#"]
    assert letter_trigrams("to") == ["#to", "to#"]


def test_trigrams_are_case_and_width_insensitive() -> None:
    assert trigram_ids("TaIpEi", 20_000) == trigram_ids("taipei", 20_000)
    assert trigram_ids("ＴＡＩＰＥＩ", 20_000) == trigram_ids("taipei", 20_000)
    assert trigram_ids("tainan", 20_000) != trigram_ids("taipei", 20_000)


@pytest.mark.parametrize("word", ["taipei", "a", "東京", "👩‍👩‍👧", "e\u0301", "שלום", "\u200b", "x" * 40])
@pytest.mark.parametrize("buckets", [1, 7, 512])
def test_trigram_ids_in_range(word: str, buckets: int) -> None:
    ids = trigram_ids(word, buckets)
    assert len(ids) >= 1
    assert all(0 <= i < buckets for i in ids)


# ---- word shape ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "shape"),
    [
        ("Taipei", "Xx"),
        ("taipei", "x"),
        ("OR", "XX"),
        ("LA", "XX"),
        ("NYC", "XX"),
        ("I", "X"),
        ("McDonald", "XxXx"),
        ("iPhone", "xXx"),
        ("USAir", "XXx"),
        ("6:30", "d:d"),
        ("12:45pm", "d:dx"),
        ("1291", "d"),
        ("2nd", "dx"),
        ("a.m.", "x.x."),
        ("o'clock", "x'x"),
        ("12/25", "d/d"),
        ("e-mail", "x-x"),
        ("Flight-1291", "Xx-d"),
        ("?", "*"),
        ("$", "*"),
        ("東京", "x"),  # letters without case count as small
        ("١٢", "d"),  # Arabic-Indic digits are digits
        ("ＴＡＩＰＥＩ", "XX"),  # full-width capitals are capitals
        ("São", "Xx"),
        ("Sa\u0303o", "Xx"),  # a combining accent belongs to its letter
        ("🙂", "*"),
        ("\ud800", "*"),  # a lone surrogate
        ("", ""),
    ],
)
def test_word_shape(token: str, shape: str) -> None:
    assert word_shape(token) == shape


def test_shape_ids_are_pinned() -> None:
    """Hard-coded: a change to the table's order or size silently breaks every saved model."""
    assert shape_count() == 7716
    assert [shape_id(t) for t in ["Taipei", "taipei", "NYC", "I", "6:30", "1291"]] == [12, 4, 3, 2, 360, 5]


def test_shapes_group_tokens_by_case_and_digits_not_by_word() -> None:
    assert shape_id("Taipei") == shape_id("Boston") == shape_id("Tainan")
    assert len({shape_id(t) for t in ["Taipei", "taipei", "TAIPEI", "T"]}) == 4
    assert shape_id("6:30") == shape_id("12:45") != shape_id("1245")


@pytest.mark.parametrize(
    "token", ["U.S.A.", "Flight-1291-B", "a-b-c-d-e", "x" * 40 + "1" + "x", "", "\u0301", "𝔘𝔖ẞ" * 9]
)
def test_every_token_has_a_shape_id_in_the_table(token: str) -> None:
    assert 0 < shape_id(token) < shape_count()
    assert (shape_id(token) == LONG) == (not 0 < len(shape_parts(token)) <= MAX_PARTS)


def test_shape_table_starts_at_zero() -> None:
    """A shape training never saw adds nothing to its token's vector, rather than noise."""
    table = ShapeEncoder.table(ModelOptions(shape_dim=3), shape_count())
    assert tuple(table.get_parameter("weight").shape) == (shape_count(), 3)
    assert torch.count_nonzero(table.get_parameter("weight")) == 0


# ---- sentencepiece -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def subwords() -> SubwordModel:
    return SubwordModel.train(SENTENCES * 3, vocab_size=40)


def test_sentencepiece_training_is_deterministic(subwords: SubwordModel) -> None:
    again = SubwordModel.train(SENTENCES * 3, vocab_size=40)
    assert again.model_proto == subwords.model_proto
    other = SubwordModel.train([["completely", "different", "words"]] * 5, vocab_size=20)
    assert other.model_proto != subwords.model_proto


@pytest.mark.parametrize(
    "word", ["taipei", "TAIPEI", "tainan", "x", "東京", "🙂", "\u200b", "\ufeff", "e\u0301", "˘", "-"]
)
def test_every_word_gets_a_piece(subwords: SubwordModel, word: str) -> None:
    ids = subwords.encode(word)
    assert len(ids) >= 1
    assert all(0 <= i < len(subwords) for i in ids)


def test_sentencepiece_round_trips_through_its_bytes(subwords: SubwordModel) -> None:
    loaded = SubwordModel(subwords.model_proto)
    for word in ["taipei", "denver", "unseen"]:
        assert loaded.encode(word) == subwords.encode(word)
    assert subwords.encode("Taipei") == subwords.encode("taipei")


# ---- the embedder --------------------------------------------------------------------------


def _embedder_and_batch(word_dropout: float) -> tuple[TokenEmbedder, Featurizer, ModelConfig]:
    config = ModelConfig(
        slot_tags=("O",), word_dim=4, trigram_dim=3, trigram_buckets=64, word_dropout=word_dropout
    )
    featurizer = Featurizer(config, [WordEncoder(Vocabulary.build(SENTENCES)), TrigramEncoder(64)])
    torch.manual_seed(0)
    return TokenEmbedder(config, featurizer.sizes), featurizer, config


def test_embedder_output_is_the_encoders_concatenated() -> None:
    embedder, featurizer, _ = _embedder_and_batch(0.0)
    batch = collate([featurizer.featurize(s) for s in SENTENCES])
    out = embedder.eval()(batch)
    assert embedder.output_dim == 7
    assert out.shape == (3, 8, 7)
    torch.testing.assert_close(out[..., :4], embedder.table("word")(batch.ids["word"]))
    # A token's trigram part is the mean of its trigram rows.
    ids = torch.tensor(trigram_ids("taipei", 64))
    torch.testing.assert_close(out[0, 1, 4:], embedder.bags["trigram"].get_parameter("weight")[ids].mean(0))
    assert torch.count_nonzero(out[~batch.mask]) == 0  # padding positions are zero


def test_word_dropout_only_in_training_mode() -> None:
    embedder, featurizer, _ = _embedder_and_batch(0.5)
    batch = collate([featurizer.featurize(s * 10) for s in SENTENCES])
    other_row = embedder.table("word").get_parameter("weight")[OTHER]
    is_other = (embedder(batch)[..., :4] == other_row).all(-1)  # embedder starts in training mode
    known = batch.mask & (batch.ids["word"] != OTHER)
    dropped = int((is_other & known).sum())
    assert 0.3 * int(known.sum()) < dropped < 0.7 * int(known.sum())
    assert torch.count_nonzero(embedder(batch)[~batch.mask]) == 0  # padding is never "dropped" to other
    embedder.eval()
    is_other = (embedder(batch)[..., :4] == other_row).all(-1)
    assert not (is_other & known).any()
    torch.testing.assert_close(embedder(batch), embedder(batch))


def test_embedder_order_is_the_registrys_whatever_the_configs() -> None:
    """Saved weights mean word, then trigram, then spm, in whatever order ``--encoders`` named them."""
    options = SMALL.model_dump(exclude={"encoders"})
    config = ModelConfig(slot_tags=("O",), encoders=("spm", "trigram", "word"), **options)
    featurizer = Featurizer.fit(config, SENTENCES)
    embedder = TokenEmbedder(config, featurizer.sizes).eval()
    batch = collate([featurizer.featurize(s) for s in SENTENCES])
    out = embedder(batch)  # widths 4 (word), 3 (trigram), 5 (spm)
    torch.testing.assert_close(out[..., :4], embedder.table("word")(batch.ids["word"]))
    flat, offsets = batch.bags["spm"]
    torch.testing.assert_close(out[batch.mask][:, 7:], embedder.table("spm")(flat, offsets))


def test_embedder_wants_a_size_for_every_encoder() -> None:
    config = ModelConfig(slot_tags=("O",))
    with pytest.raises(ValueError, match="no number of ids given for the encoders trigram"):
        TokenEmbedder(config, {"word": 10})


# Hard-coded: the names every saved model folder holds. A change would stop them loading.
SAVED_NAMES = {
    ("word", "trigram"): ["embedder.word.weight", "embedder.bags.trigram.weight"],
    ("word", "trigram", "spm"): [
        "embedder.word.weight",
        "embedder.bags.trigram.weight",
        "embedder.bags.spm.weight",
    ],
    ("trigram", "spm"): ["embedder.bags.trigram.weight", "embedder.bags.spm.weight"],
    ("word",): ["embedder.word.weight"],
    ("word", "trigram", "shape"): [
        "embedder.word.weight",
        "embedder.shape.weight",
        "embedder.bags.trigram.weight",
    ],
}


@pytest.mark.parametrize("encoders", list(SAVED_NAMES))
def test_embedding_parameters_keep_the_names_saved_models_have(encoders: tuple[str, ...]) -> None:
    """In this order too: the optimiser and gradient clipping see the parameters in it, so a seed
    trains the same network as before."""
    config = ModelConfig(slot_tags=("O", "B-x", "I-x"), encoders=encoders, spm_vocab_size=40)
    model = SlotTagger(config, Featurizer.fit(config, SENTENCES).sizes)
    names = [name for name, _ in model.named_parameters() if name.startswith("embedder.")]
    assert names == SAVED_NAMES[encoders]
    assert [n for n in model.state_dict() if n.startswith("embedder.")] == SAVED_NAMES[encoders]


# Hard-coded from a model folder saved before the encoder registry (default settings, intents).
DEFAULT_NAMES = [
    "embedder.word.weight",
    "embedder.bags.trigram.weight",
    "encoder.rnn.weight_ih_l0",
    "encoder.rnn.weight_hh_l0",
    "encoder.rnn.bias_ih_l0",
    "encoder.rnn.bias_hh_l0",
    "encoder.rnn.weight_ih_l0_reverse",
    "encoder.rnn.weight_hh_l0_reverse",
    "encoder.rnn.bias_ih_l0_reverse",
    "encoder.rnn.bias_hh_l0_reverse",
    "slot_head.weight",
    "slot_head.bias",
    "crf.transitions",
    "crf.start",
    "crf.end",
    "intent_head.attention.0.weight",
    "intent_head.attention.0.bias",
    "intent_head.attention.2.weight",
    "intent_head.classify.weight",
    "intent_head.classify.bias",
]


def test_a_default_model_keeps_every_parameter_name_and_order() -> None:
    config = ModelConfig(slot_tags=("O", "B-x", "I-x"), intents=("a", "b"))
    model = SlotTagger(config, Featurizer.fit(config, SENTENCES).sizes)
    assert [name for name, _ in model.named_parameters()] == DEFAULT_NAMES


def test_featurizer_needs_subwords_for_spm() -> None:
    config = ModelConfig(slot_tags=("O",), encoders=("spm",))
    with pytest.raises(ValueError, match="encoders are spm, but none were given"):
        Featurizer(config, [])


def test_featurizer_with_spm(subwords: SubwordModel) -> None:
    config = ModelConfig(slot_tags=("O",), encoders=("word", "spm"), spm_dim=5, word_dim=2)
    featurizer = Featurizer(config, [WordEncoder(Vocabulary.build(SENTENCES)), SubwordEncoder(subwords)])
    features = featurizer.featurize(["taipei", "東京"])
    assert set(features.bags) == {"spm"}
    assert features.bags["spm"] == (subwords.encode("taipei"), subwords.encode("東京"))
    embedder = TokenEmbedder(config, featurizer.sizes)
    assert embedder(collate([features])).shape == (1, 2, 7)
