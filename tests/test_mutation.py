"""The mutation proxy and its mutant library, in-process (no PC/SC): the kit's session talks to a
MutationProxy (a SimulatedCard) whose upstream is the kit's emulator, so each mutant's rewrite is checked
on the wire, and so is the safety rule (the proxy sends the unit only what the host sent, each at most
once). The served campaign (`jpkikit mutate run` through pcscd) is tests/test_mutation_pcsc.py."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from jpkikit.cli import mutation as cli
from jpkikit.errors import KitError, MalformedResponse, TransportError
from jpkikit.harness.catalogue import load_catalogue
from jpkikit.harness.profile import load_profile
from jpkikit.harness.seam import emulator_card
from jpkikit.harness.verdict import Verdict
from jpkikit.host import mutants
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.host.link import InProcessTransport, Layer, Transport
from jpkikit.host.mutation import Context, MutantError, MutationProxy, Upstream, parse_params
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.host.vpcd import VpcdServer, _Dropped
from jpkikit.report.verdicts import TestOutcome
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.sw import SW
from jpkikit.vocab.jpki.card import AUTH, EF_TOKEN_INFO, JPKI_AID, SIGN
from jpkikit.vocab.jpki.pkcs1 import digest_info_of
from jpkikit.vocab.scp03 import SecureChannelError, StaticKeys

from .conformance_runner import REPO

ISD = bytes.fromhex("A000000151000000")
ISD_KEYS = StaticKeys.single(bytes.fromhex("404142434445464748494A4B4C4D4E4F"), 0x30)
ABSENT_AID = bytes.fromhex("D392F0002601000000FF")
AUTH_PIN, SIGN_PIN = "1234", "ABC123"


class Recorder(Layer):
    """The unit's side of the proxy: every command that reached it."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.seen: list[bytes] = []

    def transmit(self, command: bytes) -> bytes:
        self.seen.append(bytes(command))
        return self.inner.transmit(command)


class Host(Layer):
    """The host's side: every command the kit sent to the proxy."""

    def __init__(self, inner: Transport) -> None:
        super().__init__(inner)
        self.sent: list[bytes] = []

    def transmit(self, command: bytes) -> bytes:
        self.sent.append(bytes(command))
        return self.inner.transmit(command)


def proxied(mutant_id: str, **params: object) -> tuple[CardSession, MutationProxy, Recorder, Host]:
    unit = Recorder(InProcessTransport(emulator_card("gp-se"), "the unit"))
    proxy = MutationProxy(Upstream(lambda: unit), mutants.make(mutant_id, params, Context(timeout=1.0)))
    host = Host(InProcessTransport(proxy, "the proxy"))
    session = CardSession(host)
    session.reset()
    return session, proxy, unit, host


def jpki_of(session: CardSession) -> JpkiClient:
    client = JpkiClient(session, JPKI_AID)
    assert client.select_ap().ok
    return client


# -- the library ------------------------------------------------------------------------------------------


def test_the_library_has_more_than_20_documented_mutants() -> None:
    specs = [m.spec for m in mutants.LIBRARY]
    assert len(specs) > 20 and len({s.id for s in specs}) == len(specs)
    assert specs[0].id == mutants.IDENTITY
    known = {r.id for r in load_catalogue()}
    for s in specs:
        assert s.title and s.description.endswith((".", ")")), s.id
        assert set(s.breaks) <= known, f"{s.id} names unknown requirements {set(s.breaks) - known}"
        assert s.expect in ("killed", "survives"), s.id
        assert (s.expect == "killed") == bool(s.breaks), s.id
        assert s.expect == "killed" or s.why, f"{s.id}: a mutant expected to survive says why"
        mutants.make(s.id)  # every default resolves


def test_selection_and_parameters() -> None:
    chosen = mutants.select("truncated, signature-corrupted")
    assert [m.spec.id for m in chosen] == ["identity", "truncated", "signature-corrupted"]
    assert len(mutants.select("all")) == len(mutants.LIBRARY)
    with pytest.raises(MutantError, match="no mutant 'nope'"):
        mutants.select("nope")
    assert mutants.make("truncated", {"n": "16"}).params == {"n": 16}
    with pytest.raises(MutantError, match="has no parameter m"):
        mutants.make("truncated", {"m": "1"})
    with pytest.raises(MutantError, match="must be int"):
        mutants.make("truncated", {"n": "many"})
    assert parse_params(["n=3", "label=A=B"]) == {"n": "3", "label": "A=B"}
    with pytest.raises(MutantError):
        parse_params(["n"])


# -- safety: the unit sees only what the host sent ------------------------------------------------------


def _workload(session: CardSession) -> None:
    """A little of everything the suite does: selects, reads, PIN tries, a signature, SCP03 with R-MAC."""
    for aid in (JPKI_AID, ABSENT_AID):
        session.select(aid)
    try:
        jpki = JpkiClient(session, JPKI_AID)
        jpki.select_ap()
        jpki.token_label()
        jpki.read_ef(0x000B)
        jpki.retry_query(AUTH.pin_ef)
        jpki.verify(AUTH.pin_ef, "9999")
        jpki.verify(AUTH.pin_ef, AUTH_PIN)
        jpki.sign(AUTH.key_ef, digest_info_of("sha256", b"x"))
        jpki.select_ef(0x00FF)
        session.send(0x00, 0xEE, 0, 0)
        session.transmit(bytes.fromhex("00A4040C0000"))
        session.select(ISD, p2=0x00)
        layer = Scp03Layer(session.tracer, ISD_KEYS, sd_aid=ISD)
        layer.open(0x13)
        layer.send(CommandApdu(0x80, 0xCA, 0x00, 0x66, ne=256))
        layer.send(CommandApdu(0x80, 0xF2, 0x80, 0x02, b"\x4f\x00"))
    except (KitError, AssertionError):
        pass  # what the mutant makes of it does not matter here


def _is_subsequence(sub: list[bytes], full: list[bytes]) -> bool:
    it = iter(full)
    return all(any(c == f for f in it) for c in sub)


@pytest.mark.parametrize(
    "mutant_id",
    [m.spec.id for m in mutants.LIBRARY if m.spec.id not in ("slow-signature", "mute-from-signature")],
)
def test_the_unit_sees_only_commands_the_host_sent(mutant_id: str) -> None:
    session, proxy, unit, host = proxied(mutant_id)
    _workload(session)
    assert unit.seen, "nothing reached the unit"
    assert _is_subsequence(unit.seen, host.sent), "the proxy sent the unit something the host did not send"
    assert proxy.stats.forwarded == len(unit.seen) and proxy.stats.commands == len(host.sent)


def test_the_identity_changes_nothing() -> None:
    session, proxy, unit, host = proxied("identity")
    _workload(session)
    assert proxy.stats.rewritten == 0 and unit.seen == host.sent


def test_a_mutant_cannot_forward_twice() -> None:
    class Twice(mutants.Identity):
        def exchange(self, x):  # type: ignore[no-untyped-def]
            x.forward()
            return x.forward()

    unit = InProcessTransport(emulator_card("gp-se"))
    proxy = MutationProxy(Upstream(lambda: unit), Twice())
    proxy.power_on()
    with pytest.raises(KitError, match="forwarded a command twice"):
        proxy.process(bytes.fromhex("00A4040C0AD392F000260100000001"))


# -- each kind of rewrite on the wire --------------------------------------------------------------------


def test_status_word_mutants() -> None:
    session, *_ = proxied("select-absent-aid-ok")
    assert session.select(ABSENT_AID).sw == SW.OK and session.select(JPKI_AID).sw == SW.OK
    session, *_ = proxied("unknown-ins-6e00")
    assert session.send(0x00, 0xEE, 0, 0).sw == SW.CLA_NOT_SUPPORTED
    session, *_ = proxied("wrong-length-6a87")
    assert session.transmit(bytes.fromhex("00A4040C0BD392F000260100000001")).sw == 0x6A87
    session, *_ = proxied("malformed-apdu-ok")
    assert session.transmit(bytes.fromhex("00A4040C0000")).sw == SW.OK
    session, *_ = proxied("select-fci-despite-p2-0c")
    r = session.select(JPKI_AID)
    assert r.ok and r.data == bytes((0x6F, 12, 0x84, 10)) + JPKI_AID


def test_ef_selects_answer_one_late() -> None:
    session, *_ = proxied("ef-select-answers-late")
    jpki = jpki_of(session)
    assert jpki.select_ef(0x00FF).sw == SW.OK  # the answer of the (none) before it
    assert jpki.select_ef(EF_TOKEN_INFO).sw == SW.FILE_NOT_FOUND  # the absent EF's answer, one late
    assert jpki.select_ef(EF_TOKEN_INFO).sw == SW.OK


def test_token_label_replaced_where_ef_0006_is_current() -> None:
    session, *_ = proxied("token-label-replaced", label="OTHER")
    jpki = jpki_of(session)
    label, last = jpki.token_label()
    assert last.ok and label == "OTHER"
    jpki.select_ef(0x000B)
    assert jpki.read(0, 4).data[:2] == b"\x30\x82"  # other EFs untouched


def test_pin_counter_mutants() -> None:
    session, *_ = proxied("verify-counter-kept")
    jpki = jpki_of(session)
    assert jpki.retry_query(AUTH.pin_ef).sw == 0x63C3
    assert jpki.verify(AUTH.pin_ef, "9999").sw == 0x63C3  # the try is spent, the answer hides it
    assert jpki.retry_query(AUTH.pin_ef).sw == 0x63C2  # the unit's own query tells the truth
    assert jpki.verify(AUTH.pin_ef, AUTH_PIN).ok

    session, *_ = proxied("retry-query-full")
    jpki = jpki_of(session)
    assert jpki.retry_query(SIGN.pin_ef).sw == 0x63C5
    assert jpki.verify(SIGN.pin_ef, "ABC124").sw == 0x63C4
    assert jpki.retry_query(SIGN.pin_ef).sw == 0x63C5

    session, *_ = proxied("first-wrong-pin-accepted")
    jpki = jpki_of(session)
    jpki.retry_query(AUTH.pin_ef)
    assert jpki.verify(AUTH.pin_ef, "9999").sw == SW.OK
    assert jpki.verify(AUTH.pin_ef, "9998").sw == 0x63C1  # only the first wrong try

    session, *_ = proxied("pin-counter-off-by-one")
    jpki = jpki_of(session)
    assert jpki.verify(AUTH.pin_ef, "9999").sw == 0x63C1


def test_signature_mutants() -> None:
    data = digest_info_of("sha256", b"mutation")
    plain = CardSession(InProcessTransport(emulator_card("gp-se")))
    plain.reset()
    direct = jpki_of(plain)
    direct.verify(AUTH.pin_ef, AUTH_PIN)
    genuine = direct.sign(AUTH.key_ef, data).data

    session, *_ = proxied("signature-corrupted")
    jpki = jpki_of(session)
    jpki.verify(AUTH.pin_ef, AUTH_PIN)
    r = jpki.sign(AUTH.key_ef, data)
    assert r.ok and r.data[:-1] == genuine[:-1] and r.data[-1] == genuine[-1] ^ 1

    session, *_ = proxied("signature-without-verify")
    r = jpki_of(session).sign(AUTH.key_ef, data)
    assert r.ok and len(r.data) == 256


def test_link_mutants() -> None:
    session, *_ = proxied("truncated", n=16)
    jpki = jpki_of(session)
    jpki.select_ef(0x000B)
    assert len(jpki.read(0, 200).data) == 16

    session, *_ = proxied("6cxx-twice")
    jpki = jpki_of(session)
    jpki.select_ef(EF_TOKEN_INFO)
    with pytest.raises(MalformedResponse, match="again after the command was re-issued"):
        jpki.read(0, 32)

    session, _, unit, _ = proxied("dead-after-k", k=3)
    jpki = jpki_of(session)  # reset is no command: SELECT is the 1st
    assert jpki.select_ef(EF_TOKEN_INFO).ok and jpki.read(0, 4).ok
    assert jpki.select_ap().sw == SW.NO_PRECISE_DIAGNOSIS
    assert len(unit.seen) == 3


def test_swallowed_61xx_hides_the_waiting_data() -> None:
    session, *_ = proxied("swallows-61xx")
    assert session.select(ISD, p2=0x00).ok
    case1 = session.send(0x80, 0xCA, 0x00, 0x66)  # no Le: the emulator answers 61xx
    assert case1.sw == SW.OK and not case1.data


def _scp(session: CardSession, level: int) -> Scp03Layer:
    assert session.select(ISD, p2=0x00).ok
    layer = Scp03Layer(session.tracer, ISD_KEYS, sd_aid=ISD)
    layer.open(level)
    return layer


@pytest.mark.parametrize("mutant_id", ["rmac-corrupted", "rmac-missing"])
def test_rmac_mutants_break_r_mac_sessions_only(mutant_id: str) -> None:
    session, proxy, *_ = proxied(mutant_id)
    get_data = CommandApdu(0x80, 0xCA, 0x00, 0x66, ne=256)
    assert _scp(session, 0x01).send(get_data).ok  # C-MAC only: no R-MAC to touch
    assert proxy.stats.rewritten == 0
    layer = _scp(session, 0x13)
    with pytest.raises(SecureChannelError):
        layer.send(get_data)


def test_scp03_handshake_mutants() -> None:
    session, *_ = proxied("bad-cryptogram-accepted")
    assert session.select(ISD, p2=0x00).ok
    layer = Scp03Layer(session.tracer, ISD_KEYS, sd_aid=ISD)
    hs = layer.initialize_update()
    layer.external_authenticate(0x01, cryptogram=bytes(int(hs.mode)))  # a wrong cryptogram "accepted"

    session, *_ = proxied("sequence-counter-frozen")
    assert session.select(ISD, p2=0x00).ok
    layer = Scp03Layer(session.tracer, ISD_KEYS)  # no SD AID: the layer does not check the challenge
    first = layer.initialize_update().response.sequence_counter
    assert layer.initialize_update().response.sequence_counter == first


def test_slow_and_mute_mutants_wait_and_stop() -> None:
    session, proxy, *_ = proxied("slow-signature", seconds=0.3)
    jpki = jpki_of(session)
    jpki.verify(AUTH.pin_ef, AUTH_PIN)
    started = time.monotonic()
    assert jpki.sign(AUTH.key_ef, digest_info_of("sha256", b"x")).ok
    assert time.monotonic() - started >= 0.3 and proxy.stats.delayed == 1

    session, proxy, *_ = proxied("mute-from-signature")
    jpki = jpki_of(session)
    threading.Timer(0.3, proxy.stop).start()
    started = time.monotonic()
    assert jpki.sign(AUTH.key_ef, b"\x01").sw == SW.NO_PRECISE_DIAGNOSIS  # answered once stopped
    assert 0.25 < time.monotonic() - started < 5


# -- a unit that cannot be reached --------------------------------------------------------------------------


class Broken(Transport):
    description = "a broken link"

    def transmit(self, command: bytes) -> bytes:
        raise TransportError("the reader is gone")

    def reset(self, cold: bool = False) -> bytes:
        return b"\x3b\x00"

    @property
    def atr(self) -> bytes:
        return b"\x3b\x00"

    def close(self) -> None:
        pass


def test_a_lost_unit_takes_the_proxy_card_out_of_the_reader() -> None:
    opened = []

    def opener() -> Transport:
        opened.append(1)
        return Broken()

    proxy = MutationProxy(Upstream(opener), mutants.make("identity"))
    proxy.power_on()
    with pytest.raises(TransportError):
        proxy.process(bytes.fromhex("00A4040C0AD392F000260100000001"))
    proxy.power_on()
    assert len(opened) == 2, "the upstream is opened again after it failed"
    with pytest.raises(_Dropped, match="lost its own link"):
        VpcdServer(proxy).handle(bytes.fromhex("00A4040C0AD392F000260100000001"))


# -- the command's pieces --------------------------------------------------------------------------------


def test_verdicts_decide_killed() -> None:
    def outcome(verdict: Verdict) -> TestOutcome:
        return TestOutcome("t::x", verdict, ("R-1",))

    assert cli._classify([outcome(Verdict.PASS), outcome(Verdict.FAIL)])[0] == "killed"
    assert cli._classify([outcome(Verdict.KIT_ERROR), outcome(Verdict.INCONCLUSIVE)])[0] == "kit error"
    assert cli._classify([outcome(Verdict.INCONCLUSIVE), outcome(Verdict.PASS)])[0] == "inconclusive"
    assert cli._classify([outcome(Verdict.PASS), outcome(Verdict.NOT_EXERCISED)])[0] == "survived"


def test_focus_names_the_tests_of_the_expected_requirements() -> None:
    from jpkikit.harness.bundled import suite_dir
    from jpkikit.report.coverage import collect_tests

    tests = collect_tests(suite_dir())
    assert (
        cli._focus(mutants.mutant_class("select-absent-aid-ok").spec, tests)
        == "test_select_absent_application"
    )
    assert cli._focus(mutants.Identity.spec, tests) is None


@pytest.mark.parametrize("name", ["served-unit", "emulator-gpse"])
def test_the_derived_profile_reaches_the_proxy(tmp_path: Path, name: str) -> None:
    profile = load_profile(REPO / "profiles" / f"{name}.yaml")
    derived = load_profile(cli.write_derived_profile(profile, tmp_path, "Virtual PCD 00 01", 7.0))
    assert derived.ixit.transport.kind == "pcsc" and derived.ixit.transport.reader == "Virtual PCD 00 01"
    assert derived.ixit.transport.timeout == 7.0 and derived.ixit.transport.serve is None
    assert derived.ixit.unit.ledger == str(tmp_path / "ledger")
    assert derived.ixit.unit.sacrificial == profile.ixit.unit.sacrificial  # the same safety kernel
    for secret, value in profile.ixit.secrets.items():
        assert derived.secret(secret).reveal() == value.reveal()
    assert derived.resource(derived.ixit.gp.test_package.load_file)


def test_a_sacrificial_pcsc_unit_is_refused(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "profiles" / "served-sacrificial.yaml").read_text())
    assert doc["ixit"]["unit"]["sacrificial"] is True
    proc = _run_cli("mutate", "run", "--profile", str(REPO / "profiles" / "served-sacrificial.yaml"))
    assert proc.returncode == 2 and "would spend it in the first run" in proc.stderr


def _run_cli(*args: str):  # type: ignore[no-untyped-def]
    from .cli_runner import jpkikit

    return jpkikit(*args)


def test_mutate_list_and_errors() -> None:
    listed = json.loads(_run_cli("mutate", "list", "--format", "json").stdout)
    assert [m["id"] for m in listed] == [m.spec.id for m in mutants.LIBRARY]
    proc = _run_cli("mutate", "serve", "--upstream", "x", "--mutant", "nope")
    assert proc.returncode == 2 and "no mutant 'nope'" in proc.stderr


def test_the_report_renders() -> None:
    report = {
        "kit_version": "0",
        "profile": "p.yaml",
        "implementation": "unit",
        "upstream": "Virtual PCD 00 00",
        "proxy_reader": "Virtual PCD 00 01",
        "keyword": None,
        "focus": True,
        "deadline_seconds": 30,
        "started": "now",
        "seconds": 3.0,
        "aborted": "",
        "identity": {"counts": {"pass": 3}, "outcome": "survived"},
        "kill_rate": {"killed": 1, "mutants": 2, "rate": 0.5, "expected_killed": 1, "expected_and_killed": 1},
        "mutants": [
            {**_result("a|b", True), "expect": "killed"},
            {**_result("c", False), "expect": "survives", "why": "by design"},
        ],
    }
    text = cli.render_markdown(report)
    assert "Kill rate: 1 of 2 mutants killed (50 %)" in text and "a\\|b" in text and "by design" in text


def _result(mutant_id: str, killed: bool) -> dict[str, object]:
    return {
        "id": mutant_id,
        "title": mutant_id,
        "breaks": ["R-1"],
        "why": "",
        "outcome": "killed" if killed else "survived",
        "note": "",
        "killing_tests": [{"test": "t::x", "requirements": ["R-1"], "message": "m"}] if killed else [],
        "counts": {"fail": 1} if killed else {"pass": 1},
        "rewritten": 1,
        "commands": 9,
    }


def test_the_docs_list_the_library() -> None:
    text = (REPO / "docs" / "mutation.md").read_text()
    generated = text.split("<!-- mutants: generated -->\n", 1)[1].split("<!-- /mutants -->", 1)[0]
    assert generated == cli.library_markdown(), "regenerate: jpkikit mutate list --format md"


def _campaign(keep_going: bool) -> cli.Campaign:
    import argparse

    args = argparse.Namespace(
        profile=str(REPO / "profiles" / "emulator-gpse.yaml"),
        mutants="all",
        param=None,
        results=None,
        upstream_reader=None,
        keep_going=keep_going,
    )
    return cli.Campaign(args)


@pytest.mark.parametrize("keep_going", [False, True])
def test_the_read_back_between_mutants(keep_going: bool) -> None:
    card = InProcessTransport(emulator_card("gp-se"))
    upstream = Upstream(lambda: card)
    campaign = _campaign(keep_going)
    assert campaign.check_unit(upstream) == (True, "")  # the unit as found
    assert campaign.check_unit(upstream) == (True, "")
    session = CardSession(card)
    session.reset()
    jpki = jpki_of(session)
    assert jpki.verify(AUTH.pin_ef, "9999").sw == 0x63C2  # a try a mutant's run left spent
    ok, text = campaign.check_unit(upstream)
    assert ok and "JPKI auth PIN tries left: 3 -> 2" in text and "restored" in text
    assert jpki_of(session).retry_query(AUTH.pin_ef).sw == 0x63C3  # restored by the read-back's VERIFY
    jpki = jpki_of(session)
    assert jpki.verify(SIGN.pin_ef, SIGN_PIN).ok and jpki.change(SIGN.pin_ef, "ABC124").ok  # left changed
    ok, text = campaign.check_unit(upstream)
    assert (
        not ok and "the profile's sign PIN no longer opens" in text and campaign.fatal
    )  # whatever --keep-going


def test_going_on_after_a_change_measures_against_the_unit_as_it_is() -> None:
    campaign = _campaign(True)
    card = InProcessTransport(emulator_card("gp-se"))
    upstream = Upstream(lambda: card)
    campaign.check_unit(upstream)
    campaign.baseline = {**campaign.baseline, "ATR": "3B00"}  # as if a run had changed something
    ok, text = campaign.check_unit(upstream)
    assert not ok and not campaign.fatal and "ATR: 3B00 ->" in text
    assert campaign.check_unit(upstream) == (True, "")


def test_the_in_process_factory_puts_the_emulator_behind_the_named_mutant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stats = tmp_path / "stats.jsonl"
    with pytest.raises(MutantError, match="JPKI_MUTANT is not set"):
        cli.mutated_emulator("gp-se", None)
    monkeypatch.setenv(cli.MUTANT_ENV, json.dumps({"id": "select-absent-aid-ok", "stats": str(stats)}))
    monkeypatch.setattr(cli, "_PROXIES", [])
    session = CardSession(InProcessTransport(cli.mutated_emulator("gp-se", None)))
    session.reset()
    assert session.select(ABSENT_AID).sw == SW.OK and session.select(JPKI_AID).sw == SW.OK
    cli._append_stats(stats)
    cli._append_stats(stats)  # one line per process; the campaign adds them up
    assert cli._read_stats(stats) == {"commands": 4, "rewritten": 2, "delayed": 0}


def test_the_in_process_derived_profile_names_the_factory(tmp_path: Path) -> None:
    profile = load_profile(REPO / "profiles" / "emulator-gpse.yaml")
    derived = load_profile(cli.write_derived_profile(profile, tmp_path, None, 10.0))
    transport = derived.ixit.transport
    assert transport.kind == "emulator" and transport.factory == cli.MUTATED_FACTORY
    assert transport.personality == profile.ixit.transport.personality
    assert derived.ixit.unit.ledger == str(tmp_path / "ledger")


def test_the_derived_profile_keeps_a_transport_personality_of_its_own(tmp_path: Path) -> None:
    """A transport may name another personality than ics.personality: the mutants run on that card."""
    own = tmp_path / "unit.yaml"
    own.write_text(
        f"extends: {REPO / 'profiles' / 'emulator-gpse.yaml'}\n"
        "ixit: {transport: {kind: emulator, personality: mynumber-card}}\n",
        encoding="utf-8",
    )
    profile = load_profile(own)
    assert profile.ixit.transport.personality != profile.ics.personality
    (tmp_path / "derived").mkdir()
    derived = load_profile(cli.write_derived_profile(profile, tmp_path / "derived", None, 10.0))
    assert derived.ixit.transport.personality == "mynumber-card"
