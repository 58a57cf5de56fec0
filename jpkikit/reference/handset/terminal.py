"""The handset's link to one Secure Element, as AOSP's SecureElement service has it (``Terminal``): APDUs go
to the SE HAL (``ISecureElement.transmit``) as bytes, and the service itself answers ``61xx`` with GET
RESPONSE and ``6Cxx`` with a re-issue before the app sees the response (AOSP Terminal.transmit).

It records what reached the SE, so the test bed can show that a denied app caused no APDU for its target.
"""

from __future__ import annotations

from typing import Protocol

from jpkikit.errors import TransportError
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.ins import Ins

#: AOSP bounds the GET RESPONSE loop; a chain longer than this is an I/O error.
MAX_GET_RESPONSE = 64


class SeHal(Protocol):
    """What the SE HAL offers the service: the kit's emulator card, or any link with these calls."""

    def transmit(self, command: bytes) -> bytes: ...

    def reset(self) -> bytes: ...

    @property
    def atr(self) -> bytes: ...


class CardHal:
    """The emulator's card as a HAL (it has ``process`` rather than ``transmit``)."""

    def __init__(self, card: object) -> None:
        self.card = card

    def transmit(self, command: bytes) -> bytes:
        return self.card.process(command)  # type: ignore[attr-defined]

    def reset(self) -> bytes:
        return self.card.reset()  # type: ignore[attr-defined]

    @property
    def atr(self) -> bytes:
        return self.card.atr  # type: ignore[attr-defined]


class Terminal:
    def __init__(self, hal: SeHal) -> None:
        self.hal = hal
        self.log: list[bytes] = []  # every command that reached the SE, since the last clear

    @property
    def atr(self) -> bytes:
        return self.hal.atr

    def reset(self) -> bytes:
        return self.hal.reset()

    def _raw(self, command: bytes) -> ResponseApdu:
        self.log.append(command)
        response = self.hal.transmit(command)
        return ResponseApdu.parse(response)

    def transmit(self, apdu: CommandApdu | bytes) -> ResponseApdu:
        raw = apdu.to_bytes() if isinstance(apdu, CommandApdu) else bytes(apdu)
        r = self._raw(raw)
        if r.sw1 == 0x6C:  # wrong Le: the same command again with Le = SW2
            command = CommandApdu.parse(raw)
            r = self._raw(CommandApdu(*command.header, command.data, r.sw2 or 256).to_bytes())
        channel_cla = 0x40 | raw[0] & 0x0F if raw[0] & 0x40 else raw[0] & 0x03
        data = r.data
        for _ in range(MAX_GET_RESPONSE):
            if r.sw1 != 0x61:
                return ResponseApdu(data, r.sw)
            r = self._raw(bytes((channel_cla, Ins.GET_RESPONSE, 0, 0, r.sw2)))
            data += r.data
        raise TransportError(f"the SE still answered 61xx after {MAX_GET_RESPONSE} GET RESPONSE commands")
