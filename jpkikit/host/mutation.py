"""Black-box mutation on the wire: a proxy card that forwards each APDU to the unit under test (an upstream
:class:`~jpkikit.host.link.Transport`: a PC/SC reader, or any link) and answers with what a named *mutant*
makes of the unit's answer (docs/mutation.md).

The proxy is a :class:`~jpkikit.host.link.SimulatedCard`, so :class:`~jpkikit.host.vpcd.VpcdServer` serves
it to pcscd as a card in a vpcd reader and any PC/SC client (the kit, OpenSC) talks to the mutated unit.
It knows nothing of any implementation: mutants see the wire only, through what :class:`Wire` follows of
it (the application and EF selected on each logical channel, the SCP03 session level, the PIN counters the
unit has shown).

Safety, by construction: a mutant never builds a command. :meth:`Exchange.forward` takes no argument and
sends the host's command unchanged, at most once; a mutant may answer without forwarding (the unit then
sees less than the host sent), never more. The library of mutants is :mod:`jpkikit.host.mutants`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from jpkikit.errors import ApduError, KitError, TransportError
from jpkikit.host.link import Transport
from jpkikit.vocab.gp.constants import GpIns
from jpkikit.vocab.iso7816.apdu import CommandApdu, cla_channel, cla_secure_messaging
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import retries_left
from jpkikit.vocab.scp03.levels import I_S16, SecurityLevel
from jpkikit.vocab.scp03.session import is_error_sw

_LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: Offset of the i parameter in an INITIALIZE UPDATE response (Amd D Table 7-2: 10 bytes of key
#: diversification data, key version, SCP identifier, i).
IU_I_OFFSET = 12
#: The MANAGE CHANNEL close P1 (ISO/IEC 7816-4 §11.1.2).
MANAGE_CHANNEL_CLOSE = 0x80
#: SELECT P1: by DF name, and by file identifier under the current DF (ISO/IEC 7816-4 §11.1.1).
SELECT_BY_NAME, SELECT_EF = 0x04, 0x02


class MutantError(KitError):
    """A mutant or its parameters are wrong (a user error: unknown ID, bad parameter value)."""


# -- what the proxy follows of the wire ----------------------------------------------------------------------


@dataclass
class Channel:
    """What the unit's answers have established on one logical channel."""

    aid: bytes | None = None  # the DF name last selected (SELECT P1=04 that succeeded)
    ef: int | None = None  # the EF last selected by file identifier (SELECT P1=02 that succeeded)
    scp_i: int | None = None  # i parameter of the pending or open SCP03 session (INITIALIZE UPDATE)
    scp_level: int | None = None  # security level of the open session (EXTERNAL AUTHENTICATE P1)
    chain: CommandApdu | None = None  # the command whose answer is still coming through 61xx


def _succeeded(sw: int) -> bool:
    return not is_error_sw(sw)  # 9000, 62xx, 63xx: processing completed (ISO/IEC 7816-4 §5.6)


def _sw(response: bytes) -> int:
    return int.from_bytes(response[-2:], "big") if len(response) >= 2 else 0


@dataclass
class Wire:
    """The state of the unit as its own answers show it: per logical channel (cleared by every reset), and
    the PIN counters (persistent, kept across resets)."""

    channels: dict[int, Channel] = field(default_factory=dict)
    #: (DF name, PIN EF) -> the tries left the unit last reported, and the most it ever reported.
    tries: dict[tuple[bytes | None, int | None], int] = field(default_factory=dict)
    most_tries: dict[tuple[bytes | None, int | None], int] = field(default_factory=dict)

    def clear(self) -> None:
        """A reset or power cycle: every channel but the basic one closes, nothing is selected."""
        self.channels.clear()

    def channel(self, apdu: CommandApdu | None) -> Channel:
        number = cla_channel(apdu.cla) if apdu is not None else None
        return self.channels.setdefault(number or 0, Channel())

    def origin(self, apdu: CommandApdu | None) -> CommandApdu | None:
        """The command a response belongs to: for a GET RESPONSE, the command whose 61xx it continues."""
        if apdu is not None and apdu.ins == Ins.GET_RESPONSE and not apdu.cla & 0x80:
            return self.channel(apdu).chain or apdu
        return apdu

    def pin_key(self, apdu: CommandApdu | None) -> tuple[bytes | None, int | None]:
        state = self.channel(apdu)
        return state.aid, state.ef

    def rmac_length(self, apdu: CommandApdu | None) -> int:
        """Length of the R-MAC the unit appends to a successful answer to ``apdu`` (0: none): the command
        (or the one a GET RESPONSE continues) is secured (CLA SM bits) in a session whose level asks for
        R-MAC (Amd D §6.2.5, Table 7-3); 16 bytes in S16 mode, 8 in S8."""
        command = self.origin(apdu)
        state = self.channel(apdu)
        if command is None or state.scp_level is None or not state.scp_level & SecurityLevel.R_MAC:
            return 0
        if not cla_secure_messaging(command.cla):
            return 0
        return 16 if (state.scp_i or 0) & I_S16 else 8

    def observe(self, apdu: CommandApdu | None, response: bytes) -> None:
        """Follow what the unit's answer ``response`` to ``apdu`` established."""
        if apdu is None or len(response) < 2:
            return
        state = self.channel(apdu)
        sw = _sw(response)
        data = response[:-2]
        more = sw >> 8 == 0x61
        interindustry = not apdu.cla & 0x80
        if interindustry and apdu.ins == Ins.GET_RESPONSE:
            if not more:
                state.chain = None
            return
        state.chain = apdu if more else None
        if interindustry and apdu.ins == Ins.SELECT and (_succeeded(sw) or more):
            if apdu.p1 == SELECT_BY_NAME:
                # a new application: no EF, and the SCP03 session on this channel ends (Amd D §5.6)
                state.aid, state.ef, state.scp_i, state.scp_level = apdu.data, None, None, None
            elif apdu.p1 == SELECT_EF and len(apdu.data) == 2:
                state.ef = int.from_bytes(apdu.data, "big")
        elif interindustry and apdu.ins == Ins.MANAGE_CHANNEL and sw == 0x9000:
            if apdu.p1 == MANAGE_CHANNEL_CLOSE:
                self.channels.pop(apdu.p2, None)
            elif len(data) == 1:
                self.channels[data[0]] = Channel()
        elif not interindustry and apdu.ins == GpIns.INITIALIZE_UPDATE:
            state.scp_level = None  # a new handshake ends the current session
            state.scp_i = data[IU_I_OFFSET] if sw == 0x9000 and len(data) > IU_I_OFFSET else None
        elif not interindustry and apdu.ins == GpIns.EXTERNAL_AUTHENTICATE:
            state.scp_level = apdu.p1 if sw == 0x9000 and state.scp_i is not None else None
        elif interindustry and apdu.ins == Ins.VERIFY:
            key = self.pin_key(apdu)
            left = retries_left(sw)
            if left is not None:
                self.tries[key] = left
                self.most_tries[key] = max(left, self.most_tries.get(key, 0))
            elif sw == 0x9000 and apdu.data and key in self.most_tries:
                self.tries[key] = self.most_tries[key]  # a right VERIFY resets the counter


# -- mutants ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A parameter of a mutant: its default (None: derived from the :class:`Context`) and what it means."""

    default: int | float | str | None
    help: str
    kind: type = int


@dataclass(frozen=True)
class MutantSpec:
    """What a mutant is, independent of any implementation.

    ``breaks``: the requirement IDs the mutant is expected to contradict. ``expect``: ``killed`` (the suite
    must fail at least one test) or ``survives`` (by design: ``why`` says why, e.g. a slow device must be
    inconclusive, not failed). ``hazard``: how a run under the mutant may leave the unit other than as
    found (its answers mislead the tests' own undo steps), or None.
    """

    id: str
    title: str
    description: str
    breaks: tuple[str, ...]
    expect: str = "killed"
    why: str = ""
    params: Mapping[str, Param] = field(default_factory=dict)
    hazard: str | None = None
    #: Tests (pytest -k terms) the mutant concerns besides those of ``breaks`` (``mutate run --focus``).
    scope: tuple[str, ...] = ()
    #: The mutant acts by time (a late or missing answer): only a link with a timeout (PC/SC) can show it;
    #: an in-process run would wait for it forever, so ``mutate run`` serves it through pcscd only.
    timed: bool = False


@dataclass(frozen=True)
class Context:
    """What a mutant may need to know of the run: the host's transport timeout in seconds."""

    timeout: float = 30.0


class Exchange:
    """One command through the proxy, as a mutant sees it."""

    def __init__(
        self,
        raw: bytes,
        index: int,
        wire: Wire,
        send: Callable[[bytes], bytes],
        stopping: threading.Event,
    ) -> None:
        self.raw = raw
        try:
            self.apdu: CommandApdu | None = CommandApdu.parse(raw)
        except ApduError:
            self.apdu = None  # malformed on purpose (a negative test): forwarded as it is
        #: 1 for the first command the proxy received, counting across resets.
        self.index = index
        self.wire = wire
        self.response: bytes | None = None  # the unit's own answer, once forwarded
        self.delayed = False  # the mutant held the answer back
        self._send = send
        self._stopping = stopping

    @property
    def channel(self) -> Channel:
        """The state of this command's logical channel before the command."""
        return self.wire.channel(self.apdu)

    @property
    def origin(self) -> CommandApdu | None:
        return self.wire.origin(self.apdu)

    @property
    def forwarded(self) -> bool:
        return self.response is not None

    def forward(self) -> bytes:
        """Send the host's command to the unit, unchanged, and return the unit's answer. At most once."""
        if self.response is not None:
            raise KitError("a mutant forwarded a command twice; the proxy sends each command at most once")
        self.response = self._send(self.raw)
        return self.response

    def sleep(self, seconds: float) -> bool:
        """Hold the answer back ``seconds`` (a slow unit; ``math.inf``: a mute one); returns early, True,
        when the proxy is being stopped."""
        self.delayed = True
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self._stopping.wait(min(remaining, 60.0)):
                return True
        return False


class Mutant:
    """A named rewrite of the wire. Subclasses set :attr:`spec` and override :meth:`mutate` (answers) or
    :meth:`exchange` (whether and when to forward)."""

    spec: ClassVar[MutantSpec]

    def __init__(self, params: Mapping[str, object] | None = None, context: Context | None = None) -> None:
        self.context = context or Context()
        self.params = resolve_params(self.spec, params or {})

    def reset(self) -> None:
        """The card was reset or power-cycled (state of a mutant that lasts one power-up)."""

    def exchange(self, x: Exchange) -> bytes:
        return self.mutate(x, x.forward())

    def mutate(self, x: Exchange, response: bytes) -> bytes:
        return response


def resolve_params(spec: MutantSpec, given: Mapping[str, object]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(spec.params))
    if unknown:
        known = ", ".join(spec.params) or "none"
        raise MutantError(f"mutant {spec.id} has no parameter {', '.join(unknown)} (its parameters: {known})")
    out: dict[str, Any] = {}
    for name, param in spec.params.items():
        value = given.get(name, param.default)
        if value is not None and not isinstance(value, param.kind):
            try:
                value = param.kind(value)
            except (TypeError, ValueError):
                raise MutantError(
                    f"mutant {spec.id}: parameter {name} must be {param.kind.__name__}, got {value!r}"
                ) from None
        out[name] = value
    return out


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``["k=300", "label=X"]`` (the command line's ``--param``) as a mapping."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise MutantError(f"--param takes NAME=VALUE, got {item!r}")
        out[name] = value
    return out


# -- the proxy --------------------------------------------------------------------------------------------


class Upstream:
    """The link to the unit, opened on first use and opened again after it failed."""

    def __init__(self, opener: Callable[[], Transport], description: str = "the unit") -> None:
        self._opener = opener
        self._link: Transport | None = None
        self.description = description

    def link(self) -> Transport:
        if self._link is None:
            self._link = self._opener()
            self.description = self._link.description
        return self._link

    def lost(self) -> None:
        """The link failed: close it; the next :meth:`link` opens a new one."""
        link, self._link = self._link, None
        if link is not None:
            try:
                link.close()
            except KitError:
                pass

    def close(self) -> None:
        self.lost()


@dataclass
class Stats:
    """What a mutant did in one run: commands seen, forwarded, answered otherwise than the unit did."""

    commands: int = 0
    forwarded: int = 0
    rewritten: int = 0  # answered otherwise than the unit did, or answered without reaching it
    delayed: int = 0  # answers held back
    first_change: int | None = None  # index of the first command whose answer was changed or delayed


class MutationProxy:
    """A card that is the upstream unit as ``mutant`` rewrites it (the SimulatedCard protocol)."""

    def __init__(self, upstream: Upstream, mutant: Mutant, logger: logging.Logger | None = None) -> None:
        self.upstream = upstream
        self.mutant = mutant
        self.wire = Wire()
        self.stats = Stats()
        self.log = logger or _LOG
        self._atr = b""
        self._stopping = threading.Event()

    @property
    def atr(self) -> bytes:
        if not self._atr:
            self._atr = self._guarded(lambda link: link.atr)
        return self._atr

    def power_on(self) -> bytes:
        self._atr = self._guarded(lambda link: link.reset(cold=True))
        self._after_reset()
        return self._atr

    def power_off(self) -> None:
        self._after_reset()  # the unit itself is power-cycled at the next power on

    def reset(self) -> bytes:
        self._atr = self._guarded(lambda link: link.reset(cold=False))
        self._after_reset()
        return self._atr

    def _after_reset(self) -> None:
        self.wire.clear()
        self.mutant.reset()

    def process(self, command: bytes) -> bytes:
        """Raises TransportError when the unit cannot be reached: the vpcd server then takes the card out
        of the reader, as a unit whose link broke would be (the host's verdict: inconclusive)."""
        self.stats.commands += 1
        x = Exchange(bytes(command), self.stats.commands, self.wire, self._send, self._stopping)
        answer = self.mutant.exchange(x)
        if x.response is not None:
            self.stats.forwarded += 1
            self.wire.observe(x.apdu, x.response)
        self.stats.delayed += x.delayed
        if answer != x.response:
            self.stats.rewritten += 1
        if (answer != x.response or x.delayed) and self.stats.first_change is None:
            self.stats.first_change = x.index
        if answer != x.response:
            self.log.debug(
                "%s: %s -> unit %s, answered %s",
                self.mutant.spec.id,
                command.hex().upper(),
                x.response.hex().upper() if x.response is not None else "(not forwarded)",
                answer.hex().upper(),
            )
        return answer

    def _send(self, command: bytes) -> bytes:
        return self._guarded(lambda link: link.transmit(command))

    def _guarded(self, call: Callable[[Transport], T]) -> T:
        try:
            return call(self.upstream.link())
        except TransportError:
            self.upstream.lost()
            raise

    def stop(self) -> None:
        """End any wait of a slow or mute mutant at once (call before stopping the vpcd server)."""
        self._stopping.set()
