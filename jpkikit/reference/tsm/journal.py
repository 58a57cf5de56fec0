"""A flow's journal: what a flow drew (random values), what the back end and the TSM answered it, which
scripts it sent and which answers came back, in order, kept in sqlite with the order.

A flow is a generator (jpkikit.reference.tsm.flows); it is not itself persistent. When the TSM restarts in
the middle of an Amendment B session, the flow is rebuilt by running it again from the start against its
journal: every draw and every call returns what it returned the first time (nothing is sent to the back
end again), every script it yields must be the one it sent before, and the recorded answers are fed back,
until the journal ends and the flow waits for the answers the agent resends when it resumes.

Values are encoded as JSON with a few tagged types: bytes, the back end's PhoneCertificate and
CardApplicant. A private key is never journaled (the off-card flow journals the key only wrapped under the
SE's Key-DEK).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from jpkikit.errors import KitError
from jpkikit.reference.backend.service import CardApplicant, PhoneCertificate


class JournalDiverged(KitError):
    """A flow replayed against its journal did something else than the first time (a kit defect)."""


def encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return {"$b": bytes(value).hex()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$d": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, PhoneCertificate):
        return {"$pc": encode(asdict(value))}
    if isinstance(value, CardApplicant):
        der = value.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "$ca": encode({"serial": value.serial, "der": der, "app": value.application, "f": value.fields})
        }
    raise TypeError(f"cannot journal a {type(value).__name__}")


def decode(doc: Any) -> Any:
    if isinstance(doc, list):
        return [decode(v) for v in doc]
    if not isinstance(doc, dict):
        return doc
    if "$b" in doc:
        return bytes.fromhex(doc["$b"])
    if "$d" in doc:
        return {k: decode(v) for k, v in doc["$d"].items()}
    if "$pc" in doc:
        return PhoneCertificate(**decode(doc["$pc"]))
    if "$ca" in doc:
        f = decode(doc["$ca"])
        return CardApplicant(f["serial"], x509.load_der_x509_certificate(f["der"]), f["app"], f["f"])
    raise TypeError(f"unknown journal value {sorted(doc)}")


def dumps(value: Any) -> str:
    return json.dumps(encode(value), sort_keys=True)


def loads(text: str) -> Any:
    return decode(json.loads(text))


class Journal:
    """The entries of one order, replayed first and then appended to."""

    def __init__(self, entries: list[tuple[str, Any]] | None = None) -> None:
        self.entries: list[tuple[str, Any]] = list(entries or [])
        self.position = 0
        self.new: list[tuple[str, Any]] = []

    @property
    def replaying(self) -> bool:
        return self.position < len(self.entries)

    def next_kind(self) -> str | None:
        return self.entries[self.position][0] if self.replaying else None

    def take(self, kind: str) -> Any:
        found, value = self.entries[self.position]
        if found != kind:
            raise JournalDiverged(f"journal entry {self.position} is {found!r}, the flow asked for {kind!r}")
        self.position += 1
        return value

    def record(self, kind: str, produce: Callable[[], Any]) -> Any:
        """The value of ``produce`` the first time; the journaled one when replaying."""
        if self.replaying:
            return self.take(kind)
        value = produce()
        self.entries.append((kind, value))
        self.position += 1
        self.new.append((kind, value))
        return value

    def note(self, kind: str, value: Any) -> Any:
        """An event of the session (a script sent, answers received): compared, not produced, on replay."""
        if self.replaying:
            return self.take(kind)
        self.entries.append((kind, value))
        self.position += 1
        self.new.append((kind, value))
        return value

    def draw(self, n: int) -> bytes:
        return bytes(self.record("random", lambda: os.urandom(n)))

    def flush(self) -> list[tuple[str, Any]]:
        new, self.new = self.new, []
        return new
