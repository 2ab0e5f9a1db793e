"""The ``slotfill`` command: assembles the subcommands of ``training``, ``service`` and ``jobs``.

Nothing here knows a subcommand's options; each side adds its own parsers and the function that
runs them. Every known failure (bad data, bad model folder, bad option or setting) ends with one
line on stderr naming the problem and a non-zero exit status, never a traceback. Only argparse
and torch-free modules are imported before a command runs, so ``slotfill --help`` is quick.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from slotfill.jobs import cli as job_commands
from slotfill.service import cli as service_commands
from slotfill.training import commands as training_commands

EXIT_FAILURE = 1  # the data, the model folder or an output path is wrong
EXIT_USAGE = 2  # an option or setting is wrong (argparse's own status for usage errors)
EXIT_INTERRUPTED = training_commands.EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotfill", description="Slot filling with a bidirectional LSTM.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    training_commands.add_parsers(commands)
    service_commands.add_parsers(commands)
    job_commands.add_parsers(commands)
    return parser


def _exit_status(error: Exception) -> int | None:
    """The status for a failure the user can fix, or None for a bug (which keeps its traceback)."""
    from slotfill.jobs.source import JobError
    from slotfill.model.artifact import ArtifactError
    from slotfill.service.binding import PortInUseError
    from slotfill.training.commands import OutputError
    from slotfill.training.data import DataError

    if isinstance(error, DataError | ArtifactError | OutputError | JobError | PortInUseError):
        return EXIT_FAILURE
    if isinstance(error, ValueError):
        return EXIT_USAGE
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("slotfill: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        code = _exit_status(error)
        if code is None:
            raise
        print(f"slotfill: error: {error}", file=sys.stderr)
        return code
    return status


if __name__ == "__main__":
    sys.exit(main())
