"""Deliberately non-conforming handsets, one fault each: the reference handset (AOSP's SecureElement service
at the profile's API level) with one Android behaviour of docs/android-behaviours.md broken, as a vendor's
build, an older or patched service, or the kit's own first reference handset got it wrong.  Each is a
factory ``(personality, android_api=..., access_rules=...) -> handset`` for a profile's
``ixit.handset.reference.factory`` (tests/faults/handset.yaml names them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jpkikit.reference.apps import AppIdentity
from jpkikit.reference.handset import agent as agent_mod
from jpkikit.reference.handset import channel as channel_mod
from jpkikit.reference.handset import omapi, rules, service
from jpkikit.reference.handset.ace import AccessControlEnforcer
from jpkikit.reference.handset.ara import AraController
from jpkikit.reference.handset.arf import ArfController
from jpkikit.reference.handset.errors import AccessControlError, MissingResource
from jpkikit.reference.handset.hal import SecureElementHal
from jpkikit.reference.handset.handset import ReferenceHandset
from jpkikit.reference.handset.rules import A, AccessRuleCache, ChannelAccess, RefKey
from jpkikit.reference.handset.se import make_se
from jpkikit.reference.handset.terminal import Terminal
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import agent_protocol as p
from jpkikit.vocab.omapi.android import LATEST_API, Android, HalStatus, channel_cla, select_status
from jpkikit.vocab.omapi.errors import (
    IllegalArgumentError,
    NoSuchElementError,
    OmapiIOError,
    SecurityError,
    UnsupportedOperationError,
)

Factory = Callable[..., ReferenceHandset]


def _apps_only(cls: type[channel_mod.Channel]) -> type[channel_mod.Channel]:
    """The channel fault ``cls`` on the apps' channels only: the ACE's own channel (it has no session) reads
    the rules as the reference does, so the fault shows where the test looks."""

    class AppsOnly(cls):  # type: ignore[valid-type,misc]
        def transmit(self, command: bytes | None) -> bytes:
            if self.session is None:
                return channel_mod.Channel.transmit(self, command)
            return super().transmit(command)

        def close(self) -> None:
            if self.session is None:
                return channel_mod.Channel.close(self)
            return super().close()

    AppsOnly.__name__ = AppsOnly.__qualname__ = cls.__name__
    return AppsOnly


def _android(**flags: Any) -> type[Android]:
    """An Android whose named behaviour flags are fixed (the rest as its API level says)."""
    namespace = {name: property(lambda self, v=value: v) for name, value in flags.items()}
    return dataclass(frozen=True)(type("FaultyAndroid", (Android,), namespace))


def _with(
    *,
    terminal: type[Terminal] | None = None,
    hal: type[SecureElementHal] | None = None,
    channel: type[channel_mod.Channel] | None = None,
    ace: type[AccessControlEnforcer] | None = None,
    cache: type[AccessRuleCache] | None = None,
    ara: type[AraController] | None = None,
    arf: type[ArfController] | None = None,
    session: type[service.ServiceSession] | None = None,
    reader: type[service.ServiceReader] | None = None,
    app_session: type[omapi.Session] | None = None,
    app_channel: type[omapi.Channel] | None = None,
    app_reader: type[omapi.Reader] | None = None,
    app_service: type[omapi.SEService] | None = None,
    dispatcher: type[agent_mod.Dispatcher] | None = None,
    handler: type[agent_mod._Handler] | None = None,
    android: dict[str, Any] | None = None,
) -> Factory:
    ace_cls = ace or AccessControlEnforcer
    if cache or ara or arf:
        ace_cls = type("Ace", (ace_cls,), {
            "cache_class": cache or ace_cls.cache_class,
            "ara_class": ara or ace_cls.ara_class,
            "arf_class": arf or ace_cls.arf_class,
        })  # fmt: skip
    term_cls = type("Terminal", (terminal or Terminal,), {
        "ace_class": ace_cls, "channel_class": channel or Terminal.channel_class})  # fmt: skip
    reader_cls = reader or service.ServiceReader
    if session is not None:
        reader_cls = type("Reader", (reader_cls,), {"session_class": session})
    service_cls = type("Service", (service.SecureElementService,), {"reader_class": reader_cls})
    app_cls = type("SEService", (app_service or omapi.SEService,), {
        "reader_class": app_reader or omapi.Reader,
        "session_class": app_session or omapi.Session,
        "channel_class": app_channel or omapi.Channel,
    })  # fmt: skip
    agent_cls: type | None = None
    if dispatcher is not None or handler is not None:
        agent_cls = type("Agent", (agent_mod.AgentServer,), {
            "dispatcher_class": dispatcher or agent_mod.Dispatcher,
            "handler_class": handler or agent_mod._Handler,
        })  # fmt: skip

    class Handset(ReferenceHandset):
        terminal_class = term_cls
        hal_class = hal or SecureElementHal
        service_class = service_cls
        omapi_class = app_cls
        agent_class = agent_cls

    def factory(
        personality: str, android_api: int | None = None, access_rules: str = "aram"
    ) -> ReferenceHandset:
        kind = _android(**android) if android else Android
        version = kind(android_api or LATEST_API)
        card = make_se(personality, None, access_rules, sha256=Android(version.api).sha256_hashes)  # type: ignore[arg-type]
        return Handset(card, uicc=personality.startswith("sim"), android=version, card=card)

    return factory


# == SEService, Reader, Session =============================================================================


class _Version32(omapi.SEService):
    def get_version(self) -> str:
        return "3.2"


class _Version330(omapi.SEService):
    def get_version(self) -> str:
        return "3.3.0"


version_3_2 = _with(app_service=_Version32)
version_with_patch = _with(app_service=_Version330)


class _SeAbsent(omapi.Reader):
    def is_secure_element_present(self) -> bool:
        return False


class _LowerCaseName(omapi.Reader):
    def get_name(self) -> str:
        return self.name.lower()


se_reported_absent = _with(app_reader=_SeAbsent)
reader_name_lower_case = _with(app_reader=_LowerCaseName)


class _SlotZero(omapi.SEService):
    def get_uicc_reader(self, slot: int) -> omapi.Reader:
        return super().get_uicc_reader(max(slot, 1))


class _SlotOffByOne(omapi.SEService):
    def get_uicc_reader(self, slot: int) -> omapi.Reader:
        return super().get_uicc_reader(slot + 1)


uicc_slot_zero_accepted = _with(app_service=_SlotZero)
uicc_slot_off_by_one = _with(app_service=_SlotOffByOne)


class _ResetWithoutPermission(Terminal):
    def reset(self, app: AppIdentity) -> bool:
        return self.hal.reset()


reset_without_permission = _with(terminal=_ResetWithoutPermission)


class _ResetRefusedFalse(Terminal):
    """Reader.reset() by an app without the permission returns false instead of throwing SecurityException."""

    def reset(self, app: AppIdentity) -> bool:
        if not app.privileged:
            return False
        return super().reset(app)


reset_refused_with_false = _with(terminal=_ResetRefusedFalse)
reset_missing = _with(android={"reader_reset": False})  # Reader.reset() of API 29 and earlier on API 35


class _CloseSessionsNoop(service.ServiceReader):
    def close_sessions(self) -> None:
        pass


class _CloseSessionsKeepsChannels(service.ServiceReader):
    def close_sessions(self) -> None:
        for session in list(self.sessions):
            session.closed = True
            self.remove_session(session)


close_sessions_noop = _with(reader=_CloseSessionsNoop)
close_sessions_keeps_channels = _with(reader=_CloseSessionsKeepsChannels)


class _ClosedSessionOpens(service.ServiceSession):
    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        closed, self.closed = self.closed, False
        try:
            return super()._check(aid, p2, basic)
        finally:
            self.closed = closed


class _NeverClosed(service.ServiceSession):
    def is_closed(self) -> bool:
        return False


closed_session_opens = _with(session=_ClosedSessionOpens)
session_never_reports_closed = _with(session=_NeverClosed)


class _CloseChannelsClosesSession(service.ServiceSession):
    def close_channels(self) -> None:
        super().close_channels()
        self.closed = True


class _CloseChannelsNoop(service.ServiceSession):
    def close_channels(self) -> None:
        if self.closed:
            super().close_channels()


close_channels_closes_session = _with(session=_CloseChannelsClosesSession)
close_channels_noop = _with(session=_CloseChannelsNoop)


class _NoAtr(service.ServiceSession):
    def get_atr(self) -> bytes | None:
        return None


uicc_session_without_atr = _with(session=_NoAtr)


class _AtrWrongTck(service.ServiceSession):
    def get_atr(self) -> bytes | None:
        atr = super().get_atr()
        return atr[:-1] + bytes([atr[-1] ^ 0x01]) if atr else atr


class _AtrTruncated(service.ServiceSession):
    def get_atr(self) -> bytes | None:
        atr = super().get_atr()
        return atr[:-3] if atr else atr  # the end of the historical bytes and TCK lost


class _AtrOfTheChannel(service.ServiceSession):
    def get_atr(self) -> bytes | None:
        return b"\x90\x00" if super().get_atr() else None  # a status word where the ATR belongs


uicc_atr_wrong_tck = _with(session=_AtrWrongTck)
uicc_atr_truncated = _with(session=_AtrTruncated)
uicc_atr_is_a_status_word = _with(session=_AtrOfTheChannel)


# == open calls ==============================================================================================


class _P2AfterAid(service.ServiceSession):
    """Checks the AID length before the P2 (after the closed session, as the reference)."""

    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        if not self.closed and aid is not None and aid and not 5 <= len(aid) <= 16:
            raise IllegalArgumentError("AID out of range")
        return super()._check(aid, p2, basic)


class _ClosedCheckedLate(service.ServiceSession):
    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        from jpkikit.vocab.omapi.android import P2_VALUES

        if p2 not in P2_VALUES:
            raise UnsupportedOperationError(f"p2 not supported: {p2:02x}")
        return super()._check(aid, p2, basic)


class _AccessBeforeAidLength(Terminal):
    @staticmethod
    def _check_aid(aid: bytes | None) -> bytes | None:
        return aid or None

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        access = super().set_up_channel_access(aid, app, basic)
        if aid is not None and not 5 <= len(aid) <= 16:
            raise IllegalArgumentError("AID out of range")
        return access


p2_checked_after_aid = _with(session=_P2AfterAid)
closed_checked_after_p2 = _with(session=_ClosedCheckedLate)
access_before_aid_length = _with(terminal=_AccessBeforeAidLength)


class _P2Zero(SecureElementHal):
    def _select(self, channel: int, aid: bytes, p2: int) -> bytes:
        return super()._select(channel, aid, 0x00)


class _P2NoOC(service.ServiceSession):
    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        if p2 == 0x0C:
            raise UnsupportedOperationError("p2 not supported: 0c")
        return super()._check(aid, p2, basic)


class _AnyP2(service.ServiceSession):
    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        return super()._check(aid, 0x00, basic)


class _BadP2IllegalArgument(service.ServiceSession):
    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        try:
            return super()._check(aid, p2, basic)
        except UnsupportedOperationError as exc:
            raise IllegalArgumentError(str(exc)) from None


p2_forced_to_00 = _with(hal=_P2Zero)
p2_0c_refused = _with(session=_P2NoOC)
any_p2_sent = _with(session=_AnyP2)
bad_p2_illegal_argument = _with(session=_BadP2IllegalArgument)


def _hal_mapping(mapping: Callable[[int], HalStatus]) -> type[SecureElementHal]:
    class Hal(SecureElementHal):
        def open_logical_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, int, bytes]:
            import jpkikit.reference.handset.hal as hal_mod

            original = hal_mod.select_status
            hal_mod.select_status = mapping  # type: ignore[assignment]
            try:
                return super().open_logical_channel(aid, p2)
            finally:
                hal_mod.select_status = original

    return Hal


warnings_fail_the_select = _with(
    hal=_hal_mapping(
        lambda sw: (
            HalStatus.SUCCESS
            if sw == 0x9000
            else select_status(sw)
            if sw >> 8 not in (0x62, 0x63)
            else HalStatus.IOERROR
        )
    )
)
select_errors_no_such_element = _with(
    hal=_hal_mapping(
        lambda sw: HalStatus.NO_SUCH_ELEMENT if select_status(sw) != HalStatus.SUCCESS else HalStatus.SUCCESS
    )
)
select_6985_io_error = _with(
    hal=_hal_mapping(lambda sw: HalStatus.IOERROR if sw == 0x6985 else select_status(sw))
)
absent_is_io_error = _with(
    hal=_hal_mapping(lambda sw: HalStatus.IOERROR if sw == 0x6A82 else select_status(sw))
)


class _SelectResponseNoSw(SecureElementHal):
    def open_logical_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, int, bytes]:
        status, number, response = super().open_logical_channel(aid, p2)
        if response[-2:-1] in (b"\x62", b"\x63"):
            response = response[:-2] + b"\x90\x00"
        return status, number, response


class _FailedSelectLeaks(SecureElementHal):
    def close_channel(self, number: int) -> bool:
        if self._closing_after_select:
            return True
        return super().close_channel(number)

    _closing_after_select = False

    def open_logical_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, int, bytes]:
        self._closing_after_select = True
        try:
            return super().open_logical_channel(aid, p2)
        finally:
            self._closing_after_select = False


class _ShortSelectResponse(SecureElementHal):
    def _select(self, channel: int, aid: bytes, p2: int) -> bytes:
        response = super()._select(channel, aid, p2)
        return response[:128] + response[-2:] if len(response) > 130 else response


warning_sw_replaced = _with(hal=_SelectResponseNoSw)
failed_select_leaks_channel = _with(hal=_FailedSelectLeaks)
select_response_truncated = _with(hal=_ShortSelectResponse)


class _UiccNullAidOpens(omapi.Session):
    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> omapi.Channel | None:
        if aid is None:
            aid = b""  # an empty AID passes the client's check; the service takes it as no AID
        return super().open_logical_channel(aid, p2)


class _UiccNullAidTerminal(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if aid is None and not basic:
            if self.ace is None:
                self.initialize_access_control()
            assert self.ace is not None
            return self.ace.set_up_channel_access(aid, app, False)
        return super().set_up_channel_access(aid, app, basic)


uicc_null_aid_opens = _with(app_session=_UiccNullAidOpens, terminal=_UiccNullAidTerminal)


class _UiccBasicAllowed(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        try:
            return super().set_up_channel_access(aid, app, basic)
        except MissingResource:
            return ChannelAccess.allowed("basic channel on a UICC")


uicc_basic_channel_allowed = _with(terminal=_UiccBasicAllowed)


class _UiccBasicWithAid(Terminal):
    """On a UICC, openBasicChannel is refused only without AID; with an AID the app gets the basic channel."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        try:
            return super().set_up_channel_access(aid, app, basic)
        except MissingResource:
            if aid is None:
                raise
            return super().set_up_channel_access(aid, app, False)


class _UiccNullAidThrows(omapi.Session):
    """openLogicalChannel(null) on a UICC throws UnsupportedOperationException instead of returning null."""

    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> omapi.Channel | None:
        if aid is None:
            raise UnsupportedOperationError("NULL AID not supported on this reader")
        return super().open_logical_channel(aid, p2)


uicc_basic_channel_with_aid = _with(terminal=_UiccBasicWithAid)
uicc_null_aid_throws = _with(app_session=_UiccNullAidThrows)


def _aid_lengths(low: int, high: int) -> type[Terminal]:
    class T(Terminal):
        @staticmethod
        def _check_aid(aid: bytes | None) -> bytes | None:
            if aid is not None and len(aid) == 0:
                return None
            if aid is not None and not low <= len(aid) <= high:
                raise IllegalArgumentError("AID out of range")
            return aid

    return T


aid_of_4_bytes_accepted = _with(terminal=_aid_lengths(4, 16))
aid_of_17_bytes_accepted = _with(terminal=_aid_lengths(5, 255))


# == channels ================================================================================================


class _SharedChannel(channel_mod.Channel):
    """Every logical channel talks on the SE channel of the session's first."""

    def transmit(self, command: bytes | None) -> bytes:
        owner = self.session
        channels = [c for c in getattr(owner, "channels", []) if c.number] if owner else []
        number, self.number = self.number, (channels[0].number if channels else self.number)
        try:
            return super().transmit(command)
        finally:
            self.number = number


shared_channel = _with(channel=_SharedChannel)


class _ChannelNumberOffByOne(channel_mod.Channel):
    """The channel number goes into CLA one too high (a 0-based / 1-based slip in the service's channel
    table) on the apps' channels; the basic channel is coded right."""

    def transmit(self, command: bytes | None) -> bytes:
        if not self.number or self.session is None:
            return super().transmit(command)
        number, self.number = self.number, self.number + 1
        try:
            return super().transmit(command)
        finally:
            self.number = number


class _ReselectOnSwitch(channel_mod.Channel):
    """When the app turns to another channel than the one it used last, the service selects that channel's
    applet again first (a "current channel" cache that re-SELECTs instead of switching): the channel loses its
    current EF."""

    def transmit(self, command: bytes | None) -> bytes:
        last = getattr(self.terminal, "last_channel", None)
        if last is not None and last is not self and self.aid and not self.closed:
            cla = channel_cla(0x00, self.number, self.terminal.android.api)
            self.terminal.transmit(bytes((cla, 0xA4, 0x04, 0x00, len(self.aid))) + self.aid + b"\x00")
        self.terminal.last_channel = self  # type: ignore[attr-defined]
        return super().transmit(command)


channel_number_off_by_one = _with(channel=_ChannelNumberOffByOne)
reselect_on_channel_switch = _with(channel=_ReselectOnSwitch)


class _NoBasic(service.ServiceSession):
    def open_basic_channel(self, aid: bytes | None, p2: int, app: AppIdentity) -> channel_mod.Channel | None:
        return None


class _SecondBasic(Terminal):
    def open_basic_channel(self, session: Any, aid: bytes | None, p2: int, app: AppIdentity | None) -> Any:
        self.channels.pop(0, None)
        return super().open_basic_channel(session, aid, p2, app)


no_basic_channel = _with(session=_NoBasic)
second_basic_channel = _with(terminal=_SecondBasic)


class _DefaultNeverLocked(Terminal):
    def open_basic_channel(self, session: Any, aid: bytes | None, p2: int, app: AppIdentity | None) -> Any:
        self.default_selected = True
        return super().open_basic_channel(session, aid, p2, app)


class _DefaultLockedForever(service.ServiceReader):
    def remove_session(self, session: service.ServiceSession) -> None:
        if session in self.sessions:
            self.sessions.remove(session)


class _BasicSelectResponse(channel_mod.Channel):
    def get_select_response(self) -> bytes | None:
        return self.select_response or b"\x90\x00"


default_application_never_locked = _with(terminal=_DefaultNeverLocked)
default_application_locked_forever = _with(reader=_DefaultLockedForever)
select_response_without_aid = _with(channel=_BasicSelectResponse)


class _CloseLeaks(channel_mod.Channel):
    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.session is not None:
            self.session.remove_channel(self)


class _NoChannelIsIo(Terminal):
    def open_logical_channel(self, session: Any, aid: bytes | None, p2: int, app: AppIdentity | None) -> Any:
        channel = super().open_logical_channel(session, aid, p2, app)
        if channel is None and app is not None:
            raise OmapiIOError("OpenLogicalChannel() failed")
        return channel


class _ClosedTransmits(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        closed, self.closed = self.closed, False
        try:
            return super().transmit(command)
        finally:
            self.closed = closed


close_leaks_channel = _with(channel=_apps_only(_CloseLeaks))
no_free_channel_io_error = _with(terminal=_NoChannelIsIo)
closed_channel_transmits = _with(channel=_ClosedTransmits)


class _AceWithoutChannel(Terminal):
    """The kit's first reference: with no channel for the ACE, it decides on the cached rules."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        try:
            return super().set_up_channel_access(aid, app, basic)
        except MissingResource:
            if self.ace is None:
                raise
            return self.ace.set_up_channel_access(aid, app, False)

    def initialize_access_control(self) -> None:
        ace = self.ace
        try:
            super().initialize_access_control()
        except MissingResource:
            self.ace = ace
            raise


ace_decides_without_a_channel = _with(terminal=_AceWithoutChannel)


class _SessionCloseKeepsChannels(service.ServiceSession):
    def close(self) -> None:
        self.reader.remove_session(self)
        self.closed = True


class _SessionCloseNotFreed(service.ServiceSession):
    def close(self) -> None:
        for channel in list(self.channels):
            channel.closed = True
        self.channels.clear()
        self.reader.remove_session(self)
        self.closed = True


session_close_keeps_channels = _with(session=_SessionCloseKeepsChannels)
session_close_frees_nothing = _with(session=_SessionCloseNotFreed)


class _SelectNextTrue(channel_mod.Channel):
    def select_next(self) -> bool:
        super().select_next()
        return True


class _SelectNextDeselects(channel_mod.Channel):
    def select_next(self) -> bool:
        found = super().select_next()
        if not found:
            self.terminal.transmit(bytes((self.number, 0xA4, 0x04, 0x00, 0x00)))  # the default application
        return found


class _SelectNextWithoutAid(channel_mod.Channel):
    def select_next(self) -> bool:
        if not self.aid and not self.closed:
            return False
        return super().select_next()


select_next_always_true = _with(channel=_SelectNextTrue)
select_next_loses_the_applet = _with(channel=_SelectNextDeselects)
select_next_without_aid_false = _with(channel=_SelectNextWithoutAid)


class _AlwaysBasic(channel_mod.Channel):
    def is_basic_channel(self) -> bool:
        return True


class _NoSessionHandle(agent_mod.Dispatcher):
    def channel_session(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"session": None}


class _OpenAfterSessionClose(omapi.Channel):
    def is_open(self) -> bool:
        return self.service.connected and not (self.channel.closed and not self.session.is_closed())


logical_channel_reported_basic = _with(channel=_AlwaysBasic)
get_session_unknown = _with(dispatcher=_NoSessionHandle)
open_after_session_close = _with(app_channel=_OpenAfterSessionClose)


# == transmit ================================================================================================


class _SelectThroughTransmit(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command and len(command) > 2 and command[1] == 0xA4 and command[2] == 0x04:
            return self.terminal.transmit(command)
        return super().transmit(command)


class _ManageThroughTransmit(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command and len(command) > 1 and command[1] == 0x70:
            return self.terminal.transmit(command)
        return super().transmit(command)


class _OnlyCla00Iso(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command and command[0] & 0x7F and command[0] < 0x80 and command[1] in (0x70, 0xA4):
            return self.terminal.transmit(command)
        return super().transmit(command)


select_through_transmit = _with(channel=_SelectThroughTransmit)
manage_channel_through_transmit = _with(channel=_ManageThroughTransmit)
iso_class_only_00 = _with(channel=_OnlyCla00Iso)


def _validator(skip: Callable[[bytes], bool]) -> type[channel_mod.Channel]:
    class C(channel_mod.Channel):
        def transmit(self, command: bytes | None) -> bytes:
            if command is not None and skip(bytes(command)):
                return self.terminal.transmit(bytes(command))
            return super().transmit(command)

    return C


lenient_cla_ins = _with(
    channel=_validator(lambda c: len(c) >= 4 and (c[0] == 0xFF or c[1] & 0xF0 in (0x60, 0x90)))
)
short_commands_sent = _with(channel=_validator(lambda c: 0 < len(c) < 4))
lengths_not_checked = _with(
    channel=_apps_only(
        _validator(
            lambda c: len(c) > 4 and c[0] != 0xFF and c[1] & 0xF0 not in (0x60, 0x90) and c[:2] != b"\x00\xa4"
        )
    )
)


class _ExtendedLcZero(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command is not None and len(command) > 7 and command[4:7] == b"\x00\x00\x00":
            return self.terminal.transmit(bytes(command))
        return super().transmit(command)


extended_lc_zero_accepted = _with(channel=_apps_only(_ExtendedLcZero))


class _NullIllegalArgument(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command is None:
            raise IllegalArgumentError("Invalid length for command (0).")
        return super().transmit(command)


null_is_illegal_argument = _with(channel=_NullIllegalArgument)


class _NullSentEmpty(channel_mod.Channel):
    """transmit(null) is not checked: the service hands the SE an empty command and returns its 6700."""

    def transmit(self, command: bytes | None) -> bytes:
        if command is None and not self.closed:
            return b"\x67\x00"
        return super().transmit(command)


null_answered_6700 = _with(channel=_NullSentEmpty)


class _ProprietaryRefused(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command and command[0] & 0x80:
            raise SecurityError("proprietary class not allowed")
        return super().transmit(command)


class _CaseFourData(Terminal):
    def transmit(self, command: bytes) -> bytes:
        response = super().transmit(command)
        lc = command[4] if len(command) > 5 else 0
        return response[-2:] if lc and len(command) == 6 + lc else response


proprietary_class_refused = _with(channel=_ProprietaryRefused)
case_4_data_dropped = _with(terminal=_CaseFourData)


class _WarningsSwallowed(Terminal):
    def transmit(self, command: bytes) -> bytes:
        response = super().transmit(command)
        return response[:-2] + b"\x90\x00" if response[-2] in (0x62, 0x63) else response


class _WarningDataDropped(Terminal):
    def transmit(self, command: bytes) -> bytes:
        response = super().transmit(command)
        return response[-2:] if response[-2] in (0x62, 0x63) else response


warnings_become_9000 = _with(terminal=_WarningsSwallowed)
warning_data_dropped = _with(terminal=_WarningDataDropped)


class _Bounded61(Terminal):
    """The kit's first reference: at most 64 GET RESPONSE, then an I/O error."""

    def transmit(self, command: bytes) -> bytes:
        response = self._exchange(command)
        if response[-2] == 0x6C:
            return self.transmit(command[:-1] + response[-1:])
        for _ in range(64):
            if response[-2] != 0x61:
                return response
            response = response[:-2] + self._exchange(bytes((command[0], 0xC0, 0, 0, response[-1])))
        raise OmapiIOError("the SE still answered 61xx after 64 GET RESPONSE commands")


class _GetResponseBasic(Terminal):
    def transmit(self, command: bytes) -> bytes:
        response = self._exchange(command)
        while response[-2] == 0x61:
            response = response[:-2] + self._exchange(bytes((0x00, 0xC0, 0, 0, response[-1])))
        return response


class _No61(Terminal):
    def transmit(self, command: bytes) -> bytes:
        response = self._exchange(command)
        if response[-2] == 0x6C:
            return self._exchange(command[:-1] + response[-1:])
        return response


chain_61_bounded_to_64 = _with(terminal=_Bounded61)
get_response_on_basic_channel = _with(terminal=_GetResponseBasic)
sw_61_not_collected = _with(terminal=_No61)


class _6CIgnored(Terminal):
    def transmit(self, command: bytes) -> bytes:
        response = self._exchange(command)
        while response[-2] == 0x61:
            response = response[:-2] + self._exchange(bytes((command[0], 0xC0, 0, 0, response[-1])))
        return response


sw_6c_not_reissued = _with(terminal=_6CIgnored)
sw_6c_then_61_not_collected = _with(android={"resend_after_6c_collects_61": False})


class _ChannelBitsKept(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command and command[0] & 0x03:
            cla = command[0] | (self.number & 0x03)
            self.check_command(command)
            return self.terminal.transmit(bytes((cla,)) + bytes(command[1:]))
        return super().transmit(command)


class _FirstCodingOnly(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if self.number >= 4 and command:
            self.check_command(bytes(command))
            return self.terminal.transmit(
                bytes(((command[0] & 0xBC) | (self.number & 3),)) + bytes(command[1:])
            )
        return super().transmit(command)


class _SmBitOfAndroid11(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if self.number >= 4 and command:
            from jpkikit.vocab.omapi.android import channel_cla

            self.check_command(bytes(command))
            return self.terminal.transmit(
                bytes((channel_cla(command[0], self.number, 30),)) + bytes(command[1:])
            )
        return super().transmit(command)


app_channel_bits_kept = _with(channel=_ChannelBitsKept)
further_channels_first_coding = _with(channel=_apps_only(_FirstCodingOnly))
sm_bit_of_android_11 = _with(channel=_SmBitOfAndroid11)


# == access ==================================================================================================


class _NoSelectResponse(omapi.Channel):
    def get_select_response(self) -> bytes | None:
        return None


class _OpenOnBasic(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        number, self.number = self.number, 0
        try:
            return super().transmit(command)
        finally:
            self.number = number


no_select_response = _with(app_channel=_NoSelectResponse)
transmit_on_the_basic_channel = _with(channel=_apps_only(_OpenOnBasic))


class _AllowAll(AccessControlEnforcer):
    def set_up_channel_access(
        self, aid: bytes | None, app: AppIdentity, check_refresh_tag: bool
    ) -> ChannelAccess:
        return ChannelAccess.allowed("everything")


class _DenyIsNull(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        try:
            return super().set_up_channel_access(aid, app, basic)
        except SecurityError:
            raise MissingResource("denied") from None


class _DenyIsNoSuchElement(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        try:
            return super().set_up_channel_access(aid, app, basic)
        except SecurityError as exc:
            raise NoSuchElementError(str(exc)) from None


allow_all = _with(ace=_AllowAll)
denial_returns_null = _with(terminal=_DenyIsNull)
denial_is_no_such_element = _with(terminal=_DenyIsNoSuchElement)


class _SelectFirst(Terminal):
    """Sends the SELECT of the target before asking the ACE."""

    def open_logical_channel(self, session: Any, aid: bytes | None, p2: int, app: AppIdentity | None) -> Any:
        if aid and app is not None:
            self.hal.exchange(bytes((0x00, 0xA4, 0x04, p2, len(aid))) + aid + b"\x00")
        return super().open_logical_channel(session, aid, p2, app)


select_before_check = _with(terminal=_SelectFirst)


def _hashes(pick: Callable[[tuple[bytes, ...]], tuple[bytes, ...]]) -> type[AccessControlEnforcer]:
    class Ace(AccessControlEnforcer):
        def hashes(self, app: AppIdentity) -> tuple[bytes, ...]:
            return pick(super().hashes(app))

    return Ace


sha1_only = _with(ace=_hashes(lambda hs: tuple(h for h in hs if len(h) == 20)))
sha256_only = _with(ace=_hashes(lambda hs: tuple(h for h in hs if len(h) == 32)))
sha256_before_sha1 = _with(ace=_hashes(lambda hs: tuple(sorted(hs, key=len, reverse=True))))


class _MergedHashes(AccessRuleCache):
    """The kit's first reference: every rule matching one of the app's hashes is merged."""

    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        target = RefKey.for_target(aid)
        hits = [
            self.rules[k]
            for k in (RefKey(target.tag, target.aid, bytes(h)) for h in hashes)
            if k in self.rules
        ]
        if len(hits) > 1 and any(h.apdu == A.DENIED for h in hits):
            return ChannelAccess.denied("merged across hashes")
        return super()._find(aid, hashes)


hashes_merged = _with(cache=_MergedHashes)


class _FiltersIgnored(AccessControlEnforcer):
    def check_command(self, channel: Any, command: bytes) -> None:
        if channel.access is not None and channel.access.use_filter:
            return
        super().check_command(channel, command)


class _FiltersBlockAll(AccessControlEnforcer):
    def check_command(self, channel: Any, command: bytes) -> None:
        if channel.access is not None and channel.access.use_filter:
            raise SecurityError("SecureElement-AccessControlEnforcerAccess Rule does not match: filters")
        super().check_command(channel, command)


class _FilterExactHeader(AccessControlEnforcer):
    def check_command(self, channel: Any, command: bytes) -> None:
        ca = channel.access
        if ca is not None and ca.use_filter:
            if any(command[:4] == f.header for f in ca.filters):
                return
            raise SecurityError("SecureElement-AccessControlEnforcerAccess Rule does not match: exact")
        super().check_command(channel, command)


class _FilterAnyBit(AccessControlEnforcer):
    def check_command(self, channel: Any, command: bytes) -> None:
        ca = channel.access
        if ca is not None and ca.use_filter:
            if any(f.matches(command[:2] + f.header[2:]) for f in ca.filters):
                return
            raise SecurityError("SecureElement-AccessControlEnforcerAccess Rule does not match: INS only")
        super().check_command(channel, command)


filters_ignored = _with(ace=_FiltersIgnored)
filters_block_everything = _with(ace=_FiltersBlockAll)
filter_compares_header_only = _with(ace=_FilterExactHeader)
filter_ignores_p1_p2 = _with(ace=_FilterAnyBit)


class _FilteredLeDropped(channel_mod.Channel):
    """On a channel whose rule is a filter list, a case 2 command goes to the SE without its Le (the service
    rebuilds the command from the header it matched and the data)."""

    def transmit(self, command: bytes | None) -> bytes:
        if self.access is None or not self.access.use_filter:
            return super().transmit(command)
        send = self.terminal.transmit
        self.terminal.transmit = lambda apdu: send(apdu[:4] if len(apdu) == 5 else apdu)  # type: ignore[method-assign]
        try:
            return super().transmit(command)
        finally:
            del self.terminal.transmit


class _FilterMatchAnswered6982(channel_mod.Channel):
    """A command a filter matches is answered 6982 by the service itself and never sent (the ACE's "matched a
    filter" branch returns a refusal status word); a command no filter matches still throws
    SecurityException."""

    def transmit(self, command: bytes | None) -> bytes:
        if self.access is None or not self.access.use_filter or command is None or self.closed:
            return super().transmit(command)
        channel_mod.validate(bytes(command))
        self.check_command(bytes(command))
        return b"\x69\x82"


filtered_command_loses_le = _with(channel=_FilteredLeDropped)
filtered_command_answered_6982 = _with(channel=_FilterMatchAnswered6982)


class _SentThenRefused(AccessControlEnforcer):
    def check_command(self, channel: Any, command: bytes) -> None:
        try:
            super().check_command(channel, command)
        except SecurityError:
            self.terminal.hal.exchange(bytes(command))
            raise


refused_command_reaches_the_se = _with(ace=_SentThenRefused)


class _BasicUnchecked(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if basic:
            return ChannelAccess.allowed("basic channel")
        return super().set_up_channel_access(aid, app, basic)


class _AidPrefix(AccessRuleCache):
    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        if aid is not None:
            for key in self.rules:
                if key.aid and aid.startswith(key.aid) and aid != key.aid:
                    return super()._find(key.aid, hashes)
        return super()._find(aid, hashes)


basic_channel_unchecked = _with(terminal=_BasicUnchecked)
aid_matched_by_prefix = _with(cache=_AidPrefix)


# == rule resolution and merging ============================================================================


def _resolution(skip: str) -> type[AccessRuleCache]:
    """AccessRuleCache._find with one step changed (SEAC v1.0 §4.2.3 as AOSP applies it)."""

    class Cache(AccessRuleCache):
        def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
            target = RefKey.for_target(aid)
            t, a = target.tag, target.aid

            def exact(tag: int, aid_: bytes) -> ChannelAccess | None:
                for h in hashes:
                    hit = self.rules.get(RefKey(tag, aid_, bytes(h)))
                    if hit is not None:
                        return hit
                return None

            def shadowed(tag: int, aid_: bytes) -> bool:
                return any(k.tag == tag and k.aid == aid_ and k.hash for k in self.rules)

            never = ChannelAccess.denied("never")
            steps: list[Callable[[], ChannelAccess | None]] = [
                lambda: exact(t, a),
                lambda: never if shadowed(t, a) and not (t == 0x4F and not a) else None,
                lambda: self.rules.get(RefKey(t, a, b"")),
                lambda: exact(0x4F, b""),
                lambda: never if shadowed(0x4F, b"") else None,
                lambda: self.rules.get(RefKey(0x4F, b"", b"")),
            ]
            if skip == "generic-before-exact":
                steps = [steps[2], steps[0], *steps[3:]]
            elif skip == "c-before-b":
                steps = [steps[0], steps[1], steps[3], steps[2], *steps[4:]]
            elif skip == "allow-unmatched":
                steps.append(lambda: ChannelAccess.allowed("no rule"))
            else:
                index = {"no-aid-shadow": 1, "no-rule-c": 3, "no-all-shadow": 4, "no-rule-d": 5}[skip]
                steps.pop(index)
            for step in steps:
                decision = step()
                if decision is not None:
                    return decision
            return None

    return Cache


generic_before_exact = _with(cache=_resolution("generic-before-exact"))
no_aid_shadow = _with(cache=_resolution("no-aid-shadow"))
c_before_b = _with(cache=_resolution("c-before-b"))
no_rule_c = _with(cache=_resolution("no-rule-c"))
no_all_shadow = _with(cache=_resolution("no-all-shadow"))
no_rule_d = _with(cache=_resolution("no-rule-d"))
allow_unmatched = _with(cache=_resolution("allow-unmatched"))


class _DefaultAsAll(AccessRuleCache):
    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        return super()._find(b"" if aid is None else aid, hashes) if aid is not None else self._all(hashes)

    def _all(self, hashes: Sequence[bytes]) -> ChannelAccess | None:
        for h in hashes:
            hit = self.rules.get(RefKey(0x4F, b"", bytes(h)))
            if hit is not None:
                return hit
        return self.rules.get(RefKey(0x4F, b"", b""))


class _DefaultEverywhere(AccessRuleCache):
    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        found = super()._find(aid, hashes)
        if found is None or found.access == A.DENIED:
            return super()._find(None, hashes) or found
        return found


default_rules_read_as_all_aids = _with(cache=_DefaultAsAll)
default_rule_opens_every_applet = _with(cache=_DefaultEverywhere)


class _LastRuleWins(AccessRuleCache):
    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        if ref.carrier_privilege:
            return super().put_with_merge(ref, access)
        self.rules[ref] = access


class _AlwaysBeatsFilter(AccessRuleCache):
    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        current = self.rules.get(ref)
        super().put_with_merge(ref, access)
        merged = self.rules[ref]
        if current is not None and A.ALLOWED in (current.apdu, access.apdu) and merged.apdu != A.DENIED:
            merged.apdu, merged.use_filter, merged.filters = A.ALLOWED, False, ()


class _FiltersReplaced(AccessRuleCache):
    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        current = self.rules.get(ref)
        super().put_with_merge(ref, access)
        if current is not None and access.use_filter and self.rules[ref].apdu != A.DENIED:
            self.rules[ref].filters = access.filters


merge_last_rule_wins = _with(cache=_LastRuleWins)
merge_always_beats_filters = _with(cache=_AlwaysBeatsFilter)
merge_filters_not_joined = _with(cache=_FiltersReplaced)
merge_as_android_10 = _with(android={"missing_attributes_after_merge": False})


class _MissingApduAllowed(AccessRuleCache):
    def find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        found = self._find(aid, hashes)
        if found is not None and found.apdu == A.UNDEFINED and not found.use_filter:
            out = found.copy()
            out.access, out.apdu = A.ALLOWED, A.ALLOWED
            return out
        return super().find(aid, hashes)


missing_apdu_rule_allows = _with(cache=_MissingApduAllowed)
pkg_skipped_as_android_10 = _with(android={"pkg_with_aid_is_error": False})


class _BadRuleDropped(AraController):
    def _read_all(self, channel: Any) -> None:
        data = self.read_all_rules(channel)
        self.reads += 1
        if data is None:
            return
        from jpkikit.reference.handset.rules import _first_tlv, _tlvs, parse_ar, parse_ref

        first = _first_tlv(data)
        for _tag, value in _tlvs(first[1] if first else b""):
            try:
                inner = dict(_tlvs(value))
                self.cache.put_rule(
                    parse_ref(inner[0xE1], self.cache.android), parse_ar(inner[0xE3], self.cache.android)
                )
            except Exception:
                continue


unusable_rule_dropped_others_kept = _with(ara=_BadRuleDropped)


class _Stale(AraController):
    """Reads the rules once and never again, whatever the refresh tag says."""

    def initialize(self) -> None:
        if self.reads:
            return
        super().initialize()


class _ReadsEveryTime(AraController):
    def initialize(self) -> None:
        self.cache.refresh_tag = None
        super().initialize()


class _NoRefreshTag(AraController):
    """Never asks for the refresh tag: reads all rules at every open."""

    @staticmethod
    def read_refresh_tag(channel: Any) -> bytes:
        import os

        return os.urandom(8)


stale_cache = _with(ara=_Stale)
rules_read_at_every_open = _with(ara=_ReadsEveryTime)
refresh_tag_never_read = _with(ara=_NoRefreshTag)


# == rule sources ============================================================================================


class _NoTagReadsRules(AraController):
    """The kit's first reference: no refresh tag means read the rules every time."""

    @staticmethod
    def read_refresh_tag(channel: Any) -> bytes:
        response = channel.transmit(bytes.fromhex("80CADF2000"))
        if response[-2:] != b"\x90\x00":
            import os

            return os.urandom(8)
        return AraController.read_refresh_tag(channel)


def _fail_open(on: str) -> type[AccessControlEnforcer]:
    class Ace(AccessControlEnforcer):
        def initialize(self) -> None:
            super().initialize()
            if on in self.deny_reason or (on == "no-rules" and not self.cache.rules and self.use_ara):
                self.full_access, self.use_ara = True, False
                self.initial = ChannelAccess.allowed("fail open")

    return Ace


no_refresh_tag_reads_rules = _with(ara=_NoTagReadsRules)
unparsable_rules_full_access = _with(ace=_fail_open("Parsing Data Object Exception"))
next_error_full_access = _with(ace=_fail_open("GET DATA (next)"))
no_rules_full_access = _with(ace=_fail_open("no-rules"))
ese_without_aram_full_access = _with(android={"ese_full_access_without_rules": True})


class _NoArf(AccessControlEnforcer):
    def _security_profile(self) -> None:
        super()._security_profile()
        self.use_arf = False


class _ArfHashIgnored(ArfController):
    def _conditions(self, target: tuple[int, bytes], data: bytes | None) -> None:
        super()._conditions(target, data)
        for key in [k for k in self.cache.rules if k.hash and (k.tag, k.aid) == target]:
            access = self.cache.rules.pop(key)
            self.cache.rules[RefKey(key.tag, key.aid, b"")] = access


class _ArfFiltersNever(ArfController):
    def _conditions(self, target: tuple[int, bytes], data: bytes | None) -> None:
        super()._conditions(target, data)
        for access in self.cache.rules.values():
            if access.use_filter:
                access.access, access.apdu, access.use_filter = A.DENIED, A.DENIED, False


class _ArfStale(ArfController):
    def initialize(self) -> bool:
        if self.reads:
            return False
        return super().initialize()


class _ArfFirst(AccessControlEnforcer):
    def initialize(self) -> None:
        super().initialize()
        if self.uicc and self.use_ara:
            self.arf = self.arf or self.arf_class(self.cache, self.terminal)
            self.cache.reset()
            self.arf.initialize()
            self.use_ara, self.use_arf = False, True


arf_not_supported = _with(ace=_NoArf)
arf_hashes_ignored = _with(arf=_ArfHashIgnored)
arf_filters_read_as_never = _with(arf=_ArfFiltersNever)
arf_never_read_again = _with(arf=_ArfStale)
arf_before_aram = _with(ace=_ArfFirst)


class _UiccFullAccess(AccessControlEnforcer):
    """A UICC whose rule sources cannot be read gives every app full access (the eSE fallback of API 29 and
    earlier applied to a UICC)."""

    def initialize(self) -> None:
        super().initialize()
        if not self.use_ara and not self.use_arf:
            self.full_access = True
            self.initial = ChannelAccess.allowed()


uicc_without_rules_full_access = _with(ace=_UiccFullAccess)


# == carrier privileges =====================================================================================


class _CarrierOnEse(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if not self.uicc:
            if self.ace is None:
                self.initialize_access_control()
            assert self.ace is not None
            if self.ace.check_carrier_privilege(app, True):
                return ChannelAccess.carrier(app.package or app.name)
        return super().set_up_channel_access(aid, app, basic)


class _CarrierNoBasic(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        access = super().set_up_channel_access(aid, app, basic)
        if basic and access.reason == "Carrier-Privilege":
            raise MissingResource("openBasicChannel is not allowed.")
        return access


class _CarrierNoSelect(Terminal):
    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        access = super().set_up_channel_access(aid, app, basic)
        if access.reason == "Carrier-Privilege":
            access.privilege = A.UNDEFINED
        return access


class _CarrierPkgIgnored(AccessRuleCache):
    def check_carrier_privilege(self, package: str, hashes: Sequence[bytes]) -> bool:
        return any(ref.hash == bytes(h) for h in hashes for ref in self.carrier)


no_carrier_privileges = _with(android={"carrier_privilege": False, "pkg_with_aid_is_error": True})
carrier_privilege_without_basic_channel = _with(terminal=_CarrierNoBasic)
carrier_privilege_without_select = _with(terminal=_CarrierNoSelect)
carrier_package_ignored = _with(cache=_CarrierPkgIgnored)
carrier_privilege_on_ese = _with(terminal=_CarrierOnEse)


# == NFC events =============================================================================================


def _nfc(decide: Callable[[ChannelAccess], bool]) -> type[AccessControlEnforcer]:
    class Ace(AccessControlEnforcer):
        def is_nfc_event_allowed(self, aid: bytes, apps: Sequence[AppIdentity | None]) -> list[bool]:
            out = []
            for app in apps:
                found = self.cache._find(aid, self.hashes(app)) if app is not None else None
                out.append(found is not None and decide(found))
            return out

    return Ace


nfc_rule_ignored = _with(ace=_nfc(lambda ca: ca.apdu == A.ALLOWED or ca.use_filter))
nfc_missing_rule_denied = _with(ace=_nfc(lambda ca: ca.nfc == A.ALLOWED))
nfc_to_every_registered_app = _with(ace=_nfc(lambda ca: True))
nfc_filters_as_android_9 = _with(android={"missing_nfc_follows_apdu": False})


class _NfcEveryone(AccessControlEnforcer):
    def is_nfc_event_allowed(self, aid: bytes, apps: Sequence[AppIdentity | None]) -> list[bool]:
        return [True for _ in apps]


nfc_events_to_everyone = _with(ace=_NfcEveryone)


# == the agent ==============================================================================================


class _DroppingHandler(agent_mod._Handler):
    """Closes the connection on the first line that is not JSON."""

    def _serve(self, dispatcher: Any) -> None:
        while True:
            line = self.rfile.readline()
            if not line:
                return
            answer = dispatcher.handle_line(line)
            if answer.get("error", {}).get("code") == "parse_error":
                return
            self.wfile.write(p.encode(answer))
            self.wfile.flush()


class _ParamsInternal(agent_mod.Dispatcher):
    def handle_line(self, line: bytes) -> dict[str, Any]:
        answer = super().handle_line(line)
        error = answer.get("error")
        if isinstance(error, dict) and error.get("code") == p.INVALID_PARAMS:
            error["code"] = p.INTERNAL
        return answer


class _V2Only(agent_mod.Dispatcher):
    def handle_line(self, line: bytes) -> dict[str, Any]:
        answer = super().handle_line(line)
        answer["v"] = 2
        if isinstance(answer.get("result"), dict) and "protocol" in answer["result"]:
            answer["result"]["protocol"] = 2
        return answer


class _V2InV1(agent_mod.Dispatcher):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.methods.update(self.v2_methods)


class _V1Codes(agent_mod.Dispatcher):
    def handle_line(self, line: bytes) -> dict[str, Any]:
        answer = super().handle_line(line)
        error = answer.get("error")
        if isinstance(error, dict) and error.get("code") in ("unsupported_operation", "null_pointer"):
            error["code"] = p.INTERNAL
        return answer


class _ShortNames(agent_mod.Dispatcher):
    """The kit's first reference: the exception's simple name."""

    def handle_line(self, line: bytes) -> dict[str, Any]:
        answer = super().handle_line(line)
        error = answer.get("error")
        if isinstance(error, dict) and "exception" in error:
            error["exception"] = str(error["exception"]).rsplit(".", 1)[-1]
        return answer


class _KeepsSessions(agent_mod.Dispatcher):
    def close(self) -> None:
        pass


agent_drops_bad_lines = _with(handler=_DroppingHandler)
agent_bad_params_internal_error = _with(dispatcher=_ParamsInternal)
agent_answers_v1_in_v2 = _with(dispatcher=_V2Only)
agent_v2_methods_in_v1 = _with(dispatcher=_V2InV1)
agent_without_v2_codes = _with(dispatcher=_V1Codes)
agent_short_exception_names = _with(dispatcher=_ShortNames)
agent_keeps_sessions_of_closed_connections = _with(dispatcher=_KeepsSessions)

# rules is imported for its names in the faults' type hints; keep it referenced.
_ = rules


# == rule resolution: one step of findAccessRule wrong (issue 12 follow-up) =================================


def _steps(*order: str) -> type[AccessRuleCache]:
    """A rule cache whose findAccessRule runs the named steps in this order: A (AID, app hash; ``A-last``:
    the app's last hash only), sA (the AID named with another hash: never; ``sA-never``: only where that rule
    is NEVER), B (AID, all apps), C (all AIDs, app hash), sC (all AIDs with another hash: never; ``sC-never``
    only where that rule is NEVER, ``sC-target`` looking at the target AID's rules, ``sC-any`` at any all-AIDs
    rule), D (all AIDs, all apps; ``D-default`` looked up as the default application's C0), and the
    deny-first steps ``nB`` (an (AID, all apps) NEVER first), ``nHash`` (any NEVER rule with the app's hash)
    and ``nD`` (an (all AIDs, all apps) NEVER first)."""

    class Cache(AccessRuleCache):
        def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
            target = RefKey.for_target(aid)
            tag, value = target.tag, target.aid
            never = ChannelAccess.denied("never")
            all_aids = not (tag == rules.T_AID and not value)

            def get(key: RefKey) -> ChannelAccess | None:
                return self.rules.get(key)

            def first(keys: Sequence[RefKey]) -> ChannelAccess | None:
                return next((hit for k in keys if (hit := get(k)) is not None), None)

            def denied(hit: ChannelAccess | None) -> ChannelAccess | None:
                return hit if hit is not None and hit.apdu == A.DENIED else None

            def shadow(t: int, a: bytes, only_never: bool = False, any_hash: bool = False) -> bool:
                return any(
                    k.tag == t
                    and k.aid == a
                    and (k.hash or any_hash)
                    and (not only_never or self.rules[k].apdu == A.DENIED)
                    for k in self.rules
                )

            steps: dict[str, Callable[[], ChannelAccess | None]] = {
                "A": lambda: first([RefKey(tag, value, bytes(h)) for h in hashes]),
                "A-last": lambda: first([RefKey(tag, value, bytes(h)) for h in hashes[-1:]]),
                "sA": lambda: never if all_aids and shadow(tag, value) else None,
                "sA-never": lambda: never if all_aids and shadow(tag, value, only_never=True) else None,
                "B": lambda: get(RefKey(tag, value, b"")),
                "C": lambda: first([RefKey(rules.T_AID, b"", bytes(h)) for h in hashes]),
                "sC": lambda: never if shadow(rules.T_AID, b"") else None,
                "sC-never": lambda: never if shadow(rules.T_AID, b"", only_never=True) else None,
                "sC-target": lambda: never if shadow(tag, value) else None,
                "sC-any": lambda: never if shadow(rules.T_AID, b"", any_hash=True) else None,
                "D": lambda: get(RefKey(rules.T_AID, b"", b"")),
                "D-default": lambda: get(RefKey(rules.T_DEFAULT, b"", b"")),
                "nB": lambda: denied(get(RefKey(tag, value, b""))),
                "nHash": lambda: next(
                    (
                        hit
                        for k, hit in self.rules.items()
                        if k.hash in map(bytes, hashes) and hit.apdu == A.DENIED
                    ),
                    None,
                ),
                "nD": lambda: denied(get(RefKey(rules.T_AID, b"", b""))),
            }
            for name in order:
                decision = steps[name]()
                if decision is not None:
                    return decision
            return None

    return Cache


STEPS = ("A", "sA", "B", "C", "sC", "D")
aid_never_for_all_apps_first = _with(cache=_steps("nB", *STEPS))
rule_a_by_the_last_hash_only = _with(cache=_steps("A-last", "sA", "B", "C", "sC", "D"))
aid_shadow_only_by_never_rules = _with(cache=_steps("A", "sA-never", "B", "C", "sC", "D"))
shadows_after_rule_d = _with(cache=_steps("A", "B", "C", "D", "sA", "sC"))
app_never_rule_denies_everywhere = _with(cache=_steps("nHash", *STEPS))
no_rule_b = _with(cache=_steps("A", "sA", "C", "sC", "D"))
rule_d_before_rule_c = _with(cache=_steps("A", "sA", "B", "D", "C", "sC"))
all_apps_never_denies_first = _with(cache=_steps("nD", *STEPS))
all_aids_shadow_reads_the_target_aid = _with(cache=_steps("A", "sA", "B", "C", "sC-target", "D"))
all_aids_shadow_only_by_never_rules = _with(cache=_steps("A", "sA", "B", "C", "sC-never", "D"))
rule_d_shadows_itself = _with(cache=_steps("A", "sA", "B", "C", "sC-any", "D"))
rule_d_looked_up_as_default = _with(cache=_steps("A", "sA", "B", "C", "sC", "D-default"))


class _AidByRid(AccessRuleCache):
    """A rule's AID matches every AID of the same RID (the first 5 bytes) when no rule names the AID."""

    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        if aid is not None and len(aid) >= 5 and not any(k.aid == bytes(aid) for k in self.rules):
            aid = next((k.aid for k in self.rules if k.tag == rules.T_AID and k.aid[:5] == aid[:5]), aid)
        return super()._find(aid, hashes)


class _NoRuleInitialAccess(AccessControlEnforcer):
    """No rule for the AID: the access the ACE set up at initialisation (allowed) instead of a denial."""

    def access_rule(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess:
        found = self.cache.find(aid, hashes) if self.rules_read else None
        return found if found is not None else self.initial


aid_matched_by_rid = _with(cache=_AidByRid)
no_rule_gives_initial_access = _with(ace=_NoRuleInitialAccess)


# == merging the rules of one REF-DO =========================================================================


class _FiltersSurviveNever(AccessRuleCache):
    """Filters of a later rule are joined even after a NEVER rule of the same REF-DO."""

    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        current = self.rules.get(ref)
        kept = current.filters if current is not None else ()
        super().put_with_merge(ref, access)
        if current is not None and access.use_filter:
            current.use_filter, current.filters = True, kept + access.filters


class _FirstRuleWins(AccessRuleCache):
    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        if ref.carrier_privilege or ref not in self.rules:
            super().put_with_merge(ref, access)


class _FirstFiltersKept(AccessRuleCache):
    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        current = self.rules.get(ref)
        if current is not None and current.use_filter and access.use_filter:
            return
        super().put_with_merge(ref, access)


class _FilterMergeAlways(AccessRuleCache):
    """Two filter rules of one REF-DO merge into APDU ALWAYS (both allow: allowed)."""

    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        current = self.rules.get(ref)
        both = current is not None and current.use_filter and access.use_filter
        super().put_with_merge(ref, access)
        if both:
            merged = self.rules[ref]
            merged.apdu, merged.use_filter, merged.filters = A.ALLOWED, False, ()


class _AlwaysBeforeFilters(AccessControlEnforcer):
    """checkCommand looks at APDU ALWAYS before the filters, so a merged ALWAYS + filter rule passes all."""

    def check_command(self, channel: Any, command: bytes) -> None:
        ca = channel.access
        if ca is not None and ca.access == A.ALLOWED and ca.apdu == A.ALLOWED:
            return
        super().check_command(channel, command)


class _ApduFollowsNfc(AccessRuleCache):
    """A rule without APDU-AR-DO takes its APDU access from its NFC-AR-DO."""

    def put_rule(self, ref: RefKey, ar: Any) -> None:
        if ar is not None and ar.apdu is None and ar.nfc:
            ar = rules.ArRule("always", ar.nfc, ar.perm)
        super().put_rule(ref, ar)


filters_survive_never = _with(cache=_FiltersSurviveNever)
merge_first_rule_wins = _with(cache=_FirstRuleWins)
merge_keeps_the_first_filters = _with(cache=_FirstFiltersKept)
merged_filters_become_always = _with(cache=_FilterMergeAlways)
always_checked_before_filters = _with(ace=_AlwaysBeforeFilters)
missing_apdu_rule_follows_nfc = _with(cache=_ApduFollowsNfc)


# == the select response, the denied open, the ACE's own channel ============================================


class _SelectResponseWithoutSw(SecureElementHal):
    """The HAL hands the service the SELECT's data without its status word."""

    def open_logical_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, int, bytes]:
        status, number, response = super().open_logical_channel(aid, p2)
        return status, number, response[:-2] if status == HalStatus.SUCCESS and response else response


class _PaddingStripped(SecureElementHal):
    """The HAL strips trailing FF padding from the SELECT's data (as if it were a record's filler)."""

    def open_logical_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, int, bytes]:
        status, number, response = super().open_logical_channel(aid, p2)
        if status == HalStatus.SUCCESS and len(response) > 2:
            response = response[:-2].rstrip(b"\xff") + response[-2:]
        return status, number, response


class _Buffer256(SecureElementHal):
    """The service's select-response buffer holds 256 bytes, the status word included."""

    def open_logical_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, int, bytes]:
        status, number, response = super().open_logical_channel(aid, p2)
        return status, number, response[:254] + response[-2:] if len(response) > 256 else response


select_response_without_sw = _with(hal=_SelectResponseWithoutSw)
select_padding_stripped = _with(hal=_PaddingStripped)
select_response_in_256_bytes = _with(hal=_Buffer256)


class _ProbesAidFirst(Terminal):
    """Selects the AID on the basic channel before the access check (to answer NoSuchElementException before
    SecurityException)."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if aid is not None and 0 not in self.channels:
            self.hal.transmit(bytes((0x00, 0xA4, 0x04, 0x00, len(aid))) + aid + b"\x00")
        return super().set_up_channel_access(aid, app, basic)


class _DefaultSelectedOnDenial(Terminal):
    """After a denial the service selects the default application on the basic channel ("clean up")."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        try:
            return super().set_up_channel_access(aid, app, basic)
        except SecurityError:
            if 0 not in self.channels:
                self.hal.transmit(bytes.fromhex("00A4040000"))
            raise


aid_probed_before_the_check = _with(terminal=_ProbesAidFirst)
default_selected_after_a_denial = _with(terminal=_DefaultSelectedOnDenial)


class _AceOnTheBasicChannel(Terminal):
    """With no logical channel free, the ACE reads its rules on the basic channel."""

    def open_logical_channel_without_access(self, aid: bytes | None) -> channel_mod.Channel | None:
        channel = super().open_logical_channel_without_access(aid)
        if channel is None and 0 not in self.channels and aid:
            status, response = self.hal.open_basic_channel(aid, 0x00)
            if status == HalStatus.SUCCESS:
                channel = self.channel_class(None, self, 0, response, aid)
                channel.close = lambda: self.select_default_application()  # type: ignore[method-assign]
        return channel


class _NoChannelRemembered(Terminal):
    """Once the ACE found no channel of its own, openBasicChannel answers null until the SE is reset."""

    starved = False

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if self.starved and basic:
            raise MissingResource("no channel for the ACE (remembered)")
        try:
            return super().set_up_channel_access(aid, app, basic)
        except MissingResource:
            self.starved = True
            raise


ace_reads_on_the_basic_channel = _with(terminal=_AceOnTheBasicChannel)
ace_starvation_remembered = _with(terminal=_NoChannelRemembered)


# == rule sources ============================================================================================


class _AbsentAramIsMissingChannel(AccessControlEnforcer):
    """An ARA-M or ARF that is not there (NoSuchElementException) is taken for a passing lack of channels."""

    def initialize(self) -> None:
        try:
            super().initialize()
        finally:
            if self.deny_reason and not self.use_ara and not self.use_arf and self.no_rule_found:
                raise MissingResource(f"no channel ({self.deny_reason})")


class _DenialAsIoError(Terminal):
    """An ACE that could not read any rules makes every open call throw IOException, not SecurityException."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        try:
            return super().set_up_channel_access(aid, app, basic)
        except SecurityError:
            if self.ace is not None and self.ace.initial.access == A.DENIED:
                raise OmapiIOError(f"no access rules in {self.name}") from None
            raise


class _EmptyAramFallsBackToArf(AccessControlEnforcer):
    """An ARA-M without rules on a UICC: the ACE falls back to the ARF."""

    def initialize(self) -> None:
        super().initialize()
        if self.uicc and self.use_ara and not self.cache.rules:
            self.use_ara, self.use_arf = False, True
            self.arf = self.arf or self.arf_class(self.cache, self.terminal)
            self.arf.initialize()
            self.rules_read = True


class _AramAndArfMerged(AccessControlEnforcer):
    """On a UICC the ARF's rules are merged into the ARA-M's."""

    merged_at = -1

    def _merge_arf(self) -> None:
        if self.uicc and self.use_ara and self.ara is not None and self.ara.reads != self.merged_at:
            self.merged_at = self.ara.reads
            other = self.cache_class(self.android)
            self.arf_class(other, self.terminal).initialize()
            for ref, access in other.rules.items():
                self.cache.put_with_merge(ref, access)

    def initialize(self) -> None:
        super().initialize()
        self._merge_arf()

    def update_rules_if_needed(self) -> None:
        super().update_rules_if_needed()
        self._merge_arf()


class _UiccAramNotRefreshed(AccessControlEnforcer):
    """On a UICC the ARA-M's refresh tag is not checked (the ARF's ACMF is taken to govern): its rules
    stay."""

    def update_rules_if_needed(self) -> None:
        if self.uicc and self.use_ara:
            return
        super().update_rules_if_needed()


class _NoRulesCarrier(AccessControlEnforcer):
    """No rule source answered: nothing says the app is not carrier-privileged, so it is."""

    def check_carrier_privilege(self, app: AppIdentity, check_refresh_tag: bool) -> bool:
        if not (self.use_ara or self.use_arf):
            return True
        return super().check_carrier_privilege(app, check_refresh_tag)


absent_rule_source_answers_null = _with(ace=_AbsentAramIsMissingChannel)
no_rules_denial_is_io_error = _with(terminal=_DenialAsIoError)
empty_aram_falls_back_to_arf = _with(ace=_EmptyAramFallsBackToArf)
aram_and_arf_merged = _with(ace=_AramAndArfMerged)
uicc_aram_not_refreshed = _with(ace=_UiccAramNotRefreshed)
no_rule_source_means_carrier = _with(ace=_NoRulesCarrier)


# == carrier privileges =====================================================================================


class _CarrierPkgDropped(AraController):
    """The PKG-REF-DO of a carrier-privilege REF-DO is dropped when the rules are read."""

    def _read_all(self, channel: Any) -> None:
        put = self.cache.put_rule

        def without_pkg(ref: RefKey, ar: Any) -> None:
            put(RefKey(ref.tag, ref.aid, ref.hash, None) if ref.carrier_privilege else ref, ar)

        self.cache.put_rule = without_pkg  # type: ignore[method-assign]
        try:
            super()._read_all(channel)
        finally:
            del self.cache.put_rule


class _CarrierPkgIsAnError(AraController):
    """AID + hash + PKG-REF-DO is refused even for the carrier-privilege REF-DO (the exception AOSP makes
    for it is missed): the rules that hold one do not parse."""

    def _read_all(self, channel: Any) -> None:
        data = self.read_all_rules(channel)
        self.reads += 1
        if data is None:
            return
        try:
            parsed = rules.parse_all(data, self.cache.android)
        except rules.RuleParseError as exc:
            from jpkikit.reference.handset.errors import AccessControlError

            raise AccessControlError(f"Parsing Data Object Exception: {exc}") from None
        if any(ref.carrier_privilege and ref.pkg is not None for ref, _ in parsed):
            from jpkikit.reference.handset.errors import AccessControlError

            raise AccessControlError("Parsing Data Object Exception: Unexpected combination of SEAC DOs")
        for ref, ar in parsed:
            self.cache.put_rule(ref, ar)


class _CarrierInTheCache(AccessRuleCache):
    """findAccessRule answers a carrier-privileged app first, on every reader (not only the UICC's)."""

    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        if any(ref.hash == bytes(h) for h in hashes for ref in self.carrier):
            return ChannelAccess.carrier("carrier")
        return super()._find(aid, hashes)


carrier_package_dropped = _with(ara=_CarrierPkgDropped)
carrier_package_is_an_error = _with(ara=_CarrierPkgIsAnError)
carrier_privilege_in_the_rule_cache = _with(cache=_CarrierInTheCache)


# == NFC events and the read-only app =======================================================================


class _NfcByAid(AccessControlEnforcer):
    """An NFC event goes to every registered app once some rule of the AID allows NFC events."""

    def is_nfc_event_allowed(self, aid: bytes, apps: Sequence[AppIdentity | None]) -> list[bool]:
        out = super().is_nfc_event_allowed(aid, apps)
        target = RefKey.for_target(aid)
        anyone = any(
            k.tag == target.tag and k.aid == target.aid and v.nfc == A.ALLOWED
            for k, v in self.cache.rules.items()
        )
        return [anyone or o for o in out]


class _NfcFollowsFilters(AccessRuleCache):
    """A rule with APDU filters gives NFC events whatever its NFC-AR-DO says."""

    def find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        found = super().find(aid, hashes)
        if found is not None and found.use_filter:
            found.nfc = A.ALLOWED
        return found


class _NfcFirstAppDecides(AccessControlEnforcer):
    """The first app's NFC decision is given to every app of the broadcast."""

    def is_nfc_event_allowed(self, aid: bytes, apps: Sequence[AppIdentity | None]) -> list[bool]:
        out = super().is_nfc_event_allowed(aid, apps)
        return [out[0] for _ in out] if out else out


nfc_allowed_by_any_rule_of_the_aid = _with(ace=_NfcByAid)
nfc_never_ignored_with_filters = _with(cache=_NfcFollowsFilters)
nfc_first_app_decides = _with(ace=_NfcFirstAppDecides)


class _ProprietaryNotFiltered(AccessControlEnforcer):
    """APDU filters are applied to ISO-class commands only; proprietary-class commands (CLA 8x) pass."""

    def check_command(self, channel: Any, command: bytes) -> None:
        ca = channel.access
        if ca is not None and ca.use_filter and ca.access == A.ALLOWED and command[0] & 0x80:
            return
        super().check_command(channel, command)


class _FilterWithChannelNumber(channel_mod.Channel):
    """The filters are compared with the command as sent, the channel number already in its CLA."""

    def check_command(self, command: bytes) -> None:
        cla = channel_cla(command[0], self.number, self.terminal.android.api)
        super().check_command(bytes((cla,)) + command[1:])


proprietary_class_not_filtered = _with(ace=_ProprietaryNotFiltered)
filters_compared_with_channel_number = _with(channel=_apps_only(_FilterWithChannelNumber))


# == the agent ==============================================================================================


class _SessionsForgotten(agent_mod.Dispatcher):
    """The connection's sessions are dropped from the agent's table, not closed: their channels stay open."""

    def close(self) -> None:
        self.sessions.clear()


class _GraceBeforeClose(agent_mod.Dispatcher):
    """The sessions of a closed connection are kept 10 s for a client that reconnects."""

    def close(self) -> None:
        import threading

        timer = threading.Timer(10.0, super().close)
        timer.daemon = True
        timer.start()


agent_forgets_sessions_of_closed_connections = _with(dispatcher=_SessionsForgotten)
agent_keeps_sessions_for_a_grace_period = _with(dispatcher=_GraceBeforeClose)


# == more of the same kinds (issue 12 follow-up, second round) ===============================================


class _DefaultAnyApp(AccessRuleCache):
    """A default-application rule (C0) is applied to every app, its hash not compared."""

    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        if RefKey.for_target(aid).tag == rules.T_DEFAULT:
            found = next((v for k, v in self.rules.items() if k.tag == rules.T_DEFAULT), None)
            if found is not None:
                return found
        return super()._find(aid, hashes)


class _NeverLookedPast(AccessRuleCache):
    """Rule A looks past a NEVER rule of the app's first hash for one of its other hashes that allows."""

    def _find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        target = RefKey.for_target(aid)
        hits = [self.rules.get(RefKey(target.tag, target.aid, bytes(h))) for h in hashes]
        allowing = next((h for h in hits if h is not None and h.apdu != A.DENIED), None)
        return allowing or super()._find(aid, hashes)


class _BasicByDefaultRule(Terminal):
    """openBasicChannel is checked against the default application's rule, whatever AID it selects."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        return super().set_up_channel_access(None if basic else aid, app, basic)


default_rule_for_every_app = _with(cache=_DefaultAnyApp)
sha1_never_looked_past = _with(cache=_NeverLookedPast)
basic_channel_checked_by_default_rule = _with(terminal=_BasicByDefaultRule)


class _Parser28(AraController):
    """The REF-DO parser of API 28 (20-byte hashes only) next to an ACE that hashes with SHA-256 too: a rule
    with a 32-byte hash makes the rules unparsable."""

    def _read_all(self, channel: Any) -> None:
        android, self.cache.android = (
            self.cache.android,
            _android(sha256_hashes=False)(self.cache.android.api),
        )
        try:
            super()._read_all(channel)
        finally:
            self.cache.android = android


class _PkgMeansCarrier(AraController):
    """A REF-DO with AID, hash and PKG-REF-DO is read as a carrier-privilege rule (a DAC rule)."""

    def _read_all(self, channel: Any) -> None:
        original = rules.parse_ref

        def parse_ref(value: bytes, android: Android) -> RefKey:
            try:
                return original(value, android)
            except rules.RuleParseError as exc:
                if "Unexpected combination" not in str(exc):
                    raise
                plain = _android(pkg_with_aid_is_error=False)(android.api)
                ref = original(value, plain)
                return RefKey(rules.T_AID, rules.CARRIER_PRIVILEGE_AID, ref.hash, ref.pkg)

        rules.parse_ref = parse_ref  # type: ignore[assignment]
        try:
            super()._read_all(channel)
        finally:
            rules.parse_ref = original  # type: ignore[assignment]


class _EmptyAramAllowsAll(AraController):
    """GET DATA [All] answering 6A88 (no rules) is read as one implicit (all AIDs, all apps) ALWAYS rule."""

    def _read_all(self, channel: Any) -> None:
        super()._read_all(channel)
        if not self.cache.rules:
            self.cache.rules[RefKey(rules.T_AID, b"", b"")] = ChannelAccess.allowed(
                "no rules: no restriction"
            )


class _AraRefreshReadsArf(AraController):
    """On a UICC, a changed ARA-M refresh tag makes the ACE read the ARF (the other rule source) instead."""

    def _read_all(self, channel: Any) -> None:
        if self.reads and self.terminal.uicc:
            self.reads += 1
            ArfController(self.cache, self.terminal).initialize()
            return
        super()._read_all(channel)


class _ArfAbsentIsMissingChannel(AccessControlEnforcer):
    """On a UICC, an ARF that cannot be read is taken for a passing lack of channels: the open answers
    null."""

    def initialize(self) -> None:
        super().initialize()
        if self.uicc and not self.use_ara and not self.use_arf:
            raise MissingResource(f"no channel for the ARF ({self.deny_reason})")


class _RefreshTagThrottled(AccessControlEnforcer):
    """The refresh tag is checked at most once every 10 s (a cache with a time-out)."""

    checked = 0.0

    def update_rules_if_needed(self) -> None:
        import time

        if time.monotonic() - self.checked < 10:
            return
        self.checked = time.monotonic()
        super().update_rules_if_needed()


sha256_rules_unparsable = _with(ara=_Parser28)
pkg_rule_read_as_carrier_privilege = _with(ara=_PkgMeansCarrier)
empty_aram_allows_all = _with(ara=_EmptyAramAllowsAll)
aram_refresh_reads_the_arf = _with(ara=_AraRefreshReadsArf)
absent_arf_answers_null = _with(ace=_ArfAbsentIsMissingChannel)
refresh_tag_throttled = _with(ace=_RefreshTagThrottled)


class _PrivilegeIsCarrier(Terminal):
    """A carrier-privileged app is taken for a privileged one (SECURE_ELEMENT_PRIVILEGED_OPERATION), on every
    reader."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if not self.uicc and self.android.privileged_apps:
            if self.ace is None:
                self.initialize_access_control()
            assert self.ace is not None
            if self.ace.check_carrier_privilege(app, False):
                return ChannelAccess.privileged(app.package or app.name)
        return super().set_up_channel_access(aid, app, basic)


carrier_privilege_taken_for_privileged = _with(terminal=_PrivilegeIsCarrier)


class _NfcMissingIsNever(AccessRuleCache):
    """A rule without NFC-AR-DO is read as NFC NEVER."""

    def put_rule(self, ref: RefKey, ar: Any) -> None:
        if ar is not None and ar.nfc is None and ar.apdu is not None:
            ar = rules.ArRule(ar.apdu, False, ar.perm)
        super().put_rule(ref, ar)


nfc_missing_read_as_never = _with(cache=_NfcMissingIsNever)


def _filter_match(match: Callable[[seac.ApduFilter, bytes], bool]) -> type[AccessControlEnforcer]:
    class Ace(AccessControlEnforcer):
        def check_command(self, channel: Any, command: bytes) -> None:
            ca = channel.access
            if ca is not None and ca.use_filter and ca.access == A.ALLOWED and ca.filters:
                if any(match(f, command[:4]) for f in ca.filters):
                    return
                raise SecurityError(f"Access Rule does not match: {ca.reason}")
            super().check_command(channel, command)

    return Ace


filter_cla_compared_exactly = _with(
    ace=_filter_match(lambda f, c: c[0] == f.header[0] and f.matches(bytes((c[0] & f.mask[0],)) + c[1:]))
)
filter_p2_ignored = _with(ace=_filter_match(lambda f, c: f.matches(c[:3] + f.header[3:4])))


# -- channels and sessions --------------------------------------------------------------------------------


class _BasicCloseKeepsOpen(channel_mod.Channel):
    """Closing the basic channel selects the default application, and leaves the channel open."""

    def close(self) -> None:
        if self.is_basic_channel() and self.session is not None:
            self.terminal.select_default_application()
            return
        super().close()


class _UiccBasicByRules(Terminal):
    """On a UICC the basic channel is refused only where the ACE's rules refuse the app."""

    def set_up_channel_access(self, aid: bytes | None, app: AppIdentity, basic: bool) -> ChannelAccess:
        if self.uicc and basic:
            if self.ace is None:
                self.initialize_access_control()
            assert self.ace is not None
            try:
                return self.ace.set_up_channel_access(aid, app, True)
            except AccessControlError:
                raise MissingResource("openBasicChannel is not allowed.") from None
        return super().set_up_channel_access(aid, app, basic)


class _UiccNullAidIllegal(omapi.Session):
    """openLogicalChannel(null) on a UICC throws IllegalArgumentException instead of returning null."""

    def open_logical_channel(self, aid: bytes | None = None, p2: int = 0x00) -> omapi.Channel | None:
        if aid is None and self.reader.get_name().startswith("SIM"):
            raise IllegalArgumentError("AID must not be null")
        return super().open_logical_channel(aid, p2)


class _SkippingClose(service.ServiceSession):
    """Session.close() walks the channel list while each close takes its channel off it: every other
    channel is skipped."""

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
        self.reader.remove_session(self)
        self.closed = True


class _SkippingCloseChannels(service.ServiceSession):
    def close_channels(self) -> None:
        for channel in self.channels:  # the list shrinks under the loop
            channel.close()


class _SkippingCloseSessions(service.ServiceReader):
    def close_sessions(self) -> None:
        for session in self.sessions:  # the list shrinks under the loop
            session.close()


class _BasicOnClosedSession(service.ServiceSession):
    def open_basic_channel(self, aid: bytes | None, p2: int, app: AppIdentity) -> channel_mod.Channel | None:
        closed, self.closed = self.closed, False
        try:
            return super().open_basic_channel(aid, p2, app)
        finally:
            self.closed = closed


basic_close_keeps_the_channel_open = _with(channel=_BasicCloseKeepsOpen)
uicc_basic_channel_by_rules = _with(terminal=_UiccBasicByRules)
uicc_null_aid_illegal_argument = _with(app_session=_UiccNullAidIllegal)
session_close_skips_channels = _with(session=_SkippingClose)
close_channels_skips_channels = _with(session=_SkippingCloseChannels)
close_sessions_skips_sessions = _with(reader=_SkippingCloseSessions)
basic_channel_on_closed_session = _with(session=_BasicOnClosedSession)


class _StripSw(channel_mod.Channel):
    def get_select_response(self) -> bytes | None:
        response = super().get_select_response()
        return response[:-2] if response else response


class _SessionP2(service.ServiceSession):
    """The P2 of the session's first open is used for all its channels."""

    first_p2: int | None = None

    def open_logical_channel(
        self, aid: bytes | None, p2: int, app: AppIdentity
    ) -> channel_mod.Channel | None:
        if self.first_p2 is None and p2 in (0x00, 0x04, 0x08, 0x0C):
            self.first_p2 = p2
        return super().open_logical_channel(aid, self.first_p2 if p2 in (0x04, 0x08, 0x0C) else p2, app)


class _BasicP2Unchecked(service.ServiceSession):
    def _check(self, aid: bytes | None, p2: int, basic: bool) -> bool:
        return super()._check(aid, 0x00 if basic else p2, basic)


def _select_63_mapping(sw: int) -> HalStatus:
    return HalStatus.NO_SUCH_ELEMENT if sw >> 8 == 0x63 else select_status(sw)


select_response_sw_stripped = _with(channel=_StripSw)
p2_of_the_first_open_kept = _with(session=_SessionP2)
basic_channel_p2_unchecked = _with(session=_BasicP2Unchecked)
select_63xx_no_such_element = _with(hal=_hal_mapping(_select_63_mapping))


# -- SEService and Reader ---------------------------------------------------------------------------------


class _UiccUnnumbered(omapi.SEService):
    """The UICC reader is named SIM, without its slot number."""

    def get_readers(self) -> list[omapi.Reader]:
        readers = super().get_readers()
        for reader in readers:
            if reader.name.startswith("SIM"):
                reader.name = "SIM"
        return readers


class _SlotClamped(omapi.SEService):
    """getUiccReader(n) beyond the last UICC returns the last one."""

    def get_uicc_reader(self, slot: int) -> omapi.Reader:
        uicc = sorted(r.get_name() for r in self.get_readers() if r.get_name().startswith("SIM"))
        return super().get_uicc_reader(min(slot, len(uicc)) if slot >= 1 else slot)


class _Version33Always(omapi.SEService):
    def get_version(self) -> str:
        return "3.3"


uicc_reader_unnumbered = _with(app_service=_UiccUnnumbered)
uicc_slot_clamped = _with(app_service=_SlotClamped)
version_3_3_whatever_the_api = _with(app_service=_Version33Always)


# -- transmit ---------------------------------------------------------------------------------------------


ins_9x_accepted = _with(channel=_validator(lambda c: len(c) >= 4 and c[0] != 0xFF and c[1] & 0xF0 == 0x90))
extended_lc_not_checked = _with(
    channel=_apps_only(_validator(lambda c: len(c) > 7 and c[4] == 0 and (c[5] << 8 | c[6]) != 0))
)


class _NullEmpty(channel_mod.Channel):
    def transmit(self, command: bytes | None) -> bytes:
        if command is None and not self.closed:
            return b""
        return super().transmit(command)


class _ResendOnBasic(Terminal):
    """After 6Cxx the command goes out again with CLA 00 (rebuilt), on the basic channel."""

    def transmit(self, command: bytes) -> bytes:
        response = self._exchange(command)
        if response[-2] == 0x6C:
            return super().transmit(bytes((0x00,)) + command[1:-1] + response[-1:])
        while response[-2] == 0x61:
            response = response[:-2] + self._exchange(bytes((command[0], 0xC0, 0x00, 0x00, response[-1])))
        return response


class _CaseTwoData(channel_mod.Channel):
    """The answer to a short case 2 command (Le only) loses its data."""

    def transmit(self, command: bytes | None) -> bytes:
        response = super().transmit(command)
        return response[-2:] if command is not None and len(command) == 5 else response


class _LeStripped(channel_mod.Channel):
    """A case 4 command goes out as case 3: its Le is dropped."""

    def transmit(self, command: bytes | None) -> bytes:
        if command is not None and len(command) > 5 and command[4] and len(command) == 6 + command[4]:
            command = bytes(command[:-1])
        return super().transmit(command)


null_answered_empty = _with(channel=_NullEmpty)
sw_6c_resent_on_the_basic_channel = _with(terminal=_ResendOnBasic)
case_2_data_dropped = _with(channel=_apps_only(_CaseTwoData))
case_4_sent_as_case_3 = _with(channel=_apps_only(_LeStripped))


# -- the agent --------------------------------------------------------------------------------------------


class _ArrayParseError(agent_mod.Dispatcher):
    """A JSON text that is not an object is answered parse_error, not invalid_request."""

    def handle_line(self, line: bytes) -> dict[str, Any]:
        answer = super().handle_line(line)
        error = answer.get("error")
        if isinstance(error, dict) and error.get("code") == p.INVALID_REQUEST and line.lstrip()[:1] == b"[":
            error["code"] = p.PARSE_ERROR
        return answer


class _V1HelloSaysTwo(agent_mod.Dispatcher):
    def hello(self, params: dict[str, Any]) -> dict[str, Any]:
        answer = super().hello(params)
        answer["protocol"] = p.VERSION
        return answer


class _NoSuchElementIsIo(agent_mod.Dispatcher):
    def handle_line(self, line: bytes) -> dict[str, Any]:
        answer = super().handle_line(line)
        error = answer.get("error")
        if isinstance(error, dict) and error.get("code") == "no_such_element":
            error["code"], error["exception"] = "io", "java.io.IOException"
        return answer


agent_array_is_a_parse_error = _with(dispatcher=_ArrayParseError)
agent_v1_hello_says_protocol_2 = _with(dispatcher=_V1HelloSaysTwo)
agent_no_such_element_as_io = _with(dispatcher=_NoSuchElementIsIo)


class _LaterAlwaysDropsFilters(AccessRuleCache):
    """An ALWAYS rule read after a filter rule of the same REF-DO replaces its filters (the merge takes the
    later rule's APDU access when it allows)."""

    def put_with_merge(self, ref: RefKey, access: ChannelAccess) -> None:
        current = self.rules.get(ref)
        super().put_with_merge(ref, access)
        if current is not None and current.use_filter and access.apdu == A.ALLOWED and not access.use_filter:
            merged = self.rules[ref]
            merged.apdu, merged.use_filter, merged.filters = A.ALLOWED, False, ()


later_always_drops_filters = _with(cache=_LaterAlwaysDropsFilters)


class _MissingNfcAllowed(AccessRuleCache):
    """A rule without NFC-AR-DO gives NFC events whatever its APDU access (even NEVER)."""

    def find(self, aid: bytes | None, hashes: Sequence[bytes]) -> ChannelAccess | None:
        raw = self._find(aid, hashes)
        found = super().find(aid, hashes)
        if found is not None and raw is not None and raw.nfc == A.UNDEFINED:
            found.nfc = A.ALLOWED
        return found


missing_nfc_rule_always_allows = _with(cache=_MissingNfcAllowed)
