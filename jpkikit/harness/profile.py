"""Implementation profiles: what an implementation claims (ICS) and how to reach it (IXIT).

A profile is a YAML file (format ``jpkikit-profile/1``, see ``profiles/README.md``). :func:`load_profile`
checks it against ``profile.schema.json`` and a few cross-field rules, resolves secret references and
returns a frozen :class:`Profile`. Every problem is a :class:`ProfileError` naming the file, the dotted
field and the problem, e.g. ``profiles/x.yaml: ics.iso7816.logical_channels: must be between 1 and 20,
got 0``.

Secrets (PINs, keys) are given by reference, never inline: ``env:NAME``, ``file:relative/path#key`` or,
for the kit's own emulator only, ``test:VALUE``. Resolved values are :class:`Secret` objects whose
``repr``/``str`` are redacted; :meth:`Secret.reveal` returns the value where a test needs it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import keyword
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import jsonschema
import yaml

from jpkikit.errors import KitError, ProfileError
from jpkikit.harness.conditions import FieldSpec, FieldType
from jpkikit.harness.profile_sections import (
    Applicant,
    AramClaims,
    AramIxit,
    GpClaims,
    GpIxit,
    HandsetClaims,
    HandsetIxit,
    HexByte,
    KeySet,
    ProvisioningClaims,
    ProvisioningIxit,
    ReportIxit,
    RwClaims,
    RwIxit,
    SimClaims,
    TsmClaims,
    TsmIxit,
    UnitIxit,
    structure,
)
from jpkikit.secrets import Secret
from jpkikit.vocab.gp import seac
from jpkikit.vocab.scp03.keys import StaticKeys

SCHEMA_ID = "jpkikit-profile/1"
SCHEMA_PATH = Path(__file__).with_name("profile.schema.json")
#: The field name used for problems that concern the whole file rather than one field.
DOCUMENT = "<document>"
DEFAULT_REJECT_SW = 0x6700

# ---------------------------------------------------------------------------------------------------------
# Strict YAML


# libyaml's loader where PyYAML has it (the same safe types, ten times faster on the catalogue)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, fail: Callable[[str, str], Exception]) -> Any:
    """Parse one YAML document with safe types only, rejecting duplicate and non-string keys.

    ``fail(field, problem)`` builds the exception to raise; ``field`` is a dotted path or ``<document>``.
    """
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_keys(node, [], set(), fail)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        if context and context.startswith("expected"):  # e.g. "expected a single document in the stream"
            problem = f"{context}, {problem}"
        raise fail(DOCUMENT, f"invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


def _check_keys(
    node: yaml.Node,
    path: list[str | int],
    seen: set[int],
    fail: Callable[[str, str], Exception],
    ancestors: frozenset[int] = frozenset(),
) -> None:
    if id(node) in ancestors:
        raise fail(join_path(path) or DOCUMENT, "a YAML alias may not refer to a node that contains it")
    if id(node) in seen:  # a shared (aliased) node is checked once
        return
    seen.add(id(node))
    ancestors |= {id(node)}
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str":
                shown = key.value if isinstance(key, yaml.ScalarNode) else "a collection"
                raise fail(join_path(path) or DOCUMENT, f"field names must be text, got {shown} (quote it)")
            if key.value in keys:
                raise fail(
                    join_path([*path, key.value]),
                    f"duplicate field (again at line {key.start_mark.line + 1})",
                )
            keys.add(key.value)
            _check_keys(value, [*path, key.value], seen, fail, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_keys(item, [*path, index], seen, fail, ancestors)


def join_path(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """``['ics', 'iso7816', 'atr']`` -> ``ics.iso7816.atr``; list indexes as ``[3]``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# ---------------------------------------------------------------------------------------------------------
# Secrets


def read_resource(ref: str, base: Path) -> bytes:
    """The bytes of a profile's file reference: ``package:<python package>/<file>`` (a file shipped inside
    an installed package, found through importlib.resources), or a path relative to ``base``."""
    if ref.startswith("package:"):
        package, _, name = ref.removeprefix("package:").rpartition("/")
        try:
            return (files(package) / name).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError) as exc:
            raise KitError(f"{ref}: no such file in an installed package ({exc})") from None
    path = Path(ref)
    try:
        return (path if path.is_absolute() else base / path).read_bytes()
    except OSError as exc:
        raise KitError(f"{ref}: cannot read ({exc.strerror or exc})") from None


def _resolve_secret(name: str, ref: str, base: Path, fail: Callable[[str], Exception]) -> Secret:
    scheme, _, rest = ref.partition(":")
    if scheme == "test":
        return Secret(name, rest, "test")
    if scheme == "package":
        try:
            value = read_resource(ref, base).decode("utf-8")
        except (KitError, UnicodeDecodeError) as exc:
            raise fail(str(exc)) from None
        return Secret(name, value.rstrip("\r\n"), ref)
    if scheme == "env":
        value = os.environ.get(rest)
        if value is None:
            raise fail(f"environment variable {rest} is not set")
        if not value:
            raise fail(f"environment variable {rest} is empty")
        return Secret(name, value, ref)
    relative, _, key = rest.partition("#")
    try:
        text = (base / relative).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail(f"secret file {relative} not found (relative to {base})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read secret file {relative}: {getattr(exc, 'strerror', None) or exc}") from None
    if not key:
        value = text.rstrip("\r\n")
    else:
        data = parse_yaml(text, lambda where, problem: fail(f"secret file {relative}: {problem}"))
        if not isinstance(data, dict):
            raise fail(f"secret file {relative} must be a YAML mapping to look up #{key}")
        if key not in data:
            raise fail(f"key {key} not found in secret file {relative}")
        value = data[key]
        if not isinstance(value, str):
            raise fail(f"{key} in {relative} must be a quoted string (YAML reads unquoted 0123 as a number)")
    if not value:
        raise fail(f"secret from {ref} is empty")
    return Secret(name, value, ref)


# ---------------------------------------------------------------------------------------------------------
# The typed profile

_CHARSETS = {
    "digits": re.compile(r"[0-9]*"),
    "upper-alnum": re.compile(r"[A-Z0-9]*"),
    "alnum": re.compile(r"[A-Za-z0-9]*"),
    "printable": re.compile(r"[ -~]*"),
}


@dataclass(frozen=True)
class Implementation:
    name: str
    vendor: str
    version: str
    class_: str  # one of CLASSES (the schema checks it)
    description: str | None = None


@dataclass(frozen=True)
class Iso7816:
    logical_channels: int
    extended_length: bool
    max_command_data: int
    max_response_data: int
    extended_length_reject_sw: int = field(default=DEFAULT_REJECT_SW, metadata={"sw": True})
    atr: bytes | None = None
    #: The application implicitly selected on the basic channel after a reset, and by SELECT by DF name
    #: without data (ISO/IEC 7816-4 §7.1, GPCS §11.9.2.3); None: no claim.
    default_application: bytes | None = None


@dataclass(frozen=True)
class PinRules:
    min_length: int
    max_length: int
    charset: Literal["digits", "upper-alnum", "alnum", "printable"]
    tries: int

    def check(self, value: str) -> str | None:
        """Why ``value`` breaks these rules (never quoting it), or None if it satisfies them."""
        if not self.min_length <= len(value) <= self.max_length:
            return f"length must be {self.min_length} to {self.max_length}, got {len(value)} characters"
        if not _CHARSETS[self.charset].fullmatch(value):
            return f"has characters outside the charset {self.charset}"
        return None

    def allows(self, value: str) -> bool:
        return self.check(value) is None


@dataclass(frozen=True)
class Jpki:
    token_label: str
    auth_pin: PinRules
    sign_pin: PinRules
    auth_cert_needs_pin: bool
    card_aps_present: bool
    #: Certificate hierarchy the EFs hold (docs/spec/jpki-applet.md#certificate-profiles): production J-LIS
    #: or the JPKI-TEST environment.
    cert_hierarchy: Literal["production", "test"] = "production"
    #: The applet holds the digital-signature function too; false: user authentication only (the SIM design,
    #: docs/spec/uicc.md#the-jpki-applet-on-the-uicc), and every signature requirement is not applicable.
    sign_function: bool = True
    #: COMPUTE DIGITAL SIGNATURE P1 values besides 00 (docs/spec/jpki-applet.md#commands), as integers.
    signature_schemes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Ics:
    personality: str  # one of PERSONALITIES (the schema checks it)
    iso7816: Iso7816
    jpki: Jpki
    gp: GpClaims | None = None
    aram: AramClaims | None = None
    handset: HandsetClaims | None = None
    provisioning: ProvisioningClaims | None = None
    tsm: TsmClaims | None = None
    sim: SimClaims | None = None
    rw: RwClaims | None = None


@dataclass(frozen=True)
class EmulatorTransport:
    """The bundled emulator (or a vendor simulator from ``factory``), in-process."""

    kind: Literal["emulator"] = field(default="emulator", init=False)
    personality: str
    state: Path | None = None
    factory: str | None = None
    timeout: float | None = None  # bound of each call of the card (main thread only); None: no bound


@dataclass(frozen=True)
class Serve:
    """Serve the kit's emulator behind the vpcd driver before connecting over PC/SC."""

    personality: str
    state: Path | None = None
    factory: str | None = None
    host: str = "127.0.0.1"
    port: int = 35963


@dataclass(frozen=True)
class PcscTransport:
    """A PC/SC reader: ``reader`` is a name, a unique substring of one, or an index."""

    kind: Literal["pcsc"] = field(default="pcsc", init=False)
    reader: str | int
    timeout: float = 30.0
    protocol: Literal["T0", "T1", "any"] = "any"
    pcscd: Literal["start-if-absent", "require"] = "require"
    serve: Serve | None = None


Transport = EmulatorTransport | PcscTransport


@dataclass(frozen=True)
class Aids:
    jpki: bytes
    absent: bytes
    other: bytes | None = None  # another application the kit may select (JPKI-PIN-10)


@dataclass(frozen=True, eq=False)
class Ixit:
    transport: Transport
    aids: Aids
    secrets: Mapping[str, Secret]
    gp: GpIxit | None = None
    aram: AramIxit | None = None
    handset: HandsetIxit | None = None
    tsm: TsmIxit | None = None
    applicant: Applicant | None = None
    unit: UnitIxit | None = None
    rw: RwIxit | None = None
    provisioning: ProvisioningIxit | None = None
    report: ReportIxit | None = None

    @property
    def runs_kit_emulator(self) -> bool:
        """True when the kit starts the implementation itself: in-process emulator, or served over vpcd."""
        return _runs_kit_emulator(self.transport)


def _runs_kit_emulator(transport: Transport) -> bool:
    return isinstance(transport, EmulatorTransport) or transport.serve is not None


@dataclass(frozen=True, eq=False)
class Profile:
    """One loaded profile. Compared and hashed by identity (it holds secrets, which never compare)."""

    path: Path
    sha256: str
    schema: str
    implementation: Implementation
    ics: Ics
    ixit: Ixit

    def __repr__(self) -> str:  # short: pytest shows fixture values in failure reports
        return f"Profile({str(self.path)!r}, {self.implementation.name!r})"

    def get(self, dotted: str) -> Any:
        """The value at a dotted path, e.g. ``ics.iso7816.extended_length``.

        None for an option the profile does not give, including any field inside an optional section it
        leaves out (``ics.gp.scp03`` without ``ics.gp``). Raises ProfileError for a path that is not part
        of the profile format.
        """
        node: Any = self
        parts = dotted.split(".")
        if parts[0] not in ("schema", "implementation", "ics", "ixit"):
            raise ProfileError(str(self.path), dotted, "no such field in a jpkikit-profile/1 profile")
        for part in parts:
            if node is None:
                return None
            if isinstance(node, Mapping):
                node = node.get(part)
                continue
            attribute = part + "_" if keyword.iskeyword(part) else part
            if not is_dataclass(node) or attribute not in {f.name for f in fields(node)}:
                raise ProfileError(str(self.path), dotted, "no such field in a jpkikit-profile/1 profile")
            node = getattr(node, attribute)
        return node

    def secret(self, name: str) -> Secret:
        """The named secret; ProfileError if the profile does not give it."""
        try:
            return self.ixit.secrets[name]
        except KeyError:
            raise ProfileError(
                str(self.path), f"ixit.secrets.{name}", "not given; add a reference such as env:NAME"
            ) from None

    def keys(self, keyset: KeySet) -> StaticKeys:
        """The static SCP03 keys of one ixit.gp key set: one hex key used as ENC, MAC and DEK, or
        ENC:MAC:DEK (Amd D §6.1: all three the same length)."""
        parts = [bytes.fromhex(p) for p in self.secret(keyset.secret).reveal().split(":")]
        if len(parts) == 3:
            return StaticKeys(*parts, keyset.kvn)
        return StaticKeys.single(parts[0], keyset.kvn)

    def keyset(self, sd: str, kvn: int | None = None) -> KeySet | None:
        """The first key set of security domain ``sd`` (``isd``, ``apsd``), or the one of version ``kvn``."""
        gp = self.ixit.gp
        found = [k for k in (gp.keysets if gp else ()) if k.sd == sd and (kvn is None or k.kvn == kvn)]
        return found[0] if found else None

    def resource(self, ref: str) -> bytes:
        """The bytes of a file the profile names (see :func:`read_resource`); ProfileError when unreadable."""
        try:
            return read_resource(ref, Path(self.path).parent.resolve())
        except KitError as exc:
            raise ProfileError(str(self.path), "<file reference>", str(exc)) from None

    def identity(self) -> dict[str, str]:
        """Who is under test, for reports and evidence."""
        return {
            "name": self.implementation.name,
            "vendor": self.implementation.vendor,
            "version": self.implementation.version,
            "class": self.implementation.class_,
            "profile": str(self.path),
            "sha256": self.sha256,
        }

    def redacted(self) -> dict[str, Any]:
        """The effective profile (defaults filled in) as plain data, secrets replaced by their source."""
        return {name: _plain(getattr(self, name)) for name in ("schema", "implementation", "ics", "ixit")}


def _plain(value: Any, sw: bool = False) -> Any:
    if isinstance(value, Secret):
        return f"<redacted {value.ref}>"
    if isinstance(value, seac.Rule):
        return seac.rule_to_json(value)
    if isinstance(value, HexByte):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if is_dataclass(value):
        return {
            f.name.rstrip("_"): _plain(getattr(value, f.name), bool(f.metadata.get("sw")))
            for f in fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, Path):
        return str(value)
    if sw:
        return f"{value:04X}"
    return value


# ---------------------------------------------------------------------------------------------------------
# Schema


@functools.cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


#: The implementation classes and the token personalities an ICS can name: listed once, in the schema.
CLASSES: tuple[str, ...] = tuple(_schema()["properties"]["implementation"]["properties"]["class"]["enum"])
PERSONALITIES: tuple[str, ...] = tuple(_schema()["$defs"]["personality"]["enum"])


def ics_fields() -> Mapping[str, FieldSpec]:
    """Every ICS field a condition may read, with its type, derived from the profile schema."""
    return _ics_fields()


_TYPES: dict[str, FieldType] = {"boolean": "bool", "integer": "int", "string": "str"}


@functools.cache
def _ics_fields() -> Mapping[str, FieldSpec]:
    defs = _schema()["$defs"]
    found: dict[str, FieldSpec] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        if "$ref" in node:
            node = {**defs[node["$ref"].removeprefix("#/$defs/")], **node}
        if node.get("type") == "object":
            for name, sub in node.get("properties", {}).items():
                walk(sub, f"{path}.{name}")
        elif node.get("x-bytes"):
            found[path] = FieldSpec("bytes")  # hex values are bytes in the profile: a condition asks present
        elif node.get("type") == "array":
            found[path] = FieldSpec("list")
        elif "enum" in node:  # an enumerated field: its type from the schema, else from the values
            values = tuple(node["enum"])
            integers = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
            kind: FieldType = _TYPES.get(node.get("type", ""), "int" if integers else "str")
            found[path] = FieldSpec(kind, values)
        elif node.get("type") in _TYPES:
            found[path] = FieldSpec(_TYPES[node["type"]])

    walk(_schema()["properties"]["ics"], "ics")
    return MappingProxyType(found)


def _describe(value: Any, hide: bool = False) -> str:
    kinds = [(bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string")]
    kinds += [(list, "a list"), (dict, "a mapping"), (type(None), "nothing (null)")]
    kind = next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)
    if hide or isinstance(value, (list, dict)) or value is None:
        return kind
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return str(value)


def _schema_problem(error: jsonschema.ValidationError) -> tuple[str, str]:
    """Turn one jsonschema error into (dotted field, problem) in the kit's wording."""
    path: list[str | int] = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance
    hide = path[:2] == ["ixit", "secrets"]  # never echo anything given as a secret
    got = f"got {_describe(value, hide)}"
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in value)
        return join_path([*path, missing]), "missing required field"
    if error.validator == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        extra = sorted(str(name) for name in value if name not in allowed)[0]
        return join_path([*path, extra]), f"unknown field; expected one of: {', '.join(allowed)}"
    if "propertyNames" in error.schema_path:
        return join_path([*path, value]), str(schema.get("x-problem", f"field name must match {schema}"))
    if error.validator in ("type", "pattern") and "x-problem" in schema:
        return join_path(path), f"{schema['x-problem']}, {got}"
    if error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        names = {
            "string": "a string",
            "integer": "an integer",
            "number": "a number",
            "boolean": "true or false",
        }
        names |= {"object": "a mapping", "array": "a list"}
        hint = " (quote it in YAML)" if "string" in types and isinstance(value, (int, float)) else ""
        return join_path(path), f"must be {' or '.join(names.get(t, t) for t in types)}, {got}{hint}"
    if error.validator == "enum":
        choices = error.validator_value
        expected = str(choices[0]) if len(choices) == 1 else "one of " + ", ".join(map(str, choices))
        return join_path(path), f"must be {expected}, {got}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return join_path(path), f"must be between {low} and {high}, {got}"
        bounds = [f"greater than {schema['exclusiveMinimum']}"] if "exclusiveMinimum" in schema else []
        bounds += [f"at least {low}"] if low is not None else []
        bounds += [f"at most {high}"] if high is not None else []
        return join_path(path), f"must be {' and '.join(bounds)}, {got}"
    if error.validator == "minLength":
        return join_path(path), "must not be empty"
    return join_path(path), error.message


def _first_schema_problem(document: Any) -> tuple[str, str] | None:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = list(validator.iter_errors(document))
    if not errors:
        return None
    first = min(errors, key=lambda e: (len(e.absolute_path), join_path(list(e.absolute_path)), e.validator))
    return _schema_problem(first)


# ---------------------------------------------------------------------------------------------------------
# Loading


_MAX_EXTENDS = 4
# A profile may start from another one and change what differs (another transport for the same device):
# mappings merge key by key, anything else in the extending file replaces the base's value, and
# ixit.transport is always taken whole from the extending file, as one transport's fields make no sense
# mixed with another's.
_REPLACED_WHOLE = (("ixit", "transport"),)


def _merge(base: Any, over: Any, at: tuple[str, ...] = ()) -> Any:
    if isinstance(base, dict) and isinstance(over, dict) and at not in _REPLACED_WHOLE:
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base[key], value, (*at, key)) if key in base else value
        return merged
    return over


def _read_document(path: Path, fail: Callable[[str, str], ProfileError]) -> tuple[dict[str, Any], bytes]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(DOCUMENT, "file not found") from None
    except OSError as exc:
        raise fail(DOCUMENT, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise fail(DOCUMENT, "not UTF-8 text") from None
    document = parse_yaml(text, fail)
    if not isinstance(document, dict):
        what = "the file is empty" if document is None else f"got {_describe(document)}"
        raise fail(DOCUMENT, f"a profile must be a YAML mapping; {what}")
    return document, raw


def _load_chain(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], list[bytes]]:
    """The document of ``path`` with what it ``extends`` merged in, and the raw bytes of every file read."""
    file = str(path)

    def fail(where: str, problem: str) -> ProfileError:
        return ProfileError(file, where, problem)

    document, raw = _read_document(path, fail)
    parent = document.pop("extends", None)
    if parent is None:
        return document, [raw]
    if not isinstance(parent, str) or not parent:
        raise fail("extends", f"must be the path of another profile, got {_describe(parent)}")
    base_path = (path.parent / parent).resolve()
    if base_path in seen or len(seen) >= _MAX_EXTENDS:
        chain = " -> ".join(str(p) for p in (*seen, base_path))
        raise fail("extends", f"profiles extend each other in a loop or too deeply: {chain}")
    base, raws = _load_chain(base_path, (*seen, base_path))
    return _merge(base, document), [*raws, raw]


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """Read, validate and resolve one profile file (and what it ``extends``). Raises ProfileError."""
    path = Path(path)
    document, raws = _load_chain(path, (path.resolve(),))

    def fail(where: str, problem: str) -> ProfileError:
        return ProfileError(str(path), where, problem)

    problem = _first_schema_problem(document)
    if problem is not None:
        raise fail(*problem)
    digest = (
        hashlib.sha256(raws[0])
        if len(raws) == 1
        else hashlib.sha256(b"".join(hashlib.sha256(r).digest() for r in raws))
    )
    return _build(document, path, digest.hexdigest(), fail)


_EMULATOR_ONLY = ("personality", "state", "factory")
_PCSC_ONLY = ("reader", "protocol", "pcscd", "serve")


def _build(doc: dict[str, Any], path: Path, sha256: str, fail: Callable[[str, str], ProfileError]) -> Profile:
    base = path.parent.resolve()
    implementation = Implementation(**_renamed(doc["implementation"]))
    ics = _build_ics(doc["ics"], fail)
    ixit_doc = doc["ixit"]
    transport = _build_transport(ixit_doc["transport"], ics.personality, base, fail)
    aids = Aids(**{name: bytes.fromhex(value) for name, value in ixit_doc["aids"].items()})
    if aids.absent == aids.jpki:
        raise fail("ixit.aids.absent", "must differ from ixit.aids.jpki")
    if aids.other in (aids.jpki, aids.absent):
        raise fail("ixit.aids.other", "must differ from ixit.aids.jpki and ixit.aids.absent")
    kit_emulator = _runs_kit_emulator(transport)
    secrets: dict[str, Secret] = {}
    for name, ref in ixit_doc.get("secrets", {}).items():
        where = f"ixit.secrets.{name}"
        if ref.startswith("test:") and not kit_emulator:
            raise fail(
                where,
                "test: values are only allowed when the kit runs the emulator "
                "(transport kind emulator, or pcsc with serve); use env: or file:",
            )
        secrets[name] = _resolve_secret(name, ref, base, lambda problem, where=where: fail(where, problem))
        rules = getattr(ics.jpki, name, None)
        if isinstance(rules, PinRules) and (broken := rules.check(secrets[name].reveal())):
            raise fail(where, f"does not satisfy ics.jpki.{name}: {broken}")
    gp = structure(ixit_doc.get("gp"), GpIxit)
    for index, keyset in enumerate(gp.keysets if gp else ()):
        if keyset.secret not in secrets:
            problem = f"names {keyset.secret!r}, which is not in ixit.secrets"
            raise fail(f"ixit.gp.keysets[{index}].secret", problem)
        if (broken := _keyset_problem(secrets[keyset.secret].reveal(), keyset.length)) is not None:
            raise fail(f"ixit.secrets.{keyset.secret}", broken)
    applicant = structure(ixit_doc.get("applicant"), Applicant)
    if applicant is not None and applicant.key not in secrets:
        raise fail("ixit.applicant.key", f"names {applicant.key!r}, which is not in ixit.secrets")
    ixit = Ixit(
        transport,
        aids,
        MappingProxyType(secrets),
        gp,
        structure(ixit_doc.get("aram"), AramIxit),
        structure(ixit_doc.get("handset"), HandsetIxit),
        structure(ixit_doc.get("tsm"), TsmIxit),
        applicant,
        structure(ixit_doc.get("unit"), UnitIxit),
        rw=structure(ixit_doc.get("rw"), RwIxit),
        provisioning=structure(ixit_doc.get("provisioning"), ProvisioningIxit),
        report=structure(ixit_doc.get("report"), ReportIxit),
    )
    return Profile(path, sha256, doc["schema"], implementation, ics, ixit)


def _keyset_problem(value: str, length: int) -> str | None:
    """Why a key set's secret is not one key or ENC:MAC:DEK of ``length`` bytes (never quoting it)."""
    parts = value.split(":")
    if len(parts) not in (1, 3):
        return "must be one hex key, or ENC:MAC:DEK"
    for part in parts:
        try:
            key = bytes.fromhex(part)
        except ValueError:
            return "must be hex"
        if len(key) != length:
            return f"must be keys of {length} bytes (the key set's length), got {len(key)}"
    return None


def _renamed(mapping: dict[str, Any]) -> dict[str, Any]:
    return {(key + "_" if keyword.iskeyword(key) else key): value for key, value in mapping.items()}


def _build_ics(doc: dict[str, Any], fail: Callable[[str, str], ProfileError]) -> Ics:
    iso_doc = dict(doc["iso7816"])
    if "atr" in iso_doc:
        iso_doc["atr"] = bytes.fromhex(iso_doc["atr"].replace(" ", ""))
    if "default_application" in iso_doc:
        iso_doc["default_application"] = bytes.fromhex(iso_doc["default_application"])
    if "extended_length_reject_sw" in iso_doc:
        if iso_doc["extended_length"]:
            raise fail(
                "ics.iso7816.extended_length_reject_sw",
                "only meaningful when ics.iso7816.extended_length is false",
            )
        iso_doc["extended_length_reject_sw"] = int(iso_doc["extended_length_reject_sw"], 16)
    iso = Iso7816(**iso_doc)
    if not iso.extended_length:
        for name, short_max in (("max_command_data", 255), ("max_response_data", 256)):
            if getattr(iso, name) > short_max:
                raise fail(
                    f"ics.iso7816.{name}",
                    f"more than {short_max} needs extended_length: true, got {getattr(iso, name)}",
                )
    pins = {}
    for name in ("auth_pin", "sign_pin"):
        rules = PinRules(**doc["jpki"][name])
        if rules.min_length > rules.max_length:
            raise fail(
                f"ics.jpki.{name}.min_length",
                f"must not exceed max_length ({rules.min_length} > {rules.max_length})",
            )
        pins[name] = rules
    schemes = tuple(int(p1, 16) for p1 in doc["jpki"].get("signature_schemes", ()))
    jpki = Jpki(**{**doc["jpki"], **pins, "signature_schemes": schemes})
    gp = structure(doc.get("gp"), GpClaims)
    if gp is not None and gp.scp03 and gp.i is None:
        raise fail(
            "ics.gp.i", "missing: a profile that claims SCP03 states its i parameter (Amd D Table 5-1)"
        )
    return Ics(
        doc["personality"],
        iso,
        jpki,
        gp,
        structure(doc.get("aram"), AramClaims),
        structure(doc.get("handset"), HandsetClaims),
        structure(doc.get("provisioning"), ProvisioningClaims),
        structure(doc.get("tsm"), TsmClaims),
        sim=structure(doc.get("sim"), SimClaims),
        rw=structure(doc.get("rw"), RwClaims),
    )


def _build_transport(
    doc: dict[str, Any], personality: str, base: Path, fail: Callable[[str, str], ProfileError]
) -> Transport:
    kind = doc["kind"]
    wrong = _PCSC_ONLY if kind == "emulator" else _EMULATOR_ONLY
    for name in wrong:
        if name in doc:
            other = "pcsc" if kind == "emulator" else "emulator"
            hint = "; to serve the emulator over PC/SC use ixit.transport.serve" if kind == "pcsc" else ""
            raise fail(f"ixit.transport.{name}", f"only allowed when ixit.transport.kind is {other}{hint}")
    if kind == "emulator":
        bound = float(doc["timeout"]) if "timeout" in doc else None
        return EmulatorTransport(**_emulator_fields(doc, personality, base), timeout=bound)
    if "reader" not in doc:
        raise fail("ixit.transport.reader", "missing required field (kind pcsc needs a reader name or index)")
    serve = None
    if "serve" in doc:
        serve_doc = doc["serve"]
        extra = {key: serve_doc[key] for key in ("host", "port") if key in serve_doc}
        serve = Serve(**_emulator_fields(serve_doc, personality, base), **extra)
    options = {key: doc[key] for key in ("protocol", "pcscd") if key in doc}
    if "timeout" in doc:
        options["timeout"] = float(doc["timeout"])
    return PcscTransport(reader=doc["reader"], serve=serve, **options)


def _emulator_fields(doc: dict[str, Any], personality: str, base: Path) -> dict[str, Any]:
    return {
        "personality": doc.get("personality", personality),
        "state": base / doc["state"] if "state" in doc else None,
        "factory": doc.get("factory"),
    }
