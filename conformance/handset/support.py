"""The handset under test as the tests see it: an agent client (docs/handset-agent-protocol.md), the app
identities and APDUs of the profile's IXIT, the rules its SE holds (ics.aram.rules) and the test bed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.profile_sections import AramIxit, HandsetClaims
from jpkikit.harness.seam import handset_endpoint
from jpkikit.host.handset_client import HandsetClient, RemoteChannel, RemoteSession
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import errors as omapi

SELECT_EF_TOKEN_INFO = bytes.fromhex("00A4020C020006")  # EF 0006 (docs/spec/jpki-applet.md, "File map")
READ_32 = bytes.fromhex("00B0000020")


def _hashes(values: Sequence[str]) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(v) for v in values)


class HandsetUnderTest:
    def __init__(self, profile: Profile, client: HandsetClient) -> None:
        self.profile = profile
        self.client = client
        ixit = profile.ixit.handset
        if ixit is None:
            raise ProfileError(str(profile.path), "ixit.handset", "a handset profile gives it")
        self.reader: str = ixit.reader
        self.allowed = ixit.apps.allowed
        self.denied = ixit.apps.denied
        self.filtered = ixit.apps.filtered
        self.jpki: bytes = profile.ixit.aids.jpki
        self.absent: bytes = profile.ixit.aids.absent
        self.aram_aid = (profile.ixit.aram or AramIxit()).aid
        self.claims = profile.ics.handset or HandsetClaims(logical_channels=1)
        self.rules_changed = False

    # -- sessions -------------------------------------------------------------------------------------

    def session(self, hashes: Sequence[bytes], name: str = "app") -> RemoteSession:
        return self.client.open_session(self.reader, hashes, name)

    def open(self, hashes: Sequence[bytes], aid: bytes | None = None) -> RemoteChannel | None:
        return self.session(hashes).open_logical_channel(self.jpki if aid is None else aid, 0x00)

    def can_open(self, hashes: Sequence[bytes], aid: bytes | None = None) -> bool:
        """True when a channel opens; False on SecurityError. Anything else fails the test."""
        try:
            channel = self.open(hashes, aid)
        except omapi.SecurityError:
            return False
        assert channel is not None, "openLogicalChannel returned null although channels are free"
        channel.close()
        return True

    # -- test bed ---------------------------------------------------------------------------------------

    def declared_rules(self) -> list[seac.Rule]:
        return list(self.profile.ics.aram.rules) if self.profile.ics.aram else []

    def store_rules(self, rules: Sequence[seac.Rule]) -> None:
        self.rules_changed = True
        self.client.store_rules(rules)

    def restore_rules(self) -> None:
        self.client.store_rules(self.declared_rules())
        self.rules_changed = False

    @contextmanager
    def rules(self, rules: Sequence[seac.Rule]) -> Iterator[None]:
        self.store_rules(rules)
        try:
            yield
        finally:
            self.restore_rules()


def rule(aid: bytes | str, hash_: bytes, apdu: Any = "always") -> seac.Rule:
    return seac.Rule(seac.RefDo(aid, hash_), seac.ArDo(apdu, None))


@contextmanager
def handset_for(profile: Profile) -> Iterator[HandsetUnderTest]:
    """The profile's handset agent (ixit.handset.agent), or the reference handset the seam serves."""
    with handset_endpoint(profile) as (host, port, timeout):
        client = HandsetClient(host, port, timeout)
        hut = HandsetUnderTest(profile, client)
        try:
            yield hut
        finally:
            try:
                if hut.rules_changed:
                    hut.restore_rules()
            finally:
                client.close()
