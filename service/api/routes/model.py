"""What model is being served: labels, architecture, scores and digest."""

from __future__ import annotations

from fastapi import APIRouter

from slotfill.model.spans import split_tag
from slotfill.service.deps import RuntimeDep, SettingsDep
from slotfill.service.errors import COMMON_ERRORS
from slotfill.service.schemas import Limits, ModelInfo

router = APIRouter(prefix="/v1", tags=["model"])


def _slot_names(tags: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for tag in tags:
        _, label = split_tag(tag)
        if label and label not in names:
            names.append(label)
    return names


@router.get("/model", summary="The loaded model", responses={401: COMMON_ERRORS[401]})
async def model_info(runtime: RuntimeDep, settings: SettingsDep) -> ModelInfo:
    config = runtime.predictor.config
    meta = runtime.predictor.metadata
    return ModelInfo(
        id=runtime.ref.id,
        version=runtime.ref.version,
        digest=meta.digest,
        created=runtime.ref.created,
        slot_tags=list(config.slot_tags),
        slots=_slot_names(config.slot_tags),
        intents=list(config.intents),
        encoders=list(config.encoders),
        cell=config.cell,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        bidirectional=config.bidirectional,
        crf=config.crf,
        members=config.members,
        slot_temperature=config.slot_temperature,
        intent_temperature=config.intent_temperature,
        metrics=meta.metrics,
        versions=meta.versions,
        device=str(runtime.predictor.device),
        limits=Limits(
            max_text_chars=settings.max_text_chars,
            max_batch_texts=settings.max_batch_texts,
            max_body_bytes=settings.max_body_bytes,
        ),
    )
