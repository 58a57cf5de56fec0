"""The PIN state machine as a model-based test (hypothesis RuleBasedStateMachine), docs/spec/jpki-applet.md:
"Commands", "Status words", "PIN rules", "PIN states and blocking", "Security state".

The model keeps, per PIN: its value, the tries left, and whether it is verified (True, False, or None when
that page leaves it open: after a wrong VERIFY and after CHANGE). Rules send right and wrong VERIFYs,
retry queries, CHANGE REFERENCE DATA, re-selects, resets and power cycles, and probe the verified state by
signing and by reading EF 0001; every answer must be the model's. Try limits and rules come from the profile.

Where the kit can renew the implementation (the ``fresh_card`` fixture: its own emulator, in-process or
served through PC/SC), every example runs on a fresh card, so sequences may block PINs and change them.
Elsewhere (a real device) the machine runs in non-destructive mode on the test's card: a wrong VERIFY is
skipped when one try is left, CHANGE is not used, and each example starts and ends with a right VERIFY of
both PINs (see support.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from jpkikit.harness.preflight import claimed_pairs
from jpkikit.harness.profile import Profile
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.secrets import Secret
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import CHARSETS, SIGN, KeyPair
from jpkikit.vocab.jpki.pkcs1 import digest_info_of

from .support import pin, public_key, read_certificate, restore, rules, said
from .support import signature_problem as problem_of

PROBE = digest_info_of("sha256", b"jpkikit PIN model probe")


@dataclass
class PinState:
    value: Secret
    tries: int
    verified: bool | None = False


def _values(pin_rules: Any) -> st.SearchStrategy[str]:
    """Values of valid format, plus lowercase variants where the charset is upper-case (PIN rules)."""
    alphabet = CHARSETS[pin_rules.charset]
    valid = st.text(alphabet, min_size=pin_rules.min_length, max_size=pin_rules.max_length)
    return valid | valid.map(str.lower) if pin_rules.charset == "upper-alnum" else valid


def make_machine(profile: Profile, open_session: Any, destructive: bool, keys: dict[str, Any]) -> type:
    aid = profile.ixit.aids.jpki
    held = claimed_pairs(profile)  # both, or user authentication alone
    limits = {p.name: rules(profile, p) for p in held}
    pairs = st.sampled_from(held)

    class PinMachine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.session = open_session()
            self.jpki = JpkiClient(self.session, aid)
            if not destructive:
                restore(self.jpki, profile)  # counters at their maximum on the shared card
            self.session.reset()
            assert self.jpki.select_ap().ok, "SELECT of the JPKI application failed"
            self.model = {p.name: PinState(pin(profile, p), limits[p.name].tries) for p in held}

        # -- helpers ----------------------------------------------------------------------------------

        def clear_all(self) -> None:
            for state in self.model.values():
                state.verified = False

        # -- rules ------------------------------------------------------------------------------------

        @rule(pair=pairs)
        def verify_right(self, pair: KeyPair) -> None:
            m = self.model[pair.name]
            r = self.jpki.verify(pair.pin_ef, m.value)
            if m.tries == 0:
                assert r.sw == SW.REFERENCE_DATA_NOT_USABLE, (
                    f"{pair.name}: VERIFY when blocked answered {said(r)}"
                )
                return
            assert r.sw == SW.OK, f"{pair.name}: right VERIFY with {m.tries} tries left answered {said(r)}"
            m.tries, m.verified = limits[pair.name].tries, True

        @rule(pair=pairs, data=st.data())
        def verify_wrong(self, pair: KeyPair, data: st.DataObject) -> None:
            m = self.model[pair.name]
            if not destructive and m.tries <= 1:
                return  # never block the shared device
            # The lowercase form of the right value is a wrong value too (PIN rules). It is chosen by a flag,
            # never drawn itself, so that hypothesis' report cannot show anything derived from a real PIN.
            lowered = m.value.derive("lowercase", str.lower)
            value: Secret | str
            if lowered != m.value and data.draw(st.booleans(), label="lowercase of the right value"):
                value = lowered
            else:
                value = data.draw(
                    _values(limits[pair.name]).filter(lambda v, m=m: v != m.value.reveal()), label="wrong"
                )
            r = self.jpki.verify(pair.pin_ef, value)
            if m.tries == 0:
                assert r.sw == SW.REFERENCE_DATA_NOT_USABLE, (
                    f"{pair.name}: VERIFY when blocked answered {said(r)}"
                )
                return
            m.tries -= 1
            assert r.sw == 0x63C0 | m.tries, (
                f"{pair.name}: wrong VERIFY answered {said(r)}, model 63C{m.tries:X}"
            )
            m.verified = None  # jpki-applet.md does not say whether a failed VERIFY clears the state

        @rule(pair=pairs, data=st.data())
        def exhaust(self, pair: KeyPair, data: st.DataObject) -> None:
            """Wrong VERIFYs until the counter is at 0 (destructive mode) or 1: blocking in one step."""
            floor = 0 if destructive else 1
            while self.model[pair.name].tries > floor:
                self.verify_wrong(pair, data)
            if destructive:
                self.verify_wrong(pair, data)  # one more: a blocked PIN answers 6984

        @rule(pair=pairs)
        def retry_query(self, pair: KeyPair) -> None:
            m = self.model[pair.name]
            r = self.jpki.retry_query(pair.pin_ef)
            allowed = {0x63C0 | m.tries}
            if m.verified is not False:
                allowed.add(SW.OK)  # jpki-applet.md open question 2: some cards answer 9000 once verified
            assert r.sw in allowed and not r.data, (
                f"{pair.name}: retry query answered {said(r)}, model 63C{m.tries:X}"
            )

        @rule(pair=pairs, data=st.data())
        def change(self, pair: KeyPair, data: st.DataObject) -> None:
            m = self.model[pair.name]
            if not destructive or m.verified is None:
                return
            pin_rules = limits[pair.name]
            new = data.draw(
                st.text(
                    CHARSETS[pin_rules.charset], min_size=pin_rules.min_length, max_size=pin_rules.max_length
                ),
                label="new",
            )
            r = self.jpki.change(pair.pin_ef, new)
            if not m.verified:
                # 6982: not verified in the current selection (JPKI-PIN-06); a blocked PIN may say so
                # instead (6984, reference data not usable: jpki-applet.md leaves the order open)
                refusals = {SW.SECURITY_STATUS_NOT_SATISFIED}
                if m.tries == 0:
                    refusals.add(SW.REFERENCE_DATA_NOT_USABLE)
                assert r.sw in refusals and not r.data, (
                    f"{pair.name}: CHANGE without VERIFY (tries {m.tries}) answered {said(r)}"
                )
                return
            assert r.sw == SW.OK, f"{pair.name}: CHANGE after VERIFY answered {said(r)}"
            m.value, m.tries, m.verified = (
                Secret(f"{pair.name} PIN set by the test", new, "derived", scrub=False),
                pin_rules.tries,
                None,
            )

        @rule()
        def reselect(self) -> None:
            assert self.jpki.select_ap().ok, "re-SELECT of the JPKI application failed"
            self.clear_all()

        @rule()
        def reset(self) -> None:
            self.session.reset()
            assert self.jpki.select_ap().ok, "SELECT after reset failed"
            self.clear_all()

        @rule()
        def power_cycle(self) -> None:
            """Counters persist, the verified state does not (PIN states and blocking, Security state)."""
            self.session.reset(cold=True)
            assert self.jpki.select_ap().ok, "SELECT after a power cycle failed"
            self.clear_all()

        @rule(pair=pairs)
        def sign_probe(self, pair: KeyPair) -> None:
            m = self.model[pair.name]
            if m.verified is None:
                return
            r = self.jpki.sign(pair.key_ef, PROBE)
            if m.verified:
                assert r.ok, f"{pair.name}: signing while verified answered {said(r)}"
                assert not problem_of(keys[pair.name], PROBE, r.data), f"{pair.name}: bad signature"
            else:
                assert r.sw == SW.SECURITY_STATUS_NOT_SATISFIED, (
                    f"{pair.name}: signing unverified answered {said(r)}"
                )

        @rule()
        def read_sign_certificate(self) -> None:
            m = self.model.get(SIGN.name)
            if m is None or m.verified is None:
                return
            assert self.jpki.select_ef(SIGN.cert_ef).ok
            r = self.jpki.read(0, 4)
            expected = SW.OK if m.verified else SW.SECURITY_STATUS_NOT_SATISFIED
            assert r.sw == expected, f"EF 0001 read answered {said(r)}, the sign PIN verified: {m.verified}"

        @rule(pair=pairs)
        def verify_then_use(self, pair: KeyPair) -> None:
            """A client's usual sequence ("Signing", "Commands"): VERIFY, then sign; the positive probes."""
            self.verify_right(pair)
            self.sign_probe(pair)
            self.read_sign_certificate()

        def teardown(self) -> None:
            if not hasattr(self, "session"):
                return
            if destructive:
                self.session.close()
            else:
                restore(self.jpki, profile)

    return PinMachine


@pytest.mark.requirement("JPKI-PIN-09")
@pytest.mark.effects("pin-tries")
def test_pin_state_machine(jpki: JpkiClient, card, profile, fresh_card) -> None:
    keys = {p.name: public_key(read_certificate(jpki, profile, p.cert_ef)) for p in claimed_pairs(profile)}
    fresh = fresh_card
    destructive = fresh is not None
    machine = make_machine(profile, fresh if destructive else (lambda: card), destructive, keys)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=60 if destructive else 10,
            stateful_step_count=30 if destructive else 20,
            deadline=None,
            derandomize=True,
            report_multiple_bugs=False,  # shrink the first failure only: shorter runs, one clear sequence
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
