"""Profiles: bundled files load, bad files give exact file/field/problem, secrets never leak."""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jpkikit.errors import ProfileError
from jpkikit.harness.profile import (
    SCHEMA_PATH,
    EmulatorTransport,
    PcscTransport,
    Profile,
    Secret,
    load_profile,
)

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
BUNDLED = sorted(PROFILES.glob("*.yaml"))
DELETE = object()

BASE: dict[str, Any] = {
    "schema": "jpkikit-profile/1",
    "implementation": {"name": "Test SE", "vendor": "ACME", "version": "1.0", "class": "gp-se"},
    "ics": {
        "personality": "gp-se",
        "iso7816": {
            "logical_channels": 4,
            "extended_length": True,
            "max_command_data": 2048,
            "max_response_data": 2048,
        },
        "jpki": {
            "token_label": "JPKIAPGPSETOKEN",
            "auth_pin": {"min_length": 4, "max_length": 4, "charset": "digits", "tries": 3},
            "sign_pin": {"min_length": 6, "max_length": 16, "charset": "upper-alnum", "tries": 5},
            "auth_cert_needs_pin": True,
            "card_aps_present": False,
        },
    },
    "ixit": {
        "transport": {"kind": "emulator"},
        "aids": {"jpki": "D392F000260100000001", "absent": "D392F0002601000000FF"},
        "secrets": {"auth_pin": "test:1234", "sign_pin": "test:ABC123"},
    },
}
PCSC = {"kind": "pcsc", "reader": "Virtual PCD 00 00"}

# libyaml (which the loaders use where PyYAML has it) and pure-Python PyYAML word this differently
NO_NODE_CONTENT = (
    "did not find expected node content" if yaml.__with_libyaml__ else "expected the node content"
)


def mutated(changes: dict[str, Any]) -> dict[str, Any]:
    """BASE with dotted paths set to new values (or removed with DELETE)."""
    doc = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = doc
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return doc


def write(directory: Path, doc: Any, name: str = "profile.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def expect_error(path: Path, field: str, problem: str) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    error = caught.value
    assert (error.file, error.field, error.problem) == (str(path), field, problem)
    assert str(error) == f"{path}: {field}: {problem}"
    return error


# --- bundled profiles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_bundled_profiles_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPKI_AUTH_PIN", "1234")
    monkeypatch.setenv("JPKI_SIGN_PIN", "ABC123")
    profile = load_profile(path)
    raw = path.read_bytes()
    if b"\nextends:" not in raw:
        assert profile.identity()["sha256"] == hashlib.sha256(raw).hexdigest()
    else:  # the identity covers the base profile too
        assert profile.identity()["sha256"] != hashlib.sha256(raw).hexdigest()


def test_all_expected_profiles_are_bundled() -> None:
    names = {p.name for p in BUNDLED}
    assert {
        "emulator-gpse.yaml",
        "emulator-card.yaml",
        "emulator-sim.yaml",
        "emulator-gpse-pcsc.yaml",
        "example-real-reader.yaml",
    } <= names


def test_bundled_claims() -> None:
    gpse = load_profile(PROFILES / "emulator-gpse.yaml")
    card = load_profile(PROFILES / "emulator-card.yaml")
    sim = load_profile(PROFILES / "emulator-sim.yaml")
    pcsc = load_profile(PROFILES / "emulator-gpse-pcsc.yaml")
    assert (gpse.ics.personality, gpse.ics.iso7816.logical_channels, gpse.ics.iso7816.extended_length) == (
        "gp-se",
        4,
        True,
    )
    assert gpse.ics.jpki.token_label == "JPKIAPGPSETOKEN"
    assert gpse.ics.jpki.auth_cert_needs_pin and not gpse.ics.jpki.card_aps_present
    assert (card.ics.personality, card.ics.iso7816.logical_channels, card.ics.iso7816.extended_length) == (
        "mynumber-card",
        1,
        False,
    )
    assert card.ics.jpki.token_label == "JPKIAPICCTOKEN2"
    assert card.ics.iso7816.extended_length_reject_sw == 0x6700  # the default
    assert (sim.implementation.class_, sim.ics.iso7816.logical_channels, sim.ics.iso7816.extended_length) == (
        "sim",
        4,
        False,
    )
    for profile in (gpse, card, sim, pcsc):
        assert profile.ixit.aids.jpki == bytes.fromhex("D392F000260100000001")
        assert profile.ixit.aids.absent == bytes.fromhex("D392F0002601000000FF")
        assert profile.secret("auth_pin").reveal() == "1234"
        assert profile.secret("sign_pin").reveal() == "ABC123"
        assert profile.ixit.runs_kit_emulator
    assert isinstance(gpse.ixit.transport, EmulatorTransport)
    assert gpse.ixit.transport.personality == "gp-se"  # defaulted from ics.personality
    transport = pcsc.ixit.transport
    assert isinstance(transport, PcscTransport)
    assert transport.reader == "Virtual PCD 00 00"
    assert transport.serve is not None
    assert (transport.serve.personality, transport.serve.host, transport.serve.port) == (
        "gp-se",
        "127.0.0.1",
        35963,
    )
    assert transport.pcscd == "start-if-absent"
    # the same ISO and JPKI claims, reached another way
    assert (pcsc.ics.personality, pcsc.ics.iso7816, pcsc.ics.jpki) == (
        gpse.ics.personality,
        gpse.ics.iso7816,
        gpse.ics.jpki,
    )


def test_example_real_reader_needs_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JPKI_AUTH_PIN", raising=False)
    path = PROFILES / "example-real-reader.yaml"
    expect_error(path, "ixit.secrets.auth_pin", "environment variable JPKI_AUTH_PIN is not set")


def test_schema_file_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


# --- the typed profile ------------------------------------------------------------------------------------


def test_get_identity_and_defaults(tmp_path: Path) -> None:
    doc = mutated({"ixit.transport": dict(PCSC), "ixit.secrets": {}})
    path = write(tmp_path, doc)
    profile = load_profile(path)
    assert isinstance(profile, Profile)
    assert profile.get("ics.iso7816.extended_length") is True
    assert profile.get("ics.jpki.sign_pin.tries") == 5
    assert profile.get("implementation.class") == "gp-se"
    assert profile.get("ics.iso7816.atr") is None
    assert profile.get("ixit.transport.timeout") == 30.0
    assert profile.get("ixit.transport.serve") is None
    assert profile.get("ixit.secrets.auth_pin") is None
    for bad in ("ics.nope", "ics.iso7816.extended_length.x", "path", "ixit.transport.personality"):
        with pytest.raises(ProfileError) as caught:
            profile.get(bad)
        assert caught.value.field == bad
        assert caught.value.problem == "no such field in a jpkikit-profile/1 profile"
    assert profile.identity() == {
        "name": "Test SE",
        "vendor": "ACME",
        "version": "1.0",
        "class": "gp-se",
        "profile": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    transport = profile.redacted()["ixit"]["transport"]
    assert transport == {
        "kind": "pcsc",
        "reader": "Virtual PCD 00 00",
        "timeout": 30.0,
        "protocol": "any",
        "pcscd": "require",
    }
    with pytest.raises(ProfileError) as caught:
        profile.secret("auth_pin")
    assert (caught.value.field, caught.value.problem) == (
        "ixit.secrets.auth_pin",
        "not given; add a reference such as env:NAME",
    )
    assert not profile.ixit.runs_kit_emulator


def test_fields_inside_an_absent_optional_section_are_not_given() -> None:
    card = load_profile(PROFILES / "emulator-card.yaml")
    assert card.get("ics.gp") is None
    assert card.get("ics.gp.scp03") is None
    with pytest.raises(ProfileError):
        card.get("ics.nope.scp03")


def test_gp_keyset_must_name_a_secret(tmp_path: Path) -> None:
    keysets = [{"sd": "isd", "kvn": "30", "length": 16, "secret": "scp03_isd_30"}]
    doc = mutated({"ixit.gp": {"isd": "A000000151000000", "keysets": keysets}})
    expect_error(
        write(tmp_path, doc),
        "ixit.gp.keysets[0].secret",
        "names 'scp03_isd_30', which is not in ixit.secrets",
    )
    doc["ixit"]["secrets"]["scp03_isd_30"] = "test:404142434445464748494A4B4C4D4E4F"
    profile = load_profile(write(tmp_path, doc))
    assert profile.secret("scp03_isd_30").reveal() == "404142434445464748494A4B4C4D4E4F"


def test_hex_values_and_paths(tmp_path: Path) -> None:
    doc = mutated(
        {
            "ics.iso7816.extended_length": False,
            "ics.iso7816.max_command_data": 255,
            "ics.iso7816.max_response_data": 256,
            "ics.iso7816.extended_length_reject_sw": "6d00",
            "ics.iso7816.atr": "3b e0 00 ff 81 31 fe 45 14",
            "ixit.transport.state": "state/gpse.json",
            "ixit.transport.factory": "jpkikit.reference.emulator.faulty:no_channels",
            "ixit.transport.personality": "sim",
        }
    )
    profile = load_profile(write(tmp_path, doc))
    assert profile.ics.iso7816.atr == bytes.fromhex("3BE000FF8131FE4514")
    assert profile.ics.iso7816.extended_length_reject_sw == 0x6D00
    transport = profile.ixit.transport
    assert isinstance(transport, EmulatorTransport)
    assert transport.state == tmp_path.resolve() / "state" / "gpse.json"
    assert (transport.factory, transport.personality) == (
        "jpkikit.reference.emulator.faulty:no_channels",
        "sim",
    )
    iso = profile.redacted()["ics"]["iso7816"]
    assert (iso["atr"], iso["extended_length_reject_sw"]) == ("3BE000FF8131FE4514", "6D00")


def test_pin_rules_check() -> None:
    profile = load_profile(PROFILES / "emulator-gpse.yaml")
    auth, sign = profile.ics.jpki.auth_pin, profile.ics.jpki.sign_pin
    assert auth.allows("0000") and not auth.allows("12345") and not auth.allows("12a4")
    assert sign.allows("ABC123") and not sign.allows("abc123") and not sign.allows("ABC12")
    assert sign.check("abc123") == "has characters outside the charset upper-alnum"


# --- secrets ----------------------------------------------------------------------------------------------

AUTH, SIGN = "5807", "ZQXJ7788"  # values that occur nowhere else in a profile or its repr


def test_secrets_never_appear_in_repr_str_or_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_JPKI_AUTH", AUTH)
    (tmp_path / "secrets.yaml").write_text(f'sign_pin: "{SIGN}"\n', encoding="utf-8")
    doc = mutated(
        {
            "ixit.transport": dict(PCSC),
            "ixit.secrets": {"auth_pin": "env:TEST_JPKI_AUTH", "sign_pin": "file:secrets.yaml#sign_pin"},
        }
    )
    profile = load_profile(write(tmp_path, doc))
    auth, sign = profile.secret("auth_pin"), profile.secret("sign_pin")
    assert (auth.reveal(), sign.reveal()) == (AUTH, SIGN)
    assert repr(auth) == str(auth) == f"{auth}" == "<secret auth_pin>"
    assert (auth.ref, sign.ref) == ("env:TEST_JPKI_AUTH", "file:secrets.yaml#sign_pin")
    redacted = profile.redacted()
    assert redacted["ixit"]["secrets"] == {
        "auth_pin": "<redacted env:TEST_JPKI_AUTH>",
        "sign_pin": "<redacted file:secrets.yaml#sign_pin>",
    }
    dumped = [repr(profile), str(profile), json.dumps(redacted), json.dumps(profile.identity())]
    dumped += [repr(profile.ixit), repr(profile.ixit.secrets), str(list(profile.ixit.secrets.values()))]
    for text in dumped:
        assert AUTH not in text and SIGN not in text
    with pytest.raises(TypeError):
        pickle.dumps(auth)


def test_test_values_are_redacted_too(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, mutated({"ixit.secrets.sign_pin": f"test:{SIGN}"})))
    assert profile.redacted()["ixit"]["secrets"]["sign_pin"] == "<redacted test>"
    assert SIGN not in repr(profile) and SIGN not in json.dumps(profile.redacted())
    assert profile.secret("sign_pin").reveal() == SIGN


def test_whole_file_secret(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "scp03.hex").write_text("404142434445464748494A4B4C4D4E4F\n", encoding="utf-8")
    doc = mutated({"ixit.secrets.scp03_enc": "file:keys/scp03.hex"})
    profile = load_profile(write(tmp_path, doc))
    assert profile.secret("scp03_enc").reveal() == "404142434445464748494A4B4C4D4E4F"


def test_inline_secret_values_are_never_echoed_in_errors(tmp_path: Path) -> None:
    for value, kind in ((AUTH, "a string"), (int(AUTH), "an integer")):
        path = write(tmp_path, mutated({"ixit.secrets.auth_pin": value}))
        error = expect_error(
            path,
            "ixit.secrets.auth_pin",
            f"{SECRET_PROBLEM}, got {kind}",
        )
        assert AUTH not in str(error)


# --- invalid profiles: exact file, field and problem ------------------------------------------------------

SECRET_PROBLEM = (
    "must be a secret reference: env:NAME, file:relative/path#key, package:module/file or test:VALUE"
)
AID_PROBLEM = "must be an AID of 5 to 16 bytes in hex without spaces, e.g. 'D392F000260100000001'"
BAD = [
    ({"ics.iso7816.logical_channels": 0}, "ics.iso7816.logical_channels", "must be between 1 and 20, got 0"),
    (
        {"ics.iso7816.logical_channels": 21},
        "ics.iso7816.logical_channels",
        "must be between 1 and 20, got 21",
    ),
    (
        {"ics.iso7816.logical_channels": "four"},
        "ics.iso7816.logical_channels",
        "must be an integer, got 'four'",
    ),
    (
        {"ics.iso7816.extended_length": "maybe"},
        "ics.iso7816.extended_length",
        "must be true or false, got 'maybe'",
    ),
    ({"implementation.vendor": DELETE}, "implementation.vendor", "missing required field"),
    ({"ics": DELETE}, "ics", "missing required field"),
    ({"implementation": ["x"]}, "implementation", "must be a mapping, got a list"),
    ({"implementation.name": ""}, "implementation.name", "must not be empty"),
    (
        {"implementation.version": 1.0},
        "implementation.version",
        "must be a string, got 1.0 (quote it in YAML)",
    ),
    (
        {"implementation.class": "phone"},
        "implementation.class",
        "must be one of gp-se, sim, handset, rw, tsm, got 'phone'",
    ),
    ({"schema": "jpkikit-profile/2"}, "schema", "must be jpkikit-profile/1, got 'jpkikit-profile/2'"),
    (
        {"ics.iso7816.channels": 4},
        "ics.iso7816.channels",
        "unknown field; expected one of: logical_channels, extended_length, max_command_data, "
        "max_response_data, extended_length_reject_sw, atr, default_application",
    ),
    ({"extra": 1}, "extra", "unknown field; expected one of: schema, implementation, ics, ixit"),
    (
        {"ics.personality": "ios"},
        "ics.personality",
        "must be one of gp-se, mynumber-card, sim, sim-auth, got 'ios'",
    ),
    ({"ixit.aids.jpki": "D392XX"}, "ixit.aids.jpki", f"{AID_PROBLEM}, got 'D392XX'"),
    ({"ixit.aids.jpki": "D392F0"}, "ixit.aids.jpki", f"{AID_PROBLEM}, got 'D392F0'"),
    ({"ixit.aids.jpki": 1234567890}, "ixit.aids.jpki", f"{AID_PROBLEM}, got 1234567890"),
    ({"ixit.aids.absent": "D392F000260100000001"}, "ixit.aids.absent", "must differ from ixit.aids.jpki"),
    (
        {"ics.iso7816.atr": "3B E0 0"},
        "ics.iso7816.atr",
        "must be an ATR of 2 to 33 bytes in hex (spaces between bytes allowed), in quotes, got '3B E0 0'",
    ),
    (
        {"ics.jpki.token_label": "X" * 50},  # long values are shortened in messages
        "ics.jpki.token_label",
        "must be 1 to 32 printable ASCII characters (EF 0006 label, e.g. JPKIAPGPSETOKEN), got "
        f"'{'X' * 37}...'",
    ),
    (
        {"ics.jpki.auth_pin.charset": "hex"},
        "ics.jpki.auth_pin.charset",
        "must be one of digits, upper-alnum, alnum, printable, got 'hex'",
    ),
    ({"ics.jpki.auth_pin.tries": 16}, "ics.jpki.auth_pin.tries", "must be between 1 and 15, got 16"),
    (
        {"ics.jpki.sign_pin.min_length": 8, "ics.jpki.sign_pin.max_length": 6},
        "ics.jpki.sign_pin.min_length",
        "must not exceed max_length (8 > 6)",
    ),
    (
        {"ics.iso7816.extended_length": False},
        "ics.iso7816.max_command_data",
        "more than 255 needs extended_length: true, got 2048",
    ),
    (
        {"ics.iso7816.extended_length": False, "ics.iso7816.max_command_data": 255},
        "ics.iso7816.max_response_data",
        "more than 256 needs extended_length: true, got 2048",
    ),
    (
        {"ics.iso7816.extended_length_reject_sw": "6700"},
        "ics.iso7816.extended_length_reject_sw",
        "only meaningful when ics.iso7816.extended_length is false",
    ),
    (
        {"ics.iso7816.extended_length_reject_sw": 6700},
        "ics.iso7816.extended_length_reject_sw",
        "must be a status word as 4 hex digits in quotes, e.g. '6700', got 6700",
    ),
    (
        {"ixit.transport.kind": "nfc"},
        "ixit.transport.kind",
        "must be one of emulator, pcsc, got 'nfc'",
    ),
    (
        {"ixit.transport": {"kind": "pcsc"}},
        "ixit.transport.reader",
        "missing required field (kind pcsc needs a reader name or index)",
    ),
    (
        {"ixit.transport.serve": {"port": 35963}},
        "ixit.transport.serve",
        "only allowed when ixit.transport.kind is pcsc",
    ),
    (
        {"ixit.transport": {**PCSC, "personality": "gp-se"}},
        "ixit.transport.personality",
        "only allowed when ixit.transport.kind is emulator; "
        "to serve the emulator over PC/SC use ixit.transport.serve",
    ),
    (
        {"ixit.transport": {**PCSC, "timeout": 0}},
        "ixit.transport.timeout",
        "must be greater than 0 and at most 3600, got 0",
    ),
    (
        {"ixit.transport": {**PCSC, "timeout": 4000}},
        "ixit.transport.timeout",
        "must be greater than 0 and at most 3600, got 4000",
    ),
    ({"ixit.transport": {**PCSC, "reader": -1}}, "ixit.transport.reader", "must be at least 0, got -1"),
    ({"ixit.transport": {**PCSC, "reader": ""}}, "ixit.transport.reader", "must not be empty"),
    (
        {"ixit.transport": {**PCSC, "protocol": "T2"}},
        "ixit.transport.protocol",
        "must be one of T0, T1, any, got 'T2'",
    ),
    (
        {"ixit.transport": {**PCSC, "serve": {"port": 70000}}},
        "ixit.transport.serve.port",
        "must be between 1 and 65535, got 70000",
    ),
    (
        {"ixit.transport": {**PCSC, "serve": {"listen": "0.0.0.0"}}},
        "ixit.transport.serve.listen",
        "unknown field; expected one of: personality, state, factory, host, port",
    ),
    (
        {"ixit.transport.factory": "notafactory"},
        "ixit.transport.factory",
        "must be 'package.module:callable', got 'notafactory'",
    ),
    (
        {"ixit.transport": dict(PCSC)},
        "ixit.secrets.auth_pin",
        "test: values are only allowed when the kit runs the emulator (transport kind emulator, "
        "or pcsc with serve); use env: or file:",
    ),
    (
        {"ixit.secrets.auth_pin": "env:JPKIKIT_TEST_SURELY_UNSET"},
        "ixit.secrets.auth_pin",
        "environment variable JPKIKIT_TEST_SURELY_UNSET is not set",
    ),
    (
        {"ixit.secrets.auth_pin": "vault:auth"},
        "ixit.secrets.auth_pin",
        f"{SECRET_PROBLEM}, got a string",
    ),
    (
        {"ixit.secrets.AuthPin": "test:1234"},
        "ixit.secrets.AuthPin",
        "secret names must be lowercase letters, digits and _, starting with a letter",
    ),
    (
        {"ixit.secrets.auth_pin": "test:12345"},
        "ixit.secrets.auth_pin",
        "does not satisfy ics.jpki.auth_pin: length must be 4 to 4, got 5 characters",
    ),
    (
        {"ixit.secrets.sign_pin": "test:abc123"},
        "ixit.secrets.sign_pin",
        "does not satisfy ics.jpki.sign_pin: has characters outside the charset upper-alnum",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "problem"), BAD, ids=[case[1] + ":" + case[2][:30] for case in BAD]
)
def test_bad_profile(tmp_path: Path, changes: dict[str, Any], field: str, problem: str) -> None:
    expect_error(write(tmp_path, mutated(changes)), field, problem)


@pytest.mark.parametrize(
    ("setup", "ref", "problem"),
    [
        (None, "file:nope.yaml#auth_pin", "secret file nope.yaml not found (relative to {dir})"),
        ("other: '1234'\n", "file:s.yaml#auth_pin", "key auth_pin not found in secret file s.yaml"),
        (
            "auth_pin: 1234\n",
            "file:s.yaml#auth_pin",
            "auth_pin in s.yaml must be a quoted string (YAML reads unquoted 0123 as a number)",
        ),
        (
            "- 1234\n",
            "file:s.yaml#auth_pin",
            "secret file s.yaml must be a YAML mapping to look up #auth_pin",
        ),
        ("auth_pin: [\n", "file:s.yaml#auth_pin", "secret file s.yaml: invalid YAML at line 2, column 1: "),
        ("\n", "file:s.yaml", "secret from file:s.yaml is empty"),
    ],
)
def test_bad_secret_file(tmp_path: Path, setup: str | None, ref: str, problem: str) -> None:
    if setup is not None:
        (tmp_path / "s.yaml").write_text(setup, encoding="utf-8")
    path = write(tmp_path, mutated({"ixit.secrets.auth_pin": ref}))
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.field == "ixit.secrets.auth_pin"
    assert caught.value.problem.startswith(problem.format(dir=tmp_path.resolve()))


def test_empty_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_JPKI_EMPTY", "")
    path = write(tmp_path, mutated({"ixit.secrets.auth_pin": "env:TEST_JPKI_EMPTY"}))
    expect_error(path, "ixit.secrets.auth_pin", "environment variable TEST_JPKI_EMPTY is empty")


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("", "<document>", "a profile must be a YAML mapping; the file is empty"),
        ("- a\n- b\n", "<document>", "a profile must be a YAML mapping; got a list"),
        ("schema: [\n", "<document>", "invalid YAML at line 2, column 1: " + NO_NODE_CONTENT),
        (
            "a: 1\n---\nb: 2\n",
            "<document>",
            "invalid YAML at line 2, column 1: "
            "expected a single document in the stream, but found another document",
        ),
        ("schema: x\nics: {}\nschema: y\n", "schema", "duplicate field (again at line 3)"),
        (
            "ics:\n  personality: gp-se\n  personality: sim\n",
            "ics.personality",
            "duplicate field (again at line 3)",
        ),
        ("on: 1\n", "<document>", "field names must be text, got on (quote it)"),
        ("x: !!python/object:os.system {}\n", "<document>", "invalid YAML"),
    ],
)
def test_bad_yaml(tmp_path: Path, text: str, field: str, problem: str) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.field == field
    assert caught.value.problem.startswith(problem)


def test_unreadable_files(tmp_path: Path) -> None:
    expect_error(tmp_path / "missing.yaml", "<document>", "file not found")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00schema")
    expect_error(binary, "<document>", "not UTF-8 text")
    with pytest.raises(ProfileError) as caught:
        load_profile(tmp_path)  # a directory
    assert caught.value.problem.startswith("cannot read the file")


def test_recursive_yaml_aliases_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("ics: &x {iso7816: *x}\n", encoding="utf-8")
    expect_error(path, "ics.iso7816", "a YAML alias may not refer to a node that contains it")


def test_shared_yaml_aliases_are_resolved(tmp_path: Path) -> None:
    text = write(tmp_path, BASE).read_text(encoding="utf-8")
    text = text.replace("jpki: D392F000260100000001", "jpki: &aid D392F000260100000001")
    text = text.replace("absent: D392F0002601000000FF", "absent: *aid")
    path = tmp_path / "aliased.yaml"
    path.write_text(text, encoding="utf-8")
    expect_error(path, "ixit.aids.absent", "must differ from ixit.aids.jpki")


# --- any mutation gives a ProfileError, never another exception -------------------------------------------


def _leaf_paths(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _leaf_paths(value, f"{prefix}{key}.")] + (
            [prefix[:-1]] if prefix else []
        )
    return [prefix[:-1]]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_leaf_paths(BASE)), JSONISH | st.just(DELETE))
def test_any_mutation_is_a_profile_error_or_loads(dotted: str, value: Any) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = write(Path(directory), mutated({dotted: value}))
        try:
            profile = load_profile(path)
        except ProfileError as error:
            assert error.field and error.problem
        else:
            assert profile.identity()["class"] in ("gp-se", "sim", "handset", "rw", "tsm")


def test_secret_object_basics() -> None:
    secret = Secret("auth_pin", "9999", "test")
    assert (secret.name, secret.ref, secret.reveal()) == ("auth_pin", "test", "9999")
    assert "9999" not in repr(secret) + str(secret) + f"{secret!s}{secret!r}"


def test_the_emulator_offers_every_personality_an_ics_can_claim() -> None:
    """The personalities are listed once, in the profile schema; the reference emulator has one of each."""
    from jpkikit.harness.profile import PERSONALITIES
    from jpkikit.reference.emulator.personalities import PERSONALITIES as EMULATED

    assert set(PERSONALITIES) == set(EMULATED)
