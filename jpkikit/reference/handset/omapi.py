"""``android.se.omapi`` as an app sees it (frameworks/base core/java/android/se/omapi: SEService, Reader,
Session, Channel), over the reference handset's SecureElement service. Method names are the OMAPI ones in
snake_case (``openLogicalChannel`` -> ``open_logical_channel``).

What the app's side adds to the service: each app binds its own SEService (and gets its own Reader objects, so
Reader.closeSessions closes that app's sessions only); a call after SEService.shutdown() throws
IllegalStateException; openLogicalChannel(null) on a UICC reader returns null without asking the service;
getSelectResponse() gives null for an empty response; isOpen() is false once the service is gone. The API
level decides getVersion(), and whether getUiccReader() and Reader.reset() exist.
"""

from __future__ import annotations

from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset import channel as service_channel
from jpkikit.reference.handset.errors import NotAvailable
from jpkikit.reference.handset.service import SecureElementService, ServiceReader, ServiceSession
from jpkikit.vocab.omapi.android import UICC_PREFIX, Android
from jpkikit.vocab.omapi.errors import IllegalArgumentError, IllegalStateError

NOT_CONNECTED = "service not connected to system"


class SEService:
    """An app's connection to the SecureElement service."""

    reader_class: type[Reader]
    session_class: type[Session]
    channel_class: type[Channel]

    def __init__(
        self, system: SecureElementService, app: AppIdentity, android: Android | None = None
    ) -> None:
        self.system = system
        self.app = app
        self.android = android or Android()
        self.connected = True
        self._readers: dict[str, Reader] = {}

    def is_connected(self) -> bool:
        return self.connected

    def get_version(self) -> str:
        return self.android.omapi_version

    def _check(self) -> None:
        if not self.connected:
            raise IllegalStateError(NOT_CONNECTED)

    def get_readers(self) -> list[Reader]:
        self._check()
        for name in self.system.get_readers():
            if name not in self._readers:
                self._readers[name] = self.reader_class(self, name, self.system.get_reader(name))
        return [self._readers[n] for n in self.system.get_readers()]

    def get_uicc_reader(self, slot: int) -> Reader:
        if not self.android.uicc_reader_by_slot:
            raise NotAvailable(f"SEService.getUiccReader exists from API 30 (this is API {self.android.api})")
        if slot < 1:
            raise IllegalArgumentError("slotNumber should be larger than 0")
        readers = {r.get_name(): r for r in self.get_readers()}
        name = f"{UICC_PREFIX}{slot}"
        if name not in readers:
            raise IllegalArgumentError(f"Reader:{name} doesn't exist")
        return readers[name]

    def shutdown(self) -> None:
        if self.connected:
            for reader in self._readers.values():
                try:
                    reader.close_sessions()
                except Exception:
                    pass
        self.connected = False


class Reader:
    def __init__(self, service: SEService, name: str, reader: ServiceReader) -> None:
        self.service = service
        self.name = name
        self.reader = reader

    def get_name(self) -> str:
        return self.name

    def get_se_service(self) -> SEService:
        return self.service

    def open_session(self) -> Session:
        if not self.service.connected:
            raise IllegalStateError("service is not connected")
        return self.service.session_class(self.service, self.reader.open_session(), self)

    def is_secure_element_present(self) -> bool:
        if not self.service.connected:
            raise IllegalStateError("service is not connected")
        return self.reader.is_secure_element_present()

    def close_sessions(self) -> None:
        if self.service.connected:
            self.reader.close_sessions()

    def reset(self) -> bool:
        """A system API (needs SECURE_ELEMENT_PRIVILEGED_OPERATION); from API 30."""
        if not self.service.android.reader_reset:
            raise NotAvailable(f"Reader.reset exists from API 30 (this is API {self.service.android.api})")
        if not self.service.connected:
            return False
        self.close_sessions()
        return self.reader.reset(self.service.app)


class Session:
    def __init__(self, service: SEService, session: ServiceSession, reader: Reader) -> None:
        self.service = service
        self.session = session
        self.reader = reader

    def get_reader(self) -> Reader:
        return self.reader

    def get_atr(self) -> bytes | None:
        if not self.service.connected:
            raise IllegalStateError(NOT_CONNECTED)
        return self.session.get_atr()

    def close(self) -> None:
        if self.service.connected:
            self.session.close()

    def is_closed(self) -> bool:
        return self.session.is_closed()

    def close_channels(self) -> None:
        if self.service.connected:
            self.session.close_channels()

    def open_basic_channel(self, aid: bytes | None = None, p2: int = 0x00) -> Channel | None:
        if not self.service.connected:
            raise IllegalStateError(NOT_CONNECTED)
        channel = self.session.open_basic_channel(aid, p2, self.service.app)
        return None if channel is None else self.service.channel_class(self.service, self, channel)

    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> Channel | None:
        if self.reader.get_name().startswith(UICC_PREFIX) and aid is None:
            return None  # "NULL AID not supported on SIMn"
        if not self.service.connected:
            raise IllegalStateError(NOT_CONNECTED)
        channel = self.session.open_logical_channel(aid, p2, self.service.app)
        return None if channel is None else self.service.channel_class(self.service, self, channel)


class Channel:
    def __init__(self, service: SEService, session: Session, channel: service_channel.Channel) -> None:
        self.service = service
        self.session = session
        self.channel = channel

    def close(self) -> None:
        if self.is_open():
            self.channel.close()

    def is_open(self) -> bool:
        if not self.service.connected:
            return False
        return not self.channel.is_closed()

    def is_basic_channel(self) -> bool:
        if not self.service.connected:
            raise IllegalStateError(NOT_CONNECTED)
        return self.channel.is_basic_channel()

    def transmit(self, command: bytes | None) -> bytes:
        if not self.service.connected:
            raise IllegalStateError(NOT_CONNECTED)
        return self.channel.transmit(command)

    def get_session(self) -> Session:
        return self.session

    def get_select_response(self) -> bytes | None:
        if not self.service.connected:
            raise IllegalStateError(NOT_CONNECTED)
        response = self.channel.get_select_response()
        return response or None

    def select_next(self) -> bool:
        if not self.service.connected:
            raise IllegalStateError(NOT_CONNECTED)
        return self.channel.select_next()


SEService.reader_class = Reader
SEService.session_class = Session
SEService.channel_class = Channel
