"""Carrier privileges on a UICC (AOSP Terminal.setUpChannelAccess, AccessRuleCache.checkCarrierPrivilege;
gpac/REF_DO.java: a REF-DO without AID, here written with the carrier-privilege AID-REF-DO FFFFFFFFFFFF that
AOSP gives it; Android source documentation "UICC carrier privileges"), from API 30. An app a
carrier-privilege
rule names gets full access: any AID, the basic channel, SELECT by DF name through transmit."""

from __future__ import annotations

import pytest

from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi import test_applets as t
from jpkikit.vocab.omapi.android import CARRIER_PRIVILEGE_AID

from .support import SELECT_EF_TOKEN_INFO, HandsetUnderTest, raises, rule

PERM = bytes(8)  # PERM-AR-DO: carrier privileges, no further permission bits


def _refresh(handset: HandsetUnderTest) -> None:
    """AOSP checks carrier privileges on the cached rules (checkCarrierPrivilege(pkgInfo, false)): an ordinary
    open call first makes the ACE read the rules the test bed has just stored."""
    assert handset.can_open(handset.allowed), "the allowed app was denied under the profile's rules"


def _carrier(hash_: bytes, pkg: str | None = None):  # type: ignore[no-untyped-def]
    return rule(CARRIER_PRIVILEGE_AID, hash_, None, perm=PERM, pkg=pkg)


@pytest.mark.requirement("HS-CARRIER-01")
@pytest.mark.effects("access-rules")
def test_carrier_privilege_gives_full_access(handset: HandsetUnderTest) -> None:
    me = handset.denied
    with handset.rules([*handset.declared_rules(), _carrier(me.hashes[0])]):
        _refresh(handset)
        channel = handset.open(me)
        assert channel is not None, "the carrier-privileged app got no channel to the JPKI applet"
        assert channel.transmit(SELECT_EF_TOKEN_INFO)[-2:] == b"\x90\x00", (
            "a carrier-privileged command failed"
        )
        select = bytes.fromhex("00A40400") + bytes((len(t.CTS_SELECTABLE),)) + t.CTS_SELECTABLE + b"\x00"
        answer = channel.transmit(select)
        assert answer[-2:] == b"\x90\x00", (
            f"SELECT by DF name through transmit by the carrier app: {answer.hex()}"
        )
        basic = handset.session(me).open_basic_channel(handset.jpki)
        assert basic is not None, "the carrier-privileged app got no basic channel on the UICC"
        with raises(omapi.SecurityError, "the unprivileged app under the same rules"):
            handset.open(handset.filtered_app or handset.denied, handset.absent)


@pytest.mark.requirement("HS-CARRIER-02")
@pytest.mark.effects("access-rules")
def test_carrier_privilege_package(handset: HandsetUnderTest) -> None:
    # A PKG-REF-DO in the carrier-privilege rule must match the app's package name.
    me = handset.denied
    with handset.rules([*handset.declared_rules(), _carrier(me.hashes[0], "jp.jpkikit.not.this.one")]):
        _refresh(handset)
        assert not handset.can_open(me), "a carrier-privilege rule for another package let the app in"
    with handset.rules([*handset.declared_rules(), _carrier(me.hashes[0], me.package)]):
        _refresh(handset)
        assert handset.can_open(me), "a carrier-privilege rule with the app's package gave no access"


@pytest.mark.requirement("HS-CARRIER-ESE")
@pytest.mark.effects("access-rules")
def test_carrier_privilege_means_nothing_on_an_ese(handset: HandsetUnderTest) -> None:
    me = handset.denied
    with handset.rules([*handset.declared_rules(), _carrier(me.hashes[0])]):
        _refresh(handset)
        assert not handset.can_open(me), "a carrier-privilege rule opened the JPKI applet on an eSE"
