"""The back end's sqlite state. One connection per store; :meth:`BackendStore.transaction` wraps a unit of
work in BEGIN IMMEDIATE ... COMMIT, rolled back on any exception, so a crash or a refusal half-way leaves
the previous state (sqlite's journal makes this hold across process crashes too)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS card_certificates (
    serial TEXT PRIMARY KEY,          -- card signature certificate serial (hex)
    subject TEXT NOT NULL,
    not_after TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked'))
);
CREATE TABLE IF NOT EXISTS bindings (   -- card <-> SE identification ID (seed 004 step ⑳)
    card_serial TEXT PRIMARY KEY REFERENCES card_certificates(serial),
    se_id TEXT NOT NULL,
    bound_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commitments (  -- S held temporarily by J-LIS (seed 004 step ⑰)
    card_serial TEXT NOT NULL,
    se_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('auth', 'sign')),
    s BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (card_serial, se_id, kind)
);
CREATE TABLE IF NOT EXISTS phone_certificates (
    serial TEXT PRIMARY KEY,
    card_serial TEXT NOT NULL REFERENCES card_certificates(serial),
    se_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('auth', 'sign')),
    status TEXT NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked')),
    der BLOB NOT NULL,
    issued_at TEXT NOT NULL,
    revoked_at TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS phone_by_card ON phone_certificates(card_serial, kind, status);
"""


class BackendStore:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
        self.db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        with self._lock:
            return list(self.db.execute(sql, args))

    def close(self) -> None:
        with self._lock:
            self.db.close()
