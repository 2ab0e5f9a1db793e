"""``slotfill tag`` on one machine: order, ids, bad lines, gzip, stdin/stdout, workers, fail-fast, stops.

Most tests call ``main`` in-process on the tiny model; those about processes (stdin, signals,
memory) run the real command in a subprocess.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from slotfill.cli import main
from slotfill.model.predictor import Predictor
from tests.jobs.corpus import sentences

SLOTFILL = [sys.executable, "-m", "slotfill"]
PARQUET = ("--engine", "ray", "--format", "parquet")


def jsonl_with_bad_lines(count: int) -> tuple[bytes, set[int]]:
    """``count`` JSONL lines (ids, an extra field), every 13th one bad in a different way."""
    bad_kinds = [b"not json", b'{"id": "x"}', b'{"text": 3}', b'{"text": " "}', b"\xff\xfe", b"[]"]
    lines, bad = [], set()
    for number, text in enumerate(sentences(count), start=1):
        if number % 13 == 0:
            lines.append(bad_kinds[number // 13 % len(bad_kinds)])
            bad.add(number)
        else:
            lines.append(json.dumps({"id": f"u{number}", "text": text, "source": "chat"}).encode())
    return b"\n".join(lines) + b"\n", bad


def tag(*args: str | Path) -> int:
    return main(["tag", *map(str, args), "--quiet"])


def read_records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_records_keep_input_order_ids_and_fields(
    tiny_model_dir: Path, tiny_predictor: Predictor, tmp_path: Path
) -> None:
    data, bad = jsonl_with_bad_lines(300)
    (tmp_path / "in.jsonl").write_bytes(data)
    assert tag(tiny_model_dir, tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "--batch-size", "4") == 0
    records = read_records(tmp_path / "out.jsonl")
    assert len(records) == 300
    texts = sentences(300)
    for number, record in enumerate(records, start=1):
        if number in bad:
            assert record["line"] == number and isinstance(record["error"], str)
            continue
        assert (record["id"], record["source"], record["text"]) == (f"u{number}", "chat", texts[number - 1])
        assert record["tags"] == tiny_predictor.parse(texts[number - 1]).tags


def test_gzip_stdin_to_stdout_gives_the_same_bytes_as_files(tiny_model_dir: Path, tmp_path: Path) -> None:
    text = "\n".join(sentences(200)) + "\n\n"  # a trailing empty line is a bad line, not dropped
    (tmp_path / "in.txt").write_text(text)
    assert tag(tiny_model_dir, tmp_path / "in.txt", "-o", tmp_path / "out.jsonl") == 0
    (tmp_path / "in.txt.gz").write_bytes(gzip.compress(text.encode()))
    assert tag(tiny_model_dir, tmp_path / "in.txt.gz", "-o", tmp_path / "gz.jsonl") == 0
    piped = subprocess.run(
        [*SLOTFILL, "tag", str(tiny_model_dir), "-", "--quiet", "--threads", "1"],
        input=gzip.compress(text.encode()),
        capture_output=True,
        check=True,
    )
    expected = (tmp_path / "out.jsonl").read_bytes()
    assert (tmp_path / "gz.jsonl").read_bytes() == expected
    assert piped.stdout == expected
    assert expected.count(b"\n") == 201
    assert json.loads(expected.splitlines()[-1]) == {"line": 201, "error": "text: empty or only whitespace"}
    summary = piped.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("read 201 lines: tagged 200, failed 1 in ")
    assert "\r" not in piped.stderr.decode()


def test_worker_processes_write_what_one_process_writes(tiny_model_dir: Path, tmp_path: Path) -> None:
    data, _ = jsonl_with_bad_lines(500)
    (tmp_path / "in.jsonl").write_bytes(data)
    assert tag(tiny_model_dir, tmp_path / "in.jsonl", "-o", tmp_path / "one.jsonl", "--batch-size", "8") == 0
    two = ("-o", tmp_path / "two.jsonl", "--batch-size", "8", "--workers", "2", "--threads", "1")
    assert tag(tiny_model_dir, tmp_path / "in.jsonl", *two) == 0
    assert (tmp_path / "two.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_fail_fast_stops_at_the_first_bad_line_with_the_lines_before_it(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    data, _ = jsonl_with_bad_lines(500)
    (tmp_path / "in.jsonl").write_bytes(data)
    out = tmp_path / "out.jsonl"
    args = ("--batch-size", "2", "--workers", workers, "--threads", "1", "--fail-fast")
    assert tag(tiny_model_dir, tmp_path / "in.jsonl", "-o", out, *args) == 1
    assert 'in.jsonl:13: missing "text"' in capsys.readouterr().err
    records = read_records(out)
    assert [r["id"] for r in records] == [f"u{n}" for n in range(1, 13)]


def test_refusals_are_one_line_each(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in.txt").write_text("to paris\n")
    (tmp_path / "out.jsonl").write_text("{}\n")
    cases = [
        ((tmp_path / "missing.txt", "-o", tmp_path / "x.jsonl"), "missing.txt: cannot read it"),
        ((tmp_path / "in.txt", "-o", tmp_path / "out.jsonl"), "already exists; --resume continues it"),
        ((tmp_path / "in.txt", "--resume"), "--resume needs an output file"),
        ((tmp_path / "in.csv", "-o", tmp_path / "x.jsonl"), "pass --input-format txt or jsonl"),
        ((tmp_path / "in.txt", "-o", tmp_path / "x.jsonl", "--format", "parquet"), "add --engine ray"),
        ((tmp_path / "in.txt", "-o", tmp_path / "no" / "x.jsonl"), "does not exist"),
        ((tmp_path, "-o", tmp_path / "x.jsonl", "--input-format", "txt"), "Is a directory"),
        (("-", "--engine", "ray"), "not stdin"),
        ((tmp_path / "in.txt", "-o", tmp_path / "pq", *PARQUET, "--resume"), "Parquet is written whole"),
        ((tmp_path / "in.txt", "-o", tmp_path / "pq", *PARQUET), "already holds Parquet files"),
        ((tmp_path / "in.txt", "-o", tmp_path / "x.jsonl", "--engine", "ray", "--workers", "2"), "--actors"),
    ]
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq" / "a.parquet").write_bytes(b"")
    for args, message in cases:
        assert tag(tiny_model_dir, *args) == 1, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("slotfill: error: ") and message in err and len(err.splitlines()) == 1, err
    assert (tmp_path / "out.jsonl").read_text() == "{}\n"
    assert tag(tiny_model_dir, tmp_path / "in.txt", "-o", tmp_path / "out.jsonl", "--overwrite") == 0
    assert read_records(tmp_path / "out.jsonl")[0]["text"] == "to paris"


def test_a_resumed_output_longer_than_its_input_is_refused(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in.txt").write_text("to paris\n")
    (tmp_path / "out.jsonl").write_text("{}\n" * 300)
    args = ("-o", tmp_path / "out.jsonl", "--resume", "--batch-size", "16")
    assert tag(tiny_model_dir, tmp_path / "in.txt", *args) == 1
    assert "has 1 lines but the output already holds 256 records" in capsys.readouterr().err


def test_resume_goes_back_to_a_whole_window_and_past_a_torn_line(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Scores move in their last digits with their batch-mates, so a resumed job redoes the window it
    was in: its lines meet the same batch-mates as in an uninterrupted run."""
    data, _ = jsonl_with_bad_lines(700)
    (tmp_path / "in.jsonl").write_bytes(data)
    window = ("--batch-size", "16")  # 256 lines
    assert tag(tiny_model_dir, tmp_path / "in.jsonl", "-o", tmp_path / "whole.jsonl", *window) == 0
    expected = (tmp_path / "whole.jsonl").read_bytes()
    lines = expected.splitlines(keepends=True)
    for kept in (0, 255, 256, 300, 699):
        torn = b"".join(lines[:kept]) + lines[kept][:40]
        (tmp_path / "out.jsonl").write_bytes(torn)
        assert (
            tag(tiny_model_dir, tmp_path / "in.jsonl", "-o", tmp_path / "out.jsonl", "--resume", *window) == 0
        )
        assert (tmp_path / "out.jsonl").read_bytes() == expected, kept
