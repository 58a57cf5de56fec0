"""Emulator state on disk: one JSON document, written atomically.

A write goes to a temporary file in the same directory, is flushed and fsync'ed, then renamed over the
old file (POSIX rename is atomic), and the directory is fsync'ed. A killed process therefore leaves
either the old state or the new one, never a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from jpkikit.errors import StateError

STATE_FORMAT = "jpkikit-emulator-state/1"


def load_state(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when the file does not exist yet.

    Temporary files left by a write that was killed before its rename are removed.
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(f"{path}: cannot read emulator state: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"{path}: emulator state is corrupt ({exc.msg} at line {exc.lineno}); "
            "remove the file to start from the personality's initial state"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise StateError(f"{path}: not a {STATE_FORMAT} file; remove it to start afresh")
    return doc


def save_state(path: Path, doc: dict[str, Any]) -> None:
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    text = json.dumps(doc, indent=1, sort_keys=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        raise StateError(f"{path}: cannot write emulator state: {exc}") from None
