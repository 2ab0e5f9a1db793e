"""The options of ``slotfill train``, derived from the typed settings rather than restated.

Every field of ``ModelOptions`` and ``TrainConfig`` becomes a flag (``hidden_size`` ->
``--hidden-size``, a boolean ``crf`` -> ``--crf``/``--no-crf``, a tuple -> a comma-separated
list), with the field's docstring as its help and its default shown. pydantic-settings' CLI
source does the deriving: pydantic already validates these settings and the service's, and the
source adds the flags to the existing argparse subcommand, so ``slotfill``'s other commands,
its one-line errors and its exit codes stay as they are. A new setting is a new field, nothing
more.
"""

from __future__ import annotations

import argparse
import re

from pydantic_settings import BaseSettings, CliSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from slotfill.model.config import ModelOptions
from slotfill.training.config import TrainConfig


class TrainFlags(BaseSettings, ModelOptions, TrainConfig):
    """``slotfill train``'s settings: the network's options and the optimisation's, flat."""

    model_config = SettingsConfigDict(
        strict=False,  # flags arrive as text
        cli_kebab_case=True,
        cli_implicit_flags=True,  # --crf / --no-crf rather than --crf true
        cli_avoid_json=True,  # --encoders word,trigram rather than a JSON list
        cli_hide_none_type=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Flags only: an environment variable named like a field (EPOCHS, SEED) must not change a
        # training run behind the user's back.
        return (init_settings,)

    @property
    def model(self) -> ModelOptions:
        return ModelOptions(**self.model_dump(include=set(ModelOptions.model_fields)))

    @property
    def training(self) -> TrainConfig:
        return TrainConfig(**self.model_dump(include=set(TrainConfig.model_fields)))


def add_train_flags(parser: argparse.ArgumentParser) -> CliSettingsSource[TrainFlags]:
    """Add a flag per setting to ``parser``; the returned source reads them back after parsing."""
    return CliSettingsSource(TrainFlags, root_parser=parser)


def read_train_flags(source: CliSettingsSource[TrainFlags], args: argparse.Namespace) -> TrainFlags:
    """The validated settings of a parsed command line; a bad value is a ValueError naming the flag."""
    try:
        # BaseSettings takes the source as a keyword its subclasses' typed fields hide from mypy.
        return TrainFlags(_cli_settings_source=source(parsed_args=args))  # type: ignore[call-arg]
    except ValueError as error:
        raise ValueError(_with_flag_names(str(error))) from None


def _with_flag_names(message: str) -> str:
    """``hidden_size: ...; word_dropout: ...`` -> ``--hidden-size: ...; --word-dropout: ...``.

    >>> _with_flag_names("word_dropout: too big; encoders.1: unknown")
    '--word-dropout: too big; --encoders.1: unknown'
    """

    def flag(match: re.Match[str]) -> str:
        name = match.group(1)
        return "--" + name.replace("_", "-") if name in TrainFlags.model_fields else name

    return re.sub(r"(?:^|(?<=; ))([a-z_]+)(?=[.:])", flag, message)
