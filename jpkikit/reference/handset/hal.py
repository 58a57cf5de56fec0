"""The SE HAL of the reference handset (the ISecureElement contract of hardware/interfaces/secure_element)
over
a simulated SE (the kit's emulator card, or any object with ``process``, ``reset`` and ``atr``).

openLogicalChannel is MANAGE CHANNEL open then SELECT by DF name with the app's P2; openBasicChannel is the
SELECT on channel 0 (no AID: the default application); the SELECT's status word becomes a HAL status as AOSP's
eSE HALs map it (jpkikit.vocab.omapi.android.select_status), and a failed SELECT closes the channel again. It
records every command that reached the SE: the test bed's SE trace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from jpkikit.errors import ApduError, TransportError
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.omapi.android import HalStatus, channel_cla, manage_channel_status, select_status


class SimulatedSe(Protocol):
    def process(self, command: bytes) -> bytes: ...

    def reset(self) -> bytes: ...

    @property
    def atr(self) -> bytes: ...


class HalError(Exception):
    """The HAL could not talk to the SE (RemoteException / an empty response): the service's IOException."""


class SecureElementHal:
    def __init__(self, se: SimulatedSe, *, present: bool = True) -> None:
        self.se = se
        self.present = present
        self.log: list[bytes] = []  # every command that reached the SE, since the last clear
        self.callback: Callable[[bool], None] | None = None
        self.broken = False  # the test bed's broken link: every exchange fails

    def init(self, callback: Callable[[bool], None]) -> None:
        self.callback = callback
        self.se.reset()
        callback(True)

    # -- ISecureElement -------------------------------------------------------------------------------

    def get_atr(self) -> bytes:
        return bytes(self.se.atr)

    def is_card_present(self) -> bool:
        return self.present

    def exchange(self, command: bytes) -> bytes:
        """One command to the SE and its response, as the SE gave it."""
        if self.broken:
            raise HalError("the SE link is gone")
        self.log.append(bytes(command))
        try:
            response = bytes(self.se.process(bytes(command)))
        except (TransportError, ApduError) as exc:
            raise HalError(str(exc)) from exc
        if len(response) < 2:
            raise HalError("Error in transmit()")
        return response

    def transmit(self, command: bytes) -> bytes:
        return self.exchange(command)

    def _collect(self, command: bytes) -> bytes:
        """The HAL's own exchange for a SELECT: 61xx answered with GET RESPONSE on the same channel."""
        response = self.exchange(command)
        while response[-2] == 0x61:
            response = response[:-2] + self.exchange(
                bytes((command[0], Ins.GET_RESPONSE, 0, 0, response[-1]))
            )
        return response

    def _select(self, channel: int, aid: bytes, p2: int) -> bytes:
        cla = channel_cla(0x00, channel)
        body = bytes((len(aid),)) + aid if aid else b""
        return self._collect(bytes((cla, Ins.SELECT, 0x04, p2)) + body + b"\x00")

    def open_logical_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, int, bytes]:
        """(status, channel number, select response with SW) for openLogicalChannel."""
        opened = self.exchange(bytes.fromhex("0070000001"))
        status = manage_channel_status(int.from_bytes(opened[-2:], "big"))
        if status != HalStatus.SUCCESS or len(opened) != 3:
            return (status if status != HalStatus.SUCCESS else HalStatus.IOERROR), 0, b""
        number = opened[0]
        if not aid:
            return HalStatus.SUCCESS, number, b""
        response = self._select(number, aid, p2)
        status = select_status(int.from_bytes(response[-2:], "big"))
        if status != HalStatus.SUCCESS:
            self.close_channel(number)
            return status, 0, b""
        return HalStatus.SUCCESS, number, response

    def open_basic_channel(self, aid: bytes, p2: int) -> tuple[HalStatus, bytes]:
        response = self._select(0, aid, p2)
        status = select_status(int.from_bytes(response[-2:], "big"))
        return status, (response if status == HalStatus.SUCCESS else b"")

    def close_channel(self, number: int) -> bool:
        if number == 0:
            return False  # the basic channel is never closed (ISecureElement: FAILED)
        response = self.exchange(bytes((channel_cla(0x00, number), Ins.MANAGE_CHANNEL, 0x80, number)))
        return response[-2:] == b"\x90\x00"

    def reset(self) -> bool:
        """Power-cycle the SE; the service hears onStateChange(false) then (true)."""
        self.se.reset()
        if self.callback is not None:
            self.callback(False)
            self.callback(True)
        return True
