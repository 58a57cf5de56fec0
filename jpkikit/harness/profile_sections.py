"""The optional sections of a profile as typed values: what an implementation claims about GlobalPlatform,
access control, the handset, provisioning and a TSM (ICS), and how the kit reaches those parts (IXIT).

Model and schema: the JSON Schema (profile.schema.json) is the contract a vendor's profile is checked
against, and what an editor validates a YAML file with; once it holds, ``cattrs`` structures the document
into these frozen dataclasses, turning hex into bytes and integers on the way. So every section is parsed
once, here, and every default is stated once, here: no test helper reads a mapping or restates a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
class GpChaining:
    """GlobalPlatform command chaining per command (P1 b8 "more commands", GPCS v2.3.1 §11.1.5); a command
    the card does not chain answers a chained one with 6A86."""

    install: bool = False
    put_key: bool = False
    store_data: bool = False


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
    chaining: GpChaining = field(default_factory=GpChaining)
    get_status_tag_list: bool = False  # GET STATUS with a tag list 5C (GPCS §11.4.2.2)
    delete_keys: bool = False  # DELETE [key] by D0/D2 (GPCS §11.2.2.3)


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
    android_api: int = 35  # jpkikit.vocab.omapi.android.LATEST_API
    cts_applet: bool = False
    kit_applets: bool = False
    se_faults: bool = False
    nfc_events: bool = False
    access_rules: Literal["aram", "arf"] = "aram"


@dataclass(frozen=True)
class ProvisioningClaims:
    """The smartphone applet's provisioning command set (docs/provisioning-commands.md)."""

    present: bool
    scp03_level: HexByte
    commitment_hash: Literal["sha256"] = "sha256"
    key_bits: int = 2048
    #: The SE identification ID is the chip's and survives deleting and re-installing the applet.
    se_id_survives_reinstall: bool = False
    #: Tries of a temporary PIN before it is used up (seed 004 p.18: a new one must come from the TSM).
    temp_pin_tries: int = 3


@dataclass(frozen=True)
class TsmClaims:
    """A TSM under test (docs/tsm-protocol.md): which roles it plays and how it works."""

    present: bool
    remote_deletion: bool = False  # kept for old profiles; remote deletion is required of every SP-TSM
    sp_tsm: bool = True  # the service provider's TSM (seed 004 p.10)
    sei_tsm: bool = False  # the SE issuer's TSM (seed 004 pp.10, 13), or the MNO-TSM of the SIM design
    key_generation: Literal["on-card", "off-card"] = "on-card"  # off-card: the SIM design (seeds 001, 003)
    access_code: bool = False  # issuance authorised by an access code and password (seed 000 §4(1) ⑪)
    tls: Literal["certificate", "psk"] = "certificate"  # Amendment B's TLS: certificates or pre-shared keys


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
    access_rules: Literal["aram", "arf", "none"] = "aram"


@dataclass(frozen=True)
class FilteredApp:
    hashes: tuple[Hex, ...]
    allowed_apdu: Hex
    denied_apdu: Hex


@dataclass(frozen=True)
class AppPackages:
    allowed: str = "jp.jpkikit.app.jpki"
    denied: str = "jp.jpkikit.app.other"
    filtered: str = "jp.jpkikit.app.reader"
    privileged: str = "jp.jpkikit.app.system"


@dataclass(frozen=True)
class Apps:
    allowed: tuple[Hex, ...]
    denied: tuple[Hex, ...]
    filtered: FilteredApp | None = None
    privileged: tuple[Hex, ...] = ()
    packages: AppPackages = field(default_factory=AppPackages)


@dataclass(frozen=True)
class HandsetIxit:
    reader: str
    apps: Apps
    agent: Agent | None = None
    reference: ReferenceHandsetIxit | None = None


@dataclass(frozen=True)
class ReferenceTsmIxit:
    factory: str | None = None
    tls: bool = True  # serve Amendment B and the order API over TLS with a test CA the kit generates


@dataclass(frozen=True)
class IssuerCas:
    auth: str  # file references (Profile.resource)
    sign: str


@dataclass(frozen=True)
class CardCa:
    """The CA the kit issues its test cards under (the TSM under test trusts it): certificate, key secret."""

    certificate: str
    key: str


@dataclass(frozen=True)
class TsmTls:
    """How the kit's agent and app trust the TSM: the CA of its server certificate; PSK identity and key."""

    ca: str | None = None  # file reference (PEM or DER)
    psk_identity: str | None = None
    psk: str | None = None  # name of the ixit.secrets entry with the PSK (hex)


@dataclass(frozen=True)
class TsmIxit:
    url: str | None = None
    reference: ReferenceTsmIxit | None = None
    issuer_cas: IssuerCas | None = None
    adapter: str | None = None  # module:Class of a TsmAdapter, or an entry point of jpkikit.tsm_adapters
    options: dict[str, Any] | None = None  # passed to the adapter
    card_ca: CardCa | None = None
    tls: TsmTls | None = None


@dataclass(frozen=True)
class ProvisioningIxit:
    """How the kit drives the applet's provisioning operations (jpkikit.host.provisioning_adapter)."""

    adapter: str | None = None  # module:Class, or an entry point of jpkikit.provisioning_adapters
    options: dict[str, Any] | None = None  # passed to the adapter


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
class ReportIxit:
    """How the kit reports on the unit: the reports' language (jpkikit.harness.language)."""

    lang: str | None = None


@dataclass(frozen=True)
class UnitIxit:
    """The unit under test and what it may suffer (jpkikit.harness.safety)."""

    sacrificial: bool = False
    allows: tuple[str, ...] = ()
    accept_spent_tries: bool = False
    identity: UnitIdentity | None = None
    ledger: str | None = None


# -- the SIM design's UICC and the reader/writer class (issue 15) ------------------------------------------


@dataclass(frozen=True)
class SimClaims:
    """The SIM design's UICC (docs/spec/uicc.md; seeds 000, 001, 003): its file system, access rule files and
    the SE-side countermeasures of the SIM design."""

    uicc: bool  # MF, EF DIR and EF ICCID as ETSI TS 102 221
    applications: tuple[Hex, ...] = ()  # the AIDs EF DIR lists
    arf: bool = False  # PKCS#15 access rule files (SEAC ARF)
    arf_rules: tuple[seac.Rule, ...] = ()  # the rules the ARF holds (SHA-1 certificate hashes)
    handset_binding: bool = False  # the applet is bound to its handset (seed 000 課題③)
    powered_off_access: bool = False  # a bound applet answers the contactless interface with the phone off
    remote_lock: Literal["none", "application", "card"] = "none"  # the carrier's remote lock (seed 000 §6)
    counter_issuance: bool = False  # issuance through the municipal terminal's reader (seed 000 §4(1))
    key_delivery: bool = False  # a key pair generated off card, delivered encrypted (PUT KEY PAIR)


@dataclass(frozen=True)
class RwClaims:
    """A reader/writer's claims (docs/spec/reader.md): interfaces, card types, frame and APDU sizes, what it
    does with 61xx and 6Cxx, its PC/SC pseudo-APDUs and its waiting-time budgets."""

    contactless: bool
    contact: bool = False
    type_a: bool = False
    type_b: bool = False
    fsd: int = 256  # the largest frame the reader receives (ISO/IEC 14443-4 FSD)
    extended_length: bool = False
    max_command_data: int = 255
    max_response_data: int = 256
    sw61: Literal["pass", "collect"] = "pass"
    sw6c: Literal["pass", "reissue"] = "pass"
    get_uid: bool = True  # FF CA 00 00
    get_historical: bool = False  # FF CA 01 00 (Type A)
    apdu_budget_ms: int = 1000
    signature_budget_ms: int = 3000


@dataclass(frozen=True)
class RwCard:
    """The known card (or phone) on the reader under test, as its activation answers."""

    type: Literal["A", "B"]
    uid: Hex | None = None  # a fixed UID / PUPI; None: random at every activation (phones)
    historical: Hex | None = None  # Type A: the ATS historical bytes
    application_data: Hex | None = None  # Type B: ATQB application data (4 bytes)
    protocol_info: Hex | None = None  # Type B: ATQB protocol info (3 bytes)
    mbli: int = 0  # Type B: MBLI of the answer to ATTRIB
    fsc: int | None = None  # the card's maximum frame (ATS FSCI, ATQB Max_Frame_Size), in bytes
    answers_61xx: bool = False  # answers a case-3 signature command (no Le) with 61xx


@dataclass(frozen=True)
class RwIxit:
    card: RwCard
    testbed: bool = False  # the kit's virtual reader: it honours the test-bed card removal


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
