"""Security domains: the Issuer Security Domain (``gp-isd``) and supplementary SDs such as the JPKI APSD
(``gp-sd``). Both speak SCP03 with their own key sets (jpkikit.reference.emulator.gp.secure_channel) and
answer GET DATA; the ISD also
does card content management (content.py) and the card life cycle.

Persistent data (``self.data``): ``keysets`` {KVN hex: {enc, mac, dek, counter}}, ``iin``, ``cin``, ``cplc``,
``div`` (key diversification data); the ISD also keeps ``apps`` (GP registry data per AID: privileges,
ELF, module, associated SD) and ``elfs`` (loaded Executable Load Files).

Parameters (personality ``AppletSpec.params``): ``keysets`` [{kvn, enc, mac, dek, counter?}], ``i`` (hex, the
S8 i parameter; S16 answers with b1 set), ``modes`` ["S8", "S16"], ``apps`` / ``elfs`` (the issuance
registry, ISD only).
"""

from __future__ import annotations

import copy
from typing import Any

from jpkikit.errors import ApduError
from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.gp import content
from jpkikit.reference.emulator.gp.chaining import INSTALL_CHAIN, PUT_KEY_CHAIN, chained_data, end_chains
from jpkikit.reference.emulator.gp.recognition import (
    ALL_KIDS,
    card_recognition_data,
    cplc,
    key_information,
    present_kids,
)
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel, ChannelState
from jpkikit.vocab.gp.constants import (
    INS_EXTERNAL_AUTHENTICATE,
    INS_GET_DATA,
    INS_GET_STATUS,
    INS_INITIALIZE_UPDATE,
    INS_INSTALL,
    INS_PUT_KEY,
    INS_STORE_DATA,
    P1_MORE,
    TERMINATED,
)
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.scp03.handshake import MAX_SEQUENCE_COUNTER
from jpkikit.vocab.scp03.keys import StaticKeys
from jpkikit.vocab.scp03.levels import I_S16, Mode
from jpkikit.vocab.scp03.putkey import PutKeyError, parse_key_data, put_key_response

SCP_KEY = "scp03"


class SecurityDomain(Applet):
    type_name = "gp-sd"
    multiselectable = True
    is_security_domain = True
    #: The card-side SCP03 session class (a subclass can be swapped in, e.g. by the kit's faulty variants).
    channel_class: type[CardSecureChannel] = CardSecureChannel

    def initial_data(self) -> dict[str, Any]:
        p = self.params
        keysets = {
            f"{int(k['kvn'], 16):02X}": {
                "enc": k["enc"],
                "mac": k.get("mac", k["enc"]),
                "dek": k.get("dek", k["enc"]),
                "counter": int(k.get("counter", 0)),
            }
            for k in p.get("keysets", [])
        }
        return {
            "keysets": keysets,
            "iin": p.get("iin", "42"),
            "cin": p.get("cin", "4A504B494B4954"),
            "cplc": p.get("cplc", ""),
            "div": p.get("div", "4A504B494B4954454D55"),
        }

    # -- helpers -------------------------------------------------------------------------------------------

    @property
    def i_param(self) -> int:
        return int(self.params.get("i", "70"), 16)

    @property
    def modes(self) -> list[str]:
        return list(self.params.get("modes", ["S8"]))

    def static_keys(self, kvn: int) -> StaticKeys | None:
        """The key set ``kvn`` when all three of its keys are present (DELETE [key] may have removed one)."""
        entry = self.data["keysets"].get(f"{kvn:02X}")
        if entry is None or present_kids(entry) != ALL_KIDS:
            return None
        return StaticKeys(
            bytes.fromhex(entry["enc"]), bytes.fromhex(entry["mac"]), bytes.fromhex(entry["dek"]), kvn
        )

    def default_kvn(self) -> int | None:
        kvns = sorted(int(k, 16) for k in self.data["keysets"])
        return kvns[0] if kvns else None

    def channel(self, ctx: Context) -> CardSecureChannel:
        sc = ctx.session.get(SCP_KEY)
        if sc is None:
            sc = ctx.session[SCP_KEY] = self.channel_class(self.aid)
        return sc

    # -- dispatch ------------------------------------------------------------------------------------------

    def select(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        # FCI (GPCS §11.9.3.1): 6F { 84 AID, A5 { 73 (omitted), 9F65 max command data length } }
        a5 = Tlv(0xA5, Tlv(0x9F65, b"\xff").encode())
        fci = Tlv(0x6F, Tlv(0x84, self.aid).encode() + a5.encode())
        return reply(SW.OK, fci.encode())

    def deselect(self, ctx: Context) -> None:
        ctx.session.pop(SCP_KEY, None)  # Amd D §5.6: selection ends the session

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if not apdu.cla & 0x80 and apdu.ins != INS_GET_DATA:
            return reply(SW.INS_NOT_SUPPORTED)
        if ctx.card.life_cycle == TERMINATED:  # GPCS §5.1.1.5: only GET DATA
            if apdu.ins == INS_GET_DATA and not cla_secure_messaging(apdu.cla):
                return self.get_data(ctx, apdu)
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        sc = self.channel(ctx)
        if apdu.ins == INS_INITIALIZE_UPDATE and apdu.cla & 0x80 and not cla_secure_messaging(apdu.cla):
            return self.initialize_update(ctx, sc, apdu)
        if apdu.ins == INS_EXTERNAL_AUTHENTICATE and sc.state is ChannelState.PENDING:
            return sc.external_authenticate(apdu)
        plain = sc.unwrap(apdu)
        if isinstance(plain, ResponseApdu):
            end_chains(ctx)  # a refused command ends any GP command chain (GPCS §11.1.5)
            return plain
        return sc.wrap(self.dispatch(ctx, sc, plain))

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        for ins, key in ((INS_PUT_KEY, PUT_KEY_CHAIN), (INS_INSTALL, INSTALL_CHAIN)):
            if apdu.ins != ins:
                ctx.session.pop(key, None)  # another command abandons a GP command chain (GPCS §11.1.5)
        if apdu.ins == INS_GET_DATA:
            return self.get_data(ctx, apdu)
        if apdu.ins == INS_EXTERNAL_AUTHENTICATE:
            return reply(SW.CONDITIONS_NOT_SATISFIED)  # no INITIALIZE UPDATE before it
        if not sc.authenticated:
            return reply(SW.SECURITY_STATUS_NOT_SATISFIED)  # management needs an authenticated session
        if apdu.ins == INS_PUT_KEY:
            return self.put_key(apdu, ctx)
        if apdu.ins == INS_GET_STATUS:
            return content.get_status(self, ctx, apdu)
        if apdu.ins == INS_STORE_DATA:
            return content.store_data(self, ctx, apdu)
        return self.manage(ctx, apdu)

    def manage(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        """Card content management: only the ISD (no Authorized Management for supplementary SDs here)."""
        return reply(SW.INS_NOT_SUPPORTED)

    def process_security(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu | None:
        """GP API ``SecureChannel.processSecurity`` for an application associated with this SD: answer
        INITIALIZE UPDATE / EXTERNAL AUTHENTICATE sent to that application with this SD's key sets, the
        session kept in the application's channel session (``ctx``), where ``channel(ctx)`` finds it again
        for wrap/unwrap (GPCS §10.2.3, Amd D §5.6). None: not a handshake command."""
        sc = self.channel(ctx)
        if apdu.ins == INS_INITIALIZE_UPDATE and apdu.cla & 0x80 and not cla_secure_messaging(apdu.cla):
            return self.initialize_update(ctx, sc, apdu)
        if apdu.ins == INS_EXTERNAL_AUTHENTICATE and sc.state is ChannelState.PENDING:
            return sc.external_authenticate(apdu)
        return None

    # -- INITIALIZE UPDATE (Amd D §7.1.1) ------------------------------------------------------------------

    def initialize_update(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        sc.terminate()
        end_chains(ctx)
        if apdu.p2 != 0x00:
            return reply(SW.INCORRECT_P1P2)
        mode = {8: Mode.S8, 16: Mode.S16}.get(len(apdu.data))
        if mode is None or mode.name not in self.modes:
            return reply(SW.WRONG_LENGTH)
        kvn = apdu.p1 or self.default_kvn()
        keys = self.static_keys(kvn) if kvn is not None else None
        if keys is None:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)  # 6A88, Amd D §7.1.1.4
        entry = self.data["keysets"][f"{kvn:02X}"]
        if entry["counter"] >= MAX_SEQUENCE_COUNTER:
            return reply(SW.CONDITIONS_NOT_SATISFIED)  # counter exhausted, Amd D §6.2.2.1
        entry["counter"] += 1
        i = (self.i_param & ~I_S16) | (I_S16 if mode is Mode.S16 else 0)
        return sc.initialize_update(apdu, keys, i, entry["counter"], bytes.fromhex(self.data["div"]))

    # -- GET DATA (GPCS §11.3) -----------------------------------------------------------------------------

    def get_data(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        tag = apdu.p1 << 8 | apdu.p2
        value = self.data_object(ctx, tag)
        if value is None:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        full = Tlv(tag if tag > 0xFF else apdu.p2, value).encode()
        if not apdu.cla & 0x80:  # ISO CLA: value only (GPCS §11.3.3)
            return reply(SW.OK, value)
        return reply(SW.OK, full)

    def data_object(self, ctx: Context, tag: int) -> bytes | None:
        d = self.data
        if tag == 0x0042:
            return bytes.fromhex(d["iin"])
        if tag == 0x0045:
            return bytes.fromhex(d["cin"])
        if tag == 0x0066:
            return card_recognition_data(self.i_param)
        if tag == 0x00E0:
            return key_information(self)
        if tag == 0x00CF:
            return bytes.fromhex(d["div"])
        if tag == 0x00C1:  # sequence counter of the default key set (GPCS §11.3.3.1)
            kvn = self.default_kvn()
            return (
                self.data["keysets"][f"{kvn:02X}"]["counter"].to_bytes(3, "big") if kvn is not None else None
            )
        if tag == 0x00D3:
            return bytes((self.channel(ctx).current_level,))
        if tag == 0x9F7F and self.is_issuer:
            return cplc(d["cplc"])
        return None

    # -- PUT KEY (GPCS §11.8, Amd D §7.2) --------------------------------------------------------------------

    def put_key(self, apdu: CommandApdu, ctx: Context | None = None) -> ResponseApdu:
        """PUT KEY of a whole SCP03 key set; with ``ctx``, GP command chaining (P1 b8: more PUT KEY
        commands, GPCS §11.8.2.1) too, else a chained command answers 6A86."""
        if apdu.p2 != 0x81:
            return reply(SW.INCORRECT_P1P2)  # only a whole SCP03 key set (KIDs 1-3)
        if ctx is None:
            if apdu.p1 & P1_MORE:
                return reply(SW.INCORRECT_P1P2)
            data = apdu.data
        else:
            try:
                data = chained_data(ctx, PUT_KEY_CHAIN, apdu)
            except ApduError:
                return reply(SW.INCORRECT_P1P2)
            if data is None:
                return reply()
        old = apdu.p1 & 0x7F
        if old and f"{old:02X}" not in self.data["keysets"]:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        current = self.static_keys(old or self.default_kvn() or 0)
        if current is None:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        try:
            kvn, components = parse_key_data(data, current.dek)
        except PutKeyError as exc:
            return reply(exc.sw)
        if len(components) != 3 or len({len(c.key) for c in components}) != 1 or not 0x01 <= kvn <= 0x7F:
            return reply(SW.WRONG_DATA)
        if old and len(components[0].key) != current.length:
            return reply(SW.WRONG_DATA)  # §11.8.2.3.3: a replacement keeps type and length
        if not old and f"{kvn:02X}" in self.data["keysets"]:
            return reply(SW.WRONG_DATA)
        if old and old != kvn:
            del self.data["keysets"][f"{old:02X}"]
        enc, mac, dek = (c.key.hex() for c in components)
        self.data["keysets"][f"{kvn:02X}"] = {"enc": enc, "mac": mac, "dek": dek, "counter": 0}  # §6.2.2.1
        return reply(SW.OK, put_key_response(kvn, [c.kcv for c in components]))


class IssuerSecurityDomain(SecurityDomain):
    type_name = "gp-isd"
    is_issuer = True

    def initial_data(self) -> dict[str, Any]:
        data = super().initial_data()
        # deep copies: the card changes its registry in place, and the personality's is every card's start
        data["apps"] = copy.deepcopy(self.params.get("apps", {}))
        data["elfs"] = copy.deepcopy(self.params.get("elfs", {}))
        return data

    def manage(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        return content.manage(self, ctx, apdu)


def associated_security_domain(ctx: Context, aid: bytes) -> SecurityDomain | None:
    """The SD an application is associated with in the ISD's registry data (GPCS §6.5: GPSystem
    getSecureChannel hands an application its associated SD's channel)."""
    isd = content.issuer(ctx)
    if isd is None:
        return None
    sd_hex = isd.data["apps"].get(aid.hex().upper(), {}).get("sd")
    entry = ctx.card.registry.get(bytes.fromhex(sd_hex)) if sd_hex else None
    return entry.applet if entry is not None and isinstance(entry.applet, SecurityDomain) else None
