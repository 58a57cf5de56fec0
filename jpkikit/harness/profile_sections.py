"""The optional sections of a profile as typed values: what an implementation claims about GlobalPlatform,
access control, the handset, provisioning and a TSM (ICS), and how the kit reaches those parts (IXIT).

Model and schema: the JSON Schema (profile.schema.json) is the contract a vendor's profile is checked
against, and what an editor validates a YAML file with; once it holds, ``cattrs`` structures the document
into these frozen dataclasses, turning hex into bytes and integers on the way. So every section is parsed
once, here, and every default is stated once, here: no test helper reads a mapping or restates a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NewType, TypeVar

import cattrs

from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.seac import ARAM_AID


class HexByte(int):
    """A byte the profile gives in hex ("70", "3F"); shown in hex again in reports."""

    def __repr__(self) -> str:
        return f"{int(self):02X}"

    __str__ = __repr__


#: Bytes given in hex ("A000000151000000").
Hex = NewType("Hex", bytes)


# -- ICS ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpClaims:
    """GlobalPlatform claims (GPCS v2.3.1, Amendment D): SCP03 options and card content management."""

    scp03: bool
    i: HexByte | None = None  # the i parameter of the S8 key sets (Amd D Table 5-1); required with scp03
    s8: bool = True
    s16: bool = False
    levels: tuple[HexByte, ...] = ()
    key_lengths: tuple[int, ...] = ()
    content_management: bool = False
    load: bool = False
    apsd: bool = False


@dataclass(frozen=True)
class AramClaims:
    """SE Access Control claims (GP SE Access Control v1.1): the ARA-M and the rules it holds."""

    present: bool
    rules: tuple[seac.Rule, ...] = ()
    store_data: bool = False
    config: bool = False


@dataclass(frozen=True)
class HandsetClaims:
    """OMAPI and the Access Control Enforcer of a handset."""

    logical_channels: int
    basic_channel: bool = True
    uicc: bool = False
    testbed: bool = False


@dataclass(frozen=True)
class ProvisioningClaims:
    """The smartphone applet's provisioning command set (docs/provisioning-commands.md)."""

    present: bool
    scp03_level: HexByte
    commitment_hash: Literal["sha256"] = "sha256"
    key_bits: int = 2048


@dataclass(frozen=True)
class TsmClaims:
    present: bool
    remote_deletion: bool = False


# -- IXIT ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySet:
    """One SCP03 key set of a security domain; the key values are in ixit.secrets under ``secret``."""

    sd: Literal["isd", "apsd"]
    kvn: HexByte
    length: Literal[16, 24, 32]
    secret: str


@dataclass(frozen=True)
class TestPackage:
    __test__ = False  # not a pytest test class

    elf: Hex
    module: Hex
    load_file: str  # a file reference (Profile.resource)


@dataclass(frozen=True)
class GpIxit:
    isd: Hex
    keysets: tuple[KeySet, ...]
    apsd: Hex | None = None
    exhaustion_kvn: HexByte | None = None
    test_package: TestPackage | None = None

    def keysets_of(self, sd: str) -> tuple[KeySet, ...]:
        return tuple(k for k in self.keysets if k.sd == sd)

    def sd_aid(self, sd: str) -> bytes | None:
        return self.isd if sd == "isd" else self.apsd


@dataclass(frozen=True)
class AramIxit:
    aid: Hex = Hex(ARAM_AID)


@dataclass(frozen=True)
class Agent:
    port: int
    host: str = "127.0.0.1"
    timeout: float = 30.0


@dataclass(frozen=True)
class ReferenceHandsetIxit:
    personality: str | None = None
    factory: str | None = None


@dataclass(frozen=True)
class FilteredApp:
    hashes: tuple[Hex, ...]
    allowed_apdu: Hex
    denied_apdu: Hex


@dataclass(frozen=True)
class Apps:
    allowed: tuple[Hex, ...]
    denied: tuple[Hex, ...]
    filtered: FilteredApp | None = None


@dataclass(frozen=True)
class HandsetIxit:
    reader: str
    apps: Apps
    agent: Agent | None = None
    reference: ReferenceHandsetIxit | None = None


@dataclass(frozen=True)
class ReferenceTsmIxit:
    factory: str | None = None


@dataclass(frozen=True)
class IssuerCas:
    auth: str  # file references (Profile.resource)
    sign: str


@dataclass(frozen=True)
class TsmIxit:
    url: str | None = None
    reference: ReferenceTsmIxit | None = None
    issuer_cas: IssuerCas | None = None


@dataclass(frozen=True)
class Applicant:
    """The card the kit's JPKI app signs applications with: its certificate, and the secret of its key."""

    certificate: str
    key: str


@dataclass(frozen=True)
class UnitIdentity:
    atr: Hex | None = None
    cplc_ic_serial: Hex | None = None
    iccid: Hex | None = None


@dataclass(frozen=True)
class UnitIxit:
    """The unit under test and what it may suffer (jpkikit.harness.safety)."""

    sacrificial: bool = False
    allows: tuple[str, ...] = ()
    accept_spent_tries: bool = False
    identity: UnitIdentity | None = None
    ledger: str | None = None


# -- structuring ---------------------------------------------------------------------------------------------

_converter = cattrs.Converter(forbid_extra_keys=True)
_converter.register_structure_hook(HexByte, lambda value, _: HexByte(int(value, 16)))
_converter.register_structure_hook(Hex, lambda value, _: Hex(bytes.fromhex(value.replace(" ", ""))))
_converter.register_structure_hook(seac.Rule, lambda value, _: seac.rule_from_json(dict(value)))

T = TypeVar("T")


def structure(document: Mapping[str, Any] | None, cls: type[T]) -> T | None:
    """The section ``document`` (already checked against the schema) as ``cls``; None when absent."""
    if document is None:
        return None
    return _converter.structure(dict(document), cls)
