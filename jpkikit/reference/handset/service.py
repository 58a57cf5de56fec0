"""The SecureElement service's binder side (AOSP SecureElementService.java: the service, its reader and
session
stubs), as the ``android.se.omapi`` classes of an app reach it.

Open calls of a session check, in this order: the session closed (IllegalStateException), then (until API 29)
a UICC basic channel or a UICC logical channel without AID (null), the P2 (UnsupportedOperationException
unless
00, 04, 08 or 0C), then the terminal (AID length, access, the SE).
"""

from __future__ import annotations

from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset.channel import Channel
from jpkikit.reference.handset.terminal import Terminal
from jpkikit.vocab.omapi.android import P2_VALUES, UICC_PREFIX
from jpkikit.vocab.omapi.errors import (
    IllegalArgumentError,
    IllegalStateError,
    OmapiIOError,
    UnsupportedOperationError,
)


class ServiceSession:
    """SecureElementService.SecureElementSession: one app's session with one reader."""

    def __init__(self, reader: ServiceReader) -> None:
        self.reader = reader
        self.terminal = reader.terminal
        self.channels: list[Channel] = []
        self.closed = False
        self.atr = self.terminal.get_atr()  # taken when the session opens

    def get_atr(self) -> bytes | None:
        return self.atr

    def is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.close_channels()
        self.reader.remove_session(self)
        self.closed = True

    def close_channels(self) -> None:
        for channel in list(self.channels):
            channel.close()

    def remove_channel(self, channel: Channel) -> None:
        if channel in self.channels:
            self.channels.remove(channel)

    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        """False when the call returns null before reaching the terminal."""
        if self.closed:
            raise IllegalStateError("Session is closed")
        legacy_uicc = self.terminal.uicc and not self.terminal.android.carrier_privilege
        if legacy_uicc and (basic or not aid):
            return False  # until API 29: no basic channel, no logical channel without AID on a UICC
        if p2 not in P2_VALUES:
            raise UnsupportedOperationError(f"p2 not supported: {p2:02x} ")
        return True

    def open_basic_channel(self, aid: bytes | None, p2: int, app: AppIdentity) -> Channel | None:
        if not self._check(aid, p2, basic=True):
            return None
        channel = self.terminal.open_basic_channel(self, aid, p2, app)
        if channel is not None:
            self.channels.append(channel)
        return channel

    def open_logical_channel(self, aid: bytes | None, p2: int, app: AppIdentity) -> Channel | None:
        if not self._check(aid, p2, basic=False):
            return None
        channel = self.terminal.open_logical_channel(self, aid, p2, app)
        if channel is not None:
            self.channels.append(channel)
        return channel


class ServiceReader:
    """Terminal.SecureElementReader: the reader one app got from getReader (its own list of sessions)."""

    session_class: type[ServiceSession] = ServiceSession

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.sessions: list[ServiceSession] = []

    def is_secure_element_present(self) -> bool:
        return self.terminal.is_secure_element_present()

    def open_session(self) -> ServiceSession:
        if not self.is_secure_element_present():
            raise OmapiIOError("Secure Element is not present.")
        session = self.session_class(self)
        self.sessions.append(session)
        return session

    def close_sessions(self) -> None:
        for session in list(self.sessions):
            try:
                session.close()
            except Exception:
                pass
        self.sessions.clear()

    def remove_session(self, session: ServiceSession) -> None:
        if session in self.sessions:
            self.sessions.remove(session)
        if not self.sessions:
            self.terminal.default_selected = True

    def reset(self, app: AppIdentity) -> bool:
        return self.terminal.reset(app)


class SecureElementService:
    reader_class: type[ServiceReader] = ServiceReader

    def __init__(self, terminals: list[Terminal]) -> None:
        self.terminals = {t.name: t for t in terminals}

    def get_readers(self) -> list[str]:
        return list(self.terminals)

    def terminal(self, name: str) -> Terminal:
        if name == UICC_PREFIX:
            name = "SIM1"
        terminal = self.terminals.get(name)
        if terminal is None:
            raise IllegalArgumentError(f"Reader: {name} doesn't exist")
        return terminal

    def get_reader(self, name: str) -> ServiceReader:
        return self.reader_class(self.terminal(name))

    def is_nfc_event_allowed(
        self, reader: str, aid: bytes | None, apps: list[AppIdentity | None]
    ) -> list[bool] | None:
        """What the NFC service asks before it broadcasts a transaction event of ``aid`` to those apps."""
        aid = aid or bytes(5)
        if not 5 <= len(aid) <= 16:
            raise IllegalArgumentError("AID out of range")
        if not apps:
            raise IllegalArgumentError("package names not specified")
        return self.terminal(reader).is_nfc_event_allowed(aid, apps)
