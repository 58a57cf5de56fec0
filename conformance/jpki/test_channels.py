"""The JPKI application on a logical channel, with a security state of its own
(docs/spec/jpki-applet.md#logical-channels; ISO/IEC 7816-4 logical channels). Applies when the ICS claims
logical channels."""

from __future__ import annotations

import pytest

from jpkikit.host.jpki_client import JpkiClient
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import AUTH
from jpkikit.vocab.jpki.pkcs1 import digest_info_of

from .support import pin, public_key, read_certificate, said, signature_problem


@pytest.mark.requirement("JPKI-CH-01")
def test_jpki_on_a_logical_channel(jpki: JpkiClient, card, profile) -> None:
    key = public_key(read_certificate(jpki, profile, AUTH.cert_ef))
    assert jpki.select_ap().ok  # the basic channel: selected, nothing verified
    r = card.open_channel()
    assert r.ok and len(r.data) == 1, f"MANAGE CHANNEL open answered {said(r)}"
    number = r.data[0]
    try:
        other = JpkiClient(card, profile.ixit.aids.jpki, channel=number)
        assert other.select_ap().ok, f"SELECT of the JPKI AP on channel {number} failed"
        r = other.verify(AUTH.pin_ef, pin(profile, AUTH))
        assert r.ok, f"VERIFY on channel {number} answered {said(r)}"
        data = digest_info_of("sha256", b"logical channel")
        r = other.sign(AUTH.key_ef, data)
        assert r.ok, f"80 2A with CLA {0x80 | number:02X} on channel {number} answered {said(r)}"
        problem = signature_problem(key, data, r.data)
        assert not problem, f"signature on channel {number}: {problem}"
        r = jpki.sign(AUTH.key_ef, data)
        assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED and not r.data, (
            f"the basic channel signed with the PIN verified on channel {number} only: {said(r)}"
        )
    finally:
        card.close_channel(number)
