"""A TSM under test in first issuance and PIN setting (seed 004 pp.15-17; docs/spec/system.md#first-issuance,
#initial-pin-setting): the kit plays the app, the agent and the SE (conformance/tsm/support.py) and checks
what the TSM sends to the SE and what it decides."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from jpkikit.harness.profile import Profile
from jpkikit.host.tsm_driver import application, sign
from jpkikit.vocab.jpki.provisioning import (
    INS_BLOCK_PIN,
    INS_GENERATE_KEY,
    INS_GET_SE_ID,
    INS_PUT_CERTIFICATE,
    INS_PUT_KEY_PAIR,
    INS_SET_TEMP_PIN,
)
from jpkikit.vocab.jpki.x509profile import check_end_entity

from . import randomness
from .support import KINDS, Phone, Run, TestCard, TsmHarness, certificate_serials, harness, now

MIN_TEMP_PIN_BYTES = 8  # a "random" temporary PIN needs room for entropy (seed 004 p.17: up to 16 bytes)
SLOT_KIND = {0x01: "auth", 0x02: "sign"}
CASES = ("expired", "revoked", "foreign", "bad-signature", "replayed", "wrong-operation")


def issuer_ca(profile: Profile, kind: str) -> bytes:
    """DER of the CA the TSM issues ``kind`` phone certificates under (ixit.tsm.issuer_cas)."""
    cas = profile.ixit.tsm.issuer_cas if profile.ixit.tsm else None
    if not cas:
        pytest.fail("ixit.tsm.issuer_cas is not given: the issued certificates cannot be checked")
    raw = profile.resource(getattr(cas, kind))
    return x509.load_pem_x509_certificate(raw).public_bytes(Encoding.DER) if raw.startswith(b"-----") else raw


@pytest.mark.requirement("TSM-SCP-01")
def test_every_provisioning_command_under_scp03_at_the_required_level(
    profile: Profile, tmp_path: Path
) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        issued = h.run(phone, "issue", card)  # the levels first: an SE refuses what comes too low
        h.run(phone, "pin-init", card)
        assert phone.obs.provisioning, "the TSM sent no provisioning command to the SE"
        low = [
            (f"{ins:02X}", lv)
            for ins, lv in phone.obs.provisioning
            if lv is None or lv & h.required_level != h.required_level
        ]
        assert not low, f"provisioning commands below SCP03 level {h.required_level:02X}: {low}"
        assert issued.done, f"issuance: the TSM's order ended {issued.why()}"


@pytest.mark.requirement("TSM-KEY-01")
def test_no_key_import_and_certificates_for_the_generated_keys(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        run = h.run(phone, "issue", h.new_card())  # what the TSM sent first: an SE refuses a key import
        assert not phone.obs.unknown, (
            f"the TSM sent commands outside the provisioning set: {phone.obs.unknown}"
        )
        assert not phone.obs.ins_seen(INS_PUT_KEY_PAIR), (
            "the TSM delivered a private key to an SE whose keys are generated on the chip (seed 004 p.6)"
        )
        generated = {k.public_numbers() for k in phone.obs.generated}
        own = [(p2, der) for p2, der in phone.obs.certificates if p2 in SLOT_KIND]
        assert own, f"the TSM wrote no certificate (its order ended {run.why()})"
        hierarchy = profile.ics.jpki.cert_hierarchy
        for p2, der in own:
            kind = SLOT_KIND[p2]
            key = x509.load_der_x509_certificate(der).public_key()
            assert isinstance(key, rsa.RSAPublicKey) and key.public_numbers() in generated, (
                f"the {kind} certificate is not for a key generated on the SE"
            )
            # whatever the hierarchy (test or production): issued and signed by the CA the profile names
            problems = check_end_entity(der, issuer_ca(profile, kind), kind, hierarchy)
            chain = [p for p in problems if p.startswith(("issuer:", "signature:"))]
            assert not chain, f"the {kind} certificate is not issued by the {hierarchy} {kind} CA: {chain}"
            assert not problems, f"{kind} certificate: {problems}"
        assert run.done, f"issuance: the TSM's order ended {run.why()}"


@pytest.mark.requirement("TSM-KEY-02")
@pytest.mark.parametrize("case", ["lying-se", "stale-commitment", "no-commitment"])
def test_refuses_an_r_that_is_not_the_s_of_the_signed_application(
    profile: Profile, tmp_path: Path, case: str
) -> None:
    with harness(profile, tmp_path) as h:
        card = h.new_card()
        if case == "lying-se":  # the SE answers another R for the sign key (step ⑰)
            phone = h.phone(lie_about_r=("sign",))
            run = h.run(phone, "issue", card)
        elif case == "no-commitment":  # seed 004 p.15 ①②⑲: the SE committed, but no S was signed
            phone = h.phone()
            for kind in KINDS:
                phone.commit(kind)
            run = h.run(phone, "issue", signed=sign(card.der, card.key, application("issue", None)))
        else:  # the app's S is of an earlier commitment: the R the SE holds now is not the signed one
            phone = h.phone()
            first = {kind: phone.commit(kind) for kind in KINDS}
            for kind in KINDS:
                phone.commit(kind)
            run = h.run(phone, "issue", signed=sign(card.der, card.key, application("issue", first)))
        assert not phone.obs.secure_commits, (
            "the TSM sent COMMIT itself: S must come from the signed application"
        )
        assert not phone.obs.ins_seen(INS_PUT_CERTIFICATE), (
            f"the TSM wrote a certificate although H[R] != S ({case})"
        )
        assert not run.done, f"the TSM completed issuance although H[R] != S ({case})"


def _bad_application(h: TsmHarness, case: str, operation: str, phone: Phone, card: TestCard | None) -> tuple:
    """(card, signed application) of one identity-proofing case (seed 004 p.15 ③-⑤, p.18 ④⑤). ``card``: the
    card already issued (PIN initialisation), whose serial the look-alike cards reuse."""
    valid = card or h.new_card()
    if case == "expired":
        old = now() - dt.timedelta(days=1100)
        extra = {"serial": valid.serial} if card else {}
        bad = h.new_card(not_before=old, not_after=now() - dt.timedelta(days=1), **extra)
        return bad, h.application(bad, operation, phone)
    if case == "revoked":
        if card is not None:
            # the card's phone: the cascade's remote deletion (seed 004 p.6) must not reach its SE while
            # the test judges what the TSM does with the application (its writes would be counted here)
            phone.online = False
        h.tsm.revoke_card(valid.der)
        return valid, h.application(valid, operation, phone)
    if case == "foreign":
        bad = h.foreign_card(valid)
        return bad, h.application(bad, operation, phone)
    if case == "bad-signature":
        signed = h.application(valid, operation, phone)
        body = signed.body.replace(b'"nonce": "', b'"nonce": "0', 1)
        return valid, dataclasses.replace(signed, body=body)
    if case == "replayed":
        other = h.phone() if operation == "issue" else phone
        signed = h.application(valid, operation, other)
        first = h.run(other, operation, signed=signed)
        assert first.done, f"the first use of the application: {first.why()}"
        return valid, signed
    wrong = "pin-init" if operation == "issue" else "issue"
    return valid, h.application(valid, wrong, phone)


def _refused(run: Run, phone: Phone, since: int, what: str) -> None:
    writes = phone.writes(since)
    assert not writes, f"{what}: the TSM wrote to the SE ({', '.join(f'{i:02X}' for i in writes)})"
    assert not run.done, f"{what}: the TSM completed the order"


@pytest.mark.requirement("TSM-IDP-01")
@pytest.mark.parametrize("case", CASES)
def test_issuance_refused_without_a_valid_identity(profile: Profile, tmp_path: Path, case: str) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        before = len(phone.obs.provisioning)
        _, signed = _bad_application(h, case, "issue", phone, None)
        run = h.run(phone, "issue", signed=signed, confirm_revoke_old=True)
        _refused(run, phone, before, f"issuance with a {case} application")
        if case == "replayed":
            first = next(p for p in h.phones.values() if p is not phone)
            serial = certificate_serials(first)["auth"]
            assert h.on_crl(serial) is None, "the replayed application revoked the first phone's certificate"


@pytest.mark.requirement("TSM-PIN-01")
def test_temporary_pins_are_random_and_never_reused(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        for _ in range(2):
            run = h.run(phone, "pin-init", card)
            assert run.done, f"PIN initialisation: the TSM's order ended {run.why()}"
        temps = phone.obs.temp_pins
        assert len(temps) >= 6, f"only {len(temps)} temporary PINs were set in three sequences"
        assert len(set(temps)) == len(temps), "a temporary PIN was set twice"
        assert min(len(t) for t in temps) >= MIN_TEMP_PIN_BYTES, "a temporary PIN is too short to be random"
        # NIST SP 800-22 §2.1, §2.3 over every bit collected; every failing test is named (one flaw, such as
        # stretched bits, can fail both, and which one fails first is chance)
        failed = [result for result in randomness.check(temps) if not result.passed]
        assert not failed, "; ".join(
            f"the temporary PINs fail the SP 800-22 {result.test} test: P = {result.p_value:.2e} "
            f"< {randomness.ALPHA} over {result.n} bits"
            for result in failed
        )
        sequence = [ins for ins, _ in phone.obs.provisioning if ins in (INS_SET_TEMP_PIN, INS_BLOCK_PIN)]
        assert sequence.count(INS_SET_TEMP_PIN) == sequence.count(INS_BLOCK_PIN), (
            "a temporary PIN not blocked"
        )


@pytest.mark.requirement("TSM-PIN-02")
def test_the_app_gets_the_temporary_pin_set_on_the_se(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        run = h.issue(phone, h.new_card())
        handed = run.result.get("temp_pins") or {}
        assert set(handed) >= set(KINDS), (
            f"the app received temporary PINs for {sorted(handed)}, not both PINs"
        )
        set_on_se = phone.obs.temp_pins[-2:]
        for n, kind in enumerate(KINDS):
            temp = bytes.fromhex(handed[kind])
            assert temp == set_on_se[n], (
                f"the {kind} temporary PIN the app received is not the one set on the SE"
            )
            new = b"1234" if kind == "auth" else b"NEWPIN12"
            assert phone.unblock(kind, temp, new) == 0x9000, (
                f"the app's unblock with the {kind} temporary PIN failed"
            )
            assert phone.verify(kind, new) == 0x9000, f"the new {kind} PIN does not verify"


@pytest.mark.requirement("TSM-SEID-02")
def test_the_se_id_is_read_and_bound_at_issuance(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        old, new, card = h.phone(), h.phone(), h.new_card()
        h.issue(old, card)
        order = [
            ins
            for ins, _ in old.obs.provisioning
            if ins in (INS_GET_SE_ID, INS_GENERATE_KEY, INS_PUT_KEY_PAIR)
        ]
        assert order and order[0] == INS_GET_SE_ID, (
            "the TSM generated or delivered keys before reading the SE ID"
        )
        h.issue(new, card, confirm_revoke_old=True)
        run = h.run(new, "pin-init", card)
        assert run.done, f"PIN initialisation on the SE the card was bound to last was refused: {run.why()}"
        refused = h.run(old, "pin-init", card)
        assert not refused.done, "PIN initialisation on the old SE still works after the device change"


@pytest.mark.requirement("TSM-ISS-01")
@pytest.mark.parametrize("case", ["valid", "suspended"])
def test_double_issuance_refused_before_key_generation(profile: Profile, tmp_path: Path, case: str) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        if case == "suspended":
            h.tsm.suspend(certificate_serials(phone)["auth"])
        generated, seen = len(phone.obs.generated), len(phone.obs.provisioning)
        run = h.run(phone, "issue", card)
        later = [ins for ins, _ in phone.obs.provisioning[seen:]]
        assert not run.done, (
            f"a second issuance for the same card was completed ({case} certificate on the SE)"
        )
        assert (
            INS_GENERATE_KEY not in later
            and INS_PUT_KEY_PAIR not in later
            and len(phone.obs.generated) == generated
        ), (
            f"the refused second issuance still made new keys on the SE ({case} certificate): "
            "the working keys are lost"
        )


@pytest.mark.requirement("TSM-VAL-01")
def test_phone_certificates_are_valid_no_longer_than_the_card(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone = h.phone()
        card = h.new_card(not_after=now() + dt.timedelta(days=400))
        h.issue(phone, card)
        card_end = card.certificate.not_valid_after_utc
        for p2, der in phone.obs.certificates:
            if p2 not in SLOT_KIND:
                continue
            cert = x509.load_der_x509_certificate(der)
            assert cert.not_valid_after_utc <= card_end, (
                f"the {SLOT_KIND[p2]} phone certificate is valid until {cert.not_valid_after_utc:%Y-%m-%d}, "
                f"after the card certificate ({card_end:%Y-%m-%d})"
            )
            assert cert.not_valid_before_utc <= now() + dt.timedelta(minutes=5), (
                f"the {SLOT_KIND[p2]} phone certificate is valid only from "
                f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M}"
            )


@pytest.mark.requirement("TSM-BAD-01")
@pytest.mark.parametrize("case", ["bad-rmac", "refused-certificate"])
def test_a_misbehaving_se_ends_the_order_and_loses_nothing(
    profile: Profile, tmp_path: Path, case: str
) -> None:
    with harness(profile, tmp_path) as h:
        card = h.new_card()
        if case == "bad-rmac":
            bad = h.phone(break_rmac=True)
        else:
            bad = h.phone(refuse_certificates=True)
        run = h.run(bad, "issue", card)
        assert not run.done, f"the TSM completed issuance although the SE {case.replace('-', ' ')}"
        if case == "bad-rmac":
            assert not bad.obs.ins_seen(INS_PUT_CERTIFICATE), (
                "the TSM wrote a certificate although the R-MAC was wrong"
            )
        good = h.phone()
        retry = h.run(good, "issue", card)
        assert retry.done, (
            f"after the failed issuance a new one on another phone did not complete: {retry.why()} "
            "(the failed order left state behind in the back end)"
        )
