"""The SE the kit plays when a TSM is under test (conformance/tsm): the reference personality on a fresh
emulator card, observing what the TSM sends it, and, on request, misbehaving in one stated way so that
the TSM's checks can be tested.

Observed: the SCP03 level of every provisioning command; the plaintext temporary PINs, certificates and
delivered key packages (kept in memory only, never logged); the keys generated; COMMITs sent inside a
secure channel (the app's command, which a TSM has no business sending); commands outside the provisioning
set; every command the ISD and the ARA-M receive, with its level.

Options (:class:`KitSeOptions`): lie about R on some key slots (seed 004 step ⑰), pin the SE ID, accept
the SIM design's key delivery, start blank (no APSD, no JPKI applet: the SEI-TSM creates them, seed 004
p.13), refuse certificates, or break the R-MAC of the GENERATE KEY answer.

The ISD here also does two things of GPCS the kit's ISD leaves out and an SEI-TSM needs: INSTALL [for
extradition] (§11.5.2.3.3; the applet associated with the APSD it was installed for) and a PUT KEY sent
after INSTALL [for personalization] of a security domain without keys, which loads that SD's first key
set, decrypted with the ISD's own Key-DEK (the SEI-TSM handing the SP's keys to the new APSD).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.errors import KitError
from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.aram import AraM
from jpkikit.reference.emulator.build import make_card
from jpkikit.reference.emulator.gp.content import PERSO_TARGET
from jpkikit.reference.emulator.gp.secure_channel import CardSecureChannel
from jpkikit.reference.emulator.gp.security_domain import IssuerSecurityDomain, SecurityDomain
from jpkikit.reference.emulator.jpki_phone import PROVISIONING_INS, JpkiPhoneApplet, load_delivered_key
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.gp.constants import (
    INS_EXTERNAL_AUTHENTICATE,
    INS_INITIALIZE_UPDATE,
    INS_INSTALL,
    INS_PUT_KEY,
    ISD_AID,
)
from jpkikit.vocab.gp.seac import ARAM_AID
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_secure_messaging
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.provisioning import (
    INS_COMMIT,
    INS_GENERATE_KEY,
    INS_PUT_KEY_PAIR,
    parse_key_package,
    unwrap_private_key,
)
from jpkikit.vocab.scp03.putkey import PutKeyError, parse_key_data, put_key_response

#: The answers whose R-MAC ``break_rmac`` breaks: key generation, and the SIM design's key delivery.
KEY_INS = {INS_GENERATE_KEY, INS_PUT_KEY_PAIR}
#: Proprietary INS the JPKI applet answers outside the provisioning set: handshake and signature.
KNOWN_OTHER = {INS_INITIALIZE_UPDATE, INS_EXTERNAL_AUTHENTICATE, 0x2A}
INS_DELETE = 0xE4


@dataclass(frozen=True)
class KitSeOptions:
    lie_about_r: tuple[str, ...] = ()  # key slots ("auth", "sign") whose GENERATE KEY answers another R
    se_id: str | None = None  # hex: the SE identification ID (otherwise the chip's random one)
    key_delivery: bool = False  # the SIM design: accept PUT KEY PAIR
    blank: bool = False  # no APSD and no JPKI applet yet
    refuse_certificates: bool = False  # answer 6A80 to every PUT CERTIFICATE
    break_rmac: bool = False  # flip the last byte (the R-MAC) of the wrapped key generation / delivery answer


@dataclass
class Delivery:
    slot: int
    se_id: bytes  # the SE the package names
    key: rsa.RSAPrivateKey | None  # the private key, unwrapped with the session's Key-DEK (None: it did not)
    level: int | None
    wrapped: bytes


@dataclass
class Observations:
    provisioning: list[tuple[int, int | None]] = field(default_factory=list)  # (INS, session level or None)
    unknown: list[int] = field(default_factory=list)  # proprietary INS outside the command set
    temp_pins: list[bytes] = field(default_factory=list)  # plaintext, kept in memory only, never logged
    certificates: list[tuple[int, bytes]] = field(default_factory=list)  # (P2, DER) of complete writes
    generated: list[rsa.RSAPublicKey] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    secure_commits: int = 0  # COMMITs inside a secure channel: sent by a TSM, not by the app
    management: list[tuple[str, int, int, int | None]] = field(
        default_factory=list
    )  # (where, INS, P1, level)

    def ins_seen(self, ins: int) -> bool:
        return any(i == ins for i, _ in self.provisioning)


def _level(sc: CardSecureChannel | None) -> int | None:
    return int(sc.session.level) if sc is not None and sc.authenticated and sc.session else None


class ObservedPhoneApplet(JpkiPhoneApplet):
    """Mixed in front of the personality's own JPKI applet class (the phone applet, or the UICC's)."""

    observations: Observations
    options: KitSeOptions

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x80 and apdu.ins not in PROVISIONING_INS and apdu.ins not in KNOWN_OTHER:
            self.observations.unknown.append(apdu.ins)
        return super().process(ctx, apdu)

    def _provisioning(self, ctx: Context, sd: SecurityDomain | None, apdu: CommandApdu) -> ResponseApdu:
        sc = sd.channel(ctx) if sd is not None else None
        self.observations.provisioning.append((apdu.ins, _level(sc)))
        if apdu.ins == INS_COMMIT:
            self.observations.secure_commits += 1
        response = super()._provisioning(ctx, sd, apdu)
        if self.options.break_rmac and apdu.ins in KEY_INS and len(response.data) >= 8:
            response = ResponseApdu(response.data[:-1] + bytes((response.data[-1] ^ 0x01,)), response.sw)
        return response

    def new_key(self) -> rsa.RSAPrivateKey:
        key = super().new_key()
        self.observations.generated.append(key.public_key())
        return key

    def _generate_key(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        slot = self._slot(apdu.p2)
        if slot is not None and slot.name in self.options.lie_about_r and slot.name in self.data["commit"]:
            self.data["commit"][slot.name] = os.urandom(32).hex()  # answer an R other than the committed one
        return super()._generate_key(ctx, apdu)

    def _set_temp_pin(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        self.observations.temp_pins.append(bytes(apdu.data))
        return super()._set_temp_pin(ctx, apdu)

    def _put_certificate(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        pending = ctx.session.get("cert_blocks", {}).get("data", b"")
        if not apdu.p1 & 0x80:
            self.observations.certificates.append((apdu.p2, pending + apdu.data))
        if self.options.refuse_certificates and not apdu.p1 & 0x80:
            ctx.session.pop("cert_blocks", None)
            return reply(SW.WRONG_DATA)
        return super()._put_certificate(ctx, apdu)

    def package_received(self, ctx: Context, p2: int, package_data: bytes) -> None:
        from jpkikit.reference.emulator.gp.security_domain import associated_security_domain

        sd = associated_security_domain(ctx, self.aid)
        sc = sd.channel(ctx) if sd is not None else None
        try:
            package = parse_key_package(package_data)
        except KitError:
            self.observations.deliveries.append(Delivery(p2, b"", None, _level(sc), package_data))
            return
        keys = sd.static_keys(sc.kvn) if sd is not None and sc is not None and sc.kvn is not None else None
        key = None
        try:
            der = unwrap_private_key(keys.dek, package.wrapped_key) if keys is not None else b""
            loaded = load_delivered_key(der)
            key = loaded if isinstance(loaded, rsa.RSAPrivateKey) else None
        except (KitError, ValueError, TypeError):
            key = None
        self.observations.deliveries.append(Delivery(p2, package.se_id, key, _level(sc), package.wrapped_key))
        super().package_received(ctx, p2, package_data)


class ObservedIsd(IssuerSecurityDomain):
    observations: Observations
    options: KitSeOptions

    def dispatch(self, ctx: Context, sc: CardSecureChannel, apdu: CommandApdu) -> ResponseApdu:
        self.observations.management.append(("isd", apdu.ins, apdu.p1, _level(sc)))
        if sc.authenticated and apdu.ins == INS_INSTALL and apdu.p1 == 0x10:
            return self._extradite(ctx, apdu)
        target = ctx.session.get(PERSO_TARGET)
        if sc.authenticated and apdu.ins == INS_PUT_KEY and target is not None:
            return self._personalise_keys(ctx, bytes.fromhex(target), apdu)
        response = super().dispatch(ctx, sc, apdu)
        if apdu.ins == INS_INSTALL and apdu.p1 in (0x04, 0x0C) and response.sw == SW.OK:
            self._observe_installed(ctx)
        return response

    def _extradite(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        """INSTALL [for extradition]: Lsd SD-AID 00 Lapp app-AID 00 Ltoken token."""
        data = apdu.data
        try:
            sd = data[1 : 1 + data[0]]
            rest = data[1 + data[0] + 1 :]
            app = rest[1 : 1 + rest[0]]
        except IndexError:
            return reply(SW.WRONG_DATA)
        sd_entry, app_meta = ctx.card.registry.get(sd), self.data["apps"].get(app.hex().upper())
        if sd_entry is None or not isinstance(sd_entry.applet, SecurityDomain) or app_meta is None:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        app_meta["sd"] = sd.hex().upper()
        return reply(SW.OK, b"\x00")

    def _personalise_keys(self, ctx: Context, target: bytes, apdu: CommandApdu) -> ResponseApdu:
        entry = ctx.card.registry.get(target)
        if entry is None or not isinstance(entry.applet, SecurityDomain) or apdu.p1 != 0x00:
            return self.put_key(apdu)
        own = self.static_keys(self.default_kvn() or 0)
        if own is None:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        try:
            kvn, components = parse_key_data(apdu.data, own.dek)
        except PutKeyError as exc:
            return reply(exc.sw)
        if len(components) != 3:
            return reply(SW.WRONG_DATA)
        enc, mac, dek = (c.key.hex() for c in components)
        entry.applet.data["keysets"][f"{kvn:02X}"] = {"enc": enc, "mac": mac, "dek": dek, "counter": 0}
        ctx.session.pop(PERSO_TARGET, None)
        return reply(SW.OK, put_key_response(kvn, [c.kcv for c in components]))

    def _observe_installed(self, ctx: Context) -> None:
        for entry in ctx.card.registry.values():
            applet = entry.applet
            if isinstance(applet, JpkiPhoneApplet) and not isinstance(applet, ObservedPhoneApplet):
                _observe_applet(applet, self.observations, self.options)


class ObservedAram(AraM):
    observations: Observations

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.cla & 0x80 and cla_secure_messaging(apdu.cla) and apdu.ins != INS_EXTERNAL_AUTHENTICATE:
            sc = ctx.session.get("aram.scp03")
            self.observations.management.append(("aram", apdu.ins, apdu.p1, _level(sc)))
        return super().process(ctx, apdu)


_OBSERVED: dict[type, type] = {}


def _observed_class(base: type[JpkiPhoneApplet]) -> type[ObservedPhoneApplet]:
    """ObservedPhoneApplet in front of ``base`` (cached): the personality's applet, observed."""
    if issubclass(base, ObservedPhoneApplet):
        return base
    if base not in _OBSERVED:
        _OBSERVED[base] = type(f"Observed{base.__name__}", (ObservedPhoneApplet, base), {})
    return _OBSERVED[base]


def _observe_applet(applet: JpkiPhoneApplet, observations: Observations, options: KitSeOptions) -> None:
    applet.__class__ = _observed_class(type(applet))
    assert isinstance(applet, ObservedPhoneApplet)
    applet.observations = observations
    applet.options = options
    applet.params = dict(applet.params)
    if options.se_id:
        applet.params["se_id"] = options.se_id
    if options.key_delivery:
        applet.params["key_delivery"] = True


def _blank(card: Card, jpki_aid: bytes, isd: IssuerSecurityDomain, aram: AraM | None) -> None:
    """As shipped: no JPKI applet and no APSD of the SP (the SEI-TSM creates them), no rules for them."""
    for aid_hex, meta in list(isd.data["apps"].items()):
        aid = bytes.fromhex(aid_hex)
        if aid == jpki_aid or meta.get("elf", "").upper().startswith("A0000001515350"):
            isd.data["apps"].pop(aid_hex)
            card.registry.pop(aid, None)
    if aram is not None:
        aram.replace_rules([r for r in aram.rules() if r.ref.aid != jpki_aid])


def kit_se(
    personality: str, jpki_aid: bytes, options: KitSeOptions | None = None
) -> tuple[Card, Observations]:
    """A new card of ``personality`` with every applet that matters observed."""
    options = options or KitSeOptions()
    card = make_card(personality)
    observations = Observations()
    isd_entry = card.registry[ISD_AID]
    isd_entry.applet.__class__ = ObservedIsd
    isd = isd_entry.applet
    assert isinstance(isd, ObservedIsd)
    isd.observations, isd.options = observations, options
    aram_entry = card.registry.get(ARAM_AID)
    aram = aram_entry.applet if aram_entry is not None and isinstance(aram_entry.applet, AraM) else None
    if aram is not None:
        aram.__class__ = ObservedAram
        aram.observations = observations  # type: ignore[attr-defined]
    if options.blank:
        _blank(card, jpki_aid, isd, aram)
    else:
        applet = card.registry[jpki_aid].applet
        assert isinstance(applet, JpkiPhoneApplet), "the personality's JPKI applet is not the phone applet"
        _observe_applet(applet, observations, options)
    return card, observations


__all__ = ["INS_DELETE", "INS_PUT_KEY_PAIR", "KitSeOptions", "Observations", "kit_se"]
