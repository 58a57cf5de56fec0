"""The kit as the handset a UICC is in (docs/spec/uicc.md#the-handset-binding): a power-up with TERMINAL
PROFILE and the answer to the UICC's PROVIDE LOCAL INFORMATION (IMEI) (ETSI TS 102 223 §5.2, §6.4.15), as a
phone does when it starts; and a link to the UICC's contactless interface (the phone held to a reader),
through the kit's test-bed relay (jpkikit.vocab.testbed).

A real SIM in a contact reader meets the same power-up: the kit sends what a phone would. The contactless
interface of a real SIM is reached only through a phone on a reader; the relay exists for the kit's own
emulator (in-process or served with --testbed).
"""

from __future__ import annotations

from dataclasses import dataclass

from jpkikit.errors import MalformedAnswer, TlvError
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import Layer, Transport
from jpkikit.vocab import testbed
from jpkikit.vocab.etsi import cat
from jpkikit.vocab.etsi.uicc import SW1_PROACTIVE
from jpkikit.vocab.iso7816.apdu import ResponseApdu


@dataclass(frozen=True)
class PowerUp:
    """What the UICC answered during the handset's start-up."""

    atr: bytes
    profile: ResponseApdu  # the answer to TERMINAL PROFILE
    asked_imei: bool  # the UICC sent PROVIDE LOCAL INFORMATION (IMEI)
    response: ResponseApdu | None  # the answer to TERMINAL RESPONSE


def power_up(session: CardSession, imei: str | None, *, profile: bool = True, cold: bool = True) -> PowerUp:
    """Reset the UICC and start as a handset with ``imei`` (None: a terminal that gives no IMEI; ``profile``
    False: no TERMINAL PROFILE at all, as a plain card reader). Raises MalformedAnswer for a proactive command
    that does not parse."""
    raw = session.raw()
    atr = session.reset(cold)
    if not profile:
        return PowerUp(atr, ResponseApdu(b"", 0x9000), False, None)
    answer = raw.transmit(cat.terminal_profile(pli_imei=imei is not None))
    if answer.sw1 != SW1_PROACTIVE:
        return PowerUp(atr, answer, False, None)
    fetched = raw.transmit(cat.fetch(answer.sw2))
    try:
        command = cat.parse_proactive(fetched.data)
    except TlvError as exc:
        raise MalformedAnswer(f"FETCH after TERMINAL PROFILE gave no proactive command: {fetched}") from exc
    asked = command.type == cat.PROVIDE_LOCAL_INFORMATION and command.qualifier == cat.QUALIFIER_IMEI
    response = raw.transmit(cat.terminal_response_imei(command, imei if asked else None))
    return PowerUp(atr, answer, asked, response)


class ContactlessLink(Layer):
    """The UICC's contactless interface, relayed over ``inner`` (the contact link) by the kit's test bed."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.description = f"{inner.description} (contactless interface, test-bed relay)"

    def transmit(self, command: bytes) -> bytes:
        return self.inner.transmit(testbed.contactless(bytes(command)))

    def reset(self, cold: bool = False) -> bytes:
        """The phone taken off the reader and held to it again: a new contactless session."""
        self.inner.transmit(testbed.command(testbed.FIELD_OFF))
        return self.inner.atr

    def close(self) -> None:
        pass  # the contact link stays the caller's


def contactless(session: CardSession) -> CardSession:
    """A session on the contactless interface of the UICC behind ``session`` (through its tracer)."""
    return CardSession(ContactlessLink(session.tracer), collect=True)


def phone_off(session: CardSession) -> ResponseApdu:
    """The phone is switched off: the UICC's contact interface loses power (the test bed)."""
    return session.raw().transmit(testbed.command(testbed.PHONE_OFF))


def field_off(session: CardSession) -> ResponseApdu:
    return session.raw().transmit(testbed.command(testbed.FIELD_OFF))
