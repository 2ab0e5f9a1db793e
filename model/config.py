"""The one typed configuration a tagger is built from and saved with.

A frozen, validated model rather than constructor flags: the same object builds the network, is
written to ``config.json`` beside the weights, and is read back to rebuild exactly the same
network. ``ModelOptions`` holds what a user chooses; the docstring under each field is also the
help of its ``slotfill train`` flag (``training.flags``), so a setting is described once.
``ModelConfig`` adds what comes from the data and from training (labels, calibration, members).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from slotfill.model.encoders import ENCODERS
from slotfill.model.spans import split_tag

if TYPE_CHECKING:
    Encoder = str  # the names are known at run time only, from the registry
else:
    # The registry's names, so validation (and its message) and the flag's choices follow it.
    Encoder = Literal[tuple(ENCODERS)]
# The first four are torch's fused modules; the rest run a loop of their own (``model.cells``).
Cell = Literal["lstm", "gru", "rnn", "irnn", "jordan", "lstm-peephole", "clockwork", "scrn"]
IntentPooling = Literal["attention", "maxmean"]
WeightsDtype = Literal["float16", "float32"]
CELLS: tuple[Cell, ...] = get_args(Cell)
INTENT_POOLINGS: tuple[IntentPooling, ...] = get_args(IntentPooling)
WEIGHTS_DTYPES: tuple[WeightsDtype, ...] = get_args(WeightsDtype)

Size = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(ge=0.0, lt=1.0)]  # NaN fails both bounds
Temperature = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class Settings(BaseModel):
    """Frozen, validated settings whose errors read as one line naming each field and its value.

    Strict: 16.5 is not a size and "2" or True is not a temperature, from Python or from JSON.
    A field's docstring is its description (and its flag's help in ``slotfill train``).
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", use_attribute_docstrings=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ValueError(describe(error)) from None

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``, validated like any new instance."""
        return type(self)(**{**self.model_dump(), **changes})


class ModelOptions(Settings):
    """The network's settings that a user chooses; the defaults are those BENCHMARKS.md reports."""

    encoders: Annotated[
        tuple[Encoder, ...],
        Field(
            min_length=1,
            description="token encoders, comma-separated: "
            + ", ".join(f"{name} ({kind.summary})" for name, kind in ENCODERS.items()),
        ),
    ] = ("word", "trigram")
    # Each encoder's settings are the fields named after it, below.
    word_dim: Size = 100
    """width of the word embedding"""
    word_min_freq: Size = 1
    """training words seen fewer times map to "other\""""
    word_dropout: Share = 0.1
    """share of training words replaced by "other", so the model learns what "other" means"""
    trigram_dim: Size = 100
    """width of the letter-trigram embedding"""
    trigram_buckets: Size = 20_000
    """hash buckets the letter trigrams of "#word#" fall into"""
    spm_dim: Size = 64
    """width of the subword embedding"""
    spm_vocab_size: Size = 1000
    """pieces in the sentencepiece model trained on the data"""
    shape_dim: Size = 8
    """width of the word-shape embedding (a handful of patterns: Xx, XX, x, d, d:d, ...)"""
    cell: Cell = "lstm"
    """recurrent cell: lstm, gru, rnn (Elman) or irnn (ReLU, identity-initialised), torch's fused
    kernels; or jordan (memory of the previous output), lstm-peephole (gates see the cell state),
    clockwork (modules updated at different periods) or scrn (a slow context state beside the
    fast one), slower loops (README)"""
    hidden_size: Size = 200
    """units per direction"""
    # Each cell's settings are the fields named after it; other cells ignore them.
    clockwork_periods: Annotated[tuple[Size, ...], Field(min_length=1)] = (1, 2, 4, 8)
    """clockwork cell: the update period of each module, fastest first; the units per direction
    are split evenly among the modules"""
    scrn_context_share: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2
    """scrn cell: share of the units per direction that are the slow context state"""
    num_layers: Size = 1
    """stacked recurrent layers"""
    bidirectional: bool = True
    """read the words right to left as well as left to right"""
    dropout: Share = 0.3
    """dropout between layers"""
    crf: bool = True
    """a BIO-constrained CRF over the tags (--no-crf: a softmax per token)"""
    intent_pooling: IntentPooling = "attention"
    """how the intent head reads the words"""
    intent_token_votes: bool = False
    """every word also votes on the intent; the utterance's score adds the mean vote (raised dev
    scores, lowered held-out and test slot F1: BENCHMARKS.md)"""
    intent_separator: str = "#"
    """splits compound intents (a#b) into parts that share evidence ('' treats every label as
    atomic)"""
    weights_dtype: WeightsDtype = "float16"
    """precision of the saved weights; the model is rounded before it is scored, so the figures in
    metrics.json are those of the saved model"""

    @field_validator("encoders")
    @classmethod
    def _distinct_encoders(cls, encoders: tuple[Encoder, ...]) -> tuple[Encoder, ...]:
        if len(set(encoders)) != len(encoders):
            raise ValueError(f"encoders repeat a name: {','.join(encoders)}")
        return encoders

    @field_validator("clockwork_periods")
    @classmethod
    def _ascending_periods(cls, periods: tuple[int, ...]) -> tuple[int, ...]:
        if list(periods) != sorted(set(periods)):
            raise ValueError(f"must be distinct and ascending (fastest module first): {periods}")
        return periods

    @model_validator(mode="after")
    def _cell_fits_the_units(self) -> Self:
        """A cell that splits its units needs enough of them; checked only for the chosen cell."""
        if self.cell == "clockwork" and len(self.clockwork_periods) > self.hidden_size:
            raise ValueError(
                f"clockwork_periods: {len(self.clockwork_periods)} modules need at least as many units "
                f"per direction, hidden_size is {self.hidden_size}"
            )
        if self.cell == "scrn" and self.hidden_size < 2:
            raise ValueError(f"hidden_size: scrn needs a fast and a context unit, got {self.hidden_size}")
        return self


class ModelConfig(ModelOptions):
    """Everything needed to rebuild a tagger's network: the options, the labels of the data, and
    what training fitted."""

    slot_tags: tuple[str, ...]
    intents: tuple[str, ...] = ()
    # Confidence calibration (training.temperature): slot and intent scores are divided by these
    # before they become probabilities. Fitted on dev after training; 1 leaves them as trained.
    # Dividing every score by one positive number changes no prediction, only the confidences.
    slot_temperature: Temperature = 1.0
    intent_temperature: Temperature = 1.0
    # Networks trained apart (seeds seed, seed+1, ...) whose scores are averaged (model.ensemble),
    # set by training from its ``members`` setting.
    members: Size = 1

    @field_validator("slot_tags")
    @classmethod
    def _bio_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        if "O" not in tags:
            raise ValueError("must hold 'O' and the B-/I- tags of the data")
        for tag in tags:
            split_tag(tag)  # a ValueError naming the tag
        return _distinct(tags)

    @field_validator("intents")
    @classmethod
    def _distinct_intents(cls, intents: tuple[str, ...]) -> tuple[str, ...]:
        return _distinct(intents)

    @property
    def options(self) -> ModelOptions:
        """The user's part of the settings."""
        return ModelOptions(**{name: getattr(self, name) for name in ModelOptions.model_fields})

    @property
    def encoder_dim(self) -> int:
        """Width of the recurrent layer's output per token."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from JSON, refusing keys this version does not know (a newer artifact).

        Missing keys take the defaults; a setting added later defaults to what older artifacts
        were built without (``intent_token_votes`` off, one member), so they load unchanged. Their
        weights were kept in float32.
        """
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            raise ValueError(f"unknown model settings {unknown}")
        values = {"weights_dtype": "float32", **data}
        for name in ("slot_tags", "intents", "encoders", "clockwork_periods"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        return cls(**values)


def _distinct(labels: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(labels)) != len(labels) or not all(labels):
        raise ValueError("must be distinct non-empty strings")
    return labels


def describe(error: ValidationError) -> str:
    """A pydantic error as one line a person can act on: each field, what is wrong, what was given.

    >>> ModelOptions(hidden_size=0)
    Traceback (most recent call last):
    ValueError: hidden_size: Input should be greater than or equal to 1, got 0
    """
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:  # a check of several fields: its message names them, the input is all
            problems.append(message)
            continue
        field = ".".join(str(part) for part in item["loc"])
        given = repr(item["input"])
        problems.append(f"{field}: {message}" if given in message else f"{field}: {message}, got {given}")
    return "; ".join(problems)
