"""One reader of the SecureElement service (AOSP com.android.se.Terminal): the channels in use, the basic
channel and its default application, the access set-up of every open call, and ``transmit``.

- Open calls: an AID of 0 bytes is no AID, 1-4 or 17+ bytes IllegalArgumentException; then the access set-up
  (the ACE; a privileged app bypasses it from API 30; on a UICC a carrier-privilege app gets full access and
  everyone else no basic channel and no logical channel without AID); then the HAL: no channel -> null,
  UNSUPPORTED_OPERATION -> UnsupportedOperationException, IOERROR -> IOException, NO_SUCH_ELEMENT ->
  NoSuchElementException. The ACE with no channel of its own (MissingResource) makes the call return null.
- The basic channel: one at a time; once an applet was selected on it, openBasicChannel(null) returns null
until
  the reader's sessions are all closed; closing it selects the default application again.
- ``transmit``: 6Cxx -> the command again with Le = xx (from API 30 the whole exchange again, so a 61xx after
it is
  collected); 61xx -> GET RESPONSE with the command's CLA and Le = xx until another status word, without
  limit.
- A reset of the SE (or the HAL's state change) closes every channel and initialises the ACE again.
"""

from __future__ import annotations

from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset.ace import AccessControlEnforcer
from jpkikit.reference.handset.channel import Channel, ChannelOwner
from jpkikit.reference.handset.errors import AccessControlError, MissingResource
from jpkikit.reference.handset.hal import HalError, SecureElementHal
from jpkikit.reference.handset.rules import ChannelAccess
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.omapi.android import ISD_R_AID, UICC_PREFIX, Android, HalStatus
from jpkikit.vocab.omapi.errors import (
    IllegalArgumentError,
    NoSuchElementError,
    OmapiIOError,
    SecurityError,
    UnsupportedOperationError,
)


class Terminal:
    #: The classes the terminal builds (the kit's faulty variants swap them in).
    ace_class: type[AccessControlEnforcer] = AccessControlEnforcer
    channel_class: type[Channel] = Channel

    def __init__(self, name: str, hal: SecureElementHal, android: Android | None = None) -> None:
        self.name = name
        self.hal = hal
        self.android = android or Android()
        self.channels: dict[int, Channel] = {}
        self.connected = False
        self.default_selected = True
        self.ace: AccessControlEnforcer | None = None
        hal.init(self.state_change)

    @property
    def uicc(self) -> bool:
        return self.name.startswith(UICC_PREFIX)

    # -- HAL state -----------------------------------------------------------------------------------

    def state_change(self, connected: bool) -> None:
        self.connected = connected
        if not connected:
            if self.ace is not None:
                self.ace.reset()
            return
        # Channels opened under the old rules are closed; the rules are read again.
        for channel in list(self.channels.values()):
            channel.closed = True
            if channel.session is not None:
                channel.session.remove_channel(channel)
        self.channels.clear()
        try:
            self.initialize_access_control()
        except Exception:
            pass
        self.default_selected = True

    def is_secure_element_present(self) -> bool:
        return self.hal.is_card_present()

    def get_atr(self) -> bytes | None:
        if not self.connected:
            return None
        atr = self.hal.get_atr()
        return atr or None

    def reset(self, app: AppIdentity) -> bool:
        """Reader.reset (system API): SecurityException without SECURE_ELEMENT_PRIVILEGED_OPERATION."""
        if not app.privileged:
            raise SecurityError("Need SECURE_ELEMENT_PRIVILEGED_OPERATION permission")
        return self.hal.reset()

    # -- channels ------------------------------------------------------------------------------------

    def close_channel(self, channel: Channel) -> None:
        if self.connected:
            try:
                self.hal.close_channel(channel.number)
            except HalError:
                pass
        if self.channels.get(channel.number) is channel:
            del self.channels[channel.number]

    def close_channels(self) -> None:
        for channel in list(self.channels.values()):
            channel.close()

    def select_default_application(self) -> None:
        try:
            self._select(None)
        except NoSuchElementError:
            if self.ace is not None:
                try:
                    self._select(self.ace.default_access_control_aid)
                except Exception:
                    pass
        except Exception:
            pass

    def _select(self, aid: bytes | None) -> None:
        command = bytes((0x00, Ins.SELECT, 0x04, 0x00)) + (bytes((len(aid),)) + aid if aid else b"\x00")
        response = self.transmit(command)
        if len(response) < 2 or response[-2:] != b"\x90\x00":
            raise NoSuchElementError("Status word is incorrect")

    @staticmethod
    def _check_aid(aid: bytes | None) -> bytes | None:
        if aid is not None and len(aid) == 0:
            return None
        if aid is not None and not 5 <= len(aid) <= 16:
            raise IllegalArgumentError("AID out of range")
        return aid

    def _prepare_open(
        self, aid: bytes | None, app: AppIdentity | None, basic: bool
    ) -> tuple[bytes | None, ChannelAccess | None] | None:
        """What both opens check first: the AID, the connection (an empty AID is refused before it), and
        the app's access set-up; None where the set-up finds no resource (the open answers null)."""
        given_empty = aid is not None and len(aid) == 0
        aid = self._check_aid(aid)
        if not given_empty and not self.connected:
            raise OmapiIOError("Secure Element is not connected")
        if app is None:
            return aid, None
        answered_null = (MissingResource,) if basic else (MissingResource, UnsupportedOperationError)
        try:
            return aid, self.set_up_channel_access(aid, app, basic=basic)
        except answered_null:
            return None

    def open_basic_channel(
        self, session: ChannelOwner | None, aid: bytes | None, p2: int, app: AppIdentity | None
    ) -> Channel | None:
        if (prepared := self._prepare_open(aid, app, basic=True)) is None:
            return None
        aid, access = prepared
        if 0 in self.channels:
            return None  # basic channel in use
        if aid is None and not self.default_selected:
            return None  # default application is not selected
        try:
            status, response = self.hal.open_basic_channel(aid or b"", p2)
        except HalError as exc:
            raise OmapiIOError(str(exc)) from None
        self._raise_for(status, "OpenBasicChannel() failed")
        if status == HalStatus.CHANNEL_NOT_AVAILABLE:
            return None
        channel = self.channel_class(session, self, 0, response, aid)
        channel.access = access
        if aid is not None:
            self.default_selected = False
        self.channels[0] = channel
        return channel

    def open_logical_channel(
        self, session: ChannelOwner | None, aid: bytes | None, p2: int, app: AppIdentity | None
    ) -> Channel | None:
        if (prepared := self._prepare_open(aid, app, basic=False)) is None:
            return None
        aid, access = prepared
        try:
            status, number, response = self.hal.open_logical_channel(aid or b"", p2)
        except HalError as exc:
            raise OmapiIOError(str(exc)) from None
        self._raise_for(status, "OpenLogicalChannel() failed")
        if status != HalStatus.SUCCESS or number <= 0:
            return None
        channel = self.channel_class(session, self, number, response, aid)
        channel.access = access
        self.channels[number] = channel
        return channel

    def open_logical_channel_without_access(self, aid: bytes | None) -> Channel | None:
        """The ACE's own channel (ARA-M, ARF): no access set-up."""
        return self.open_logical_channel(None, aid, 0x00, None)

    @staticmethod
    def _raise_for(status: HalStatus, message: str) -> None:
        if status == HalStatus.UNSUPPORTED_OPERATION:
            raise UnsupportedOperationError(message)
        if status == HalStatus.IOERROR:
            raise OmapiIOError(message)
        if status == HalStatus.NO_SUCH_ELEMENT:
            raise NoSuchElementError(message)

    # -- APDUs ---------------------------------------------------------------------------------------

    def transmit(self, command: bytes) -> bytes:
        if not self.connected:
            raise OmapiIOError("Secure Element is not connected")
        response = self._exchange(command)
        if response[-2] == 0x6C:
            command = command[:-1] + response[-1:]
            if self.android.resend_after_6c_collects_61:
                return self.transmit(command)
            return self._exchange(command)
        while response[-2] == 0x61:
            more = self._exchange(bytes((command[0], Ins.GET_RESPONSE, 0x00, 0x00, response[-1])))
            response = response[:-2] + more
        return response

    def _exchange(self, command: bytes) -> bytes:
        try:
            return self.hal.transmit(command)
        except HalError as exc:
            raise OmapiIOError(str(exc)) from None

    # -- access control ------------------------------------------------------------------------------

    def initialize_access_control(self) -> None:
        if self.ace is None:
            self.ace = self.ace_class(self)
        try:
            self.ace.initialize()
        except (OmapiIOError, MissingResource):
            self.ace = None  # perhaps a passing failure: initialise again at the next open call
            raise

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if app.privileged and self.android.privileged_apps:
            return ChannelAccess.privileged(app.package or app.name)
        check = True
        if self.ace is None or self.ace.no_rule_found:
            self.initialize_access_control()
            check = False  # just read: no refresh-tag check
        assert self.ace is not None
        if self.uicc and self.android.carrier_privilege and aid != ISD_R_AID:
            try:
                if self.ace.check_carrier_privilege(app, False):
                    return ChannelAccess.carrier(app.package or app.name)
            except AccessControlError:
                pass
            if basic:
                raise MissingResource("openBasicChannel is not allowed.")
            if aid is None:
                raise UnsupportedOperationError("null aid is not accepted in UICC terminal.")
        try:
            return self.ace.set_up_channel_access(aid, app, check)
        except (OmapiIOError, MissingResource):
            raise
        except Exception as exc:
            raise SecurityError(f"Exception in setUpChannelAccess(){exc}") from None

    def is_nfc_event_allowed(self, aid: bytes, apps: list[AppIdentity | None]) -> list[bool] | None:
        if not self.connected:
            return None
        if self.ace is None or self.ace.no_rule_found:
            return None  # no access rules to check
        try:
            return self.ace.is_nfc_event_allowed(aid, apps)
        except Exception:
            return None
