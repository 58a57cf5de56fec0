"""Host-side GlobalPlatform helpers for the conformance tests: key sets from the profile (IXIT secrets), an
SCP03 session over the test's traced card, and the card content management commands (GPCS §11)."""

from __future__ import annotations

from dataclasses import dataclass

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.profile_sections import GpClaims, GpIxit
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp.layouts import InstallForInstall, InstallForLoad, StatusEntry
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode
from jpkikit.vocab.scp03 import Mode, StaticKeys

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


def get_status(layer: Scp03Layer, p1: int, prefix: bytes = b"") -> list[StatusEntry]:
    """GET STATUS in the tag-list format (P2=02, then 03 while 6310); the entries of Table 11-36."""
    entries: list[StatusEntry] = []
    p2 = 0x02
    while True:
        r = layer.send(CommandApdu(0x80, 0xF2, p1, p2, Tlv(0x4F, prefix).encode(), ne=256))
        if r.sw == 0x6A88 and not entries:
            return []
        assert r.sw in (0x9000, 0x6310), f"GET STATUS P1={p1:02X} answered {r}"
        for item in decode(r.data):
            assert item.tag == 0xE3, f"GET STATUS entry with tag {item.tag:X}, E3 expected (GPCS §11.4.3.1)"
        entries.extend(StatusEntry.parse_all(r.data))
        if r.sw == 0x9000:
            return entries
        p2 = 0x03


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


def package_to_load(profile: Profile) -> tuple[bytes, bytes, bytes]:
    """ELF AID, module AID and the Load File to LOAD (ixit.gp.test_package)."""
    pkg = gp_ixit(profile).test_package
    if pkg is None:
        raise ProfileError(
            str(profile.path), "ixit.gp.test_package", "ics.gp.load claims LOAD; give the package"
        )
    return pkg.elf, pkg.module, profile.resource(pkg.load_file)
