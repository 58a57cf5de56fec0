"""Card content management through the ISD in an SCP03 session (GPCS v2.3.1 §11;
docs/spec/globalplatform.md#card-content-management)."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode

from . import gp
from .gp import modes, open_session


def _session(card: CardSession, profile: Profile) -> Scp03Layer:
    return open_session(card, profile, 0x01, modes(profile)[0])


def _instance(module: bytes) -> bytes:
    return module + b"\x01"


def _clean(layer: Scp03Layer, elf: bytes) -> None:
    """Remove what an earlier (failed) run may have left: the test load file and its applications."""
    layer.send(gp.delete(elf, related=True))


def _load(layer: Scp03Layer, profile: Profile) -> tuple[bytes, bytes]:
    elf, module, load_file = gp.package_to_load(profile)
    _clean(layer, elf)
    r = layer.send(gp.install_for_load(elf))
    assert r.sw == 0x9000, f"INSTALL [for load] answered {r}"
    for block in gp.load_blocks(load_file):
        r = layer.send(block)
        assert r.sw == 0x9000, f"LOAD block {block.p2} answered {r}"
    return elf, module


@pytest.mark.requirement("GP-DATA-01")
def test_get_data_identifiers(card: CardSession, profile: Profile) -> None:
    assert gp.select_sd(card, profile).ok
    r = card.send(0x80, 0xCA, 0x00, 0x66, ne=256)
    assert r.sw == 0x9000, f"GET DATA 66 answered {r}"
    (crd,) = decode(r.data)
    oids = {t.tag: t.value for t in decode(crd.find(0x73).value if crd.find(0x73) else b"")}
    i = gp.gp_ics(profile).i
    assert 0x64 in oids, "card recognition data has no SCP OID (tag 64)"
    scp_oid = decode(oids[0x64])[0].value
    assert scp_oid[-3:-1] == b"\x04\x03"[-2:] or scp_oid[-2] == 0x03, f"SCP OID {scp_oid.hex()} is not SCP03"
    assert scp_oid[-1] == i, f"SCP OID announces i={scp_oid[-1]:02X}, the ICS claims {i:02X}"
    r = card.send(0x80, 0xCA, 0x00, 0xE0, ne=256)
    assert r.sw == 0x9000, f"GET DATA E0 answered {r}"
    entries = [t.value for t in decode(decode(r.data)[0].value) if t.tag == 0xC0]
    for ks in gp.gp_ixit(profile).keysets_of("isd"):
        mine = [e for e in entries if e[1] == ks.kvn]
        assert {e[0] for e in mine} >= {1, 2, 3}, f"key information lacks KIDs 1-3 of key set {ks.kvn:02X}"
        assert all(e[2] == 0x88 and e[3] == ks.length for e in mine), (
            f"key set {ks.kvn:02X} is not AES-{ks.length * 8}"
        )
    r = card.send(0x80, 0xCA, 0x9F, 0x7F, ne=256)
    assert r.sw == 0x9000, f"GET DATA 9F7F answered {r}"
    (cplc,) = decode(r.data)
    assert cplc.tag == 0x9F7F and len(cplc.value) == 42, f"CPLC is {len(cplc.value)} bytes, 42 expected"


@pytest.mark.requirement("GP-CM-01")
@pytest.mark.effects("content")
def test_load_install_and_make_selectable(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = _load(layer, profile)
    assert any(e.aid == elf for e in gp.get_status(layer, 0x20)), "GET STATUS P1=20 does not list the ELF"
    aid = _instance(module)
    r = layer.send(gp.install_for_install(elf, module, aid, selectable=True))
    assert r.sw == 0x9000, f"INSTALL [for install and make selectable] answered {r}"
    assert gp.status_of(layer, aid) == 0x07, "GET STATUS does not list the new application as SELECTABLE"
    layer.end()
    assert card.select(aid).sw == 0x9000, "the installed application cannot be selected"
    layer = _session(card, profile)
    _clean(layer, elf)


@pytest.mark.requirement("GP-CM-02")
@pytest.mark.effects("content")
def test_install_then_make_selectable(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = _load(layer, profile)
    aid = _instance(module)
    assert layer.send(gp.install_for_install(elf, module, aid, selectable=False)).sw == 0x9000
    assert gp.status_of(layer, aid) == 0x03, (
        "an application installed without make selectable is not INSTALLED"
    )
    layer.end()
    assert card.select(aid).sw != 0x9000, "an INSTALLED (not selectable) application was selected"
    layer = _session(card, profile)
    r = layer.send(gp.install_make_selectable(aid))
    assert r.sw == 0x9000, f"INSTALL [for make selectable] answered {r}"
    assert gp.status_of(layer, aid) == 0x07, "INSTALL [for make selectable] did not make it SELECTABLE"
    layer.end()
    assert card.select(aid).sw == 0x9000
    layer = _session(card, profile)
    _clean(layer, elf)


@pytest.mark.requirement("GP-CM-03")
@pytest.mark.effects("content")
def test_personalization_reaches_application(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = _load(layer, profile)
    aid = _instance(module)
    assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
    r = layer.send(gp.install_for_personalization(aid))
    assert r.sw == 0x9000, f"INSTALL [for personalization] answered {r}"
    item = Tlv(0xDF20, b"JPKI perso").encode()
    r = layer.send(CommandApdu(0x80, 0xE2, 0x90, 0x00, item))
    assert r.sw == 0x9000, f"STORE DATA to the application answered {r}"
    layer.end()
    assert card.select(aid).ok
    r = card.send(0x80, 0xCA, 0xDF, 0x20, ne=256)
    assert r.sw == 0x9000 and r.data == item, f"the application did not receive the STORE DATA ({r})"
    layer = _session(card, profile)
    _clean(layer, elf)


@pytest.mark.requirement("GP-CM-04")
@pytest.mark.effects("content")
def test_delete(card: CardSession, profile: Profile) -> None:
    layer = _session(card, profile)
    elf, module = _load(layer, profile)
    aid = _instance(module)
    assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
    r = layer.send(gp.delete(aid))
    assert r.sw == 0x9000, f"DELETE of the application answered {r}"
    assert gp.status_of(layer, aid) is None, "GET STATUS still lists the deleted application"
    assert layer.send(gp.install_for_install(elf, module, aid)).sw == 0x9000
    r = layer.send(gp.delete(elf))
    assert r.sw != 0x9000, "DELETE of a load file with an instance, without related objects, was accepted"
    assert gp.status_of(layer, aid) == 0x07, "the refused DELETE removed the application"
    r = layer.send(gp.delete(elf, related=True))
    assert r.sw == 0x9000, f"DELETE with related objects answered {r}"
    assert gp.status_of(layer, aid) is None and not any(e.aid == elf for e in gp.get_status(layer, 0x20))
    layer.end()
    assert card.select(aid).sw == 0x6A82, "SELECT of a deleted application must answer 6A82"
