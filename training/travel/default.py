"""The bundled default model: the travel corpus, the settings it is trained with, and the one call
that builds ``models/default`` when it is missing.

The settings trade a little accuracy for a training run of about a minute on 2 CPU cores (the
``make run`` budget): a smaller recurrent layer and embeddings than the library defaults, and a few
passes over a large, varied corpus rather than many passes over a small one, since variety is what
carries a synthetic corpus to real requests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from slotfill.model import tokenize
from slotfill.model.artifact import ArtifactError, load_artifact
from slotfill.model.config import ModelOptions
from slotfill.model.onnx_graph import graph_is_current, write_onnx
from slotfill.training.config import TrainConfig
from slotfill.training.formats.detect import read_split
from slotfill.training.pipeline import load_corpus, train_model
from slotfill.training.travel.corpus import DEFAULT_SEED, DEFAULT_SIZES, write_corpus

logger = logging.getLogger(__name__)

# The word's shape (``shape``: "Xx", "XX", "d:d") beside the case-folded word and its trigrams: on
# every dev set it raised slot F1 (SGD's chat turns most, +1.1) and cut false alarms; "OR" the
# state and "or" the conjunction no longer look alike (BENCHMARKS.md, ``bench/default_recipe.py``).
# Words seen fewer than three times read as "other": the corpus draws each of 30,000 places only a
# few times, and an embedding trained on one or two sentences is noise ("Seattle", drawn twice,
# got no slot in "I will be flying to Seattle."); "other" is trained on every dropped word.
MODEL_OPTIONS = ModelOptions(
    encoders=("word", "trigram", "shape"), word_dim=64, word_min_freq=3, trigram_dim=64, hidden_size=128
)
# No slot swapping: the generated corpus already draws every value at random for every template.
# One network, not the library's ensemble of two: this model answers chatbots, where a second
# network would double the time per request, and its generated corpus leaves little to average out.
# Six passes in batches of 64 cost what four in batches of 32 did and score higher on dev.
TRAINING = TrainConfig(
    epochs=6, batch_size=64, lr=4e-3, patience=6, slot_swap=0.0, members=1, seed=13, device="auto"
)
UNSEEN_SPLIT = "unseen"
# Written beside the corpus and into the model folder: which recipe made them.
RECIPE_FILE = "default_recipe.json"


def recipe() -> str:
    """A digest of everything the default model is made from: the corpus generator and the
    tokenizer (their source), the corpus sizes and seed, and the settings.

    A checkout that changes any of them (``git pull``) then trains the model again on its next
    ``make run`` instead of serving one made by the old recipe.
    """
    digest = hashlib.sha256()
    sources = sorted(
        (
            entry
            for entry in resources.files("slotfill.training.travel").iterdir()
            if entry.name.endswith(".py")
        ),
        key=lambda entry: entry.name,
    )
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    digest.update(Path(tokenize.__file__).read_bytes())
    settings = {
        "model": MODEL_OPTIONS.model_dump(mode="json"),
        "training": TRAINING.model_dump(mode="json", exclude={"device"}),
        "sizes": dict(DEFAULT_SIZES),
        "seed": DEFAULT_SEED,
    }
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def _made_by_this_recipe(folder: Path) -> bool:
    try:
        made: object = json.loads((folder / RECIPE_FILE).read_text(encoding="utf-8")).get("recipe")
    except (OSError, ValueError, AttributeError):
        return False
    return made == recipe()


def _write_recipe(folder: Path) -> None:
    (folder / RECIPE_FILE).write_text(json.dumps({"recipe": recipe()}) + "\n", encoding="utf-8")


def model_is_usable(folder: Path) -> bool:
    """Whether ``folder`` holds a complete model (every file present and its digest right) made by
    the current recipe."""
    try:
        load_artifact(folder)
    except ArtifactError as error:
        if folder.exists():
            logger.warning("%s is not a usable model (%s); training it again", folder, error)
        return False
    if not _made_by_this_recipe(folder):
        logger.warning("%s was made by another version of the corpus or settings; training it again", folder)
        return False
    return True


def build_default(
    out: Path, data: Path, *, force: bool = False, progress: bool = True, device: str = "auto"
) -> dict[str, Any] | None:
    """Generate the corpus into ``data`` (unless there) and train ``out`` (unless usable or ``force``).

    Returns the new model's metrics, or ``None`` when ``out`` was already usable. The model is
    trained into a temporary folder beside ``out`` and moved into place at the end, so an interrupted
    run never leaves a half-written model that the next run would serve.
    """
    if not force and model_is_usable(out):
        if not graph_is_current(out):
            logger.info("exporting %s to ONNX for the onnx backend", out)
            write_onnx(out)
        logger.info("%s is ready; nothing to train", out)
        return None
    complete = all((data / f"{split}.jsonl").is_file() for split in DEFAULT_SIZES)
    if force or not complete or not _made_by_this_recipe(data):
        logger.info("generating the travel corpus into %s", data)
        write_corpus(data, DEFAULT_SIZES, DEFAULT_SEED)
        _write_recipe(data)
    corpus = load_corpus(data, "jsonl", seed=TRAINING.seed)
    unseen = read_split(data, UNSEEN_SPLIT, "jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    config = TRAINING.replace(device=device)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        metrics = train_model(
            corpus, staging, MODEL_OPTIONS, config, progress, extra_eval={UNSEEN_SPLIT: unseen}
        )
        if metrics["interrupted"]:
            # Training kept its best epoch so far; the default model must be the whole recipe.
            raise KeyboardInterrupt
        _write_recipe(staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return metrics
