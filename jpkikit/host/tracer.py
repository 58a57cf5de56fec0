"""The tracer: every exchange recorded with timing, decoded (INS name, SW meaning), secrets redacted.

It sits directly above the link (docs/architecture.md#the-path-of-one-apdu: session and collector -> SCP03 ->
tracer -> link), so it records what crossed the wire. Command data that carries secrets (PINs, key values) is
never stored: the trace keeps only where it was and how long it was, and a replay must be given the secret
again. Traces save to JSON (format ``jpkikit-trace/1``) and replay against any transport.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jpkikit.errors import KitError, TransportError
from jpkikit.host.link import Layer, Transport
from jpkikit.vocab.commands import Redaction, redact
from jpkikit.vocab.iso7816.sw import describe

TRACE_FORMAT = "jpkikit-trace/1"


@dataclass
class Exchange:
    """One command/response pair, or an event (``reset``) when ``event`` is set."""

    t: float  # seconds since the trace started
    ms: float  # duration of the exchange
    command: str = ""  # hex; redacted bytes are cut out and described in ``redacted``
    response: str = ""
    name: str = ""
    sw: str = ""
    meaning: str = ""
    redacted: Redaction | None = None
    event: str | None = None
    error: str | None = None

    def shown_command(self, shorten: Callable[[str], str] = str) -> str:
        """The command in hex with the redacted part shown as what was cut out; ``shorten`` is applied to
        the hex on either side of it (a report shortens long data)."""
        cmd = self.command.upper()
        if not self.redacted:
            return shorten(cmd)
        r = self.redacted
        cut = r.offset * 2
        return f"{shorten(cmd[:cut])}<{r.what} redacted, {r.length} bytes>{shorten(cmd[cut:])}"

    def line(self) -> str:
        if self.event:
            return f"{self.t:+9.3f}s {self.ms:8.1f}ms  -- {self.event}: {self.meaning}"
        cmd = self.shown_command()
        head = f"{self.t:+9.3f}s {self.ms:8.1f}ms  {self.name:<28} > {cmd}"
        if self.error:
            return f"{head}\n{'':>31}< !! {self.error}"
        data = self.response[:-4].upper()
        return f"{head}\n{'':>31}< {data + ' ' if data else ''}{self.sw} ({self.meaning})"


def decode_command(command: bytes) -> tuple[str, str, Redaction | None]:
    """INS name, stored hex and redaction of a command; tolerant of malformed bytes."""
    name, kept, redaction = redact(command)
    return name, kept.hex(), redaction


@dataclass
class Trace:
    description: str = ""
    atr: str = ""
    exchanges: list[Exchange] = field(default_factory=list)

    def text(self) -> str:
        head = f"APDU trace: {self.description} (ATR {self.atr.upper() or 'unknown'})"
        return "\n".join([head, *(e.line() for e in self.exchanges)])

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": TRACE_FORMAT,
                "description": self.description,
                "atr": self.atr,
                "exchanges": [asdict(e) for e in self.exchanges],
            },
            indent=1,
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        where = str(path)
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KitError(f"{where}: cannot read trace: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != TRACE_FORMAT:
            raise KitError(f"{where}: not a {TRACE_FORMAT} trace")
        try:
            exchanges = []
            for raw in doc["exchanges"]:
                red = raw.pop("redacted", None)
                exchanges.append(Exchange(**raw, redacted=Redaction(**red) if red else None))
            return cls(doc.get("description", ""), doc.get("atr", ""), exchanges)
        except (KeyError, TypeError) as exc:
            raise KitError(f"{where}: malformed trace entry: {exc}") from None


class Tracer(Layer):
    """Records every exchange that passes through it into ``self.trace``."""

    def __init__(self, inner: Transport, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(inner)
        self._clock = clock
        self._t0 = clock()
        self.trace = Trace(inner.description, _safe_atr(inner))

    def restart(self) -> Trace:
        """Start a new trace (e.g. one per test); returns the finished one."""
        done = self.trace
        self._t0 = self._clock()
        self.trace = Trace(self.inner.description, _safe_atr(self.inner))
        return done

    def transmit(self, command: bytes) -> bytes:
        name, stored, redaction = decode_command(command)
        start = self._clock()
        try:
            response = self.inner.transmit(command)
        except TransportError as exc:
            self._record(start, Exchange(0, 0, stored, name=name, redacted=redaction, error=str(exc)))
            raise
        sw = response[-2:].hex().upper() if len(response) >= 2 else ""
        meaning = describe(int(sw, 16)) if sw else f"malformed response of {len(response)} bytes"
        self._record(start, Exchange(0, 0, stored, response.hex(), name, sw, meaning, redaction))
        return response

    def reset(self, cold: bool = False) -> bytes:
        start = self._clock()
        atr = self.inner.reset(cold)
        kind = "power cycle" if cold else "warm reset"
        self._record(start, Exchange(0, 0, event="reset", meaning=f"{kind}, ATR {atr.hex().upper()}"))
        return atr

    def _record(self, start: float, exchange: Exchange) -> None:
        end = self._clock()
        exchange.t = round(start - self._t0, 6)
        exchange.ms = round((end - start) * 1000, 3)
        self.trace.exchanges.append(exchange)


def _safe_atr(transport: Transport) -> str:
    try:
        return transport.atr.hex()
    except KitError:
        return ""


@dataclass
class ReplayStep:
    index: int
    name: str
    expected: str
    actual: str
    match: bool
    note: str = ""


SecretSource = Callable[[str, int], bytes]


def replay(
    trace: Trace, transport: Transport, secrets: SecretSource | None = None, compare_data: bool = True
) -> list[ReplayStep]:
    """Send the trace's commands to ``transport`` again and compare the answers step by step.

    Redacted commands need ``secrets(what, index)`` to supply the data again; without it they are
    reported as not replayed. Resets in the trace are repeated.
    """
    steps: list[ReplayStep] = []
    for i, ex in enumerate(trace.exchanges):
        if ex.event == "reset":
            transport.reset(cold="power cycle" in ex.meaning)
            continue
        command = bytes.fromhex(ex.command)
        if ex.redacted:
            if secrets is None:
                note = f"{ex.redacted.what} redacted; not replayed"
                steps.append(ReplayStep(i, ex.name, ex.sw, "", False, note))
                continue
            secret = secrets(ex.redacted.what, i)
            if len(secret) != ex.redacted.length:
                raise KitError(f"trace step {i}: {ex.redacted.what} must be {ex.redacted.length} bytes")
            off = ex.redacted.offset
            command = command[:off] + secret + command[off:]
        response = transport.transmit(command).hex()
        expected = ex.response if compare_data else ex.response[-4:]
        actual = response if compare_data else response[-4:]
        note = "" if expected == actual else f"expected {expected.upper()}, got {actual.upper()}"
        steps.append(ReplayStep(i, ex.name, expected, actual, expected == actual, note))
    return steps
