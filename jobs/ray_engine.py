"""The Ray engine: the same job on Ray Data, for when one machine is not enough.

read (numbered raw lines, streamed in blocks) -> ``map_batches`` on a pool of actors, each of
which loads the model once (on a GPU where asked) and runs :func:`slotfill.jobs.tagging.tag_lines`,
the local engine's own unit of work -> write. JSONL comes back to the driver in input order
and goes through the local engine's writer, so the two engines give the same bytes (and
``--resume`` works alike); Parquet is written by Ray itself, in parallel, to a folder or URI.

The model folder travels in Ray's object store (a few MB), so the actors need no shared disk.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slotfill.jobs.local import STOPPED_AT_BAD_LINE, LocalJob, Outcome, StopSignal, load_predictor
from slotfill.jobs.options import Options
from slotfill.jobs.progress import Counts, Progress
from slotfill.jobs.records import BadLine, error_record
from slotfill.jobs.sink import RecordSink
from slotfill.jobs.source import STDIO, JobError, LineSource
from slotfill.jobs.tagging import tag_lines

logger = logging.getLogger("slotfill.tag")


@dataclass(frozen=True, slots=True)
class RayJob:
    job: LocalJob
    actors: int = 1
    output_format: str = "jsonl"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise JobError("--engine ray needs Ray: pip install 'slotfill[ray]'") from error
    return ray


class _LineDatasource:  # made a ray.data.Datasource by _datasource(), which imports Ray
    """One read task per input, streaming ``{"line", "raw"}`` blocks of ``block_lines`` rows."""

    def __init__(self, name: str, skip: int, block_lines: int) -> None:
        super().__init__()
        self.name, self.skip, self.block_lines = name, skip, block_lines

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, **_: Any) -> list[Any]:
        from ray.data.block import BlockMetadata
        from ray.data.datasource import ReadTask

        name, skip, size = self.name, self.skip, self.block_lines

        def read() -> Iterator[Any]:
            import pyarrow as pa

            from slotfill.jobs.local import windows

            with LineSource(name) as source:
                for window in windows(source.lines(skip), size):
                    numbers, raws = zip(*window, strict=True)
                    yield pa.table(
                        {"line": pa.array(numbers, pa.int64()), "raw": pa.array(raws, pa.binary())}
                    )

        metadata = BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None)
        return [ReadTask(read, metadata, per_task_row_limit=per_task_row_limit)]


def _datasource(name: str, skip: int, block_lines: int) -> Any:
    from ray.data import Datasource

    cls = type("LineDatasource", (_LineDatasource, Datasource), {})
    return cls(name, skip, block_lines)


def _model_files(model: str) -> dict[str, bytes]:
    folder = Path(model)
    if not folder.is_dir():
        raise JobError(f"{model}: not a model folder")
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


class TagActor:
    """Loads the model once, then tags every batch it is given (``{"line", "raw"}`` -> records)."""

    def __init__(self, files: dict[str, bytes], device: str, threads: int | None, options: Options) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="slotfill-model-")
        for name, data in files.items():
            Path(self._folder.name, name).write_bytes(data)
        self.predictor = load_predictor(self._folder.name, device, threads)
        self.options = options

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        lines = [(int(n), bytes(raw)) for n, raw in zip(batch["line"], batch["raw"], strict=True)]
        tagged = tag_lines(self.predictor, lines, self.options)
        records, failed = tagged.records, tagged.errors
        if tagged.first_bad is not None:  # fail-fast: the lines before it, then it; the driver stops
            records, failed = [*records, error_record(tagged.first_bad)], [*failed, True]
        return {"line": [n for n, _ in lines][: len(records)], "record": records, "failed": failed}


def _as_columns(batch: dict[str, Any]) -> dict[str, Any]:
    """JSONL records -> typed Parquet columns: the parse result's, plus ``line``, ``error`` and the
    input's other fields as one JSON string (they differ from line to line)."""
    from slotfill.jobs.records import RESULT_FIELDS

    columns: dict[str, list[Any]] = {name: [] for name in ("line", "error", *sorted(RESULT_FIELDS), "fields")}
    for number, record, failed in zip(batch["line"], batch["record"], batch["failed"], strict=True):
        row = json.loads(record)
        columns["line"].append(int(number))
        columns["error"].append(row.pop("error") if failed else None)
        if failed:
            row.pop("line")
        for name in RESULT_FIELDS:
            columns[name].append(row.pop(name, None))
        columns["fields"].append(json.dumps(row, ensure_ascii=False) if row else None)
    return columns


def run_ray(ray_job: RayJob) -> Outcome:
    """Run the job on the Ray cluster at ``RAY_ADDRESS`` (or a local Ray when there is none)."""
    ray = _import_ray()
    job = ray_job.job
    if job.input == STDIO:
        raise JobError("--engine ray reads a file or URI, not stdin")
    if ray_job.output_format == "parquet":
        _check_parquet_output(job)
    files = _model_files(job.model)
    load_predictor(job.model, "cpu", 1)  # a bad model folder fails here, not in every actor
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), logging_level=logging.WARNING, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = not job.quiet
    gpus = (
        1
        if job.device.startswith("cuda") or (job.device == "auto" and ray.cluster_resources().get("GPU"))
        else 0
    )
    device = "cuda" if gpus else "cpu"
    sink = (
        None
        if ray_job.output_format == "parquet"
        else RecordSink(job.output, job.resume, job.overwrite, job.window)
    )
    skip = sink.done if sink else 0
    dataset = ray.data.read_datasource(
        # Reading is light next to tagging: it takes no CPU slot, which the actors would be
        # waiting for (a deadlock on a machine with as many CPUs as actors).
        _datasource(job.input, skip, job.window),
        num_cpus=0,
        override_num_blocks=1,
    ).map_batches(
        TagActor,
        fn_constructor_args=(files, device, job.threads or 1, job.options),
        batch_size=job.window,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=ray_job.actors),
        num_cpus=job.threads or 1,
        num_gpus=gpus,
    )
    if sink is None:
        return _write_parquet(dataset.map_batches(_as_columns, batch_format="numpy"), job.output)
    counts = Counts(skipped=skip)
    progress = Progress(counts, None, lambda: 0, quiet=True)
    try:
        with StopSignal() as stop:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                records = [str(r) for r in batch["record"]]
                failed = [bool(f) for f in batch["failed"]]
                if job.options.fail_fast and any(failed):
                    first = failed.index(True)
                    sink.write(records[:first])
                    counts.read += first
                    counts.tagged += first
                    error = json.loads(records[first])
                    return Outcome(
                        counts, STOPPED_AT_BAD_LINE, BadLine(error["line"], error["error"], error.get("id"))
                    )
                sink.write(records)
                counts.read += len(records)
                counts.failed += sum(failed)
                counts.tagged += len(records) - sum(failed)
                if stop.requested:
                    return Outcome(counts, "interrupted")
    finally:
        progress.close()
        sink.close()
    return Outcome(counts)


def _check_parquet_output(job: LocalJob) -> None:
    """Ray adds files to a folder: a local one holding a previous output is refused or emptied."""
    if job.resume:
        raise JobError("--resume continues a JSONL output; Parquet is written whole")
    if job.output == STDIO:
        raise JobError("--format parquet writes a folder or URI: give -o")
    folder = Path(job.output)
    if "://" in job.output or not folder.exists():
        return
    if not folder.is_dir():
        raise JobError(f"{folder}: is a file; Parquet output is a folder")
    previous = list(folder.glob("*.parquet"))
    if previous and not job.overwrite:
        raise JobError(f"{folder}: already holds Parquet files; --overwrite replaces them")
    for path in previous:
        path.unlink()


def _write_parquet(dataset: Any, output: str) -> Outcome:
    """Ray writes the files in parallel; the counts come back from their ``error`` column."""
    import ray

    counts = Counts()
    dataset.write_parquet(output)
    errors: Any = ray.data.read_parquet(output).select_columns(["error"])
    for batch in errors.iter_batches(batch_size=None, batch_format="pyarrow"):
        column = batch.column("error")
        counts.read += len(column)
        counts.failed += len(column) - column.null_count
    counts.tagged = counts.read - counts.failed
    return Outcome(counts)
