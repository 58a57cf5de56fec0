"""Secrets: PINs, temporary PINs, SCP03 keys and private keys, kept out of every artefact of every run.

A :class:`Secret` never shows its value: ``repr``, ``str`` and ``format`` give its name, so a failed
assertion, ``pytest -l`` locals, a log line or an exception message that mentions one shows
``<secret auth_pin>``. The value is unwrapped only where the bytes of an APDU are built
(:func:`reveal_bytes`), and a value derived from a secret (a wrong PIN one character away from the right
one, a PIN one character too long) is a secret too (:meth:`Secret.derive`), since it tells the secret.

Every secret is also remembered, so that the pytest plugin can scrub whatever a secret still reached
(:func:`scrub`: the text of a report, a captured log, an Allure result written by another plugin) and the
evidence bundle can refuse any member that holds one (:func:`find_leaks`), whatever its length.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

REDACTED = "[redacted]"  # no character that XML, HTML or JSON would read specially

_known: dict[str, str] = {}  # value -> the name of the first secret that had it
_lock = threading.Lock()


class Secret:
    """A resolved secret. ``repr``/``str``/``format`` never show the value; :meth:`reveal` does."""

    __slots__ = ("_binary", "_name", "_ref", "_value")

    def __init__(self, name: str, value: str, ref: str, *, binary: bool = False, scrub: bool = True) -> None:
        """``binary``: ``value`` is the hex of bytes (a temporary PIN, a key), not text. ``scrub``: remember
        the value for the scrubber; False for a value the kit itself chose for a test (a PIN a model test
        sets, a fixed temporary PIN), which never renders either but protects nothing of the unit."""
        self._name, self._value, self._ref, self._binary = name, value, ref, binary
        if scrub:
            remember(value, name)
            if binary:
                remember(repr(bytes.fromhex(value))[2:-1], name)  # as a bytes repr in a traceback shows it

    @classmethod
    def of_bytes(cls, name: str, value: bytes, ref: str = "derived", scrub: bool = True) -> Secret:
        return cls(name, value.hex().upper(), ref, binary=True, scrub=scrub)

    @property
    def name(self) -> str:
        return self._name

    @property
    def binary(self) -> bool:
        return self._binary

    @property
    def ref(self) -> str:
        """Where the value came from, safe to show: ``env:NAME``, ``file:path#key``, ``package:…``, ``test``
        or ``derived``."""
        return self._ref

    def reveal(self) -> str:
        """The secret value. Call it only where the value is sent to the implementation."""
        return self._value

    def derive(self, how: str, change: Callable[[str], str]) -> Secret:
        """A value computed from this one (``how`` says what was done, for reports): a secret too, of the
        same kind (``change`` maps text to text, or hex to hex for a binary secret)."""
        return Secret(f"{self._name} ({how})", change(self._value), "derived", binary=self._binary)

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"<secret {self._name}>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:  # compared by value only with another Secret, never a string
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("secret", self._value))

    def __reduce__(self) -> Any:
        raise TypeError("secrets cannot be pickled")


def reveal_bytes(value: Secret | bytes | str) -> bytes:
    """The bytes an APDU carries for ``value``: a secret's bytes (ASCII of a PIN, the bytes of a binary
    secret), or bytes and text as given."""
    if isinstance(value, Secret):
        return bytes.fromhex(value.reveal()) if value.binary else value.reveal().encode("ascii")
    return value.encode("ascii") if isinstance(value, str) else bytes(value)


def remember(value: str, name: str) -> None:
    """Record a secret value to scrub (values built outside :class:`Secret`, e.g. temporary PINs)."""
    if value:
        with _lock:
            _known.setdefault(value, name)


def known() -> dict[str, str]:
    with _lock:
        return dict(_known)


def forms(value: str) -> list[str]:
    """The ways a value shows up in text: as given, the hex of its ASCII (upper and lower case), and its
    bytes when it is itself hex (a key), with ``:`` joined ENC:MAC:DEK keys taken apart."""
    out = {value}
    raw = value.encode("utf-8", "replace")
    out |= {raw.hex(), raw.hex().upper()}
    for part in value.split(":"):
        if re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", part):
            out |= {part.upper(), part.lower()}
    return sorted((f for f in out if f), key=len, reverse=True)


#: A value shorter than this is matched only as a token (not inside a longer run of letters, digits or
#: dots), so that a 4-digit PIN is found where it leaked ('1234', =1234, (1234)) but not inside a timing
#: such as 0.12345 or an unrelated hex string.
SHORT = 8


@functools.lru_cache(maxsize=4096)
def _pattern(value: str) -> re.Pattern[str]:
    escaped = re.escape(value)
    if len(value) >= SHORT:
        return re.compile(escaped)
    return re.compile(rf"(?<![A-Za-z0-9.]){escaped}(?![A-Za-z0-9.])")


@functools.lru_cache(maxsize=64)
def _combined(values: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for every form of every value, longest first (so a key's hex goes before a PIN inside
    it): a results tree is scrubbed string by string, and there are many strings."""
    every = sorted({f for value in values for f in forms(value)}, key=len, reverse=True)
    return re.compile("|".join(_pattern(f).pattern for f in every)) if every else None


@functools.lru_cache(maxsize=64)
def _literals(values: tuple[str, ...]) -> tuple[str, ...]:
    """Every form of every value as plain text: each match of :func:`_combined`'s pattern contains one."""
    return tuple(sorted({f for value in values for f in forms(value)}, key=len, reverse=True))


#: The characters that may not touch a short value for it to count as found (the lookarounds of _pattern).
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.")


def _occurs(form: str, text: str) -> bool:
    """Whether :func:`_pattern` of ``form`` matches somewhere in ``text``, by substring search: a long
    form anywhere, a short one only where no letter, digit or dot touches it."""
    if len(form) >= SHORT:
        return form in text
    at = text.find(form)
    while at >= 0:
        end = at + len(form)
        if (at == 0 or text[at - 1] not in _TOKEN_CHARS) and (
            end == len(text) or text[end] not in _TOKEN_CHARS
        ):
            return True
        at = text.find(form, at + 1)
    return False


def mentions(text: str, values: Iterable[str] | None = None) -> bool:
    """Whether some form of a known secret (or of ``values``) occurs in ``text`` as :func:`scrub` finds it:
    False means scrub would leave ``text`` as it is."""
    return any(_occurs(f, text) for f in _literals(tuple(known() if values is None else values)))


def scrubber(whole: str, values: Iterable[str] | None = None) -> Callable[[str], str]:
    """:func:`scrub` for the parts of ``whole`` (the strings of a JSON document, joined): a form found in a
    part is found in the whole too, so only the forms ``whole`` holds need looking for in each part."""
    values = tuple(known() if values is None else values)
    present = tuple(f for f in _literals(values) if _occurs(f, whole))
    pattern = _combined(values)
    if not present or pattern is None:
        return lambda part: part

    def scrub_part(part: str) -> str:
        return pattern.sub(REDACTED, part) if any(_occurs(f, part) for f in present) else part

    return scrub_part


def scrub(text: str, values: Iterable[str] | None = None) -> str:
    """``text`` with every form of every known secret (or of ``values``) replaced by ``[redacted]``."""
    values = tuple(known() if values is None else values)
    # a results tree is ~150 000 strings, nearly all clean: substring searches (fast) before the regular
    # expression (a long alternation with lookarounds, tried at every position: slow)
    if not any(_occurs(f, text) for f in _literals(values)):
        return text
    pattern = _combined(values)
    return text if pattern is None else pattern.sub(REDACTED, text)


def find_leaks(text: str, secrets: dict[str, str] | None = None) -> list[str]:
    """Names of the secrets (value -> name) one of whose forms appears in ``text``."""
    secrets = known() if secrets is None else secrets
    found = []
    for value, name in secrets.items():
        if any(_pattern(f).search(text) for f in forms(value)):
            found.append(name)
    return found
