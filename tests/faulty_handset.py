"""Deliberately non-conforming handsets, one fault each, to show every handset conformance test can fail.

Each is a factory ``(personality) -> handset`` for a profile's ``ixit.handset.reference.factory``: the
reference handset with one broken part (ACE resolution, OMAPI session/channel, or the agent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jpkikit.reference.handset import ace, omapi
from jpkikit.reference.handset.agent import AgentServer, _Handler
from jpkikit.reference.handset.handset import ReferenceHandset
from jpkikit.vocab.gp import seac
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.omapi import errors as omapi_errors

Resolver = Callable[[Sequence[seac.Rule], bytes | None, Sequence[bytes]], ace.Access]


def _resolver(
    *,
    exact_first: bool = True,
    aid_shadow: bool = True,
    b_before_c: bool = True,
    use_c: bool = True,
    all_shadow: bool = True,
    use_d: bool = True,
    unmatched: ace.Access = ace.DENY,
) -> Resolver:
    """Rule resolution (SEAC v1.0 §4.2.3) with one step changed (the reference is
    jpkikit.reference.handset.ace.resolve)."""

    def resolve(rules: Sequence[seac.Rule], aid: bytes | None, hashes: Sequence[bytes]) -> ace.Access:
        target: seac.AidRef = "default" if aid is None else bytes(aid)
        app = set(hashes)

        def exact(aid_ref: seac.AidRef) -> ace.Access | None:
            found = [r.ar for r in rules if r.ref.aid == aid_ref and r.ref.hash and r.ref.hash in app]
            return ace.merge(found) if found else None

        def generic(aid_ref: seac.AidRef) -> ace.Access | None:
            found = [r.ar for r in rules if r.ref.aid == aid_ref and not r.ref.hash]
            return ace.merge(found) if found else None

        def shadowed(aid_ref: seac.AidRef) -> bool:
            return any(r.ref.aid == aid_ref and r.ref.hash for r in rules)

        steps: list[Callable[[], ace.Access | None]] = []
        a, b = (lambda: exact(target)), (lambda: generic(target))
        steps += [a] if exact_first else [b, a]  # not exact_first: (AID, all apps) is looked at first
        steps += [lambda: ace.Access("never") if aid_shadow and shadowed(target) else None]
        c = lambda: exact("all") if use_c else None  # noqa: E731
        steps += [b, c] if b_before_c else [c, b]
        steps += [lambda: ace.Access("never") if all_shadow and shadowed("all") else None]
        steps += [lambda: generic("all") if use_d else None]
        for step in steps:
            decision = step()
            if decision is not None:
                return decision
        return unmatched

    return resolve


def _with(
    resolver: Resolver | None = None,
    session: type[omapi.Session] | None = None,
    channel: type[omapi.Channel] | None = None,
    enforcer: type[ace.AccessControlEnforcer] | None = None,
    agent: type[AgentServer] | None = None,
) -> Callable[[str], ReferenceHandset]:
    class Reader(omapi.Reader):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if enforcer is not None:
                self.ace = enforcer(self._no_channel, uicc=self.uicc)
            if resolver is not None:
                self.ace.resolver = resolver  # type: ignore[method-assign]

    if session is not None:
        Reader.session_class = session
    base_session = session or omapi.Session
    if channel is not None:
        base_session = type("Session", (base_session,), {"channel_class": channel})
        Reader.session_class = base_session

    class Handset(ReferenceHandset):
        reader_class = Reader
        agent_class = agent

    def factory(personality: str) -> ReferenceHandset:
        return Handset.over_emulator(personality)

    return factory


# -- ACE --------------------------------------------------------------------------------------------------

allow_all = _with(resolver=lambda rules, aid, hashes: ace.Access("always", nfc=True))
sha1_only = _with(
    resolver=lambda rules, aid, hashes: ace.resolve(rules, aid, [h for h in hashes if len(h) == 20])
)
generic_before_exact = _with(resolver=_resolver(exact_first=False, aid_shadow=False))
no_aid_shadow = _with(resolver=_resolver(aid_shadow=False))
c_before_b = _with(resolver=_resolver(b_before_c=False))
no_rule_c = _with(resolver=_resolver(use_c=False))
no_all_shadow = _with(resolver=_resolver(all_shadow=False))
no_rule_d = _with(resolver=_resolver(use_d=False))
allow_unmatched = _with(resolver=_resolver(unmatched=ace.Access("always")))


class _StaleEnforcer(ace.AccessControlEnforcer):
    """Reads the rules once and never again, whatever the refresh tag says."""

    def refresh(self) -> None:
        if self.rules is None and self.error is None and self.present:
            super().refresh()


stale_cache = _with(enforcer=_StaleEnforcer)


# -- OMAPI session / channel --------------------------------------------------------------------------------


class _SelectFirst(omapi.Session):
    """Sends the SELECT of the target before asking the ACE."""

    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> omapi.Channel | None:
        if aid:
            self.reader.exchange(CommandApdu(0x00, 0xA4, 0x04, p2, aid, ne=256))
        return super().open_logical_channel(aid, p2)


class _AbsentIsIo(omapi.Session):
    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> omapi.Channel | None:
        try:
            return super().open_logical_channel(aid, p2)
        except omapi_errors.NoSuchElementError as exc:
            raise omapi_errors.OmapiIOError(str(exc)) from None


class _NoBasic(omapi.Session):
    def open_basic_channel(self, aid: bytes | None = None, p2: int = 0x00) -> omapi.Channel | None:
        return None


class _CloseKeepsChannels(omapi.Session):
    def close(self) -> None:
        self.closed = True


class _NoSelectResponse(omapi.Channel):
    def get_select_response(self) -> bytes | None:
        return None


class _FiltersIgnored(omapi.Channel):
    def transmit(self, command: bytes) -> bytes:
        if self.access.mode == "filters":
            self.access = ace.Access("always", nfc=self.access.nfc)
        return super().transmit(command)


class _SelectThroughTransmit(omapi.Channel):
    def transmit(self, command: bytes) -> bytes:
        if len(command) >= 2 and command[0] < 0x80 and command[1] in (0x70, 0xA4):
            return self.session.reader.exchange(command).to_bytes()
        return super().transmit(command)


class _Lenient(omapi.Channel):
    def transmit(self, command: bytes) -> bytes:
        if len(command) >= 4 and (command[0] == 0xFF or command[1] & 0xF0 in (0x60, 0x90)):
            return self.session.reader.exchange(command).to_bytes()
        return super().transmit(command)


class _SharedChannel(omapi.Channel):
    """Every logical channel of the session talks on the first one's SE channel."""

    def transmit(self, command: bytes) -> bytes:
        first = next((c for c in self.session.channels if c.number), self)
        number, self.number = self.number, first.number
        try:
            return super().transmit(command)
        finally:
            self.number = number


class _CloseLeaks(omapi.Channel):
    """close() marks the channel closed but never frees the SE channel."""

    def close(self) -> None:
        self.closed = True
        if self in self.session.channels:
            self.session.channels.remove(self)


select_before_check = _with(session=_SelectFirst)
absent_is_io_error = _with(session=_AbsentIsIo)
no_basic_channel = _with(session=_NoBasic)
session_close_keeps_channels = _with(session=_CloseKeepsChannels)
no_select_response = _with(channel=_NoSelectResponse)
filters_ignored = _with(channel=_FiltersIgnored)
select_through_transmit = _with(channel=_SelectThroughTransmit)
lenient_transmit = _with(channel=_Lenient)
shared_channel = _with(channel=_SharedChannel)
close_leaks_channel = _with(channel=_CloseLeaks)


# -- agent --------------------------------------------------------------------------------------------------


class _DroppingHandler(_Handler):
    """Closes the connection on the first line that is not JSON."""

    def _serve(self, dispatcher: Any) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            answer = dispatcher.handle_line(line)
            if answer.get("error", {}).get("code") == "parse_error":
                return
            from jpkikit.vocab.omapi import agent_protocol as protocol

            self.wfile.write(protocol.encode(answer))
            self.wfile.flush()


class _DroppingAgent(AgentServer):
    def __init__(self, handset: ReferenceHandset, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(handset, host, port)
        self.RequestHandlerClass = _DroppingHandler


agent_drops_bad_lines = _with(agent=_DroppingAgent)
