"""A TSM under test in the SE issuer's role (SEI-TSM; the MNO-TSM of the SIM design): it creates the APSD,
installs the JPKI applet and registers the access rules the SP gave it (seed 004 pp.11, 13; seed 001
§5(1)), deletes the applet (p.25) and clears the SE on a factory reset asked by the handset maker's server
(p.26). The kit's SE starts blank (ISD and ARA-M only); the tests read the result back over GlobalPlatform
with the profile's ISD and APSD key sets, not from the emulator's insides."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.harness.seam import provisioning_adapter
from jpkikit.host.card_session import CardSession
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.constants import INS_GET_STATUS, PRIV_SECURITY_DOMAIN, SELECTABLE
from jpkikit.vocab.gp.layouts import StatusEntry
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.tlv import Tlv, decode_one
from jpkikit.vocab.scp03.errors import AuthenticationError

from ..provisioning.support import apsd_keys, isd_keys, level
from .support import Phone, TsmHarness, harness


def _claimed(profile: Profile) -> None:
    if not (profile.ics.tsm and profile.ics.tsm.sei_tsm):
        pytest.skip("ics.tsm.sei_tsm is not claimed")


def _registry(phone: Phone, profile: Profile) -> dict[bytes, StatusEntry]:
    """The GP registry's applications and SDs, by GET STATUS through the ISD."""
    gp = profile.ixit.gp
    assert gp is not None
    se = phone.session
    assert se.select(gp.isd).sw == 0x9000, "SELECT of the ISD failed"
    layer = Scp03Layer(se.tracer, isd_keys(profile), sd_aid=gp.isd)
    layer.open(level(profile))
    r = layer.send(CommandApdu(0x80, INS_GET_STATUS, 0x40, 0x02, Tlv(0x4F, b"").encode(), ne=256))
    layer.end()
    return {e.aid: e for e in StatusEntry.parse_all(r.data)} if r.sw in (0x9000, 0x6310) else {}


def _rules(phone: Phone) -> list[seac.Rule]:
    se = phone.session
    assert se.select(seac.ARAM_AID).sw == 0x9000, "SELECT of the ARA-M failed"
    r = se.send(0x80, 0xCA, 0xFF, 0x40, ne=256)
    if r.sw != 0x9000:
        return []
    outer, _ = decode_one(r.data)
    return seac.decode_rules(outer.value)


@contextmanager
def installed(profile: Profile, tmp_path: Path) -> Iterator[tuple[TsmHarness, Phone, bytes]]:
    """A blank SE after the SEI-TSM's installation order, with one app hash the SP registered."""
    _claimed(profile)
    with harness(profile, tmp_path) as h:
        app_hash = os.urandom(32)
        h.tsm.register_app_hashes(profile.ixit.aids.jpki, [app_hash])
        phone = h.phone(blank=True)
        run = h.run(phone, "install")
        assert run.done, f"installation by the SEI-TSM: the order ended {run.why()}"
        yield h, phone, app_hash


@pytest.mark.requirement("SEI-APSD-01")
def test_the_sei_tsm_creates_the_apsd_with_the_sps_keys(profile: Profile, tmp_path: Path) -> None:
    with installed(profile, tmp_path) as (h, phone, _):
        gp = profile.ixit.gp
        assert gp is not None and gp.apsd is not None
        apsd = _registry(phone, profile).get(gp.apsd)
        assert apsd is not None, "there is no APSD after the installation"
        privileges = int.from_bytes(apsd.privileges or b"\x00\x00\x00", "big")
        assert privileges & PRIV_SECURITY_DOMAIN, (
            "the APSD was installed without the Security Domain privilege"
        )
        se: CardSession = phone.session
        assert se.select(gp.apsd).sw == 0x9000, "SELECT of the APSD failed"
        try:  # seed 004 p.13 ②: the APSD is given the SP's key set, which the SP-TSM then uses
            Scp03Layer(se.tracer, apsd_keys(profile), sd_aid=gp.apsd).open(level(profile))
        except AuthenticationError as exc:
            pytest.fail(f"the APSD does not authenticate with the SP's key set: {exc}")
        low = [
            (where, f"{ins:02X}", lv)
            for where, ins, _, lv in phone.obs.management
            if lv is None or lv & h.required_level != h.required_level
        ]
        assert not low, f"the SEI-TSM sent commands below SCP03 level {h.required_level:02X}: {low}"


@pytest.mark.requirement("SEI-APP-01")
def test_the_sei_tsm_installs_the_applet_for_the_sp(profile: Profile, tmp_path: Path) -> None:
    with installed(profile, tmp_path) as (_h, phone, _):
        gp = profile.ixit.gp
        assert gp is not None
        entry = _registry(phone, profile).get(profile.ixit.aids.jpki)
        assert entry is not None, "there is no JPKI applet after the installation"
        assert entry.life_cycle & 0x07 == SELECTABLE, (
            f"the JPKI applet's life cycle is {entry.life_cycle:02X}"
        )
        assert not entry.life_cycle & 0x80, (  # GPCS §5.3.1: b8 of an application's life cycle is LOCKED
            f"the JPKI applet is locked (life cycle {entry.life_cycle:02X})"
        )
        assert entry.sd_aid == gp.apsd, "the JPKI applet is not associated with the APSD"
        sp = provisioning_adapter(profile, phone.session.tracer, apsd_keys(profile), gp.apsd, level(profile))
        sp.open()
        assert sp.read_se_id() == phone.se_id_bytes, "the SP cannot provision the applet with its own key set"


@pytest.mark.requirement("SEI-ARA-01")
def test_the_sei_tsm_registers_the_access_rules(profile: Profile, tmp_path: Path) -> None:
    with installed(profile, tmp_path) as (_h, phone, app_hash):
        jpki = profile.ixit.aids.jpki
        rules = [r for r in _rules(phone) if r.ref.aid == jpki]
        hashes = {r.ref.hash for r in rules}
        assert app_hash in hashes, "the ARA-M has no rule for the app certificate hash the SP registered"
        assert b"" not in hashes, "an ARA-M rule lets every app reach the JPKI applet (no certificate hash)"
        assert hashes == {app_hash}, "the ARA-M lets apps the SP did not register reach the JPKI applet"
        allowed = [r for r in rules if r.ref.hash == app_hash]
        assert all(r.ar.apdu == "always" for r in allowed), "the registered app is not allowed every APDU"


@pytest.mark.requirement("SEI-DEL-01")
def test_the_sei_tsm_deletes_the_applet(profile: Profile, tmp_path: Path) -> None:
    with installed(profile, tmp_path) as (h, phone, _):
        run = h.run(phone, "delete-applet")
        assert run.done, f"applet deletion by the SEI-TSM: the order ended {run.why()}"
        jpki = profile.ixit.aids.jpki
        assert jpki not in _registry(phone, profile), "the JPKI applet is still in the GP registry"
        assert phone.session.select(jpki).sw != 0x9000, "the deleted JPKI applet can still be selected"
        assert not [r for r in _rules(phone) if r.ref.aid == jpki], "the deleted applet's access rules stay"


@pytest.mark.requirement("SEI-RST-01")
def test_factory_reset_through_the_makers_server_clears_the_se(profile: Profile, tmp_path: Path) -> None:
    with installed(profile, tmp_path) as (h, phone, _):
        run = h.run(phone, "factory-reset")  # the maker's server, asked by the phone being reset (p.26 ②③)
        assert run.done, f"factory reset through the SEI-TSM: the order ended {run.why()}"
        gp = profile.ixit.gp
        assert gp is not None
        registry = _registry(phone, profile)
        assert profile.ixit.aids.jpki not in registry, "the JPKI applet survived the factory reset"
        assert gp.apsd not in registry, "the APSD survived the factory reset"
        assert not [r for r in _rules(phone) if r.ref.aid == profile.ixit.aids.jpki], "access rules survived"
        again = h.run(phone, "install")
        assert again.done, f"installation after the factory reset: {again.why()}"
