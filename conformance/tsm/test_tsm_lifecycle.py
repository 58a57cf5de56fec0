"""A TSM under test through the phone certificate's life (seed 004 pp.4, 6, 16, 20-26; docs/spec/system.md
#lifecycle-decisions, #removal-from-old-devices): device change, loss and theft, suspension and release,
renewal, revocation from the phone alone and with the card, the card-revocation cascade, remote deletion."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from jpkikit.harness.profile import Profile
from jpkikit.vocab.jpki.provisioning import INS_DELETE_KEYS, INS_GENERATE_KEY, INS_PUT_KEY_PAIR

from .support import KINDS, certificate_serials, harness


@pytest.mark.requirement("TSM-DEV-01")
def test_device_change_revokes_the_old_device_with_the_users_consent(
    profile: Profile, tmp_path: Path
) -> None:
    with harness(profile, tmp_path) as h:
        old, new, card = h.phone(), h.phone(), h.new_card()
        h.issue(old, card)
        unconfirmed = h.run(new, "issue", card)
        assert not unconfirmed.done, "a device change completed without the user's confirmation (steps ⑬⑭)"
        assert not new.writes(), "keys were made on the new phone before the user confirmed the revocation"
        old_serials = certificate_serials(old)
        assert h.on_crl(old_serials["auth"]) is None, (
            "the old certificate was revoked without the user's confirmation"
        )
        changed = h.run(new, "issue", card, confirm_revoke_old=True)
        for kind in KINDS:  # steps ⑮⑯ before the new keys: the old certificates revoked
            assert h.on_crl(old_serials[kind], kind) is not None, (
                f"the old phone's {kind} certificate is not revoked after the device change"
            )
        assert changed.done, f"issuance on the new phone: the TSM's order ended {changed.why()}"
        assert h.on_crl(certificate_serials(new)["auth"]) is None
        new.obs.provisioning.clear()
        third = h.phone()
        gone = h.run(new, "revoke")  # the user revokes on the phone: linked, already revoked (p.16 ⑫)
        assert gone.done, f"revocation from the phone: {gone.why()}"
        h.issue(third, card)  # no confirmation needed: nothing live on another device


@pytest.mark.requirement("TSM-LOSS-01")
def test_a_lost_phones_suspended_certificate_is_revoked_by_the_new_issuance(
    profile: Profile, tmp_path: Path
) -> None:
    with harness(profile, tmp_path) as h:
        lost, new, card = h.phone(), h.phone(), h.new_card()
        h.issue(lost, card)
        lost.online = False
        serials = certificate_serials(lost)
        h.tsm.suspend(serials["auth"])  # 一時保留 at the call centre (seed 004 p.23 ①)
        run = h.run(new, "issue", card, confirm_revoke_old=True)  # p.16 補足4: suspended or not, revoke
        entry = h.on_crl(serials["auth"])
        assert entry is not None, "the lost phone's suspended certificate is not on the CRL"
        reason = (
            entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            if entry.extensions
            else None
        )
        assert reason != x509.ReasonFlags.certificate_hold, (
            "the lost phone's certificate is only suspended (certificateHold), not revoked"
        )
        assert h.on_crl(serials["sign"], "sign") is not None, (
            "the lost phone's sign certificate is not revoked"
        )
        assert run.done, f"issuance on the new phone: the TSM's order ended {run.why()}"


@pytest.mark.requirement("TSM-SUS-01")
def test_suspension_and_release(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone, card, stranger = h.phone(), h.new_card(), h.new_card()
        h.issue(phone, card)
        serial = certificate_serials(phone)["auth"]
        h.tsm.suspend(serial)
        entry = h.on_crl(serial)
        assert entry is not None, "the suspended certificate is not on the CRL"
        reason = (
            entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            if entry.extensions
            else None
        )
        assert reason == x509.ReasonFlags.certificate_hold, (
            f"a suspension is published as {reason}, not certificateHold"
        )
        other = h.run(None, "release", stranger, serial=serial)
        assert not other.done, "another card's signature released the suspended certificate"
        assert h.on_crl(serial) is not None, "another card's request lifted the suspension"
        released = h.run(None, "release", card, serial=serial)  # 一時保留解除 from the app (seed 004 p.20)
        assert released.done, f"release with the card: {released.why()}"
        assert h.on_crl(serial) is None, "the released certificate is still on the CRL"


@pytest.mark.requirement("TSM-REN-01")
def test_renewal_replaces_keys_and_certificates(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        old = certificate_serials(phone)
        made = len(phone.obs.generated) + len(phone.obs.deliveries)
        run = h.run(phone, "renew", card)
        for kind in KINDS:  # the renewed certificates revoked (seed 004 p.20), whatever came after
            assert h.on_crl(old[kind], kind) is not None, f"the {kind} certificate renewed is not revoked"
        assert run.done, f"renewal: the TSM's order ended {run.why()}"
        new = certificate_serials(phone)
        assert len(phone.obs.generated) + len(phone.obs.deliveries) >= made + 2, (
            "renewal made no new key pairs"
        )
        for kind in KINDS:
            assert new[kind] != old[kind], f"renewal wrote no new {kind} certificate"
            assert h.on_crl(new[kind], kind) is None, f"the new {kind} certificate is on the CRL"


@pytest.mark.requirement("TSM-REV-01")
def test_revocation_from_the_phone_alone(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone, bystander = h.phone(), h.phone()
        h.issue(phone, h.new_card())
        h.issue(bystander, h.new_card())
        serials = certificate_serials(phone)
        run = h.run(phone, "revoke", se_id=bystander.se_id)  # the SE in session is the phone's own
        assert run.done, f"revocation from the phone: the TSM's order ended {run.why()}"
        for kind in KINDS:
            assert h.on_crl(serials[kind], kind) is not None, f"the phone's {kind} certificate is not revoked"
        assert phone.obs.ins_seen(INS_DELETE_KEYS) and not phone.has_keys(), (
            "the keys were not deleted in the revocation session"
        )
        assert h.on_crl(certificate_serials(bystander)["auth"]) is None, (
            "revocation from one phone revoked the certificate of the SE its request named, not of its own SE"
        )


@pytest.mark.requirement("TSM-REV-02")
def test_revocation_with_the_card_from_another_device(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        serials = certificate_serials(phone)
        forged = h.run(None, "revoke-all", h.foreign_card(card))
        assert not forged.done, "a card certificate from an untrusted CA revoked the phone certificates"
        assert h.on_crl(serials["auth"]) is None, "a look-alike card's request revoked the phone certificates"
        run = h.run(None, "revoke-all", card)  # seed 004 p.23 ②: from another phone or a PC, with the card
        assert run.done, f"revocation with the card: {run.why()}"
        for kind in KINDS:
            assert h.on_crl(serials[kind], kind) is not None, f"the phone's {kind} certificate is not revoked"
        assert h.wait_for(lambda: not phone.has_keys()), "the revoked phone's keys were not deleted remotely"


@pytest.mark.requirement("TSM-CAS-01")
def test_card_revocation_cascades_to_the_phone(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        serials = certificate_serials(phone)
        h.tsm.revoke_card(card.der)  # J-LIS revokes the card certificate (seed 004 p.6)
        for kind in KINDS:
            assert h.on_crl(serials[kind], kind) is not None, (
                f"the phone's {kind} certificate is not revoked with the card certificate"
            )
        assert h.wait_for(lambda: not phone.has_keys()), "the phone's keys were not deleted after the cascade"
        again = h.run(h.phone(), "issue", card)
        assert not again.done, "a revoked card certificate still got a phone certificate issued"


@pytest.mark.requirement("TSM-DEL-01")
def test_remote_deletion_after_revocation_and_its_failure(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        first, second, third, card = h.phone(), h.phone(), h.phone(), h.new_card()
        h.issue(first, card)
        h.issue(second, card, confirm_revoke_old=True)
        deleted = h.wait_for(lambda: first.obs.ins_seen(INS_DELETE_KEYS) and not first.has_keys())
        assert deleted, "the TSM did not delete the keys on the revoked phone"
        recorded = h.wait_for(
            lambda: any(d["se_id"] == first.se_id and d["outcome"] == "deleted" for d in h.tsm.deletions())
        )
        assert recorded, (
            f"no 'deleted' outcome recorded for the phone whose keys were deleted: {h.tsm.deletions()}"
        )
        second.online = False  # push undeliverable: the TSM must record it, not fail the new issuance
        made = len(third.obs.generated) + len(third.obs.deliveries)
        h.issue(third, card, confirm_revoke_old=True)
        assert third.obs.ins_seen(INS_GENERATE_KEY) or third.obs.ins_seen(INS_PUT_KEY_PAIR) or made
        recorded = h.wait_for(
            lambda: any(
                d["se_id"] == second.se_id and d["outcome"] == "not deleted" for d in h.tsm.deletions()
            )
        )
        assert recorded, f"no 'not deleted' outcome recorded for the offline phone: {h.tsm.deletions()}"
        assert second.has_keys(), "the offline phone lost its keys, yet it was never reached"
        assert not any(d["se_id"] == second.se_id and d["outcome"] == "deleted" for d in h.tsm.deletions()), (
            "the TSM recorded 'deleted' for a phone it never reached"
        )
