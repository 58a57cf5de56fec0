"""A model of Open Mobile API as Android exposes it (SEService, Reader, Session, Channel)
with the Android error semantics of docs/spec/globalplatform.md#android-enforcement:

- the access decision is made **before** anything is sent: a denial raises :class:`SecurityError` and no
  APDU for the target application reaches the SE;
- an AID that is not absent, 0 or 5-16 bytes -> :class:`IllegalArgumentError`; an AID the SE does not hold
  -> :class:`NoSuchElementError`; no free channel -> ``None``; a basic channel on a UICC -> ``None``;
- ``Channel.transmit``: MANAGE CHANNEL or SELECT by DF name with an ISO CLA, or an APDU no rule allows ->
  :class:`SecurityError`; malformed APDU, CLA FF, INS 6x/9x -> :class:`IllegalArgumentError`; a closed
  channel -> :class:`IllegalStateError`; a broken link -> :class:`OmapiIOError`.

Method names are the OMAPI ones in snake_case (``openLogicalChannel`` -> ``open_logical_channel``).
"""

from __future__ import annotations

from jpkikit.errors import ApduError, TransportError
from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset.ace import Access, AccessControlEnforcer, AramAbsent, AramFailed
from jpkikit.reference.handset.terminal import Terminal
from jpkikit.vocab.gp.seac import ARAM_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_with_channel
from jpkikit.vocab.omapi.errors import (
    IllegalArgumentError,
    IllegalStateError,
    NoSuchElementError,
    OmapiIOError,
    SecurityError,
)

SELECT_OK_SW1 = (0x90, 0x62, 0x63)


class Reader:
    """One SE reader ("eSE1", "SIM1"): the link to the SE, its ACE and the channels in use."""

    #: Classes the reader builds (the kit's faulty variants swap them in).
    session_class: type[Session]

    def __init__(self, name: str, link: Terminal, *, uicc: bool = False, max_channels: int = 4) -> None:
        self.name = name
        self.link = link
        self.uicc = uicc
        self.max_channels = max_channels
        self.ace = AccessControlEnforcer(self._no_channel, uicc=uicc)
        self.sessions: list[Session] = []
        self.basic_in_use = False
        self.logical_in_use: set[int] = set()

    def is_secure_element_present(self) -> bool:
        return True

    def open_session(self, app: AppIdentity) -> Session:
        session = self.session_class(self, app)
        self.sessions.append(session)
        return session

    def close_sessions(self) -> None:
        for session in list(self.sessions):
            session.close()

    # -- link helpers -------------------------------------------------------------------------------------

    def exchange(self, apdu: CommandApdu | bytes) -> ResponseApdu:
        try:
            return self.link.transmit(apdu)
        except (TransportError, ApduError) as exc:
            raise OmapiIOError(f"{self.name}: {exc}") from exc

    def _no_channel(self, apdu: CommandApdu) -> ResponseApdu:
        raise AramAbsent()

    def access(self, aid: bytes | None, app: AppIdentity) -> Access:
        """Ask the ACE, reading the ARA-M on a logical channel of its own (Android: before any SELECT)."""
        opened = self.exchange(CommandApdu(0x00, 0x70, 0x00, 0x00, ne=1))
        if not opened.ok or len(opened.data) != 1:
            return self._ace_without_link(aid, app)
        number = opened.data[0]
        try:
            selected = self.exchange(
                CommandApdu(cla_with_channel(0x00, number), 0xA4, 0x04, 0x00, ARAM_AID, ne=256)
            )

            def send(apdu: CommandApdu) -> ResponseApdu:
                if selected.sw == 0x6A82:
                    raise AramAbsent()
                if selected.sw1 not in SELECT_OK_SW1:
                    raise AramFailed(f"SELECT ARA-M answered {selected.sw:04X}")
                cla = cla_with_channel(apdu.cla, number)
                return self.exchange(CommandApdu(cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, apdu.ne))

            self.ace.send = send
            return self.ace.access(aid, app.hashes)
        finally:
            self.ace.send = self._no_channel
            self.exchange(CommandApdu(0x00, 0x70, 0x80, number))

    def _ace_without_link(self, aid: bytes | None, app: AppIdentity) -> Access:
        if self.ace.rules is None or self.ace.error:
            return Access("never", reason="cannot open a channel to read the ARA-M rules")
        return self.ace.resolver(self.ace.rules, aid, app.hashes)  # cached rules, refresh tag not re-checked


class Session:
    """An app's session with one reader; the app identity is fixed for the session."""

    channel_class: type[Channel]

    def __init__(self, reader: Reader, app: AppIdentity) -> None:
        self.reader = reader
        self.app = app
        self.channels: list[Channel] = []
        self.closed = False

    def get_reader(self) -> Reader:
        return self.reader

    def get_atr(self) -> bytes | None:
        return self.reader.link.atr

    def is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.close_channels()
        self.closed = True
        if self in self.reader.sessions:
            self.reader.sessions.remove(self)

    def close_channels(self) -> None:
        for channel in list(self.channels):
            channel.close()

    def _check(self, aid: bytes | None) -> None:
        if self.closed:
            raise IllegalStateError("session is closed")
        if aid is not None and not (len(aid) == 0 or 5 <= len(aid) <= 16):
            raise IllegalArgumentError(f"AID must be absent, empty or 5-16 bytes, got {len(aid)} bytes")

    def _select(self, number: int, aid: bytes, p2: int) -> ResponseApdu:
        apdu = CommandApdu(cla_with_channel(0x00, number), 0xA4, 0x04, p2, aid, ne=256)
        return self.reader.exchange(apdu)

    def open_basic_channel(self, aid: bytes | None = None, p2: int = 0x00) -> Channel | None:
        self._check(aid)
        aid = aid or None
        if self.reader.uicc or self.reader.basic_in_use:
            return None  # Android: no basic channel on a UICC (CTS); only one basic channel
        access = self.reader.access(aid, self.app)
        if not access.channel_allowed:
            raise SecurityError(f"{self.app.name}: access to {_aid(aid)} denied ({access.reason})")
        response = ResponseApdu(b"", 0x9000)
        if aid is not None:
            response = self._select(0, aid, p2)
            _check_select(response, aid)
        channel = self.channel_class(self, 0, aid, response, access)
        self.reader.basic_in_use = True
        self.channels.append(channel)
        return channel

    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> Channel | None:
        self._check(aid)
        aid = aid or None
        access = self.reader.access(aid, self.app)
        if not access.channel_allowed:
            raise SecurityError(f"{self.app.name}: access to {_aid(aid)} denied ({access.reason})")
        if len(self.reader.logical_in_use) >= self.reader.max_channels - 1:
            return None
        opened = self.reader.exchange(CommandApdu(0x00, 0x70, 0x00, 0x00, ne=1))
        if opened.sw in (0x6A81, 0x6881) or not opened.ok:
            return None  # no free channel (Android: null)
        if len(opened.data) != 1:
            raise OmapiIOError(f"MANAGE CHANNEL open answered {opened}")
        number = opened.data[0]
        response = ResponseApdu(b"", 0x9000)
        if aid is not None:
            response = self._select(number, aid, p2)
            if response.sw1 not in SELECT_OK_SW1:
                self.reader.exchange(CommandApdu(0x00, 0x70, 0x80, number))
                _check_select(response, aid)
        channel = self.channel_class(self, number, aid, response, access)
        self.reader.logical_in_use.add(number)
        self.channels.append(channel)
        return channel


def _aid(aid: bytes | None) -> str:
    return aid.hex().upper() if aid else "the default application"


def _check_select(response: ResponseApdu, aid: bytes) -> None:
    if response.sw1 in SELECT_OK_SW1:
        return
    if response.sw in (0x6A82, 0x6999):
        raise NoSuchElementError(f"applet {aid.hex().upper()} not found on the SE ({response.sw:04X})")
    raise OmapiIOError(f"SELECT {aid.hex().upper()} answered {response.sw:04X}")


class Channel:
    def __init__(
        self, session: Session, number: int, aid: bytes | None, select_response: ResponseApdu, access: Access
    ) -> None:
        self.session = session
        self.number = number
        self.aid = aid
        self.select_response = select_response
        self.access = access
        self.closed = False

    def is_basic_channel(self) -> bool:
        return self.number == 0

    def is_closed(self) -> bool:
        return self.closed

    def get_session(self) -> Session:
        return self.session

    def get_select_response(self) -> bytes | None:
        """Data and SW of the SELECT that opened the channel (None when no AID was selected)."""
        if self.aid is None:
            return None
        return self.select_response.to_bytes()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        reader = self.session.reader
        if self in self.session.channels:
            self.session.channels.remove(self)
        if self.number == 0:
            reader.basic_in_use = False
            return
        reader.logical_in_use.discard(self.number)
        try:
            reader.exchange(CommandApdu(0x00, 0x70, 0x80, self.number))
        except OmapiIOError:
            pass  # the channel is closed on the handset side whatever the SE says

    def transmit(self, command: bytes) -> bytes:
        if self.closed:
            raise IllegalStateError("channel is closed")
        try:
            apdu = CommandApdu.parse(bytes(command))
        except ApduError as exc:
            raise IllegalArgumentError(f"malformed APDU: {exc}") from None
        if apdu.cla == 0xFF or apdu.ins & 0xF0 in (0x60, 0x90):
            raise IllegalArgumentError(f"CLA {apdu.cla:02X} / INS {apdu.ins:02X} is not allowed")
        iso = apdu.cla < 0x80
        if iso and (apdu.ins == 0x70 or (apdu.ins == 0xA4 and apdu.p1 == 0x04)):
            raise SecurityError("MANAGE CHANNEL and SELECT by DF name are not allowed through transmit")
        if not self.access.allows(apdu.header):
            raise SecurityError(f"APDU {apdu.header.hex().upper()} not allowed by the access rules")
        try:
            cla = cla_with_channel(apdu.cla, self.number)
        except ApduError as exc:
            raise IllegalArgumentError(str(exc)) from None
        sent = CommandApdu(cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, apdu.ne, apdu.extended)
        return self.session.reader.exchange(sent).to_bytes()


Reader.session_class = Session
Session.channel_class = Channel


class SEService:
    """The handset's SE service: its readers, by name."""

    def __init__(self, readers: list[Reader]) -> None:
        self.readers = list(readers)
        self.connected = True

    def is_connected(self) -> bool:
        return self.connected

    def get_readers(self) -> list[Reader]:
        if not self.connected:
            raise IllegalStateError("SE service is shut down")
        return list(self.readers)

    def reader(self, name: str) -> Reader:
        for r in self.get_readers():
            if r.name == name:
                return r
        raise IllegalArgumentError(f"no reader named {name!r}")

    def shutdown(self) -> None:
        for r in self.readers:
            r.close_sessions()
        self.connected = False
