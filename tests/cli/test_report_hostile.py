"""`autoenhance report` handed hostile or wrong files: bounded, clear, and nothing it writes is the uploader's to shape.

An uploader chooses keys, and the function's records quote them; a careless user hands report a
photo, or a huge file. Each case ends in a clear message and a defined exit code, never a
traceback, and nothing outside the state directory is written.
"""

from __future__ import annotations

import csv
import gzip
import io
import json

from repo import autoenhance as run
from report_lines import record

from fakes.harness import BUCKET


def write_log(path, *lines):
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def failed(key: str, **fields):
    return record("failed", key=key, **{"error_code": "InvalidParameterValue", "error": "refused", **fields})


def test_a_photo_is_named_as_a_photo_and_the_report_exits_2(env, tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8)
    r = run(env, "report", str(photo))
    assert r.returncode == 2, r.stderr
    assert f"no record line of the function in {photo} ({photo} is a JPEG image)" in r.stderr
    assert "Traceback" not in r.stderr and '"message": "record submitted"' in r.stderr


def test_a_text_file_without_records_exits_2_with_the_hint(env, tmp_path):
    log = tmp_path / "scf.log"
    log.write_text("START RequestId: 1\nEND RequestId: 1\n", encoding="utf-8")
    r = run(env, "report", str(log))
    assert r.returncode == 2 and f"no record line of the function in {log}." in r.stderr


def test_one_endless_line_in_a_small_gzip_is_refused_naming_the_file_and_line(env, tmp_path):
    """A few KB of gzip that decompress to one line of 20 MiB: refused before it is in memory whole."""
    bomb = tmp_path / "logs.gz"
    with gzip.open(bomb, "wb") as f:
        f.write(json.dumps(record()).encode() + b"\n")
        for _ in range(20):
            f.write(b"x" * (1024 * 1024))
        f.write(b"\n")
    assert bomb.stat().st_size < 100_000
    r = run(env, "report", str(bomb))
    assert r.returncode == 2, r.stderr
    assert f"{bomb}:2: a line of more than 16 MiB characters" in r.stderr and "Traceback" not in r.stderr


def test_deeply_nested_json_is_no_record_and_no_traceback(env, tmp_path):
    log = tmp_path / "nested.log"
    log.write_text("[" * 200_000 + "]" * 200_000 + "\n" + '{"SCF_Message": ' * 5_000 + "1" + "}" * 5_000 + "\n")
    r = run(env, "report", str(log))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "RecursionError" not in r.stderr


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(env, tmp_path):
    log = write_log(tmp_path / "f.log", failed('=HYPERLINK("http://evil")', error_code="@SUM(1)"))
    r = run(env, "report", str(log), "--csv")
    assert r.returncode == 1, r.stderr
    [row] = list(csv.DictReader(io.StringIO(r.stdout)))
    assert row["key"] == '\'=HYPERLINK("http://evil")' and row["error_code"] == "'@SUM(1)"
    assert row["rule"] == "-"  # the "no rule" dash is no formula: kept as it is


def test_control_characters_never_reach_the_terminal(env, tmp_path):
    log = write_log(tmp_path / "f.log", failed("uploads/a.jpg", error_code="X\x1b[2J\x1b]0;owned\x07"))
    r = run(env, "report", str(log))
    assert r.returncode == 1
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert "X\\x1b[2J\\x1b]0;owned\\x07" in r.stdout  # in the row and in the summary's error codes


def test_a_bucket_that_is_no_bucket_name_never_becomes_a_file_name(env, tmp_path):
    log = write_log(
        tmp_path / "f.log",
        failed("uploads/a.jpg", bucket="resubmit-../../evil.txt"),
        failed("uploads/b.jpg", bucket=BUCKET, index=1),
    )
    (tmp_path / "lists").mkdir()
    r = run(env, "report", str(log), "--resubmit-list", str(tmp_path / "lists" / "resubmit.txt"))
    assert r.returncode == 1, r.stderr
    assert "1 failed upload(s) not listed: their bucket is not a COS bucket name" in r.stdout
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.txt"))
    assert written == ["lists/resubmit.txt"]
    assert (tmp_path / "lists" / "resubmit.txt").read_text().splitlines()[-1] == "uploads/b.jpg"


def test_every_failed_key_reaches_backfill_as_it_is_and_none_becomes_a_header(tmp_path):
    """A key with a line break and ` bucket=x` once became a `# bucket=` line, and backfill refused the list."""
    from autoenhance.commands.backfill import _read_keys
    from autoenhance.report.resubmit import ResubmitLists

    keys = ["uploads/a.jpg", "uploads/evil\n# bucket=x.jpg", "#tag.jpg", '"quoted".jpg', " lead.jpg", "a\u2028b.jpg"]
    lists = ResubmitLists(tmp_path / "resubmit.txt", ["log"])
    for key in keys:
        lists.add(BUCKET, key)
    [written] = lists.finish(lambda bucket: "ap-guangzhou", 0.0)
    assert written.keys == len(keys)
    text = written.path.read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line.startswith("# bucket=")] == [text.splitlines()[0]]
    assert _read_keys(str(written.path), BUCKET) == tuple(keys)
