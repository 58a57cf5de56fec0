"""The reference TSM's persistent state, in the same sqlite database as its J-LIS back end (one connection,
so one step of a flow — the back end's work and the TSM's record of it — commits as one transaction):

* ``orders``: each order, its state and result, and what the flow needs to be rebuilt (the accepted
  applicant, the user's choices);
* ``journal``: per order, what its flow drew and learnt, the scripts it sent and the answers it got
  (jpkikit.reference.tsm.journal);
* ``replies``: per order, the digest of the last Amendment B request and the reply sent to it, so a
  resumed or repeated POST gets the same reply instead of being processed twice;
* ``push_targets``: per SE identification ID, where the device's app is woken (seed 004 p.25 トークン);
* ``deletions``: the outcome of every remote deletion, "deleted" or "not deleted" (seed 004 p.24);
* ``sei_rules``: the app certificate hashes the SP registered with the SEI-TSM, per applet (seed 004 p.13).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jpkikit.reference.backend.store import BackendStore
from jpkikit.reference.tsm.journal import dumps, loads

SCHEMA = """
CREATE TABLE IF NOT EXISTS tsm_orders (
    id TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    doc TEXT NOT NULL,                 -- the order (journal encoding)
    state TEXT NOT NULL,               -- pending | running | done | failed
    reason TEXT,
    error TEXT,
    result TEXT NOT NULL DEFAULT '{"$d": {}}',
    pushed INTEGER NOT NULL DEFAULT 0, -- delete orders: 0 not yet, 1 push sent, 2 push answered
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tsm_journal (
    order_id TEXT NOT NULL REFERENCES tsm_orders(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (order_id, seq)
);
CREATE TABLE IF NOT EXISTS tsm_replies (
    order_id TEXT PRIMARY KEY REFERENCES tsm_orders(id),
    request TEXT NOT NULL,             -- SHA-256 of the last request body
    reply BLOB                         -- the script sent in reply (NULL: 204, the session is over)
);
CREATE TABLE IF NOT EXISTS tsm_push_targets (
    se_id TEXT PRIMARY KEY,
    url TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tsm_deletions (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    se_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('deleted', 'not deleted')),
    why TEXT,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tsm_sei_rules (
    aid TEXT PRIMARY KEY,
    hashes TEXT NOT NULL
);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class TsmStore:
    def __init__(self, store: BackendStore) -> None:
        self.store = store
        with store.transaction() as db:
            for statement in _statements():
                db.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.store.transaction() as db:
            yield db

    # -- orders ----------------------------------------------------------------------------------------

    def add_order(self, order_id: str, operation: str, doc: Any, state: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO tsm_orders (id, operation, doc, state, created_at) VALUES (?, ?, ?, ?, ?)",
                (order_id, operation, dumps(doc), state, _now()),
            )

    def order_row(self, order_id: str) -> sqlite3.Row | None:
        rows = self.store.query("SELECT * FROM tsm_orders WHERE id = ?", order_id)
        return rows[0] if rows else None

    def order_doc(self, order_id: str) -> Any:
        row = self.order_row(order_id)
        return loads(row["doc"]) if row is not None else None

    def set_order(
        self,
        order_id: str,
        state: str,
        result: Any,
        reason: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE tsm_orders SET state = ?, result = ?, reason = ?, error = ? WHERE id = ?",
                (state, dumps(result), reason, error, order_id),
            )

    def pending_deletions(self) -> list[sqlite3.Row]:
        return self.store.query(
            "SELECT * FROM tsm_orders WHERE operation = 'delete' AND state = 'pending' AND pushed = 0"
        )

    def mark_pushed(self, order_id: str) -> bool:
        """True for the one caller that marks the order first."""
        with self.transaction() as db:
            done = db.execute("UPDATE tsm_orders SET pushed = 1 WHERE id = ? AND pushed = 0", (order_id,))
            return done.rowcount == 1

    def mark_push_answered(self, order_id: str) -> None:
        """The push service answered (delivered or not): the outcome is the push thread's to record."""
        with self.transaction() as db:
            db.execute("UPDATE tsm_orders SET pushed = 2 WHERE id = ? AND pushed = 1", (order_id,))

    def unmark_interrupted_pushes(self) -> int:
        """At start: the delete orders whose push was sent but never answered, and whose session never
        began (the TSM stopped in between, so nobody may ever wake the device), are pushed again."""
        with self.transaction() as db:
            done = db.execute(
                "UPDATE tsm_orders SET pushed = 0"
                " WHERE operation = 'delete' AND state = 'pending' AND pushed = 1"
            )
            return done.rowcount

    # -- journal -----------------------------------------------------------------------------------------

    def journal(self, order_id: str) -> list[tuple[str, Any]]:
        rows = self.store.query(
            "SELECT kind, value FROM tsm_journal WHERE order_id = ? ORDER BY seq", order_id
        )
        return [(r["kind"], loads(r["value"])) for r in rows]

    def append_journal(self, order_id: str, start: int, entries: list[tuple[str, Any]]) -> None:
        with self.transaction() as db:
            for n, (kind, value) in enumerate(entries):
                db.execute(
                    "INSERT INTO tsm_journal VALUES (?, ?, ?, ?)", (order_id, start + n, kind, dumps(value))
                )

    # -- the last Amendment B exchange ----------------------------------------------------------------

    def last_reply(self, order_id: str) -> tuple[str, bytes | None] | None:
        rows = self.store.query("SELECT request, reply FROM tsm_replies WHERE order_id = ?", order_id)
        if not rows:
            return None
        reply = rows[0]["reply"]
        return rows[0]["request"], bytes(reply) if reply is not None else None

    def set_reply(self, order_id: str, request: str, reply: bytes | None) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO tsm_replies VALUES (?, ?, ?)", (order_id, request, reply))

    # -- push targets, deletions, registered hashes -----------------------------------------------------

    def set_push_target(self, se_id: str, url: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO tsm_push_targets VALUES (?, ?)", (se_id.upper(), url))

    def push_target(self, se_id: str) -> str | None:
        rows = self.store.query("SELECT url FROM tsm_push_targets WHERE se_id = ?", se_id.upper())
        return rows[0]["url"] if rows else None

    def add_deletion(self, se_id: str, deleted: bool, why: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO tsm_deletions (se_id, outcome, why, at) VALUES (?, ?, ?, ?)",
                (se_id, "deleted" if deleted else "not deleted", why, _now()),
            )

    def deletions(self) -> list[dict[str, Any]]:
        rows = self.store.query("SELECT se_id, outcome, why FROM tsm_deletions ORDER BY n")
        return [{"se_id": r["se_id"], "outcome": r["outcome"], "why": r["why"]} for r in rows]

    def set_hashes(self, aid: bytes, hashes: list[bytes]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO tsm_sei_rules VALUES (?, ?)", (aid.hex().upper(), dumps(hashes))
            )

    def hashes(self, aid: bytes) -> list[bytes]:
        rows = self.store.query("SELECT hashes FROM tsm_sei_rules WHERE aid = ?", aid.hex().upper())
        return list(loads(rows[0]["hashes"])) if rows else []


def _statements() -> list[str]:
    return [s.strip() for s in SCHEMA.split(";") if s.strip()]
