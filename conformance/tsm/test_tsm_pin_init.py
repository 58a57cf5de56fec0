"""A TSM under test in PIN initialisation (seed 004 p.18; docs/spec/system.md#pin-initialisation): the
identity check, the phone certificates' status and the SE binding come before any temporary PIN."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpkikit.harness.profile import Profile

from .support import certificate_serials, harness
from .test_tsm_issuance import CASES, _bad_application, _refused


@pytest.mark.requirement("TSM-IDP-02")
@pytest.mark.parametrize("case", CASES)
def test_pin_initialisation_refused_without_a_valid_identity(
    profile: Profile, tmp_path: Path, case: str
) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        _, signed = _bad_application(h, case, "pin-init", phone, card)
        before = len(phone.obs.provisioning)
        run = h.run(phone, "pin-init", signed=signed)
        _refused(run, phone, before, f"PIN initialisation with a {case} application")


@pytest.mark.requirement("TSM-SEID-01")
def test_pin_initialisation_refused_for_an_se_that_is_not_bound(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        bound = h.phone()
        other = h.phone(se_id=bound.se_id_bytes[:12] + bytes(b ^ 0x5A for b in bound.se_id_bytes[12:]))
        card = h.new_card()
        h.issue(bound, card)
        before = len(other.obs.provisioning)
        run = h.run(other, "pin-init", card)
        assert not other.writes(before), "the TSM set a temporary PIN on an SE not bound to the card"
        assert not run.done, "PIN initialisation completed on an SE not bound to the card"


@pytest.mark.requirement("TSM-PIN-03")
@pytest.mark.parametrize("case", ["revoked", "suspended"])
def test_pin_initialisation_needs_valid_phone_certificates(
    profile: Profile, tmp_path: Path, case: str
) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        serial = certificate_serials(phone)["auth"]
        if case == "suspended":
            h.tsm.suspend(serial)
        else:  # revoked from another phone with the card (seed 004 p.23 ②): this SE keeps its binding
            phone.online = False
            gone = h.run(None, "revoke-all", card)
            assert gone.done, f"revocation with the card: {gone.why()}"
        before = len(phone.obs.provisioning)
        run = h.run(phone, "pin-init", card)
        assert not phone.writes(before), (
            f"the TSM set a temporary PIN although the phone certificate is {case}"
        )
        assert not run.done, f"PIN initialisation completed although the phone certificate is {case}"
