"""A channel of the SecureElement service (AOSP com.android.se.Channel and CommandApduValidator).

``transmit`` checks in AOSP's order: closed (IllegalStateException), null command (NullPointerException), no
channel access (SecurityException), the command's format (IllegalArgumentException: fewer than 4 bytes, Lc or
Le
inconsistent with the length, Le out of range, extended Lc 0, CLA FF, INS 6x/9x), an ISO-class MANAGE CHANNEL
or
SELECT by DF name (SecurityException; a SELECT is allowed to privileged apps from API 30), the ACE's rules
(SecurityException); then the channel number goes into the CLA and the terminal sends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from jpkikit.reference.handset.rules import A, ChannelAccess
from jpkikit.vocab.omapi.android import channel_cla, is_iso_class
from jpkikit.vocab.omapi.errors import (
    IllegalArgumentError,
    IllegalStateError,
    NullPointerError,
    SecurityError,
    UnsupportedOperationError,
)

if TYPE_CHECKING:
    from jpkikit.reference.handset.terminal import Terminal

MAX_EXPECTED = 65536


class ChannelOwner(Protocol):
    def remove_channel(self, channel: Channel) -> None: ...


def _check_le(le: int) -> None:
    if not 0 <= le <= MAX_EXPECTED:
        raise IllegalArgumentError(f"Invalid value for le parameter ({le}).")


def validate(apdu: bytes) -> None:
    """AOSP CommandApduValidator.execute: IllegalArgumentException for a command that is not an APDU."""
    n = len(apdu)
    if n < 4:
        raise IllegalArgumentError(f"Invalid length for command ({n}).")
    if apdu[0] == 0xFF:
        raise IllegalArgumentError(f"Invalid value of CLA ({apdu[0]:x})")
    if apdu[1] & 0xF0 in (0x60, 0x90):
        raise IllegalArgumentError(f"Invalid value of INS ({apdu[1]:x}). 0x6X and 0x9X are not valid values")
    if n == 4:
        return  # case 1
    if n == 5:
        _check_le(apdu[4])
        return  # case 2S
    if apdu[4] != 0:
        lc = apdu[4]
        if n == 5 + lc:
            return  # case 3S
        if n == 6 + lc:
            _check_le(apdu[-1])
            return  # case 4S
        raise IllegalArgumentError(f"Unexpected value of Lc ({lc})")
    if n == 7:
        _check_le(apdu[5] << 8 | apdu[6])
        return  # case 2E
    if n <= 7:
        raise IllegalArgumentError(f"Unexpected value of Lc or Le{n}")
    lc = apdu[5] << 8 | apdu[6]
    if lc == 0:
        raise IllegalArgumentError("Lc can't be 0")
    if n == 7 + lc:
        return  # case 3E
    if n == 9 + lc:
        _check_le(apdu[-2] << 8 | apdu[-1])
        return  # case 4E
    raise IllegalArgumentError(f"Unexpected value of Lc ({lc})")


class Channel:
    def __init__(
        self,
        session: ChannelOwner | None,
        terminal: Terminal,
        number: int,
        select_response: bytes,
        aid: bytes | None,
    ) -> None:
        self.session = session
        self.terminal = terminal
        self.number = number
        self.select_response = select_response
        self.aid = aid
        self.access: ChannelAccess | None = None
        self.closed = False

    def is_basic_channel(self) -> bool:
        return self.number == 0

    def is_closed(self) -> bool:
        return self.closed

    def has_selected_aid(self) -> bool:
        return self.aid is not None

    def get_select_response(self) -> bytes | None:
        return self.select_response if self.has_selected_aid() else None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.is_basic_channel():
            self.terminal.select_default_application()  # "Close basic channel - Select without AID"
        self.terminal.close_channel(self)
        if self.session is not None:
            self.session.remove_channel(self)

    def transmit(self, command: bytes | None) -> bytes:
        if self.closed:
            raise IllegalStateError("Channel is closed")
        if command is None:
            raise NullPointerError("Command must not be null")
        if self.access is None:
            raise SecurityError("Channel access not set")
        command = bytes(command)
        validate(command)
        if is_iso_class(command[0]):
            if command[1] == 0x70:
                raise SecurityError("MANAGE CHANNEL command not allowed")
            if command[1] == 0xA4 and command[2] == 0x04 and not self._privileged():
                raise SecurityError("SELECT by DF name command not allowed")
        self.check_command(command)
        cla = channel_cla(command[0], self.number, self.terminal.android.api)
        return self.terminal.transmit(bytes((cla,)) + command[1:])

    def _privileged(self) -> bool:
        return (
            self.terminal.android.privileged_apps
            and self.access is not None
            and self.access.privilege == A.ALLOWED
        )

    def check_command(self, command: bytes) -> None:
        ace = self.terminal.ace
        if ace is not None:
            ace.check_command(self, command)
        elif not self._privileged():
            raise SecurityError(f"Access Controller not set for Terminal: {self.terminal.name}")

    def select_next(self) -> bool:
        if self.closed:
            raise IllegalStateError("Channel is closed")
        if self.access is None:
            raise IllegalStateError("Channel access not set.")
        if not self.aid:
            raise UnsupportedOperationError("No aid given")
        cla = channel_cla(0x00, self.number, self.terminal.android.api)
        response = self.terminal.transmit(bytes((cla, 0xA4, 0x04, 0x02, len(self.aid))) + self.aid)
        if len(response) < 2:
            raise UnsupportedOperationError("Transmit failed")
        sw = int.from_bytes(response[-2:], "big")
        if sw & 0xF000 == 0x9000 or sw & 0xFF00 in (0x6200, 0x6300):
            self.select_response = response
            return True
        if sw & 0xFF00 == 0x6A00:
            return False
        raise UnsupportedOperationError("Unsupported operation")
