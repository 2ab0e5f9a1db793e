"""The API's request and response bodies (separate classes: what clients send is not what they get).

Offsets are Python string indices, i.e. Unicode code points: ``text[start:end] == value``. A client
in a UTF-16 language (JavaScript, Java, C#) converts them before slicing astral characters (emoji).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr
from pydantic_core import PydanticCustomError

from slotfill.model.prediction import Parse
from slotfill.model.tokenize import lone_surrogate

EXAMPLE_TEXT = "arrive Taipei on November 2nd"
# Python's whitespace (str.isspace, what str.strip and the tokenizer split on), spelled out for
# the JSON Schema ``pattern``: JSON Schema's own \s (ECMAScript's) is a slightly different set.
WHITESPACE = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = "[^" + "".join("-" if c == "-" else f"\\u{ord(c):04x}" for c in WHITESPACE) + "]"


def check_text(text: str) -> str:
    """Refuse what cannot be tagged: nothing but whitespace, or a lone surrogate (not Unicode)."""
    if not text.strip():
        raise PydanticCustomError("empty_text", "empty or only whitespace")
    index = lone_surrogate(text)
    if index is not None:
        raise PydanticCustomError(
            "invalid_unicode", "holds a lone surrogate at index {index}; send valid Unicode", {"index": index}
        )
    return text


Text = Annotated[
    StrictStr,
    AfterValidator(check_text),
    Field(
        description="The user's message; at least one non-space character, at most the length limit "
        "(GET /v1/model shows it) in code points.",
        json_schema_extra={"minLength": 1, "pattern": NOT_BLANK},
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParseRequest(_Request):
    text: Text = Field(examples=[EXAMPLE_TEXT])

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": EXAMPLE_TEXT}]})


class ParseBatchRequest(_Request):
    texts: list[Text] = Field(
        min_length=1,
        description="Texts to tag, at least one, at most the batch limit; answered in the same order.",
    )

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"texts": [EXAMPLE_TEXT, "leave Boston on Monday"]}]}
    )


class TokenOut(BaseModel):
    text: str
    start: int = Field(ge=0, description="code point index where the token starts")
    end: int = Field(ge=0, description="code point index just past the token")


class SlotOut(BaseModel):
    slot: str = Field(examples=["dest"])
    value: str = Field(description="exactly text[start:end]", examples=["Taipei"])
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    confidence: float = Field(ge=0.0, le=1.0, description="probability of the least sure token")


class IntentOut(BaseModel):
    intent: str = Field(examples=["flight"])
    confidence: float = Field(ge=0.0, le=1.0)


class ModelRef(BaseModel):
    id: str = Field(description="model folder name", examples=["atis"])
    version: str = Field(description="first 12 hex digits of the weights' SHA-256", examples=["3f2a9c1b7d4e"])
    created: str | None = Field(description="when the model was trained (ISO 8601)")


class ParseResult(BaseModel):
    text: str
    tokens: list[TokenOut]
    tags: list[str] = Field(description="one BIO tag per token")
    slots: list[SlotOut]
    intent: IntentOut | None = Field(description="null when the model has no intent classifier")

    @classmethod
    def of(cls, parse: Parse, **extra: Any) -> Self:
        return cls(
            **extra,
            text=parse.text,
            tokens=[TokenOut(text=t.text, start=t.start, end=t.end) for t in parse.tokens],
            tags=parse.tags,
            slots=[
                SlotOut(slot=s.slot, value=s.value, start=s.start, end=s.end, confidence=s.confidence)
                for s in parse.slots
            ],
            intent=None
            if parse.intent is None
            else IntentOut(intent=parse.intent.intent, confidence=parse.intent.confidence),
        )


def parse_json_fields(parse: Parse) -> dict[str, Any]:
    """``ParseResult.of(parse)`` as plain JSON types, in the same fields and order, built without
    model instances: a batch of long texts holds tens of thousands of tokens, whose pydantic
    objects cost the event loop far more than the answer's arithmetic did.
    ``tests/service/test_api_parse.py`` holds the two to the same JSON."""
    intent = parse.intent
    return {
        "text": parse.text,
        "tokens": [{"text": t.text, "start": t.start, "end": t.end} for t in parse.tokens],
        "tags": parse.tags,
        "slots": [
            {"slot": s.slot, "value": s.value, "start": s.start, "end": s.end, "confidence": s.confidence}
            for s in parse.slots
        ],
        "intent": None if intent is None else {"intent": intent.intent, "confidence": intent.confidence},
    }


class ParseResponse(ParseResult):
    model: ModelRef
    took_ms: float = Field(ge=0.0, description="time in the service, queueing included")


class ParseBatchResponse(BaseModel):
    results: list[ParseResult] = Field(description="one per text, in the order sent")
    model: ModelRef
    took_ms: float = Field(ge=0.0)


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready"] = "ready"
    model: ModelRef


class Limits(BaseModel):
    max_text_chars: int
    max_batch_texts: int
    max_body_bytes: int


class ModelInfo(BaseModel):
    id: str
    version: str
    digest: str = Field(description="SHA-256 of model.safetensors")
    created: str | None
    slot_tags: list[str] = Field(description="the BIO tags the tagger predicts")
    slots: list[str] = Field(description="slot names (tags without B-/I-)")
    intents: list[str] = Field(description="empty when the model has no intent classifier")
    encoders: list[str]
    cell: str
    hidden_size: int
    num_layers: int
    bidirectional: bool
    crf: bool
    members: int = Field(description="networks whose scores are averaged (1: a single network)")
    slot_temperature: float = Field(
        description="slot scores are divided by this before they become confidences (fitted on dev; 1: as is)"
    )
    intent_temperature: float = Field(description="the same for the intent's scores")
    metrics: dict[str, Any] = Field(description="contents of metrics.json (empty when absent)")
    versions: dict[str, Any] = Field(description="library versions the model was trained with")
    device: str
    limits: Limits


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable reason", examples=["text_too_long"])
    message: str = Field(description="what is wrong, for humans")
    field: str | None = Field(None, description="the request field at fault, e.g. texts[2]")


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorDetail
