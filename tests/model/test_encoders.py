"""Word ids, hashed letter trigrams, sentencepiece pieces, and the embedder that reads them."""

from __future__ import annotations

import zlib

import pytest
import torch

from slotfill.model.batch import Featurizer, collate
from slotfill.model.config import ModelConfig
from slotfill.model.embedder import TokenEmbedder
from slotfill.model.encoders.subword import SubwordModel
from slotfill.model.encoders.trigram import letter_trigrams, trigram_ids
from slotfill.model.encoders.vocab import OTHER, PAD, Vocabulary, word_key

SENTENCES = [
    ["arrive", "taipei", "on", "november", "2nd"],
    ["leave", "Taipei", "on", "monday"],
    ["fly", "from", "boston", "to", "denver", "on", "june", "5th"],
]

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
    vocab = Vocabulary.build(SENTENCES)
    torch.manual_seed(0)
    return TokenEmbedder(config, len(vocab), 0), Featurizer(config, vocab, None), config


def test_embedder_output_is_the_encoders_concatenated() -> None:
    embedder, featurizer, _ = _embedder_and_batch(0.0)
    batch = collate([featurizer.featurize(s) for s in SENTENCES])
    out = embedder.eval()(batch)
    assert embedder.output_dim == 7
    assert out.shape == (3, 8, 7)
    word = embedder.word
    assert word is not None
    torch.testing.assert_close(out[..., :4], word(batch.word_ids))
    # A token's trigram part is the mean of its trigram rows.
    ids = torch.tensor(trigram_ids("taipei", 64))
    torch.testing.assert_close(out[0, 1, 4:], embedder.bags["trigram"].get_parameter("weight")[ids].mean(0))
    assert torch.count_nonzero(out[~batch.mask]) == 0  # padding positions are zero


def test_word_dropout_only_in_training_mode() -> None:
    embedder, featurizer, _ = _embedder_and_batch(0.5)
    batch = collate([featurizer.featurize(s * 10) for s in SENTENCES])
    word = embedder.word
    assert word is not None
    other_row = word.weight[OTHER]
    is_other = (embedder(batch)[..., :4] == other_row).all(-1)  # embedder starts in training mode
    known = batch.mask & (batch.word_ids != OTHER)
    dropped = int((is_other & known).sum())
    assert 0.3 * int(known.sum()) < dropped < 0.7 * int(known.sum())
    assert torch.count_nonzero(embedder(batch)[~batch.mask]) == 0  # padding is never "dropped" to other
    embedder.eval()
    is_other = (embedder(batch)[..., :4] == other_row).all(-1)
    assert not (is_other & known).any()
    torch.testing.assert_close(embedder(batch), embedder(batch))


def test_featurizer_needs_subwords_for_spm() -> None:
    config = ModelConfig(slot_tags=("O",), encoders=("spm",))
    with pytest.raises(ValueError, match="sentencepiece"):
        Featurizer(config, Vocabulary([]), None)


def test_featurizer_with_spm(subwords: SubwordModel) -> None:
    config = ModelConfig(slot_tags=("O",), encoders=("word", "spm"), spm_dim=5, word_dim=2)
    featurizer = Featurizer(config, Vocabulary.build(SENTENCES), subwords)
    features = featurizer.featurize(["taipei", "東京"])
    assert set(features.bags) == {"spm"}
    assert features.bags["spm"] == (subwords.encode("taipei"), subwords.encode("東京"))
    embedder = TokenEmbedder(config, len(featurizer.vocab), len(subwords))
    assert embedder(collate([features])).shape == (1, 2, 7)
