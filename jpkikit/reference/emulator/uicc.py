"""The UICC runtime (personality ``sim``): an ETSI TS 102 221 UICC hosting the SIM design's JPKI applet
(seeds 000, 001, 003; docs/spec/uicc.md). On top of the card runtime (runtime.py) it adds:

- **The file system** (uicc_fs.py): after the ATR the MF is current (TS 102 221 §8.4) and, on a channel opened
  from the basic channel, the MF is current again (§11.1.17), not an application; the MF holds EF DIR (2F00,
  one application template per record: the applications the personality lists) and EF ICCID (2FE2, 10 bytes,
  BCD digit-swapped). SELECT of the MF (3F00) is possible from any application on the channel (§8.4.1).
  GlobalPlatform's Issuer Security Domain (the MNO's, gp/issuance.py) is selected by AID like every other
  application; it stays the only application of a CARD_LOCKED card (GPCS §5.1.1.4).
- **The card application toolkit** (TS 102 223, jpkikit.vocab.etsi.cat), while the MF is current: after
  TERMINAL PROFILE from a terminal that offers PROVIDE LOCAL INFORMATION, the UICC asks for the IMEI (91xx,
  FETCH, TERMINAL RESPONSE) and keeps SHA-256 of it as ``session_terminal`` for this power session: the
  handset the SIM is in, which the JPKI applet's handset binding (jpki_uicc.py) compares with the one it was
  issued in (seed 000 §3 課題③, §4(2)).
- **The contactless interface**: the NFC controller reaches the UICC over SWP (ETSI TS 102 613) when the phone
  is held to a reader, also while the phone is switched off (seed 000 §4(2): Android phones can be used at a
  reader when powered off). Contactless commands run on their own basic channel and logical channels;
  ``interface`` says which interface the current command came from and ``contact_powered`` whether the phone
  powers the UICC (False: the phone is off, the reader's field alone powers it).
- **Test-bed commands** (jpkikit.vocab.testbed), honoured only when the kit launched the emulator: relay an
  APDU over the contactless interface, switch the field off, switch the phone off
  (docs/spec/uicc.md#the-test-bed).

The UICC personality itself (AIDs, ICCID, EF DIR entries, the access rules) is in personalities.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from jpkikit.errors import TlvError
from jpkikit.reference.emulator.applet import reply
from jpkikit.reference.emulator.personality import Personality
from jpkikit.reference.emulator.runtime import Card, Channel, RegistryEntry
from jpkikit.reference.emulator.uicc_fs import Df, Ef, FileSystem
from jpkikit.vocab import testbed
from jpkikit.vocab.etsi import cat, uicc
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import SW

CONTACT, CONTACTLESS = "contact", "contactless"
DIR_RECORD_LENGTH = 38


@dataclass(frozen=True)
class UiccPersonality(Personality):
    """A personality with the UICC's own file contents: the ICCID and the applications EF DIR lists."""

    iccid: str = "8981000000000000001"
    directory: tuple[uicc.DirRecord, ...] = ()


def build_mf(personality: Personality) -> Df:
    mf = Df(uicc.FID_MF)
    iccid = getattr(personality, "iccid", UiccPersonality.iccid)
    mf.add(Ef(uicc.FID_EF_ICCID, uicc.encode_iccid(iccid + uicc.luhn_digit(iccid))))
    entries = getattr(personality, "directory", ())
    records = [uicc.dir_record(e, DIR_RECORD_LENGTH) for e in entries]
    records.append(b"\xff" * DIR_RECORD_LENGTH)  # one unused record, as an issuer leaves room
    mf.add(Ef(uicc.FID_EF_DIR, records=records))
    return mf


class UiccCard(Card):
    """A simulated UICC. ``session_terminal`` is SHA-256 of the IMEI the handset gave in this power
    session."""

    def __init__(self, personality: Personality, state_path: str | Path | None = None) -> None:
        self.interface = CONTACT
        self.contact_powered = False
        self.session_terminal: bytes | None = None
        self._profile: bytes | None = None
        self._proactive: bytes | None = None
        self._cl_channels: dict[int, Channel] = {0: Channel(0)}
        self.cl_active = False
        self.mf = FileSystem(build_mf(personality))
        super().__init__(personality, state_path)

    # -- power of the contact interface (the phone) ---------------------------------------------------------

    def power_on(self) -> bytes:
        atr = super().power_on()
        self.contact_powered = True
        return atr

    def power_off(self) -> None:
        super().power_off()
        self.contact_powered = False

    def _clear_transient(self) -> None:
        if self.interface == CONTACT:
            self.session_terminal = None  # a new power session: the handset must say again who it is
            self._profile = self._proactive = None
        super()._clear_transient()

    def _implicit_selection(self) -> RegistryEntry | None:
        return None  # the MF, not an application (TS 102 221 §8.4, §11.1.17)

    def factory_reset(self) -> None:
        super().factory_reset()
        self._field_off()

    # -- test bed and interfaces -----------------------------------------------------------------------------

    def _process(self, raw: bytes) -> ResponseApdu:
        command = testbed.parse(raw) if self.testbed and self.interface == CONTACT else None
        if command is not None:
            verb, payload = command
            if verb == testbed.CONTACTLESS:
                return self._contactless(payload)
            if verb == testbed.FIELD_OFF:
                self._field_off()
                return reply()
            if verb == testbed.PHONE_OFF:
                self.power_off()  # the contact interface only; the CLF can still reach the UICC
                return reply()
        return super()._process(raw)

    def _contactless(self, raw: bytes) -> ResponseApdu:
        """``raw`` processed on the contactless interface: its own channels; powered by the field."""
        if not self.cl_active:
            self._cl_channels = {0: Channel(0)}
            self.cl_active = True
        contact, powered = self.channels, self.powered
        self.channels, self.powered, self.interface = self._cl_channels, True, CONTACTLESS
        try:
            return super()._process(raw)
        finally:
            self._cl_channels = self.channels
            self.channels, self.powered, self.interface = contact, powered, CONTACT

    def _field_off(self) -> None:
        if not self.cl_active:
            return
        contact, self.channels, self.interface = self.channels, self._cl_channels, CONTACTLESS
        try:
            for channel in self.channels.values():
                self._deselect(channel)
        finally:
            self.channels, self.interface = contact, CONTACT
            self._cl_channels, self.cl_active = {0: Channel(0)}, False

    # -- commands with the MF current ------------------------------------------------------------------------

    def _dispatch(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if channel.selected is not None:
            if _selects_mf(apdu):  # the MF can be selected from anywhere (§8.4.1)
                self._deselect(channel)
                self.mf.reset(channel.session)
                return self.mf.select(channel.session, apdu)
            return super()._dispatch(channel, apdu)
        answer = self.mf.process(channel.session, apdu)
        if answer is not None:
            return answer
        if apdu.cla & 0x80 and apdu.ins in (uicc.UiccIns.TERMINAL_PROFILE, uicc.UiccIns.FETCH):
            return self._toolkit(apdu)
        if apdu.cla & 0x80 and apdu.ins == uicc.UiccIns.TERMINAL_RESPONSE:
            return self._toolkit(apdu)
        return reply(SW.INS_NOT_SUPPORTED)

    # -- the card application toolkit (TS 102 223) -----------------------------------------------------------

    def _toolkit(self, apdu: CommandApdu) -> ResponseApdu:
        if self.interface != CONTACT:
            return reply(SW.CONDITIONS_NOT_SATISFIED)  # the toolkit talks to the handset, not to a reader
        if apdu.ins == uicc.UiccIns.TERMINAL_PROFILE:
            if not apdu.data:
                return reply(SW.WRONG_LENGTH)
            self._profile = apdu.data
            if cat.supports_pli(apdu.data):
                self._proactive = cat.provide_imei_command()
                return reply(0x9100 | len(self._proactive))
            return reply()
        if apdu.ins == uicc.UiccIns.FETCH:
            if self._proactive is None:
                return reply(SW.CONDITIONS_NOT_SATISFIED)
            return reply(SW.OK, self._proactive)
        return self._terminal_response(apdu)

    def _terminal_response(self, apdu: CommandApdu) -> ResponseApdu:
        if self._proactive is None:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        try:
            response = cat.parse_terminal_response(apdu.data)
            asked = cat.parse_proactive(self._proactive)
        except TlvError:
            return reply(SW.WRONG_DATA)
        if response.command != asked:
            return reply(SW.WRONG_DATA)
        self._proactive = None
        if response.result == cat.RESULT_OK and response.imei is not None:
            self.session_terminal = terminal_identity(response.imei)
        return reply()


def terminal_identity(imei: bytes) -> bytes | None:
    """What the UICC keeps of the handset: SHA-256 of the IMEI digits; None for a value that is no IMEI."""
    try:
        digits = cat.imei_text(imei)
    except ValueError:
        return None
    return hashlib.sha256(digits.encode("ascii")).digest()


def _selects_mf(apdu: CommandApdu) -> bool:
    return (
        not apdu.cla & 0x80
        and apdu.ins == Ins.SELECT
        and apdu.p1 == uicc.Select.BY_FID
        and apdu.data == uicc.FID_MF.to_bytes(2, "big")
    )
