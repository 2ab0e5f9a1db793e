"""``slotfill tag --engine ray`` on a local Ray instance gives the local engine's records, bad lines too."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import ray

from slotfill.cli import main
from tests.jobs.test_local import jsonl_with_bad_lines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """Two CPUs, as CI has: two actors of one CPU each (reading takes none)."""
    address = os.environ.pop("RAY_ADDRESS", None)
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield
    ray.shutdown()
    if address is not None:
        os.environ["RAY_ADDRESS"] = address


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ray") / "in.jsonl"
    path.write_bytes(jsonl_with_bad_lines(3000)[0])
    return path


def tag(model: Path, source: Path, out: Path, *args: str) -> int:
    common = ("--batch-size", "16", "--threads", "1", "--quiet")
    return main(["tag", str(model), str(source), "-o", str(out), *common, *args])


def test_ray_jsonl_is_the_local_engines_byte_for_byte(
    local_ray: None, tiny_model_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    assert tag(tiny_model_dir, corpus, tmp_path / "local.jsonl") == 0
    assert tag(tiny_model_dir, corpus, tmp_path / "ray.jsonl", "--engine", "ray", "--actors", "2") == 0
    expected = (tmp_path / "local.jsonl").read_bytes()
    assert expected.count(b"\n") == 3000 and b'"error"' in expected
    assert (tmp_path / "ray.jsonl").read_bytes() == expected


def test_ray_parquet_holds_the_same_records_as_typed_columns(
    local_ray: None, tiny_model_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    assert tag(tiny_model_dir, corpus, tmp_path / "local.jsonl") == 0
    out = tmp_path / "parquet"
    assert tag(tiny_model_dir, corpus, out, "--engine", "ray", "--actors", "2", "--format", "parquet") == 0
    rows = sorted(pq.read_table(out).to_pylist(), key=lambda row: row["line"])
    records = [json.loads(line) for line in (tmp_path / "local.jsonl").read_text().splitlines()]
    assert [row["line"] for row in rows] == list(range(1, 3001))
    for row, record in zip(rows, records, strict=True):
        if "error" in record:
            assert (row["error"], row["text"]) == (record["error"], None)
            continue
        assert row["error"] is None
        assert {key: row[key] for key in ("text", "tags", "tokens")} == {
            key: record[key] for key in ("text", "tags", "tokens")
        }
        assert json.loads(row["fields"]) == {"id": record["id"], "source": record["source"]}
        assert [(s["slot"], s["start"], s["end"]) for s in row["slots"]] == [
            (s["slot"], s["start"], s["end"]) for s in record["slots"]
        ]


def test_ray_fail_fast_stops_where_the_local_engine_stops(
    local_ray: None, tiny_model_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    assert tag(tiny_model_dir, corpus, tmp_path / "local.jsonl", "--fail-fast") == 1
    assert tag(tiny_model_dir, corpus, tmp_path / "ray.jsonl", "--fail-fast", "--engine", "ray") == 1
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert (tmp_path / "ray.jsonl").read_bytes().count(b"\n") == 12
