"""The back end's sqlite state. One connection per store; :meth:`BackendStore.transaction` wraps a unit of
work in BEGIN IMMEDIATE ... COMMIT, rolled back on any exception, so a crash or a refusal half-way leaves
the previous state (sqlite's journal makes this hold across process crashes too).

Transactions nest: an inner ``transaction()`` on the thread that holds the outer one joins it. The reference
TSM keeps its own tables in the same database and runs one step of a flow (the back end's work and the
TSM's record of it) as one outer transaction, so a TSM killed in the middle of a step leaves neither half.
"""

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
    status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
    der BLOB                          -- the certificate, once J-LIS has seen it in an application
);
CREATE TABLE IF NOT EXISTS bindings (   -- card <-> SE identification ID (seed 004 p.15 step ⑳, p.18 ⑨)
    card_serial TEXT PRIMARY KEY REFERENCES card_certificates(serial),
    se_id TEXT NOT NULL,
    bound_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applications (  -- accepted card-signed applications (seed 004 p.15 ④⑤)
    digest TEXT PRIMARY KEY,          -- SHA-256 of the signed bytes: a second use is a replay
    card_serial TEXT NOT NULL,
    type TEXT NOT NULL,
    accepted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commitments (  -- S carried in the application, held by J-LIS (step ⑤)
    application TEXT NOT NULL REFERENCES applications(digest),
    kind TEXT NOT NULL CHECK (kind IN ('auth', 'sign')),
    s BLOB NOT NULL,
    PRIMARY KEY (application, kind)
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
CREATE TABLE IF NOT EXISTS access_codes (  -- the SIM design's access code + password (seed 000 §4(1) ⑧⑨)
    code TEXT PRIMARY KEY,
    password_hash BLOB NOT NULL,
    salt BLOB NOT NULL,
    card_serial TEXT NOT NULL REFERENCES card_certificates(serial),
    used INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
"""


class BackendStore:
    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
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
            if self._depth:  # joined by the outer transaction of this thread
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                self._depth = 0
                self.db.execute("ROLLBACK")
                raise
            self._depth = 0
            self.db.execute("COMMIT")

    def query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        with self._lock:
            return list(self.db.execute(sql, args))

    def close(self) -> None:
        with self._lock:
            self.db.close()
