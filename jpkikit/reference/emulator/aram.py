"""The emulator's ARA-M (Access Rule Application Master, SEAC; docs/spec/globalplatform.md, "Secure Element
Access Control" and its subsections), type ``aram``.

- GET DATA (80 CA): [All] FF40, [Specific] FF50, [Next] FF60, [Refresh tag] DF20, [Config] DF21 ("ARA-M
  commands").
  A rule set longer than one response is returned in chunks: [All] gives the first chunk (FF40 with the
  full length), each [Next] the following one, at most ``min(Ne, chunk)`` bytes each.
- STORE DATA (80 E2 90 00, "STORE DATA to the ARA-M") inside an SCP03 session opened with the keys of the
  associated security domain (the ISD by default), as the GP API lets an application use its SD's secure
  channel: F0 store REF-AR-DOs, F1 delete (all / by AID / by REF-DO / exact rule), F2 new refresh tag.
- Persistent data: ``rules`` (hex of each REF-AR-DO) and ``refresh`` (8-byte tag, hex); every change of
  the rules draws a new refresh tag ("ARA-M commands").

Parameters: ``rules`` (JSON form, jpkikit.vocab.gp.seac), ``chunk`` (max bytes per response, default 255),
``version`` (ARA-M interface version, hex, default 010100), ``sd`` (AID of the associated SD, hex).
"""

from __future__ import annotations

import os
from typing import Any

from jpkikit.errors import TlvError
from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel, ChannelState
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.constants import (
    INS_EXTERNAL_AUTHENTICATE,
    INS_GET_DATA,
    INS_INITIALIZE_UPDATE,
    INS_STORE_DATA,
    ISD_AID,
)
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv, decode_one

NEXT_KEY = "aram.next"
SCP_KEY = "aram.scp03"
#: SELECT EF (00 A4 02 xx) and READ BINARY (00 B0 xx xx): the reader app's filters (SEAC APDU filters).
READ_ONLY_FILTERS = ("00A40200/FFFFFF00", "00B00000/FFFF0000")


class AraM(Applet):
    type_name = "aram"
    multiselectable = True

    def initial_data(self) -> dict[str, Any]:
        rules = [seac.rule_from_json(r).encode().hex().upper() for r in self.params.get("rules", [])]
        return {"rules": rules, "refresh": os.urandom(8).hex().upper()}

    # -- helpers ---------------------------------------------------------------------------------------

    @property
    def chunk(self) -> int:
        return int(self.params.get("chunk", 255))

    def rules(self) -> list[seac.Rule]:
        return [seac.decode_rule(decode_one(bytes.fromhex(h))[0]) for h in self.data["rules"]]

    def _changed(self) -> None:
        self.data["refresh"] = os.urandom(8).hex().upper()  # SEAC: the tag changes with every rule change

    def _sd(self, ctx: Context) -> Any:
        sd_aid = bytes.fromhex(self.params["sd"]) if "sd" in self.params else ISD_AID
        entry = ctx.card.registry.get(sd_aid)
        return entry.applet if entry is not None else None

    def _channel(self, ctx: Context, sd: Any) -> CardSecureChannel:
        sc = ctx.session.get(SCP_KEY)
        if sc is None:
            sc = ctx.session[SCP_KEY] = CardSecureChannel(sd.aid)
        return sc

    def deselect(self, ctx: Context) -> None:
        ctx.session.pop(SCP_KEY, None)
        ctx.session.pop(NEXT_KEY, None)

    # -- dispatch --------------------------------------------------------------------------------------

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not apdu.cla & 0x80:
            return reply(SW.INS_NOT_SUPPORTED)
        sd = self._sd(ctx)
        sc = self._channel(ctx, sd) if sd is not None else None
        if apdu.ins == INS_INITIALIZE_UPDATE and sc is not None and not cla_secure_messaging(apdu.cla):
            return sd.initialize_update(ctx, sc, apdu)  # the SD's key sets and sequence counter
        if apdu.ins == INS_EXTERNAL_AUTHENTICATE and sc is not None and sc.state is ChannelState.PENDING:
            return sc.external_authenticate(apdu)
        if sc is not None:
            plain = sc.unwrap(apdu)
            if isinstance(plain, ResponseApdu):
                return plain
        else:
            plain = apdu
        response = self.dispatch(ctx, sc, plain)
        return sc.wrap(response) if sc is not None else response

    def dispatch(self, ctx: Context, sc: CardSecureChannel | None, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == INS_GET_DATA:
            if apdu.p1 << 8 | apdu.p2 != 0xFF60:
                ctx.session.pop(NEXT_KEY, None)
            return self.get_data(ctx, apdu)
        if apdu.ins == INS_STORE_DATA:
            if sc is None or not sc.authenticated:
                return reply(SW.SECURITY_STATUS_NOT_SATISFIED)  # 6982, SEAC v1.1 STORE DATA status words
            return self.store_data(apdu)
        return reply(SW.INS_NOT_SUPPORTED)

    # -- GET DATA (SEAC, ARA-M GET DATA command) --------------------------------------------------------

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        tag = apdu.p1 << 8 | apdu.p2
        if tag == seac.T_ALL:
            if apdu.data:
                return reply(SW.WRONG_LENGTH)
            body = Tlv(seac.T_ALL, bytes.fromhex("".join(self.data["rules"]))).encode()
            return self._first_chunk(ctx, apdu, body)
        if tag == seac.T_SPECIFIC:
            return self._specific(ctx, apdu)
        if tag == 0xFF60:
            pending: bytes | None = ctx.session.get(NEXT_KEY)
            if not pending:
                return reply(SW.CONDITIONS_NOT_SATISFIED)  # no [All]/[Specific] response to continue
            return self._first_chunk(ctx, apdu, pending)
        if tag == seac.T_REFRESH:
            return reply(SW.OK, Tlv(seac.T_REFRESH, bytes.fromhex(self.data["refresh"])).encode())
        if tag == seac.T_CONFIG:
            return self._config(apdu)
        return reply(SW.REFERENCED_DATA_NOT_FOUND)

    def _first_chunk(self, ctx: Context, apdu: CommandApdu, body: bytes) -> ResponseApdu:
        size = min(apdu.ne or 256, self.chunk)
        head, rest = body[:size], body[size:]
        if rest:
            ctx.session[NEXT_KEY] = rest
        else:
            ctx.session.pop(NEXT_KEY, None)
        return reply(SW.OK, head)

    def _specific(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        try:
            tlv, end = decode_one(apdu.data)
            if tlv.tag != seac.T_REF or end != len(apdu.data):
                return reply(SW.WRONG_DATA)
            ref = seac.decode_ref(tlv.value)
        except TlvError:
            return reply(SW.WRONG_DATA)
        ars = [r.ar.encode() for r in self.rules() if r.ref == ref]
        # One Response-AR-DO holds one E3; with several stored rules for the same REF-DO the first wins here.
        body = Tlv(seac.T_SPECIFIC, ars[0] if ars else b"").encode()
        return self._first_chunk(ctx, apdu, body)

    def _config(self, apdu: CommandApdu) -> ResponseApdu:
        version = bytes.fromhex(str(self.params.get("version", "010100")))
        inner = Tlv(seac.T_ARAM_CONFIG, Tlv(seac.T_VERSION, version).encode())
        return reply(SW.OK, Tlv(seac.T_CONFIG, inner.encode()).encode())

    # -- STORE DATA (SEAC v1.1 Table 5-1) -------------------------------------------------------------

    def store_data(self, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 & 0x80 == 0 or apdu.p2 != 0x00:
            return reply(SW.INCORRECT_P1P2)  # one block, last block only
        try:
            command, end = decode_one(apdu.data)
            if end != len(apdu.data):
                return reply(SW.WRONG_DATA)
            if command.tag == seac.T_CMD_STORE:
                return self._store(seac.decode_rules(command.value))
            if command.tag == seac.T_CMD_DELETE:
                return self._delete(command.value)
        except TlvError:
            return reply(SW.WRONG_DATA)
        if command.tag == seac.T_CMD_REFRESH:
            self._changed()
            return reply()
        return reply(SW.COMMAND_INCOMPATIBLE)  # 6981: DO not supported by the ARA (SEAC v1.1)

    def replace_rules(self, rules: list[seac.Rule]) -> None:
        """The test bed's path (the SE issuer registering rules): all rules at once, duplicates allowed."""
        self.data["rules"] = [r.encode().hex().upper() for r in rules]
        self._changed()

    def _store(self, new: list[seac.Rule]) -> ResponseApdu:
        if not new:
            return reply(SW.WRONG_DATA)
        current = self.rules()
        refs = {r.ref for r in current}
        if any(r.ref in refs for r in new) or len({r.ref for r in new}) != len(new):
            return reply(0x6A89)  # conflicting access rule already exists (SEAC v1.1)
        self.data["rules"] = self.data["rules"] + [r.encode().hex().upper() for r in new]
        self._changed()
        return reply()

    def _delete(self, value: bytes) -> ResponseApdu:
        current = self.rules()
        if not value:
            keep: list[seac.Rule] = []
        else:
            what, end = decode_one(value)
            if end != len(value):
                return reply(SW.WRONG_DATA)
            if what.tag in (seac.T_AID, seac.T_IMPLICIT):
                aid: seac.AidRef = "default" if what.tag == seac.T_IMPLICIT else (what.value or "all")
                keep = [r for r in current if r.ref.aid != aid]
            elif what.tag == seac.T_REF:
                ref = seac.decode_ref(what.value)
                keep = [r for r in current if r.ref != ref]
            elif what.tag == seac.T_REF_AR:
                rule = seac.decode_rule(what)
                keep = [r for r in current if r != rule]
            else:
                return reply(SW.WRONG_DATA)
            if len(keep) == len(current):
                return reply(SW.REFERENCED_DATA_NOT_FOUND)
        self.data["rules"] = [r.encode().hex().upper() for r in keep]
        self._changed()
        return reply()


def jpki_rules(jpki_aid: bytes) -> list[dict[str, Any]]:
    """The reference ARA-M rules for the JPKI applet (seed 004 p.13, docs/spec/system.md#actors: only apps
    whose signing-certificate hash the SP registered may open a channel): the JPKI app by SHA-1 and by
    SHA-256 hash (full APDU and NFC access), and a reader app limited by APDU filters to SELECT EF and READ
    BINARY."""
    from jpkikit.reference.apps import JPKI_APP, READER_APP

    aid = jpki_aid.hex().upper()
    sha1, sha256 = JPKI_APP.hashes
    return [
        {"aid": aid, "hash": sha1.hex().upper(), "apdu": "always", "nfc": True},
        {"aid": aid, "hash": sha256.hex().upper(), "apdu": "always", "nfc": True},
        {
            "aid": aid,
            "hash": READER_APP.hashes[0].hex().upper(),
            "apdu": ["00A40200/FFFFFF00", "00B00000/FFFF0000"],
            "nfc": False,
        },
    ]
