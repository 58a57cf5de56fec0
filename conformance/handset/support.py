"""The handset under test as the tests see it: an agent client (docs/handset-agent-protocol.md), the app
identities and APDUs of the profile's IXIT, the rules its SE holds (ics.aram.rules), the Android release it
claims (ics.handset.android_api, jpkikit.vocab.omapi.android) and the test bed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

import pytest

from jpkikit.errors import Inconclusive, ProfileError
from jpkikit.harness.profile import Profile
from jpkikit.harness.profile_sections import AramIxit, HandsetClaims
from jpkikit.harness.seam import handset_endpoint
from jpkikit.host.handset_client import AppRef, HandsetClient, RemoteChannel, RemoteSession
from jpkikit.vocab.gp import seac
from jpkikit.vocab.omapi import agent_protocol as protocol
from jpkikit.vocab.omapi import errors as omapi
from jpkikit.vocab.omapi.android import Android

SELECT_EF_TOKEN_INFO = bytes.fromhex("00A4020C020006")  # EF 0006 (docs/spec/jpki-applet.md, "File map")
READ_32 = bytes.fromhex("00B0000020")


class HandsetUnderTest:
    def __init__(self, profile: Profile, client: HandsetClient) -> None:
        self.profile = profile
        self.client = client
        ixit = profile.ixit.handset
        if ixit is None:
            raise ProfileError(str(profile.path), "ixit.handset", "a handset profile gives it")
        self.reader: str = ixit.reader
        apps, packages = ixit.apps, ixit.apps.packages
        self.allowed = AppRef("allowed-app", tuple(apps.allowed), packages.allowed)
        self.denied = AppRef("denied-app", tuple(apps.denied), packages.denied)
        self.filtered = ixit.apps.filtered
        self.filtered_app = (
            AppRef("filtered-app", tuple(self.filtered.hashes), packages.filtered) if self.filtered else None
        )
        self.privileged = (
            AppRef("privileged-app", tuple(apps.privileged), packages.privileged, privileged=True)
            if apps.privileged
            else None
        )
        self.jpki: bytes = profile.ixit.aids.jpki
        self.absent: bytes = profile.ixit.aids.absent
        self.aram_aid = (profile.ixit.aram or AramIxit()).aid
        self.claims = profile.ics.handset or HandsetClaims(logical_channels=1)
        self.android = Android(self.claims.android_api)
        self.rules_changed = False
        self.se_changed = False
        self.hello = client.hello()

    # -- identities and sessions ---------------------------------------------------------------------------

    def app(self, who: AppRef | Sequence[bytes], name: str = "app") -> AppRef:
        return who if isinstance(who, AppRef) else AppRef(name, tuple(who))

    def session(self, who: AppRef | Sequence[bytes], name: str = "app") -> RemoteSession:
        return self.client.open_session(self.reader, self.app(who, name))

    def open(self, who: AppRef | Sequence[bytes], aid: bytes | None = None) -> RemoteChannel | None:
        return self.session(who).open_logical_channel(self.jpki if aid is None else aid, 0x00)

    def can_open(self, who: AppRef | Sequence[bytes], aid: bytes | None = None) -> bool:
        """True when a channel opens; False on SecurityError. Anything else fails the test."""
        try:
            channel = self.open(who, aid)
        except omapi.SecurityError:
            return False
        assert channel is not None, "openLogicalChannel returned null although channels are free"
        channel.close()
        return True

    @property
    def n(self) -> int:
        """The SE's channels through OMAPI, the basic one included (ics.handset.logical_channels)."""
        return self.claims.logical_channels

    # -- rules through the test bed -------------------------------------------------------------------------

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

    # -- the SE side of the test bed (ics.handset.se_faults)
    # -----------------------------------------------------

    @contextmanager
    def se_state(self, fault: str | None = None, rule_sources: bool = True) -> Iterator[None]:
        """The SE with ``fault`` and its rule sources locked or not, after an SE reset (the ACE reads the
        rules again); put back and reset again afterwards."""
        self.se_changed = True
        self.client.se_fault(fault)
        self.client.rule_sources(rule_sources)
        self.client.reset_se()
        try:
            yield
        finally:
            self.restore_se()

    def restore_se(self) -> None:
        self.client.se_fault(None)
        self.client.rule_sources(True)
        self.client.reset_se()
        self.se_changed = False

    def trace(self) -> list[bytes]:
        return self.client.se_trace()

    def target_traffic(self, trace: Sequence[bytes], aids: Sequence[bytes] = ()) -> list[str]:
        """The commands of ``trace`` that are not the ACE's own reading of its rules (MANAGE CHANNEL, SELECT
        of
        the ARA-M or the ARF and what follows on that channel)."""
        return [c.hex().upper() for c in non_ace_commands(trace, [self.aram_aid, *ARF_AIDS, *aids])]

    def need(self, capability: str) -> None:
        caps = self.hello.get("capabilities", [])
        if capability not in caps:
            raise Inconclusive(f"the agent does not offer {capability} (service.hello capabilities: {caps})")


ARF_AIDS = (bytes.fromhex("A000000063504B43532D3135"), bytes.fromhex("A000000018475041432D3135"))


def non_ace_commands(trace: Sequence[bytes], rule_aids: Sequence[bytes]) -> list[bytes]:
    """Commands that are not the ACE's channel management and rule reading: MANAGE CHANNEL, a SELECT by DF
    name
    of a rule source, and every command on a channel where a rule source is selected."""
    from jpkikit.vocab.iso7816.apdu import cla_channel

    ace_channels: set[int] = set()
    out: list[bytes] = []
    for command in trace:
        channel = cla_channel(command[0]) if command else None
        iso = command[0] & 0x80 == 0
        if iso and command[1] == 0x70:
            if command[2] == 0x80 and command[3] in ace_channels:
                ace_channels.discard(command[3])
            continue
        if iso and command[1] == 0xA4 and command[2] == 0x04:
            lc = command[4] if len(command) > 4 else 0
            if any(command[5 : 5 + lc] == aid for aid in rule_aids):
                if channel is not None:
                    ace_channels.add(channel)
                continue
        if channel in ace_channels:
            continue
        out.append(command)
    return out


def rule(aid: bytes | str, hash_: bytes, apdu: Any = "always", nfc: bool | None = None,
         pkg: str | None = None, perm: bytes | None = None) -> seac.Rule:  # fmt: skip
    return seac.Rule(seac.RefDo(aid, hash_, pkg), seac.ArDo(apdu, nfc, perm))


def filters(*texts: str) -> tuple[seac.ApduFilter, ...]:
    return tuple(seac.ApduFilter(bytes.fromhex(t[:8]), bytes.fromhex(t[9:])) for t in texts)


def expect_code(call: Any, code: str) -> dict[str, Any]:
    """The agent's error object for ``call`` (a raw request), asserting it is ``code``."""
    answer = call()
    error = answer.get("error") if isinstance(answer, dict) else None
    got = error.get("code") if isinstance(error, dict) else None
    assert got == code, f"expected error {code}, the agent answered {answer}"
    return error  # type: ignore[return-value]


def raises(kind: type[omapi.OmapiError], what: str) -> Any:
    """pytest.raises for an OMAPI exception kind, with ``what`` in the failure text when it does not raise."""
    return pytest.raises(kind, match=None) if not what else _Raises(kind, what)


class _Raises:
    def __init__(self, kind: type[omapi.OmapiError], what: str) -> None:
        self.kind, self.what = kind, what

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc_type is None:
            pytest.fail(f"{self.what}: did not raise {self.kind.java}")
        if issubclass(exc_type, self.kind):
            return True
        if isinstance(exc, omapi.OmapiError):
            pytest.fail(f"{self.what}: raised {exc.java} ({exc}), expected {self.kind.java}")
        return False


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
                if hut.se_changed:
                    hut.restore_se()
                if hut.rules_changed:
                    hut.restore_rules()
            finally:
                client.close()


__all__ = ["HandsetUnderTest", "filters", "protocol", "raises", "rule"]
