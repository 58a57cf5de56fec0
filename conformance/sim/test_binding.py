"""The SIM-swap countermeasure (seed 000 §3 課題③, §4(2); docs/spec/uicc.md#the-handset-binding): once issued,
the JPKI applet is bound to its handset and is unusable when the SIM is moved to another phone, through the
app (the contact interface, every logical channel) and through a reader (the contactless interface), and also
while the phone is switched off (the reader path with the phone powered off)."""

from __future__ import annotations

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.host.uicc_terminal import contactless, field_off, phone_off
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki import sim
from jpkikit.vocab.jpki.card import AUTH, EF_TOKEN_INFO

from .support import HANDSET_A, HANDSET_B, authenticate, bind, in_handset, new_uicc, sp_session


def _refused(session: CardSession, profile: Profile, where: str, channel: int = 0) -> None:
    """The applet refuses selection here, and nothing of the JPKI application answers."""
    jpki = JpkiClient(session, profile.ixit.aids.jpki, channel)
    r = jpki.select_ap()
    assert r.sw == sim.REFUSED_SW, (
        f"{where}: SELECT of the bound JPKI applet answered {r}, not {sim.REFUSED_SW:04X}"
    )
    for what, answer in (
        ("SELECT EF 0006", jpki.select_ef(EF_TOKEN_INFO)),
        ("READ BINARY", jpki.read(0, 32)),
        ("VERIFY", jpki.verify(AUTH.pin_ef, profile.secret("auth_pin"))),
    ):
        assert not answer.ok and answer.sw1 != 0x63, (
            f"{where}: after the refused SELECT, {what} answered {answer}"
        )


@pytest.mark.requirement("SIM-BIND-01")
@pytest.mark.effects("credentials", renewable=True)
def test_only_the_issuer_binds_and_only_to_a_known_handset(card: CardSession, profile: Profile) -> None:
    with new_uicc(profile, card) as uicc:
        in_handset(uicc, HANDSET_A)
        assert uicc.select(profile.ixit.aids.jpki).ok
        plain = uicc.transmit(sim.bind_handset())
        assert plain.sw == SW.SECURITY_STATUS_NOT_SATISFIED, (
            f"BIND HANDSET outside the SP SD's session answered {plain}"
        )
        in_handset(uicc, None, profile_sent=False)  # no TERMINAL PROFILE: a card reader, not a phone
        layer = sp_session(uicc, profile)
        unknown = layer.send(sim.bind_handset())
        assert unknown.sw == SW.CONDITIONS_NOT_SATISFIED, (
            f"BIND HANDSET with no handset known answered {unknown}"
        )
        layer.end()
        in_handset(uicc, HANDSET_B)
        assert JpkiClient(uicc, profile.ixit.aids.jpki).select_ap().ok, "a refused binding bound the applet"
        bind(uicc, profile, HANDSET_A)
        in_handset(uicc, HANDSET_B)
        _refused(uicc, profile, "after binding to handset A, in handset B")


@pytest.mark.requirement("SIM-SWAP-01")
@pytest.mark.effects("credentials", renewable=True)
def test_the_sim_in_another_phone_is_unusable_through_the_app(card: CardSession, profile: Profile) -> None:
    pin = profile.secret("auth_pin")
    with new_uicc(profile, card) as uicc:
        bind(uicc, profile, HANDSET_A)
        authenticate(uicc, profile, pin)
        in_handset(uicc, HANDSET_B)
        _refused(uicc, profile, "in handset B, basic channel")
        opened = uicc.open_channel()
        assert opened.ok, f"MANAGE CHANNEL open answered {opened}"
        _refused(uicc, profile, f"in handset B, logical channel {opened.data[0]}", opened.data[0])
        in_handset(uicc, None)  # a terminal that withholds its IMEI
        _refused(uicc, profile, "in a terminal that gives no IMEI")
        in_handset(uicc, None, profile_sent=False)
        _refused(uicc, profile, "in a plain card reader (no TERMINAL PROFILE)")
        in_handset(uicc, HANDSET_A)
        authenticate(uicc, profile, pin)
        opened = uicc.open_channel()
        assert opened.ok
        authenticate(uicc, profile, pin, opened.data[0])


@pytest.mark.requirement("SIM-SWAP-02")
@pytest.mark.effects("credentials", renewable=True)
def test_the_sim_in_another_phone_is_unusable_through_a_reader(card: CardSession, profile: Profile) -> None:
    pin = profile.secret("auth_pin")
    with new_uicc(profile, card) as uicc:
        bind(uicc, profile, HANDSET_A)
        in_handset(uicc, HANDSET_B)
        _refused(contactless(uicc), profile, "held to a reader in handset B")
        field_off(uicc)
        in_handset(uicc, HANDSET_A)
        authenticate(contactless(uicc), profile, pin)


@pytest.mark.requirement("SIM-OFF-01")
@pytest.mark.effects("credentials", renewable=True)
def test_the_reader_path_with_the_phone_off(card: CardSession, profile: Profile) -> None:
    pin = profile.secret("auth_pin")
    with new_uicc(profile, card) as uicc:
        bind(uicc, profile, HANDSET_A)
        authenticate(contactless(uicc), profile, pin)
        field_off(uicc)
        assert phone_off(uicc).ok, "the test bed refused to switch the phone off"
        _refused(contactless(uicc), profile, "held to a reader with the phone off")
        field_off(uicc)
        in_handset(uicc, HANDSET_A)  # switched on again, in its own handset
        authenticate(contactless(uicc), profile, pin)
