import json
import os

from claimflow import intake


def test_discover_skips_readme_hidden_and_temporary_files(tmp_path):
    (tmp_path / "README.md").write_text("x")
    (tmp_path / ".hidden.pdf").write_text("x")
    (tmp_path / "upload.pdf.part").write_text("x")
    (tmp_path / "~$lock.xlsx").write_text("x")
    sub = tmp_path / "odd names" / "deep"
    sub.mkdir(parents=True)
    (sub / "Claim #7 (final) ünïcode.pdf").write_text("x")
    (tmp_path / "a.pdf").write_text("x")
    os.utime(sub / "Claim #7 (final) ünïcode.pdf", (1_000_000, 1_000_000))  # older: comes first
    found = [p.relative_to(tmp_path).as_posix() for p in intake.discover_files([tmp_path])]
    assert found == ["odd names/deep/Claim #7 (final) ünïcode.pdf", "a.pdf"]


def test_a_file_still_changing_is_not_stable(tmp_path):
    f = tmp_path / "a.pdf"
    f.write_bytes(b"12")
    mtime = f.stat().st_mtime

    def sleep(_seconds: float) -> None:
        f.write_bytes(b"1234")  # the writer is still going

    assert intake.is_stable(f, 5.0, now=lambda: mtime + 1, sleep=sleep) is False
    assert intake.is_stable(f, 5.0, now=lambda: mtime + 1, sleep=lambda _s: None) is True
    assert intake.is_stable(f, 5.0, now=lambda: mtime + 60, sleep=lambda _s: 1 / 0) is True


def test_archive_is_content_addressed_and_idempotent(tmp_path):
    f = tmp_path / "Scan.PDF"
    f.write_bytes(b"%PDF-1.4 hello")
    sha = intake.hash_file(f)
    first = intake.archive_file(f, sha, tmp_path / "archive")
    second = intake.archive_file(f, sha, tmp_path / "archive")
    assert first == second == tmp_path / "archive" / sha[:2] / f"{sha}.pdf"
    assert first.read_bytes() == f.read_bytes()


def test_quarantine_keeps_the_file_and_writes_a_reason(tmp_path):
    f = tmp_path / "empty.pdf"
    f.write_bytes(b"")
    dest = intake.quarantine_file(
        f, "ab" * 32, "empty_file", "the file is empty", tmp_path / "q", original_name="bad/empty.pdf"
    )
    reason = json.loads(dest.with_name(dest.name + ".reason.json").read_text())
    assert dest.exists() and reason["reason_code"] == "empty_file" and reason["file"] == "bad/empty.pdf"
