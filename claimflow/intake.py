"""Intake: find inbox files, wait until they stop changing, hash, archive by content, quarantine with a reason.

Nothing here touches the database; `pipeline` records what intake did in the same transaction as its
audit event. Archive and quarantine writes are atomic (temporary file + rename) and idempotent, so a
crash at any point leaves a file either not taken or taken once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

IGNORED_NAMES = {"README.md", "Thumbs.db", ".DS_Store", "desktop.ini"}
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".swp")


@dataclass(frozen=True, slots=True)
class FileSnapshot:
    """Size and modification time of a file at one moment."""

    size: int
    mtime_ns: int


def is_candidate(path: Path) -> bool:
    """Return True for files the sweep should take (not hidden, not temporary, not the README)."""
    name = path.name
    return not (
        name in IGNORED_NAMES
        or name.startswith((".", "~$"))
        or name.lower().endswith(TEMP_SUFFIXES)
        or any(part.startswith(".") for part in path.parts[:-1] if part not in (".", ".."))
    )


def discover_files(roots: Iterable[Path]) -> list[Path]:
    """Return the candidate files under the given files or folders, oldest first (then by path), each once.

    Oldest first makes the earlier of two identical files the original and the later one the duplicate.
    """
    found: dict[str, Path] = {}
    for root in roots:
        if root.is_file():
            found[str(root.resolve())] = root
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                path = Path(dirpath) / name
                if path.is_file() and is_candidate(path.relative_to(root)):
                    found[str(path.resolve())] = path
    return sorted(found.values(), key=lambda p: (p.stat().st_mtime_ns, str(p)))


def snapshot(path: Path) -> FileSnapshot:
    """Return the current size and mtime of a file."""
    st = path.stat()
    return FileSnapshot(st.st_size, st.st_mtime_ns)


def is_stable(
    path: Path,
    stable_seconds: float,
    *,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Return True when the file has not changed for `stable_seconds` (waits at most that long once)."""
    first = snapshot(path)
    age = now() - first.mtime_ns / 1e9
    if age >= stable_seconds:
        return True
    sleep(stable_seconds - max(age, 0.0))
    return snapshot(path) == first


def hash_file(path: Path) -> str:
    """Return the sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(dest)


def archive_file(path: Path, sha256: str, archive_dir: Path) -> Path:
    """Copy the original into the content-addressed archive (idempotent) and return its archive path."""
    dest = archive_dir / sha256[:2] / (sha256 + path.suffix.lower())
    if not dest.exists():
        _atomic_copy(path, dest)
    return dest


def quarantine_file(
    path: Path, sha256: str, reason_code: str, message: str, quarantine_dir: Path, *, original_name: str
) -> Path:
    """Copy a file into quarantine with a `.reason.json` beside it; return the quarantined path."""
    safe_name = original_name.replace(os.sep, "_")
    dest = quarantine_dir / f"{sha256[:12]}-{safe_name}"
    if not dest.exists():
        _atomic_copy(path, dest)
    reason = {
        "file": original_name,
        "sha256": sha256,
        "reason_code": reason_code,
        "reason": message,
        "quarantined_at": datetime.now(UTC).isoformat(),
        "what_to_do": "Fix the file as the reason says and drop it into the inbox again.",
    }
    reason_path = dest.with_name(dest.name + ".reason.json")
    tmp = reason_path.with_name("." + reason_path.name + ".tmp")
    tmp.write_text(json.dumps(reason, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(reason_path)
    return dest


def remove_from_inbox(path: Path) -> None:
    """Delete a taken file from the inbox (its bytes are in the archive or quarantine)."""
    path.unlink(missing_ok=True)
