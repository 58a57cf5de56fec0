"""The per-unit ledger: what the kit observed of a unit in every run, kept across runs, so that a later
run knows what an earlier one spent (a PIN counter an interrupted run left low, a test package it left
loaded). One JSON file per unit, named by a digest of the unit's identity (its ATR and whatever else the
profile declares of it), under ``ixit.unit.ledger`` or ``~/.local/state/jpkikit/ledger``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from jpkikit import __version__

DEFAULT_DIR = Path("~/.local/state/jpkikit/ledger")
#: Entries kept per unit (the newest).
KEEP = 500


def unit_key(identity: dict[str, str]) -> str:
    text = "\n".join(f"{k}={identity[k]}" for k in sorted(identity))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def ledger_path(directory: str | None, identity: dict[str, str]) -> Path:
    base = Path(directory).expanduser() if directory else DEFAULT_DIR.expanduser()
    return base / f"{unit_key(identity)}.json"


def read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("runs"), list):
            return doc
    except (OSError, ValueError):
        pass
    return {"format": "jpkikit-ledger/1", "runs": []}


def last_run(path: Path) -> dict[str, Any] | None:
    runs = read(path)["runs"]
    return runs[-1] if runs else None


def record(path: Path, identity: dict[str, str], entry: dict[str, Any]) -> None:
    """Append one run's observations (written atomically: a crash never leaves half a ledger; and under a
    lock with a temporary file of its own, so the workers of a parallel certification that share a ledger
    never lose each other's entries)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        doc = read(path)
        doc["identity"] = identity
        doc["runs"].append(
            {
                "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "kit_version": __version__,
                **entry,
            }
        )
        doc["runs"] = doc["runs"][-KEEP:]
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        os.replace(tmp, path)
