"""Fixtures of the JPKI conformance tests: a client on the traced card with the JPKI application selected,
and the PINs restored afterwards (support.restore)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jpkikit.errors import KitError
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient

from .support import restore, said


@pytest.fixture
def jpki(card: CardSession, profile: Profile) -> Iterator[JpkiClient]:
    client = JpkiClient(card, profile.ixit.aids.jpki)
    r = client.select_ap()
    assert r.ok, f"SELECT of the JPKI application (ixit.aids.jpki) answered {said(r)}"
    yield client
    try:
        restore(client, profile)
    except KitError:
        pass  # the link is gone; the card fixture reopens it for the next test
