"""Issuance at the municipal counter through the counter terminal's reader (seed 000 §4(1), Android, steps
⑭–⑰: the staff's integrated terminal writes the authentication information and the user-authentication
certificate and private key into the JPKI applet of the phone held to its reader), and PIN initialisation at
the counter (seed 000 §3 課題②). The kit plays the counter terminal (it holds the SP security domain's keys,
as the SP-TSM's agent) and J-LIS (which generates the key pair, step ⑤);
docs/spec/uicc.md#counter-issuance."""

from __future__ import annotations

import os

import pytest

from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.host.tsm_driver import unblock_with_temp_pin
from jpkikit.host.uicc_terminal import contactless, field_off
from jpkikit.secrets import Secret, reveal_bytes
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki import provisioning as se
from jpkikit.vocab.jpki import sim
from jpkikit.vocab.jpki.card import AUTH

from ..jpki.support import other_value
from ..provisioning.support import apsd_keys
from .support import (
    HANDSET_A,
    HANDSET_B,
    authenticate,
    certificate_for,
    in_handset,
    new_key,
    new_uicc,
    package,
    put_certificates,
    put_key_pair,
    se_id,
    signed_by,
    sp_session,
)


@pytest.mark.requirement("SIM-CTR-01")
@pytest.mark.effects("credentials", "pin-change", renewable=True)
def test_counter_issuance_through_the_reader(card: CardSession, profile: Profile) -> None:
    new_pin = other_value(
        profile.secret("auth_pin"), profile.ics.jpki.auth_pin
    )  # typed at the counter's PIN pad
    temp = Secret.of_bytes("temporary auth PIN of the counter terminal", os.urandom(16))
    with new_uicc(profile, card) as uicc:
        in_handset(uicc, HANDSET_A)  # the holder's phone, switched on, held to the counter's reader
        reader = contactless(uicc)
        layer = sp_session(reader, profile)  # ⑭: the counter terminal reaches the applet over the field
        key = new_key()  # ⑤: J-LIS generated the key pair
        sws = put_key_pair(layer, se.SLOT_AUTH, package(key, se_id(layer), apsd_keys(profile).dek))
        assert sws[-1] == SW.OK, f"⑰ PUT KEY PAIR through the reader answered {sws}"
        cert, ca = certificate_for(key.public_key())
        put_certificates(layer, se.SLOT_AUTH, cert, ca)  # ⑰: the certificate
        r = layer.send(se.set_temp_pin(se.SLOT_AUTH, reveal_bytes(temp)))  # ⑮: the authentication information
        assert r.ok, f"⑮ SET TEMPORARY PIN through the reader answered {r}"
        r = layer.send(sim.bind_handset())
        assert r.ok, f"BIND HANDSET through the reader answered {r}"
        layer.end()
        sw = unblock_with_temp_pin(reader.tracer, profile.ixit.aids.jpki, "auth", temp, new_pin)
        assert sw == SW.OK, f"⑮ the PIN typed at the counter (RESET RETRY COUNTER) answered {sw:04X}"
        field_off(uicc)
        assert signed_by(key.public_key(), authenticate(uicc, profile, new_pin)), "through the app: wrong key"
        assert signed_by(key.public_key(), authenticate(contactless(uicc), profile, new_pin)), (
            "through a reader: wrong key"
        )
        field_off(uicc)
        in_handset(uicc, HANDSET_B)
        r = uicc.select(profile.ixit.aids.jpki)
        assert r.sw == sim.REFUSED_SW, (
            f"the applet issued at the counter to handset A answers {r} in handset B"
        )


@pytest.mark.requirement("SIM-CTR-02")
@pytest.mark.effects("pin-block", renewable=True)
def test_pin_initialisation_at_the_counter(card: CardSession, profile: Profile) -> None:
    rules = profile.ics.jpki.auth_pin
    pin = profile.secret("auth_pin")
    wrong = other_value(pin, rules)
    new_pin = other_value(pin, rules, 2)
    temp = Secret.of_bytes("temporary auth PIN of the counter terminal", os.urandom(16))
    with new_uicc(profile, card) as uicc:
        in_handset(uicc, HANDSET_A)
        jpki = JpkiClient(uicc, profile.ixit.aids.jpki)
        assert jpki.select_ap().ok
        for _ in range(rules.tries):
            jpki.verify(AUTH.pin_ef, wrong)
        blocked = jpki.verify(AUTH.pin_ef, pin)
        assert not blocked.ok, f"the auth PIN is not blocked after {rules.tries} wrong tries: {blocked}"
        reader = contactless(uicc)
        assert reader.select(profile.ixit.aids.jpki).ok
        plain = reader.transmit(se.set_temp_pin(se.SLOT_AUTH, reveal_bytes(temp)))
        assert plain.sw == SW.SECURITY_STATUS_NOT_SATISFIED, (
            f"SET TEMPORARY PIN outside the session answered {plain}"
        )
        layer = sp_session(reader, profile)
        r = layer.send(se.set_temp_pin(se.SLOT_AUTH, reveal_bytes(temp)))
        assert r.ok, f"SET TEMPORARY PIN at the counter answered {r}"
        layer.end()
        sw = unblock_with_temp_pin(reader.tracer, profile.ixit.aids.jpki, "auth", temp, new_pin)
        assert sw == SW.OK, f"RESET RETRY COUNTER with the counter's temporary PIN answered {sw:04X}"
        again = unblock_with_temp_pin(reader.tracer, profile.ixit.aids.jpki, "auth", temp, pin)
        assert again != SW.OK, "the temporary PIN of the counter worked a second time"
        field_off(uicc)
        query = jpki.retry_query(AUTH.pin_ef) if jpki.select_ap().ok else None
        assert query is not None and query.sw == 0x63C0 | rules.tries, (
            f"after the counter's reset the counter is {query}"
        )
        authenticate(uicc, profile, new_pin)
