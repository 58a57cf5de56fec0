"""Host-side GlobalPlatform helpers for the conformance tests: key sets from the profile (IXIT secrets), an
SCP03 session over the test's traced card, and the card content management commands (GPCS §11)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.profile_sections import GpClaims, GpIxit
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp.constants import P1_MORE, T_KEY_IDENTIFIER, T_KEY_VERSION, T_SEARCH_AID, T_TAG_LIST
from jpkikit.vocab.gp.layouts import InstallForInstall, InstallForLoad, StatusEntry, encode_tag_list
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode
from jpkikit.vocab.scp03 import AuthenticationError, Mode, StaticKeys
from jpkikit.vocab.scp03.levels import I_S16

LEVELS = ("01", "03", "11", "13", "33")


@dataclass(frozen=True)
class KeySet:
    """One of the profile's SCP03 key sets with its keys (ixit.gp.keysets, values from ixit.secrets)."""

    sd: str
    kvn: int
    length: int
    keys: StaticKeys


def gp_ixit(profile: Profile) -> GpIxit:
    if profile.ixit.gp is None:
        raise ProfileError(str(profile.path), "ixit.gp", "the profile claims ics.gp but gives no ixit.gp")
    return profile.ixit.gp


def gp_ics(profile: Profile) -> GpClaims:
    if profile.ics.gp is None:
        raise ProfileError(str(profile.path), "ics.gp", "not given")
    return profile.ics.gp


def sd_aid(profile: Profile, sd: str = "isd") -> bytes:
    aid = gp_ixit(profile).sd_aid(sd)
    if aid is None:
        raise ProfileError(str(profile.path), f"ixit.gp.{sd}", "not given")
    return aid


def keysets(profile: Profile, sd: str = "isd") -> list[KeySet]:
    return [KeySet(ks.sd, ks.kvn, ks.length, profile.keys(ks)) for ks in gp_ixit(profile).keysets_of(sd)]


def keyset(profile: Profile, length: int | None = None, sd: str = "isd") -> KeySet:
    exhaustion = gp_ixit(profile).exhaustion_kvn
    for ks in keysets(profile, sd):
        if (length is None or ks.length == length) and ks.kvn != exhaustion:
            return ks
    where = f"ixit.gp.keysets ({sd}, {length or 'any'} bytes)"
    raise ProfileError(str(profile.path), where, "no such key set although ics.gp claims it")


def modes(profile: Profile) -> list[Mode]:
    gp = gp_ics(profile)
    return [m for m, flag in ((Mode.S8, gp.s8), (Mode.S16, gp.s16)) if flag]


def claimed_i(profile: Profile, mode: Mode) -> int:
    """The i parameter INITIALIZE UPDATE must answer in ``mode``: ics.gp.i (the S8 value), with b1 set in
    S16 (docs/spec/globalplatform.md#the-i-parameter)."""
    i = gp_ics(profile).i
    if i is None:
        raise ProfileError(str(profile.path), "ics.gp.i", "missing although ics.gp.scp03 is claimed")
    return (int(i) & ~I_S16) | (I_S16 if mode is Mode.S16 else 0)


def select_sd(card: CardSession, profile: Profile, sd: str = "isd") -> ResponseApdu:
    return card.select(sd_aid(profile, sd))


def scp(card: CardSession, profile: Profile, ks: KeySet | None = None, sd: str = "isd") -> Scp03Layer:
    """A (not yet opened) SCP03 layer on the traced link of ``card``, under GET RESPONSE handling."""
    ks = ks or keyset(profile, sd=sd)
    return Scp03Layer(card.tracer, ks.keys, sd_aid=sd_aid(profile, sd))


def open_session(
    card: CardSession, profile: Profile, level: int = 0x01, mode: Mode = Mode.S8, sd: str = "isd"
) -> Scp03Layer:
    r = select_sd(card, profile, sd)
    assert r.sw in (0x9000, 0x6283), f"SELECT of the {sd.upper()} answered {r}"  # 6283: card locked (§11.9)
    layer = scp(card, profile, sd=sd)
    layer.open(level, mode=mode)
    return layer


# -- card content management commands (GPCS §11) ------------------------------------------------------------


def get_status_raw(
    layer: Scp03Layer, p1: int, prefix: bytes = b"", tags: tuple[int, ...] | None = None
) -> list[Tlv]:
    """GET STATUS in the TLV format (P2=02, then 03 while 6310, GPCS §11.4.2.1): the E3 entries as sent.
    ``tags`` adds a tag list (5C, §11.4.2.2) after the search criteria."""
    data = Tlv(T_SEARCH_AID, prefix).encode()
    if tags is not None:
        data += Tlv(T_TAG_LIST, encode_tag_list(tags)).encode()
    entries: list[Tlv] = []
    p2 = 0x02
    while True:
        r = layer.send(CommandApdu(0x80, 0xF2, p1, p2, data, ne=256))
        if r.sw == 0x6A88 and not entries:
            return []
        assert r.sw in (0x9000, 0x6310), f"GET STATUS P1={p1:02X} answered {r}"
        for item in decode(r.data):
            assert item.tag == 0xE3, f"GET STATUS entry with tag {item.tag:X}, E3 expected (GPCS §11.4.3.1)"
            entries.append(item)
        if r.sw == 0x9000:
            return entries
        p2 = 0x03


def get_status(layer: Scp03Layer, p1: int, prefix: bytes = b"") -> list[StatusEntry]:
    """GET STATUS in the TLV format; the entries of Table 11-36 (a malformed entry is a TlvDecodeError)."""
    return [StatusEntry.parse(e.encode()) for e in get_status_raw(layer, p1, prefix)]


def status_of(layer: Scp03Layer, aid: bytes, p1: int = 0x40) -> int | None:
    """Life cycle of ``aid`` from GET STATUS, None when not listed."""
    for e in get_status(layer, p1):
        if e.aid == aid:
            return e.life_cycle
    return None


def install_for_load(elf: bytes, sd: bytes = b"") -> CommandApdu:
    """INSTALL [for load] (GPCS Table 11-49): no hash, no load parameters, no token."""
    return CommandApdu(0x80, 0xE6, 0x02, 0x00, InstallForLoad(elf, sd).to_bytes(), ne=256)


def load_blocks(load_file: bytes, size: int = 200) -> list[CommandApdu]:
    """The Load File (C4 Load File Data Block, §11.6.2.3) cut into LOAD commands of ``size`` bytes, P2 the
    block number, P1 80 on the last block (§11.6.2.1)."""
    blocks = [load_file[i : i + size] for i in range(0, len(load_file), size)]
    return [
        CommandApdu(0x80, 0xE8, 0x80 if n == len(blocks) - 1 else 0x00, n, block, ne=256)
        for n, block in enumerate(blocks)
    ]


def install_for_install(elf: bytes, module: bytes, aid: bytes, selectable: bool = True) -> CommandApdu:
    """INSTALL [for install] (and make selectable): no privileges, empty C9 install parameters, no token."""
    data = InstallForInstall(elf, module, aid, b"\x00", Tlv(0xC9, b"").encode()).to_bytes()
    return CommandApdu(0x80, 0xE6, 0x0C if selectable else 0x04, 0x00, data, ne=256)


def install_make_selectable(aid: bytes) -> CommandApdu:
    """INSTALL [for make selectable]: only the application AID and (no) privileges."""
    data = InstallForInstall(application_aid=aid, privileges=b"\x00").to_bytes()
    return CommandApdu(0x80, 0xE6, 0x08, 0x00, data, ne=256)


def install_for_personalization(aid: bytes) -> CommandApdu:
    """INSTALL [for personalization]: only the application AID."""
    return CommandApdu(0x80, 0xE6, 0x20, 0x00, InstallForInstall(application_aid=aid).to_bytes(), ne=256)


def delete(aid: bytes, related: bool = False) -> CommandApdu:
    return CommandApdu(0x80, 0xE4, 0x00, 0x80 if related else 0x00, Tlv(0x4F, aid).encode(), ne=256)


def set_status(p1: int, p2: int, aid: bytes = b"") -> CommandApdu:
    return CommandApdu(0x80, 0xF0, p1, p2, aid)


def delete_key(kvn: int, kid: int | None = None) -> CommandApdu:
    """DELETE [key] (GPCS §11.2.2.3): D2 the key version number alone (the whole key set), or D0 the key
    identifier with it (one key)."""
    data = (Tlv(T_KEY_IDENTIFIER, bytes((kid,))).encode() if kid is not None else b"") + Tlv(
        T_KEY_VERSION, bytes((kvn,))
    ).encode()
    return CommandApdu(0x80, 0xE4, 0x00, 0x00, data, ne=256)


def chained(command: CommandApdu, cut: int) -> list[CommandApdu]:
    """``command`` as a GP command chain of two (GPCS §11.1.5): the first ``cut`` data bytes with P1 b8
    ("more commands") set, then the rest with the command's own P1; the same P2 in both."""
    head, tail = command.data[:cut], command.data[cut:]
    more = CommandApdu(command.cla, command.ins, command.p1 | P1_MORE, command.p2, head, ne=command.ne)
    return [more, CommandApdu(command.cla, command.ins, command.p1, command.p2, tail, ne=command.ne)]


def key_information(layer: Scp03Layer | CardSession) -> list[tuple[int, int, int, int]]:
    """GET DATA E0 (GPCS §11.3.3.1.1): (KID, KVN, type, length) of every C0 entry, basic format."""
    command = CommandApdu(0x80, 0xCA, 0x00, 0xE0, ne=256)
    r = layer.send(command) if isinstance(layer, Scp03Layer) else layer.transmit(command)
    assert r.sw == 0x9000, f"GET DATA E0 (key information) answered {r}"
    (template,) = decode(r.data)
    assert template.tag == 0xE0, f"GET DATA E0 answered a {template.tag:X} template, E0 expected"
    out = []
    for entry in decode(template.value):
        assert entry.tag == 0xC0 and len(entry.value) >= 4, (
            f"key information entry {entry.encode().hex().upper()} is not C0 {{KID KVN type length}}"
        )
        out.append((entry.value[0], entry.value[1], entry.value[2], entry.value[3]))
    return out


def package_to_load(profile: Profile) -> tuple[bytes, bytes, bytes]:
    """ELF AID, module AID and the Load File to LOAD (ixit.gp.test_package)."""
    pkg = gp_ixit(profile).test_package
    if pkg is None:
        raise ProfileError(
            str(profile.path), "ixit.gp.test_package", "ics.gp.load claims LOAD; give the package"
        )
    return pkg.elf, pkg.module, profile.resource(pkg.load_file)


# -- the kit's test package and its application -----------------------------------------------------------

#: STORE DATA P1 (GPCS Table 11-89): b8 last block, b5-b4 = 10 BER-TLV data.
STORE_LAST, STORE_MORE = 0x90, 0x10


def instance_aid(module: bytes) -> bytes:
    """The AID the tests install the test package's module under."""
    return module + b"\x01"


def remove_test_package(layer: Scp03Layer, elf: bytes) -> None:
    """Remove what an earlier (failed) run may have left: the test load file and its applications."""
    layer.send(delete(elf, related=True))


def load_test_package(layer: Scp03Layer, profile: Profile) -> tuple[bytes, bytes]:
    """INSTALL [for load] and LOAD of ixit.gp.test_package; returns its ELF and module AIDs."""
    elf, module, load_file = package_to_load(profile)
    remove_test_package(layer, elf)
    r = layer.send(install_for_load(elf))
    assert r.sw == 0x9000, f"INSTALL [for load] answered {r}"
    for block in load_blocks(load_file):
        r = layer.send(block)
        assert r.sw == 0x9000, f"LOAD block {block.p2} answered {r}"
    return elf, module


def store_data(item: bytes, block: int = 0, last: bool = True) -> CommandApdu:
    return CommandApdu(0x80, 0xE2, STORE_LAST if last else STORE_MORE, block, item)


def app_data(card: CardSession, aid: bytes, tag: int, ne: int = 256) -> bytes | None:
    """What the test application returns for ``tag`` (GET DATA), None when it holds nothing."""
    assert card.select(aid).sw == 0x9000, "the test application cannot be selected"
    r = card.send(0x80, 0xCA, tag >> 8, tag & 0xFF, ne=ne)
    return r.data if r.sw == 0x9000 else None


# -- key sets of the tests' own ---------------------------------------------------------------------------


def free_kvns(profile: Profile, count: int) -> list[int]:
    """Key version numbers no key set of the profile uses, for key sets a test adds and deletes again."""
    held = {int(k.kvn) for k in gp_ixit(profile).keysets}
    return [k for k in range(0x70, 0x7F) if k not in held][:count]


def new_keys(length: int, kvn: int) -> StaticKeys:
    """A key set of fresh random keys: the test's own, never the profile's."""
    return StaticKeys(os.urandom(length), os.urandom(length), os.urandom(length), kvn)


def opens(card: CardSession, profile: Profile, keys: StaticKeys, mode: Mode) -> bool:
    """Whether ``keys`` open a session with the ISD."""
    assert select_sd(card, profile).ok
    try:
        Scp03Layer(card.tracer, keys, sd_aid=sd_aid(profile)).open(0x01, kvn=keys.kvn, mode=mode)
    except AuthenticationError:
        return False
    return True
