"""The reference TSM's flows (seed 004 pp.13, 15-18, 21-26; seeds 000, 001 for the SIM design; restated in
docs/spec/system.md) as generators: each yields the C-APDUs of one script and receives the R-APDUs the
admin agent sent back, so one flow spans one Amendment B HTTP session (jpkikit.reference.tsm.server).

SP-TSM flows reach the JPKI applet through SCP03 with the APSD key set (seed 004 pp.11, 12) at the TSM's
level; SEI-TSM flows (APSD creation, applet installation, access rules, applet deletion, factory reset;
pp.13, 25, 26) reach the ISD and the ARA-M with the ISD key set. Everything a flow draws or learns from
the back end goes through its :class:`FlowContext`, which journals it, so a flow can be rebuilt after a
restart of the TSM (jpkikit.reference.tsm.journal). A flow ends by returning its result, or raises
:class:`FlowError`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization

from jpkikit.errors import KitError
from jpkikit.reference.backend import BackendError
from jpkikit.reference.backend.service import CardApplicant
from jpkikit.reference.tsm.journal import Journal
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.constants import INS_DELETE, INS_INSTALL, INS_STORE_DATA, PRIV_SECURITY_DOMAIN
from jpkikit.vocab.gp.layouts import InstallForInstall
from jpkikit.vocab.gp.ram_script import is_error
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.tlv import Tlv
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.scp03.keys import StaticKeys
from jpkikit.vocab.scp03.putkey import put_key_command

Script = Generator[list[CommandApdu], list[ResponseApdu], Any]
TEMP_PIN_BYTES = 16  # "random, up to 16 bytes, generated fresh each time" (seed 004 p.17 補足1)
REFERENCED_DATA_NOT_FOUND = 0x6A88  # GPCS §11.2.3: DELETE of something absent


class FlowError(KitError):
    """The flow cannot go on; ``reason`` is stable (backend reasons, or se-error / se-garbage)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class SeTarget:
    """How the SP-TSM reaches the JPKI applet: its AID and the APSD's SCP03 keys, AID and level."""

    jpki_aid: bytes
    apsd_aid: bytes
    keys: StaticKeys
    level: int


@dataclass(frozen=True)
class SeiTarget:
    """How the SEI-TSM (the MNO-TSM in the SIM design) reaches the SE: the ISD and its key set, and what it
    installs: the APSD (with the SP's key set), the JPKI applet from its load file, the ARA-M rules."""

    isd_aid: bytes
    isd_keys: StaticKeys
    level: int
    apsd_aid: bytes
    apsd_keys: StaticKeys
    jpki_aid: bytes
    jpki_elf: bytes = bytes.fromhex("D392F0002601")
    jpki_module: bytes = bytes.fromhex("D392F000260100000001")
    sd_elf: bytes = bytes.fromhex("A0000001515350")
    sd_module: bytes = bytes.fromhex("A000000151535041")
    aram_aid: bytes = seac.ARAM_AID


@dataclass(frozen=True)
class TsmOptions:
    """What the TSM does as the ICS says: keys generated on the chip (the GP-SE design) or off card and
    delivered encrypted (the SIM design, seeds 001 and 003)."""

    key_generation: str = "on-card"


@dataclass
class Order:
    """One user request (one of the flows of docs/spec/system.md): what to do, and what came out of it."""

    operation: str  # issue | renew | pin-init | revoke | delete | install | delete-applet | factory-reset
    applicant: CardApplicant | None = None
    kinds: tuple[str, ...] = ("auth", "sign")
    confirm_revoke_old: bool = False  # the user confirmed revoking an old device (steps ⑬⑭)
    se_id: str | None = None  # for delete: the SE whose keys are to be removed
    push_url: str | None = None  # where to wake this device's app later (remote deletion, seed 004 p.25)
    result: dict[str, Any] = field(default_factory=dict)


class FlowContext:
    """What a flow may use besides its SE: the back end, the TSM and random values, all journaled."""

    def __init__(self, tsm: Any, journal: Journal) -> None:
        self.tsm = tsm
        self.journal = journal
        self.deferred: list[Callable[[], None]] = []

    @property
    def target(self) -> SeTarget:
        return self.tsm.target  # type: ignore[no-any-return]

    @property
    def sei(self) -> SeiTarget:
        if self.tsm.sei is None:
            raise FlowError("bad-request", "this TSM has no SEI-TSM role configured")
        return self.tsm.sei  # type: ignore[no-any-return]

    def draw(self, n: int) -> bytes:
        return self.journal.draw(n)

    def backend(self, method: str, *args: Any) -> Any:
        """A call of the back end, once: when the flow is replayed, the journaled answer."""
        return self.journal.record(f"backend.{method}", lambda: getattr(self.tsm.backend, method)(*args))

    def act(self, method: str, *args: Any) -> Any:
        """A call of the TSM itself (creating an order, registering a push target), once."""
        return self.journal.record(f"tsm.{method}", lambda: getattr(self.tsm, method)(*args))

    def new_temp_pin(self) -> bytes:
        return bytes(self.journal.record("temp-pin", self.tsm.new_temp_pin))


class SeConversation:
    """SCP03 over scripts with one application (its SD's key set)."""

    def __init__(self, fx: FlowContext, aid: bytes, keys: StaticKeys, sd_aid: bytes, level: int) -> None:
        self.aid = aid
        self.channel = fx.tsm.script_channel(keys, sd_aid, level, fx.draw)
        self.prefix: list[CommandApdu] = []

    def open(self) -> Script:
        select = CommandApdu(0x00, 0xA4, 0x04, 0x0C, self.aid)
        responses = yield [select, self.channel.initialize_update()]
        if len(responses) != 2 or responses[0].sw != 0x9000:
            raise FlowError("se-error", f"SELECT of {self.aid.hex().upper()} answered {_sws(responses)}")
        try:
            self.prefix = [self.channel.external_authenticate(responses[1])]
        except (KitError, ValueError) as exc:
            raise FlowError("se-error", f"SCP03 handshake: {exc}") from None

    def send(self, commands: list[CommandApdu], allow: frozenset[int] = frozenset()) -> Script:
        """Wrap ``commands``, send them in one script (after a pending EXTERNAL AUTHENTICATE), return the
        plain answers; FlowError when the SE stops early, refuses one (but for a SW in ``allow``), or its
        protection does not verify."""
        prefix, self.prefix = self.prefix, []
        first = self.channel.wrapped_count
        wire = prefix + [self.channel.wrap(c) for c in commands]
        responses = yield wire
        if prefix:
            if not responses or responses[0].sw != 0x9000:
                raise FlowError("se-error", f"EXTERNAL AUTHENTICATE answered {_sws(responses[:1])}")
            responses = responses[1:]
        plain = []
        for n, response in enumerate(responses):
            try:
                plain.append(self.channel.unwrap(first + n, response))
            except KitError as exc:
                raise FlowError("se-garbage", f"answer {n + 1} of the script: {exc}") from None
        bad = next((n for n, r in enumerate(plain) if is_error(r.sw) and r.sw not in allow), None)
        complete = len(plain) == len(commands) or (plain and plain[-1].sw in allow)
        if bad is not None or not complete:
            where = bad if bad is not None else len(plain)
            # name the command by its header only: its data may be a temporary PIN (never in an error text)
            what = f"{commands[where].cla:02X} {commands[where].ins:02X}" if where < len(commands) else "?"
            raise FlowError("se-error", f"SE answered {_sws(plain[where : where + 1])} to command {what}")
        return plain


def _sws(responses: list[ResponseApdu]) -> str:
    return ", ".join(f"{r.sw:04X}" for r in responses) or "nothing"


def _slot(kind: str) -> int:
    return se.SLOT_NAMES[kind]


def applet(fx: FlowContext) -> SeConversation:
    t = fx.target
    return SeConversation(fx, t.jpki_aid, t.keys, t.apsd_aid, t.level)


def read_se_id(conv: SeConversation) -> Script:
    """Seed 004 p.15 ⑥⑦, p.18 ⑦⑧: the SE identification ID."""
    (answer,) = yield from conv.send([se.get_se_id()])
    if not 1 <= len(answer.data) <= 32:
        raise FlowError("se-garbage", f"SE identification ID of {len(answer.data)} bytes")
    return answer.data.hex().upper()


def temp_pin_sequence(conv: SeConversation, fx: FlowContext, order: Order) -> Script:
    """Seed 004 p.17 ㉓-㉘ / p.18 ⑩-⑮: a fresh random temporary PIN per PIN, set then blocked; the app gets
    it (and nobody else: it is in the order's result, which only the app reads)."""
    temp = {kind: fx.new_temp_pin() for kind in order.kinds}
    commands = []
    for kind in order.kinds:
        commands += [se.set_temp_pin(_slot(kind), temp[kind]), se.block_pin(_slot(kind))]
    yield from conv.send(commands)
    order.result["temp_pins"] = {kind: value.hex() for kind, value in temp.items()}


def issuance(order: Order, fx: FlowContext) -> Script:
    """First issuance, seed 004 p.15 (with the p.16 decisions and p.17 PIN setting); ``renew`` replaces
    this SE's own certificates (更新・再発行, p.20). The GP-SE design generates the keys on the chip and
    checks H[R] against the S of the card-signed application (⑰-⑲); the SIM design generates them at J-LIS
    and delivers them encrypted for this SE (seed 000 §4(1) ⑤⑮, seed 001 §5(1))."""
    applicant = order.applicant
    assert applicant is not None
    conv = applet(fx)
    yield from conv.open()
    se_id = yield from read_se_id(conv)  # steps ⑥⑦
    order.result["se_id"] = se_id
    live = fx.backend("phone_certificates", applicant.serial, True)  # steps ⑧⑨
    old_ses = sorted({c.se_id for c in live if c.se_id != se_id})
    if old_ses and not order.confirm_revoke_old:  # steps ⑬⑭: the user confirms the revocation first
        raise FlowError("confirmation-needed", f"card has live phone certificates on SE(s) {old_ses}")
    same = [c.serial for c in live if c.se_id == se_id and c.kind in order.kinds]
    if same and order.operation != "renew":
        # refused before any key generation, so the SE keeps its working keys (seed 004 p.4)
        raise FlowError("double-issuance", f"this SE already holds live phone certificates {same}")
    if order.operation == "renew":
        order.result["revoked"] = fx.backend("revoke_se", applicant.serial, se_id, "renewal")
    for old in old_ses:  # device change, loss, theft: revoke the old device, then delete remotely (p.16 ⑮⑯)
        order.result.setdefault("revoked", []).extend(
            fx.backend("revoke_se", applicant.serial, old, "device-change")
        )
        fx.act("request_remote_deletion", old)
    if fx.tsm.options.key_generation == "off-card":
        certificates = yield from _deliver_keys(conv, fx, order, se_id)
    else:
        certificates = yield from _generate_keys(conv, fx, order, se_id)
    order.result["certificates"] = {k: c.serial for k, c in certificates.items()}
    writes = [c for kind in order.kinds for c in se.put_certificate(_slot(kind), certificates[kind].der)]
    yield from conv.send(writes)  # steps ㉑㉒
    yield from temp_pin_sequence(conv, fx, order)  # step ㉓, seed 004 p.17
    return order.result


def _generate_keys(conv: SeConversation, fx: FlowContext, order: Order, se_id: str) -> Script:
    """Step ⑰: the key pairs generated on the SE; ⑱-⑳: public key and R taken, H[R] = S checked (S from the
    card-signed application), the certificate issued and the card bound to this SE."""
    applicant = order.applicant
    assert applicant is not None
    generated = yield from conv.send([se.generate_key(_slot(k)) for k in order.kinds])
    certificates = {}
    for kind, answer in zip(order.kinds, generated, strict=True):
        try:
            key = se.parse_generated_key(answer.data)
        except se.SeAnswerError as exc:
            raise FlowError("se-garbage", str(exc)) from None
        certificates[kind] = fx.backend("issue", applicant, se_id, kind, key.public_key, key.r)
    return certificates


def _deliver_keys(conv: SeConversation, fx: FlowContext, order: Order, se_id: str) -> Script:
    """The SIM design: J-LIS generates each key pair and certificate; the TSM wraps the private key under the
    SE's Key-DEK at once (only the wrapped form is journaled) and delivers it in a package naming this SE,
    over SCP03 with C-DECRYPTION."""
    applicant = order.applicant
    assert applicant is not None
    certificates, packages = {}, []
    for kind in order.kinds:
        cert, wrapped = fx.act("issue_and_wrap", applicant, se_id, kind)
        certificates[kind] = cert
        packages += se.put_key_pair(_slot(kind), fx.tsm.key_package(bytes.fromhex(se_id), wrapped))
    order.result["certificates"] = {k: c.serial for k, c in certificates.items()}  # revoked if this fails
    yield from conv.send(packages)
    return certificates


def pin_initialisation(order: Order, fx: FlowContext) -> Script:
    """PIN initialisation (seed 004 p.18): the phone certificates must be valid (⑥) and the SE must be the
    one bound to the card (⑦-⑨); then the temporary-PIN sequence (⑩-㉓)."""
    applicant = order.applicant
    assert applicant is not None
    conv = applet(fx)
    yield from conv.open()
    se_id = yield from read_se_id(conv)
    order.result["se_id"] = se_id
    fx.backend("check_binding", applicant.serial, se_id)
    fx.backend("check_phone_status", applicant.serial, se_id, order.kinds)
    yield from temp_pin_sequence(conv, fx, order)
    return order.result


def revocation_from_phone(order: Order, fx: FlowContext) -> Script:
    """Revocation requested from the phone alone (no card; seed 004 pp.4, 22 対策2-1/2-2, 23): the SE proves
    itself over SCP03; its certificates are revoked and its keys deleted in the same session."""
    conv = applet(fx)
    yield from conv.open()
    se_id = yield from read_se_id(conv)
    order.result["se_id"] = se_id
    order.result["revoked"] = fx.backend("revoke_all_on_se", se_id, "revoked-from-phone")
    yield from conv.send([se.delete_keys()])
    order.result["deleted"] = True
    return order.result


def deletion(order: Order, fx: FlowContext) -> Script:
    """Remote deletion of keys and certificates on an old device after revocation (seed 004 p.25 ④-⑥)."""
    conv = applet(fx)
    yield from conv.open()
    se_id = yield from read_se_id(conv)
    if order.se_id is not None and se_id != order.se_id:
        raise FlowError("se-not-bound", f"deletion is for SE {order.se_id}, this is {se_id}")
    yield from conv.send([se.delete_keys()])
    order.result.update(se_id=se_id, deleted=True)
    return order.result


# -- the SEI-TSM (the MNO-TSM of the SIM design) ---------------------------------------------------------


def isd(fx: FlowContext) -> SeConversation:
    s = fx.sei
    return SeConversation(fx, s.isd_aid, s.isd_keys, s.isd_aid, s.level)


def aram(fx: FlowContext) -> SeConversation:
    s = fx.sei
    return SeConversation(fx, s.aram_aid, s.isd_keys, s.isd_aid, s.level)


def _install(p1: int, data: InstallForInstall) -> CommandApdu:
    return CommandApdu(0x80, INS_INSTALL, p1, 0x00, data.to_bytes(), ne=256)


def install_for_extradition(sd_aid: bytes, app_aid: bytes) -> CommandApdu:
    """INSTALL [for extradition] (GPCS §11.5.2.3.3): associate ``app_aid`` with the SD ``sd_aid``."""
    data = bytes((len(sd_aid),)) + sd_aid + b"\x00" + bytes((len(app_aid),)) + app_aid + b"\x00\x00"
    return CommandApdu(0x80, INS_INSTALL, 0x10, 0x00, data, ne=256)


def gp_delete(aid: bytes, related: bool = False) -> CommandApdu:
    """DELETE [card content] (GPCS §11.2): P2 80 deletes the object and its related objects."""
    return CommandApdu(0x80, INS_DELETE, 0x00, 0x80 if related else 0x00, Tlv(0x4F, aid).encode(), ne=256)


def store_rules(rules: list[seac.Rule]) -> CommandApdu:
    """STORE DATA to the ARA-M: Command-Store-REF-AR-DO (F0) with the rules."""
    body = b"".join(r.encode() for r in rules)
    return CommandApdu(0x80, INS_STORE_DATA, 0x90, 0x00, Tlv(seac.T_CMD_STORE, body).encode())


def delete_rules(aid: bytes) -> CommandApdu:
    """STORE DATA to the ARA-M: Command-Delete (F1) of every rule of the application ``aid``."""
    return CommandApdu(
        0x80, INS_STORE_DATA, 0x90, 0x00, Tlv(seac.T_CMD_DELETE, Tlv(seac.T_AID, aid).encode()).encode()
    )


def sei_installation(order: Order, fx: FlowContext) -> Script:
    """Seed 004 p.11, p.13 ②, p.19 ③④ (and seed 001 §5(1): the MNO-TSM downloads the applet into the SP
    area): residual content of an earlier user removed; the APSD created with the Security Domain privilege
    and given the SP's key set; the JPKI applet installed and associated with the APSD; the access rules of
    the app certificate hashes the SP registered stored in the ARA-M."""
    s = fx.sei
    conv = isd(fx)
    yield from conv.open()
    yield from conv.send([gp_delete(s.apsd_aid, related=True)], allow=frozenset({REFERENCED_DATA_NOT_FOUND}))
    privileges = PRIV_SECURITY_DOMAIN.to_bytes(3, "big")
    commands = [
        _install(0x0C, InstallForInstall(s.sd_elf, s.sd_module, s.apsd_aid, privileges, b"\xc9\x00")),
        _install(0x20, InstallForInstall(application_aid=s.apsd_aid)),
        put_key_command(s.apsd_keys, s.isd_keys.dek),
        _install(0x0C, InstallForInstall(s.jpki_elf, s.jpki_module, s.jpki_aid, b"\x00", b"\xc9\x00")),
        install_for_extradition(s.apsd_aid, s.jpki_aid),
    ]
    yield from conv.send(commands)
    order.result["installed"] = [s.apsd_aid.hex().upper(), s.jpki_aid.hex().upper()]
    hashes = fx.act("registered_hashes", s.jpki_aid)
    rules = [seac.Rule(seac.RefDo(s.jpki_aid, h), seac.ArDo("always", True)) for h in hashes]
    rules_conv = aram(fx)
    yield from rules_conv.open()
    yield from rules_conv.send([delete_rules(s.jpki_aid)], allow=frozenset({REFERENCED_DATA_NOT_FOUND}))
    if rules:
        yield from rules_conv.send([store_rules(rules)])
    order.result["rules"] = [h.hex().upper() for h in hashes]
    return order.result


def sei_applet_deletion(order: Order, fx: FlowContext) -> Script:
    """Seed 004 p.25: deleting the applet with the keys and certificates is done by the SEI-TSM: GP DELETE
    of the JPKI applet through the ISD, and its access rules."""
    s = fx.sei
    conv = isd(fx)
    yield from conv.open()
    yield from conv.send([gp_delete(s.jpki_aid)], allow=frozenset({REFERENCED_DATA_NOT_FOUND}))
    rules_conv = aram(fx)
    yield from rules_conv.open()
    yield from rules_conv.send([delete_rules(s.jpki_aid)], allow=frozenset({REFERENCED_DATA_NOT_FOUND}))
    order.result["deleted"] = [s.jpki_aid.hex().upper()]
    return order.result


def sei_factory_reset(order: Order, fx: FlowContext) -> Script:
    """Seed 004 p.26 ②-⑤: the maker's server asks the SEI-TSM, which authenticates to the GP-SE and deletes
    the SP content: the APSD with its applet, and the access rules."""
    s = fx.sei
    conv = isd(fx)
    yield from conv.open()
    yield from conv.send([gp_delete(s.apsd_aid, related=True)], allow=frozenset({REFERENCED_DATA_NOT_FOUND}))
    rules_conv = aram(fx)
    yield from rules_conv.open()
    yield from rules_conv.send([delete_rules(s.jpki_aid)], allow=frozenset({REFERENCED_DATA_NOT_FOUND}))
    order.result["deleted"] = [s.apsd_aid.hex().upper(), s.jpki_aid.hex().upper()]
    return order.result


FlowFn = Callable[[Order, FlowContext], Script]
FLOWS: dict[str, FlowFn] = {
    "issue": issuance,
    "renew": issuance,
    "pin-init": pin_initialisation,
    "revoke": revocation_from_phone,
    "delete": deletion,
    "install": sei_installation,
    "delete-applet": sei_applet_deletion,
    "factory-reset": sei_factory_reset,
}
#: Operations whose order carries the card-signed application (seed 004 p.15 ②, p.18 ④, p.20, p.23 ②).
CARD_OPERATIONS = ("issue", "renew", "pin-init", "release", "revoke-all", "access-code")
#: Operations done at once, without an Amendment B session.
NO_SESSION = ("release", "revoke-all", "access-code")


def wrap_key(key: Any, dek: bytes) -> bytes:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return se.wrap_private_key(dek, der)


__all__ = ["CARD_OPERATIONS", "FLOWS", "BackendError", "FlowError", "Order", "SeTarget", "SeiTarget"]
