"""The SIM design's JPKI applet on the UICC (type ``jpki-uicc``;
docs/spec/uicc.md#the-jpki-applet-on-the-uicc):
the smartphone applet (jpki_phone.py, its provisioning command set under the SP security domain's SCP03
session) with what the SIM design of seeds 000, 001 and 003 adds:

- **Only the user-authentication function**, when the personality says so (``functions: [auth]``): the SIM
  design carries the 利用者証明機能 alone (seed 003 実現イメージ; seed 000 §1). The signature EFs 0001, 0002,
  001A and 001B do not exist (SELECT answers 6A82), EF 0008 shows the signature certificate absent, and the
  provisioning commands refuse slot 02 (6A86).
- **A key pair generated off card and delivered encrypted** (seed 000 step ⑤: J-LIS generates the phone's key;
  seed 003 §1(1)イ and seed 001 §5(1): it is sent encrypted over the network; seed 000 steps ⑮⑰ at the
  counter): PUT KEY PAIR (jpkikit.vocab.jpki.provisioning.key_package) inside the SP SD's session, which the
  phone applet answers when ``key_delivery`` is set (the package must name this SE and unwrap under the
  session key set's Key-DEK to an RSA-2048 key, in a session with C-DECRYPTION; otherwise 6A80 or 6982 and
  nothing changes; the slot's old certificate goes). A UICC takes short APDUs only, so the package may come
  in blocks (P1 80 = more follow; jpkikit.vocab.jpki.sim.put_key_pair_blocks), which the phone applet puts
  together.
- **The handset binding** against the SIM-swap risk (seed 000 §3 課題③, §4(2)): BIND HANDSET inside the SP
  SD's session binds the applet to the handset whose IMEI the UICC learned in this power session (uicc.py);
  from then on the applet can be selected only in that handset: through the app (contact interface, every
  logical channel) and through a reader (the contactless interface with the phone on). With the phone off
  the UICC does not know which handset it is in, and a bound applet refuses the contactless interface
  (``powered_off_access`` false, the reference; docs/spec/uicc.md#the-handset-binding). A refused SELECT
  answers 6985. An applet never bound (not yet issued) is not restricted.

Persistent data beyond the phone applet's: ``binding`` (hex SHA-256 of the bound IMEI, or None).
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.gp.security_domain import associated_security_domain
from jpkikit.reference.emulator.jpki_phone import SLOTS, JpkiPhoneApplet, Slot
from jpkikit.reference.emulator.uicc import CONTACTLESS
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import EF_CERT_STATUS, EF_SIGN_CA, EF_SIGN_CERT, EF_SIGN_KEY, EF_SIGN_PIN
from jpkikit.vocab.jpki.provisioning import ALL_SLOTS
from jpkikit.vocab.jpki.sim import INS_BIND_HANDSET, REFUSED_SW, SIM_INS


def _hex(fid: int) -> str:
    return f"{fid:04X}"


class JpkiUiccApplet(JpkiPhoneApplet):
    """Params (besides JpkiPhoneApplet's): ``functions`` (["auth", "sign"] by default, or ["auth"]),
    ``powered_off_access`` (a bound applet answers the contactless interface with the phone off; default
    false)."""

    type_name = "jpki-uicc"
    _PROVISIONING: ClassVar[dict[int, str]] = {
        **JpkiPhoneApplet._PROVISIONING,
        INS_BIND_HANDSET: "_bind_handset",
    }

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(self.params.get("functions", ("auth", "sign")))

    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        if "sign" not in self.functions:
            for fid in (EF_SIGN_CERT, EF_SIGN_CA):
                data["files"].pop(_hex(fid), None)
            data["keys"].pop(_hex(EF_SIGN_KEY), None)
            data["pins"].pop(_hex(EF_SIGN_PIN), None)
            data["files"][_hex(EF_CERT_STATUS)] = "008F00"  # byte 0 sign absent, byte 1 auth present
        data["binding"] = None
        return data

    # -- the handset binding (seed 000 課題③) ------------------------------------------------------------

    def usable_here(self, ctx: Context) -> bool:
        """Whether this applet may be used in the handset and over the interface of this command."""
        binding = self.data.get("binding")
        if binding is None:
            return True  # not issued to a handset yet
        card = ctx.card
        if getattr(card, "interface", "contact") == CONTACTLESS and not getattr(
            card, "contact_powered", True
        ):
            return bool(self.params.get("powered_off_access", False))  # the phone is off: no handset known
        terminal = getattr(card, "session_terminal", None)
        return terminal is not None and hmac.compare_digest(terminal, bytes.fromhex(binding))

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not self.usable_here(ctx):
            return reply(REFUSED_SW)
        return super().select(ctx, apdu)

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x80 and apdu.ins in SIM_INS:
            return self._provisioning(ctx, associated_security_domain(ctx, self.aid), apdu)
        return super().process(ctx, apdu)

    def _bind_handset(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 or apdu.p2 or apdu.data:
            return reply(SW.INCORRECT_P1P2 if apdu.p1 or apdu.p2 else SW.WRONG_LENGTH)
        terminal = getattr(ctx.card, "session_terminal", None)
        if terminal is None:
            return reply(SW.CONDITIONS_NOT_SATISFIED)  # 6985: the UICC knows no handset to bind to
        self.data["binding"] = terminal.hex().upper()
        return reply()

    # -- the only-auth applet ------------------------------------------------------------------------------

    def _slot(self, p2: int) -> Slot | None:
        slot = SLOTS.get(p2)
        return slot if slot is not None and slot.name in self.functions else None

    def _delete_keys(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 or (apdu.p2 != ALL_SLOTS and self._slot(apdu.p2) is None):
            return reply(SW.INCORRECT_P1P2)
        for ref, slot in SLOTS.items():
            if apdu.p2 not in (ALL_SLOTS, ref) or slot.name not in self.functions:
                continue
            self.data["keys"].pop(_hex(slot.key), None)
            self._drop_certificate(slot)
            self.data["commit"].pop(slot.name, None)
            self.data["pins"][_hex(slot.pin)].update(tries_left=0, temp="", temp_tries=0)
            self.verified(ctx).discard(slot.pin)
        return reply()
