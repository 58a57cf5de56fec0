"""The card taken off the reader while it carries a command, and put back
(docs/spec/reader.md#the-reference-reader): the reader reports the removal (PC/SC: the transmission fails with
the card removed) instead of inventing an answer, and the next session works. The kit's virtual reader does
the removal on the test-bed command; on a real reader it is a person's (or a robot's) step."""

from __future__ import annotations

import time

import pytest

from jpkikit.errors import Inconclusive, TransportError
from jpkikit.harness import seam
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.vocab import testbed as bed
from jpkikit.vocab.jpki.card import AUTH
from jpkikit.vocab.pcsc import part3

from .support import raw, read, select, select_ef

BACK_WITHIN = 15.0  # seconds for the card to be back in the field (the served emulator reconnects in ~1 s)


def _reset_when_back(session: CardSession) -> bytes:
    deadline = time.monotonic() + BACK_WITHIN
    while True:
        try:
            return session.reset(cold=True)
        except TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.requirement("RW-RM-01")
def test_card_removed_mid_command(card: CardSession, profile: Profile) -> None:
    if profile.ixit.rw is None or not profile.ixit.rw.testbed:
        raise Inconclusive("taking the card off the reader mid-command is a person's step on a real reader")
    with seam.testbed(profile, card) as renew:
        if renew is None:
            raise Inconclusive("the kit cannot take the card off this reader")
        session = renew()
        atr = session.reset()
        link = raw(session)
        assert link.transmit(select(profile.ixit.aids.jpki)).ok
        assert link.transmit(select_ef(AUTH.ca_ef)).ok
        assert link.transmit(bed.command(bed.REMOVE_DURING_NEXT)).ok, (
            "the virtual reader refused the test bed"
        )
        try:
            answer = link.transmit(read(0, 256))
        except TransportError:
            pass  # the reader reported it
        else:
            pytest.fail(f"the card left the field during READ BINARY, but the reader answered {answer}")
        again = _reset_when_back(session)
        assert part3.historical_of(again) == part3.historical_of(atr), (
            f"after the card came back the reader gives ATR {again.hex().upper()}, before {atr.hex().upper()}"
        )
        link = raw(session)
        assert link.transmit(select(profile.ixit.aids.jpki)).ok, "after the card came back SELECT failed"
        assert link.transmit(select_ef(AUTH.ca_ef)).ok
        r = link.transmit(read(0, 4))
        assert r.ok and r.data[:2] == b"\x30\x82", f"after the card came back READ BINARY answered {r}"
