"""Peer: spaCy's NER component, trained from scratch with its default CPU configuration.

The pipeline is what ``spacy init config --pipeline ner --optimize efficiency`` describes on a blank
English model (``tok2vec`` + ``ner``; no vectors, nothing downloaded). Training follows spaCy's own
loop (its optimizer, batcher and dropout from that config, examples shuffled each epoch) on our
tokens as given, with two changes for a benchmark: epochs are bounded, and the kept epoch is the one
with the best dev slot F1 by our scorer. Intents come from :class:`TfidfIntent`.
"""

from __future__ import annotations

import importlib.abc
import logging
import random
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from peers_base import Budget, Prediction, TfidfIntent, folder_bytes

from slotfill.training.data import Example
from slotfill.training.metrics import score

logger = logging.getLogger("bench.peers.spacy")

PIPELINE_DIR = "spacy"
SEED = 13


class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"torch is hidden from the spaCy benchmark process ({name})")


def hide_torch() -> None:
    """Keep torch out of this process.

    thinc imports torch whenever it is installed, for shims this pipeline never uses; a spaCy user
    without torch would not carry its few hundred MB, so the spaCy measurements must not either.
    (Not ``sys.modules["torch"] = None``: scipy takes any entry there for a module.)
    """
    if "torch" not in sys.modules and not any(isinstance(f, _NoTorch) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoTorch())


def default_config() -> Any:
    """The config ``spacy init config --lang en --pipeline ner --optimize efficiency`` writes."""
    from spacy.cli.init_config import init_config

    return init_config(lang="en", pipeline=["ner"], optimize="efficiency", gpu=False)


def to_doc(vocab: Any, tokens: Sequence[str], tags: Sequence[str] | None = None) -> Any:
    """A pre-tokenised ``Doc``; with BIO ``tags``, its entities are set from them."""
    from spacy.tokens import Doc
    from spacy.training import biluo_tags_to_spans, iob_to_biluo

    doc = Doc(vocab, words=list(tokens))
    if tags is not None:
        doc.ents = biluo_tags_to_spans(doc, iob_to_biluo(list(tags)))
    return doc


def bio_tags(doc: Any) -> list[str]:
    """The entities of ``doc`` as one BIO tag per token."""
    tags = ["O"] * len(doc)
    for ent in doc.ents:
        tags[ent.start] = f"B-{ent.label_}"
        for i in range(ent.start + 1, ent.end):
            tags[i] = f"I-{ent.label_}"
    return tags


def _tag_all(nlp: Any, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    docs: Iterable[Any] = (to_doc(nlp.vocab, s) for s in sentences)
    return [bio_tags(doc) for doc in nlp.pipe(docs)]


class SpacyTagger:
    def __init__(self, nlp: Any, intent: TfidfIntent) -> None:
        self.nlp = nlp
        self.intent = intent

    def predict(self, sentences: Sequence[Sequence[str]]) -> Prediction:
        return Prediction(_tag_all(self.nlp, sentences), self.intent.predict(sentences))


class SpacySystem:
    label = "spaCy NER (default CPU config) + TF-IDF LR intents"

    def __init__(self, budget: Budget) -> None:
        hide_torch()
        self.budget = budget

    def _train(self, train: Sequence[Example], dev: Sequence[Example]) -> tuple[Any, dict[str, Any]]:
        import spacy
        from spacy.training import Example as SpacyExample
        from spacy.util import registry

        spacy.util.fix_random_seed(SEED)
        config = default_config()
        nlp = spacy.blank("en", config=config)  # a blank English pipeline holding tok2vec + ner
        examples = [
            SpacyExample(to_doc(nlp.vocab, e.tokens), to_doc(nlp.vocab, e.tokens, e.tags)) for e in train
        ]
        training = config["training"]
        batcher = registry.resolve({"batcher": training["batcher"]})["batcher"]
        dropout = float(training["dropout"])
        optimizer = nlp.initialize(lambda: examples)
        rng = random.Random(SEED)
        best: dict[str, Any] = {"dev_slot_f1": -1.0}
        best_bytes = b""
        history = []
        for epoch in range(1, self.budget.spacy_epochs + 1):
            rng.shuffle(examples)
            losses: dict[str, float] = {}
            for batch in batcher(examples):
                nlp.update(batch, drop=dropout, sgd=optimizer, losses=losses)
                optimizer.step_schedules()
            f1 = score([list(e.tags) for e in dev], _tag_all(nlp, [e.tokens for e in dev])).slot.f1
            loss = float(losses.get("ner", 0.0))
            history.append({"epoch": epoch, "loss": loss, "dev_slot_f1": f1})
            logger.info("epoch %d: ner loss %.1f, dev slot F1 %.4f", epoch, loss, f1)
            if f1 > best["dev_slot_f1"]:
                best = {"best_epoch": epoch, "dev_slot_f1": f1}
                best_bytes = nlp.to_bytes()
            elif epoch - best["best_epoch"] >= self.budget.spacy_patience:
                break
        nlp.from_bytes(best_bytes)
        return nlp, {**best, "epochs_run": len(history), "history": history}

    def fit(self, train: Sequence[Example], dev: Sequence[Example], folder: Path) -> dict[str, Any]:
        import spacy  # noqa: F401  (imported before the clock starts)

        started = time.perf_counter()
        nlp, info = self._train(train, dev)
        seconds = time.perf_counter() - started
        folder.mkdir(parents=True, exist_ok=True)
        nlp.to_disk(folder / PIPELINE_DIR)
        intent = TfidfIntent()
        intent_info = intent.fit(train, dev, self.budget.intent_cs)
        intent.save(folder)
        return {
            **info,
            **intent_info,
            "ner_seconds": seconds,
            "train_seconds": seconds + intent_info["intent_train_seconds"],
            "model_bytes": folder_bytes(folder),
        }

    def load(self, folder: Path) -> SpacyTagger:
        import spacy

        return SpacyTagger(spacy.load(folder / PIPELINE_DIR), TfidfIntent.load(folder))
