"""Card content management by the ISD: GET STATUS (§11.4), INSTALL (§11.5), LOAD (§11.6), DELETE (§11.2),
SET STATUS (§11.10) and STORE DATA (§11.11) of GPCS v2.3.1, with the life-cycle rules of §5.

GP registry data the runtime's registry does not hold (privileges, ELF, module, associated SD) lives in the
ISD's persistent ``apps``; loaded ELFs in ``elfs``. An application's life cycle is its ``RegistryEntry``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jpkikit.errors import ApduError, TlvError
from jpkikit.reference.emulator.applet import Context, reply
from jpkikit.reference.emulator.gp.chaining import INSTALL_CHAIN, chained_data
from jpkikit.reference.emulator.gp.packages import PACKAGES, package_image
from jpkikit.reference.emulator.gp.recognition import present_kids
from jpkikit.reference.emulator.runtime import RegistryEntry
from jpkikit.vocab.gp.constants import (
    CARD_TRANSITIONS,
    INS_DELETE,
    INS_INSTALL,
    INS_LOAD,
    INS_SET_STATUS,
    INSTALLED,
    ISD_PRIVILEGES,
    LOADED,
    LOCKED_BIT,
    PRIV_CARD_RESET,
    PRIV_SECURITY_DOMAIN,
    SELECTABLE,
    T_KEY_IDENTIFIER,
    T_KEY_VERSION,
    T_SEARCH_AID,
    T_TAG_LIST,
)
from jpkikit.vocab.gp.layouts import (
    InstallForInstall,
    InstallForLoad,
    StatusEntry,
    decode_tag_list,
    load_file_data_block,
)
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.iso7816.tlv import Tlv, decode

if TYPE_CHECKING:
    from jpkikit.reference.emulator.gp.security_domain import IssuerSecurityDomain, SecurityDomain

PERSO_TARGET = "perso_target"  # ctx.session key: AID hex after INSTALL [for personalization]
PERSO_BLOCK = "perso_block"  # ctx.session key: the STORE DATA block number expected next (§11.11.2.2)
LOAD_STATE = "load"  # ctx.session key: {elf, next_block, buffer}


def _aid(value: bytes) -> str:
    return value.hex().upper()


# -- GET STATUS (§11.4) --------------------------------------------------------------------------------------


def _privileges(value: Any) -> bytes:
    """C5: the three privilege bytes (Tables 11-7 to 11-9) of an int or a hex string."""
    return int(value, 16).to_bytes(3, "big") if isinstance(value, str) else int(value).to_bytes(3, "big")


def status_entries(sd: SecurityDomain, ctx: Context, p1: int) -> list[StatusEntry]:
    """The GP Registry entries GET STATUS P1 asks for (Table 11-36): 80 the ISD, 40 applications and SDs,
    20 load files, 10 load files with their modules."""
    isd = issuer(ctx)
    card = ctx.card
    out: list[StatusEntry] = []
    if p1 == 0x80:
        out.append(
            StatusEntry(sd.aid if isd is None else isd.aid, card.life_cycle, _privileges(ISD_PRIVILEGES))
        )
    elif p1 == 0x40:
        apps = isd.data["apps"] if isd else {}
        for aid, entry in card.registry.items():
            if isd is not None and aid == isd.aid:
                continue
            meta = apps.get(_aid(aid), {})
            out.append(
                StatusEntry(
                    aid,
                    entry.life_cycle,
                    _privileges(meta.get("privileges", "000000")),
                    elf_aid=bytes.fromhex(meta["elf"]) if meta.get("elf") else None,
                    sd_aid=bytes.fromhex(meta["sd"]) if meta.get("sd") else None,
                )
            )
    elif p1 in (0x20, 0x10):
        for aid_hex, elf in (isd.data["elfs"] if isd else {}).items():
            out.append(
                StatusEntry(
                    bytes.fromhex(aid_hex),
                    LOADED,
                    elf_version=bytes.fromhex(elf.get("version", "0100")),
                    modules=tuple(bytes.fromhex(m) for m in elf["modules"]) if p1 == 0x10 else (),
                    sd_aid=bytes.fromhex(elf.get("sd", _aid(isd.aid) if isd else "")),
                )
            )
    return out


def select_tags(entry: bytes, wanted: tuple[int, ...] | None) -> bytes:
    """An E3 entry reduced to the data objects a tag list names, in the tag list's order (GPCS §11.4.2.2);
    the whole entry without a tag list."""
    if wanted is None:
        return entry
    (e3,) = decode(entry)
    items = decode(e3.value)
    kept = [item.encode() for tag in dict.fromkeys(wanted) for item in items if item.tag == tag]
    return Tlv(0xE3, b"".join(kept)).encode()


def get_status(sd: SecurityDomain, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
    if apdu.p1 not in (0x80, 0x40, 0x20, 0x10) or apdu.p2 not in (0x02, 0x03):
        return reply(SW.INCORRECT_P1P2)  # only the tag-list (TLV) format, P2 b2 = 1
    try:
        criteria = decode(apdu.data)
    except TlvError:
        return reply(SW.WRONG_DATA)
    search = next((t for t in criteria if t.tag == T_SEARCH_AID), None)
    if search is None:
        return reply(SW.WRONG_DATA)
    tag_list = next((t for t in criteria if t.tag == T_TAG_LIST), None)
    try:
        wanted = decode_tag_list(tag_list.value) if tag_list is not None else None
    except TlvError:
        return reply(SW.WRONG_DATA)
    pending: list[bytes] = ctx.session.get("get_status_more", [])
    if apdu.p2 == 0x03:
        if not pending:
            return reply(SW.INCORRECT_P1P2)  # [next] without a preceding [first]
        entries = pending
    else:
        entries = [
            select_tags(e.to_bytes(), wanted)
            for e in status_entries(sd, ctx, apdu.p1)
            if e.aid.startswith(search.value) or apdu.p1 == 0x80
        ]
        if not entries:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
    chunk, size = [], 0
    while entries and size + len(entries[0]) <= 256 - 8 - 16:  # room for an R-MAC and R-ENC padding
        size += len(entries[0])
        chunk.append(entries.pop(0))
    ctx.session["get_status_more"] = entries
    return reply(0x6310 if entries else SW.OK, b"".join(chunk))


# -- STORE DATA (§11.11) -------------------------------------------------------------------------------------


def store_data(sd: SecurityDomain, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
    target = ctx.session.get(PERSO_TARGET)
    last = bool(apdu.p1 & 0x80)
    if target is not None:
        entry = ctx.card.registry.get(bytes.fromhex(target))
        if entry is None:
            ctx.session.pop(PERSO_TARGET, None)
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        if apdu.p2 != ctx.session.get(PERSO_BLOCK, 0):
            return reply(SW.INCORRECT_P1P2)  # blocks numbered 00, 01, ... (GPCS §11.11.2.2)
        plain = CommandApdu(0x80, apdu.ins, apdu.p1, apdu.p2, apdu.data)
        response = entry.applet.process(Context(ctx.card, ctx.channel, {}), plain)
        ctx.session[PERSO_BLOCK] = apdu.p2 + 1
        if last:  # the last block ends the personalization (GPCS §11.5.2.3)
            ctx.session.pop(PERSO_TARGET, None)
            ctx.session.pop(PERSO_BLOCK, None)
        return response
    try:
        items = decode(apdu.data)
    except TlvError:
        return reply(SW.WRONG_DATA)
    for item in items:
        if item.tag == 0x42:
            sd.data["iin"] = item.value.hex()
        elif item.tag == 0x45:
            sd.data["cin"] = item.value.hex()
        else:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
    return reply()


# -- dispatch of the ISD-only commands -----------------------------------------------------------------------


def issuer(ctx: Context) -> IssuerSecurityDomain | None:
    return next((e.applet for e in ctx.card.registry.values() if e.applet.is_issuer), None)  # type: ignore[misc]


def manage(isd: IssuerSecurityDomain, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
    try:
        if apdu.ins == INS_INSTALL:
            return install(isd, ctx, apdu)
        if apdu.ins == INS_LOAD:
            return load(isd, ctx, apdu)
        if apdu.ins == INS_DELETE:
            return delete(isd, ctx, apdu)
        if apdu.ins == INS_SET_STATUS:
            return set_status(isd, ctx, apdu)
    except (ValueError, TlvError, ApduError):  # data that does not follow its layout: 6A80
        return reply(SW.WRONG_DATA)
    return reply(SW.INS_NOT_SUPPORTED)


# -- INSTALL (§11.5) -----------------------------------------------------------------------------------------


def install(isd: IssuerSecurityDomain, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
    try:
        data = chained_data(ctx, INSTALL_CHAIN, apdu)  # P1 b8: more INSTALL commands (GPCS §11.1.5)
    except ApduError:
        return reply(SW.INCORRECT_P1P2)
    if data is None:
        return reply()
    apdu = CommandApdu(apdu.cla, apdu.ins, apdu.p1, apdu.p2, data, apdu.ne)
    if apdu.p1 == 0x02:  # [for load], Table 11-49
        elf = InstallForLoad.parse(apdu.data).load_file_aid
        package = PACKAGES.get(elf)
        if package is None or package.preloaded:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        if _aid(elf) in isd.data["elfs"]:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        ctx.session[LOAD_STATE] = {"elf": _aid(elf), "next": 0, "buffer": ""}
        return reply(SW.OK, b"\x00")
    if apdu.p1 in (0x04, 0x0C):  # [for install] (and make selectable)
        data = InstallForInstall.parse(apdu.data)
        elf, module, aid, privs = data.elf_aid, data.module_aid, data.application_aid, data.privileges
        if len(privs) not in (1, 3) or not 5 <= len(aid) <= 16:
            return reply(SW.WRONG_DATA)
        privileges = int.from_bytes(privs.ljust(3, b"\x00"), "big")
        meta = isd.data["elfs"].get(_aid(elf))
        if meta is None or _aid(module) not in meta["modules"]:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        if aid in ctx.card.registry:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        if privileges & PRIV_CARD_RESET and apdu.p1 != 0x0C:
            return reply(SW.WRONG_DATA)  # Card Reset needs make selectable in the same command (GPCS §11.5)
        type_name = meta["modules"][_aid(module)]
        applet = ctx.card.personality.applet_types[type_name](aid, None)
        ctx.card.registry[aid] = RegistryEntry(applet, SELECTABLE if apdu.p1 == 0x0C else INSTALLED)
        isd.data["apps"][_aid(aid)] = {
            "privileges": f"{privileges:06X}",
            "elf": _aid(elf),
            "module": _aid(module),
            "sd": _aid(isd.aid),
        }
        return reply(SW.OK, b"\x00")
    if apdu.p1 == 0x08:  # [for make selectable]
        aid = InstallForInstall.parse(apdu.data).application_aid
        entry = ctx.card.registry.get(aid)
        if entry is None:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        if entry.life_cycle != INSTALLED:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        entry.life_cycle = SELECTABLE
        return reply(SW.OK, b"\x00")
    if apdu.p1 == 0x10:  # [for extradition] (GPCS §11.5.2.3.4): associate an application with another SD
        fields_ = InstallForInstall.parse(apdu.data)
        target, aid = fields_.elf_aid, fields_.application_aid
        meta = isd.data["apps"].get(_aid(aid))
        sd_meta = isd.data["apps"].get(_aid(target))
        is_sd = target == isd.aid or (
            sd_meta is not None and int(sd_meta.get("privileges", "000000"), 16) & PRIV_SECURITY_DOMAIN
        )
        if meta is None or aid not in ctx.card.registry or not is_sd:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        meta["sd"] = _aid(target)
        return reply(SW.OK, b"\x00")
    if apdu.p1 == 0x20:  # [for personalization]
        aid = InstallForInstall.parse(apdu.data).application_aid
        entry = ctx.card.registry.get(aid)
        if entry is None or aid == isd.aid:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)
        if entry.life_cycle & LOCKED_BIT:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        ctx.session[PERSO_TARGET] = _aid(aid)
        ctx.session[PERSO_BLOCK] = 0
        return reply(SW.OK, b"\x00")
    return reply(SW.INCORRECT_P1P2)


# -- LOAD (§11.6) --------------------------------------------------------------------------------------------


def load(isd: IssuerSecurityDomain, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
    state = ctx.session.get(LOAD_STATE)
    if state is None:
        return reply(SW.CONDITIONS_NOT_SATISFIED)  # no INSTALL [for load] before
    if apdu.p1 not in (0x00, 0x80) or apdu.p2 != state["next"]:
        ctx.session.pop(LOAD_STATE, None)
        return reply(SW.INCORRECT_P1P2)  # block numbers strictly sequential
    state["buffer"] += apdu.data.hex()
    state["next"] += 1
    if apdu.p1 == 0x00:
        return reply()
    ctx.session.pop(LOAD_STATE, None)
    package = PACKAGES[bytes.fromhex(state["elf"])]
    try:
        data_block = load_file_data_block(bytes.fromhex(state["buffer"]))  # C4 BER-length block (§11.6.2.3)
    except ApduError:
        return reply(SW.WRONG_DATA)
    if data_block != package_image(package):
        return reply(SW.WRONG_DATA)
    isd.data["elfs"][state["elf"]] = {
        "modules": {_aid(m): t for m, t in package.modules.items()},
        "version": package.version.hex(),
        "sd": _aid(isd.aid),
    }
    return reply(SW.OK, b"\x00")


# -- DELETE (§11.2) ------------------------------------------------------------------------------------------


def delete(isd: IssuerSecurityDomain, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
    if apdu.p1 & 0x80 or apdu.p2 not in (0x00, 0x80):
        return reply(SW.INCORRECT_P1P2)
    items = decode(apdu.data)
    target = next((t.value for t in items if t.tag == 0x4F), None)
    if target is None:
        return delete_keys(isd, items)
    registry = ctx.card.registry
    if target == isd.aid:
        return reply(SW.CONDITIONS_NOT_SATISFIED)
    if _aid(target) in isd.data["elfs"]:
        dependants = [aid for aid, m in isd.data["apps"].items() if m.get("elf") == _aid(target)]
        if dependants and apdu.p2 != 0x80:
            return reply(SW.CONDITIONS_NOT_SATISFIED)  # instances exist: delete related objects (P2 80)
        for aid in dependants:
            _remove_app(isd, ctx, bytes.fromhex(aid))
        del isd.data["elfs"][_aid(target)]
        return reply(SW.OK, b"\x00")
    if target in registry:
        meta = isd.data["apps"].get(_aid(target), {})
        if int(meta.get("privileges", "000000"), 16) & PRIV_SECURITY_DOMAIN:
            associated = [a for a, m in isd.data["apps"].items() if m.get("sd") == _aid(target)]
            if associated and apdu.p2 != 0x80:
                return reply(SW.CONDITIONS_NOT_SATISFIED)
            for aid in associated:
                _remove_app(isd, ctx, bytes.fromhex(aid))
        _remove_app(isd, ctx, target)
        return reply(SW.OK, b"\x00")
    return reply(SW.REFERENCED_DATA_NOT_FOUND)


def delete_keys(sd: SecurityDomain, items: list[Tlv]) -> ResponseApdu:
    """DELETE [key] (GPCS §11.2.2.3): D2 alone deletes every key of that key version (the key set); D0 with
    D2 deletes one key. D0 alone (every key with that identifier, whatever its version) is not offered."""
    tags = {t.tag: t.value for t in items}
    version, identifier = tags.get(T_KEY_VERSION), tags.get(T_KEY_IDENTIFIER)
    if version is None or len(version) != 1 or (identifier is not None and len(identifier) != 1):
        return reply(SW.WRONG_DATA)
    entry = sd.data["keysets"].get(f"{version[0]:02X}")
    if entry is None:
        return reply(SW.REFERENCED_DATA_NOT_FOUND)
    if identifier is None:
        del sd.data["keysets"][f"{version[0]:02X}"]
        return reply(SW.OK, b"\x00")
    kids = present_kids(entry)
    if identifier[0] not in kids:
        return reply(SW.REFERENCED_DATA_NOT_FOUND)
    left = [k for k in kids if k != identifier[0]]
    if left:
        entry["kids"] = left
    else:
        del sd.data["keysets"][f"{version[0]:02X}"]
    return reply(SW.OK, b"\x00")


def _remove_app(isd: IssuerSecurityDomain, ctx: Context, aid: bytes) -> None:
    entry = ctx.card.registry.pop(aid, None)
    isd.data["apps"].pop(_aid(aid), None)
    if entry is None:
        return
    for channel in ctx.card.channels.values():
        if channel.selected is entry:
            channel.selected = None
            channel.session = {}


# -- SET STATUS (§11.10) -------------------------------------------------------------------------------------


def set_status(isd: IssuerSecurityDomain, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
    card = ctx.card
    if apdu.p1 == 0x80:  # the card (ISD) life cycle, §5.1
        if apdu.p2 not in CARD_TRANSITIONS.get(card.life_cycle, set()):
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        card.life_cycle = apdu.p2
        return reply()
    if apdu.p1 not in (0x40, 0x60):
        return reply(SW.INCORRECT_P1P2)
    entry = card.registry.get(apdu.data)
    if entry is None or apdu.data == isd.aid:
        return reply(SW.REFERENCED_DATA_NOT_FOUND)
    targets = [entry]
    if apdu.p1 == 0x60:
        meta = isd.data["apps"].get(_aid(apdu.data), {})
        if not int(meta.get("privileges", "000000"), 16) & PRIV_SECURITY_DOMAIN:
            return reply(SW.REFERENCED_DATA_NOT_FOUND)  # P1 60 names a security domain
        targets += [
            card.registry[bytes.fromhex(a)]
            for a, m in isd.data["apps"].items()
            if m.get("sd") == _aid(apdu.data) and bytes.fromhex(a) in card.registry
        ]
    lock = bool(apdu.p2 & LOCKED_BIT)
    if lock == bool(entry.life_cycle & LOCKED_BIT):
        return reply(SW.CONDITIONS_NOT_SATISFIED)  # already locked / not locked: no transition (§5.3)
    if not lock and apdu.p2 not in (0x00, entry.life_cycle & 0x7F):
        return reply(SW.WRONG_DATA)  # the ISD only locks and unlocks applications
    for target in targets:
        target.life_cycle = target.life_cycle | LOCKED_BIT if lock else target.life_cycle & 0x7F
    return reply()


def issuance_registry(apps: dict[bytes, tuple[int, bytes | None, bytes | None]]) -> dict[str, Any]:
    """ISD params for the applications a personality installs: AID -> (privileges, ELF, associated SD)."""
    return {
        _aid(aid): {
            "privileges": f"{p:06X}",
            "elf": _aid(elf) if elf else "",
            "module": "",
            "sd": _aid(sd) if sd else "",
        }
        for aid, (p, elf, sd) in apps.items()
    }
