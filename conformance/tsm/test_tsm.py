"""A TSM under test (class tsm) driven through the flows of seed 004 pp.15-26 (docs/spec/system.md) by the kit
playing the admin agent, the SE and the app (conformance/tsm/support.py): what the TSM sends to the SE, and
what it decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from jpkikit.harness.profile import Profile
from jpkikit.vocab.jpki.provisioning import (
    INS_BLOCK_PIN,
    INS_DELETE_KEYS,
    INS_GENERATE_KEY,
    INS_PUT_CERTIFICATE,
    INS_SET_TEMP_PIN,
)
from jpkikit.vocab.jpki.x509profile import check_end_entity

from .support import harness

MIN_TEMP_PIN_BYTES = 8  # a "random" temporary PIN needs room for entropy (seed 004 p.17: up to 16 bytes)
SLOT_KIND = {0x01: "auth", 0x02: "sign"}


def issuer_ca(profile: Profile, kind: str) -> bytes:
    """DER of the CA the TSM issues ``kind`` phone certificates under (ixit.tsm.issuer_cas)."""
    cas = profile.ixit.tsm.issuer_cas if profile.ixit.tsm else None
    if not cas:
        pytest.fail("ixit.tsm.issuer_cas is not given: the issued certificates cannot be checked")
    raw = profile.resource(getattr(cas, kind))
    return x509.load_pem_x509_certificate(raw).public_bytes(Encoding.DER) if raw.startswith(b"-----") else raw


def _done(state: dict[str, Any], what: str) -> None:
    assert state["state"] == "done", f"{what}: the TSM's order ended {state['state']} ({state.get('error')})"


@pytest.mark.requirement("TSM-SCP-01")
def test_every_provisioning_command_under_scp03_at_the_required_level(
    profile: Profile, tmp_path: Path
) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        issued = h.run(phone, "issue")
        h.run(phone, "pin-init")
        assert phone.obs.provisioning, "the TSM sent no provisioning command to the SE"
        low = [
            (f"{ins:02X}", lv)
            for ins, lv in phone.obs.provisioning
            if lv is None or lv & h.required_level != h.required_level
        ]
        assert not low, f"provisioning commands below SCP03 level {h.required_level:02X}: {low}"
        _done(issued, "issuance")


@pytest.mark.requirement("TSM-KEY-01")
def test_no_key_import_and_certificates_for_the_generated_keys(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        state = h.run(phone, "issue")
        assert not phone.obs.unknown, (
            f"the TSM sent commands outside the provisioning set: {phone.obs.unknown}"
        )
        _done(state, "issuance")
        generated = {k.public_numbers() for k in phone.obs.generated}
        own = [(p2, der) for p2, der in phone.obs.certificates if p2 in SLOT_KIND]
        assert own, "the TSM wrote no certificate"
        for p2, der in own:
            cert = x509.load_der_x509_certificate(der)
            key = cert.public_key()
            assert isinstance(key, rsa.RSAPublicKey) and key.public_numbers() in generated, (
                f"the {SLOT_KIND[p2]} certificate is not for a key generated on the SE"
            )
            if profile.ics.jpki.cert_hierarchy == "test":
                problems = check_end_entity(der, issuer_ca(profile, SLOT_KIND[p2]), SLOT_KIND[p2])
                assert not problems, f"{SLOT_KIND[p2]} certificate: {problems}"


@pytest.mark.requirement("TSM-KEY-02")
def test_refuses_an_se_that_lies_about_r(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        liar = h.phone(lie_about_r=True)
        state = h.run(liar, "issue")
        assert not liar.obs.ins_seen(INS_PUT_CERTIFICATE), "the TSM wrote a certificate although H[R] != S"
        assert state["state"] != "done", "the TSM completed issuance although H[R] != S"


@pytest.mark.requirement("TSM-PIN-01")
def test_temporary_pins_are_random_and_never_reused(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        _done(h.run(phone, "issue"), "issuance")
        for _ in range(2):
            _done(h.run(phone, "pin-init"), "PIN initialisation")
        temps = phone.obs.temp_pins
        assert len(temps) >= 3, f"only {len(temps)} temporary PINs were set"
        assert len(set(temps)) == len(temps), "a temporary PIN was set twice"
        assert min(len(t) for t in temps) >= MIN_TEMP_PIN_BYTES, "a temporary PIN is too short to be random"
        sequence = [ins for ins, _ in phone.obs.provisioning if ins in (INS_SET_TEMP_PIN, INS_BLOCK_PIN)]
        assert sequence.count(INS_SET_TEMP_PIN) == sequence.count(INS_BLOCK_PIN), (
            "a temporary PIN not blocked"
        )


@pytest.mark.requirement("TSM-SEID-01")
def test_pin_initialisation_refused_for_an_se_that_is_not_bound(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        bound, other = h.phone(), h.phone()
        _done(h.run(bound, "issue"), "issuance")
        state = h.run(other, "pin-init")
        assert not other.obs.ins_seen(INS_SET_TEMP_PIN), (
            "the TSM set a temporary PIN on an SE not bound to the card"
        )
        assert state["state"] != "done", "PIN initialisation completed on an SE not bound to the card"


@pytest.mark.requirement("TSM-ISS-01")
def test_double_issuance_refused_before_key_generation(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        _done(h.run(phone, "issue"), "first issuance")
        generated = len(phone.obs.generated)
        seen = len(phone.obs.provisioning)
        state = h.run(phone, "issue")
        later = [ins for ins, _ in phone.obs.provisioning[seen:]]
        assert state["state"] != "done", "a second issuance for the same card was completed"
        assert INS_GENERATE_KEY not in later and len(phone.obs.generated) == generated, (
            "the refused second issuance still generated new keys on the SE (the working keys are lost)"
        )


def _auth_serial(phone: Any) -> int:
    der = next(der for p2, der in phone.obs.certificates if p2 == 0x01)
    return x509.load_der_x509_certificate(der).serial_number


@pytest.mark.requirement("TSM-DEV-01")
def test_device_change_revokes_the_old_device(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        old, new = h.phone(), h.phone()
        _done(h.run(old, "issue"), "issuance on the old phone")
        _done(h.run(new, "issue", confirm_revoke_old=True), "issuance on the new phone")
        crl = h.crl("auth")
        assert crl.get_revoked_certificate_by_serial_number(_auth_serial(old)) is not None, (
            "the old phone's certificate is not revoked after the device change"
        )
        assert crl.get_revoked_certificate_by_serial_number(_auth_serial(new)) is None


@pytest.mark.requirement("TSM-DEL-01")
def test_remote_deletion_after_revocation_and_its_failure(profile: Profile, tmp_path: Path) -> None:
    if not (profile.ics.tsm and profile.ics.tsm.remote_deletion):
        pytest.skip("ics.tsm.remote_deletion is not claimed")
    with harness(profile, tmp_path) as h:
        first, second, third = h.phone(), h.phone(), h.phone()
        _done(h.run(first, "issue"), "issuance on the first phone")
        _done(h.run(second, "issue", confirm_revoke_old=True), "device change to the second phone")
        deleted = h.wait_for(lambda: first.obs.ins_seen(INS_DELETE_KEYS) and not first.applet.data["keys"])
        assert deleted, "the TSM did not delete the keys on the revoked phone"
        second.online = False  # push undeliverable: the TSM must record it, not fail the new issuance
        _done(h.run(third, "issue", confirm_revoke_old=True), "device change with the old phone offline")
        recorded = h.wait_for(
            lambda: any(d["se_id"] == second.se_id and d["outcome"] == "not deleted" for d in h.deletions())
        )
        assert recorded, f"no 'not deleted' outcome recorded for the offline phone: {h.deletions()}"
