"""Executable Load Files the emulator knows. There is no Java Card VM: an applet is a Python class
(``APPLET_TYPES``); a load file is a package AID with module AIDs, each naming an applet type. LOAD accepts a
Load File whose Load File Data Block (tag C4, GPCS §11.6.2.3) is exactly :func:`package_image` of a package
in :data:`PACKAGES` (the emulator's stand-in for a CAP file)."""

from __future__ import annotations

from dataclasses import dataclass

from jpkikit.vocab.iso7816.tlv import Tlv


@dataclass(frozen=True)
class Package:
    aid: bytes
    version: bytes  # 2 bytes, major minor (GET STATUS tag CE)
    modules: dict[bytes, str]  # module AID -> applet type name
    preloaded: bool = False  # present at issuance (in ROM), not loadable


def _pkg(aid: str, modules: dict[str, str], preloaded: bool = False) -> Package:
    return Package(
        bytes.fromhex(aid), b"\x01\x00", {bytes.fromhex(k): v for k, v in modules.items()}, preloaded
    )


JPKI_PACKAGE = _pkg("D392F0002601", {"D392F000260100000001": "jpki-phone"}, preloaded=True)
SD_PACKAGE = _pkg("A0000001515350", {"A000000151535041": "gp-sd"}, preloaded=True)
TEST_PACKAGE = _pkg("F04A504B494B495400", {"F04A504B494B49540001": "gp-test"})

PACKAGES: dict[bytes, Package] = {p.aid: p for p in (JPKI_PACKAGE, SD_PACKAGE, TEST_PACKAGE)}


def package_image(package: Package) -> bytes:
    """The Load File Data Block content the emulator accepts for ``package``."""
    body = Tlv(0x4F, package.aid).encode() + b"".join(Tlv(0x84, m).encode() for m in package.modules)
    return b"JPKIKIT-PKG/1" + body


def load_file(package: Package) -> bytes:
    """The whole Load File (no DAP block): C4 BER-len image (GPCS §11.6.2.3)."""
    return Tlv(0xC4, package_image(package)).encode()
