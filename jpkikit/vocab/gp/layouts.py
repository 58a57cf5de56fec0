"""Binary layouts of GlobalPlatform card content management data (GPCS v2.3.1), in ``construct``, used by
the host side, the conformance tests and the reference implementations alike:

* :class:`InstallForLoad`, :class:`InstallForInstall` — GPCS §11.5.2.3: Table 11-49 ([for load]) and the
  tables after it ([for install], [for make selectable], [for personalization]);
* :data:`LOAD_FILE` — GPCS §11.6.2.3 (the Load File Data Block, tag C4);
* :class:`StatusEntry`, :data:`GET_STATUS_ENTRY` — GPCS §11.4.3.1, Table 11-36 (the tag-list format).

Every layout both parses and builds; parsing what a device sent never raises anything but the kit's own
error types (:mod:`jpkikit.vocab.binary`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, ClassVar

from construct import (
    Adapter,
    Construct,
    FocusedSeq,
    GreedyBytes,
    Int8ub,
    Prefixed,
    StreamError,
    Struct,
    Terminated,
    TerminatedError,
    ValidationError,
)

from jpkikit.errors import TlvDecodeError, TlvError
from jpkikit.vocab.binary import BER_LENGTH, BER_LV, BER_TLV, LV, Tag, UntilEnd, build, fields, parse, whole

# -- INSTALL (GPCS §11.5.2.3) -------------------------------------------------------------------------------

#: INSTALL [for load], Table 11-49 (P1 02).
INSTALL_FOR_LOAD = Struct(
    "load_file_aid" / LV,
    "sd_aid" / LV,  # the SD to associate the load file with; empty: the ISD
    "load_file_hash" / LV,  # Load File Data Block hash
    "load_parameters" / BER_LV,
    "load_token" / BER_LV,
    Terminated,
)
#: INSTALL [for install] (P1 04), [for install and make selectable] (P1 0C), [for make selectable] (P1 08,
#: ELF and module AIDs empty) and [for personalization] (P1 20, only the application AID): their tables in
#: §11.5.2.3, after Table 11-49, share this sequence of fields.
INSTALL_FOR_INSTALL = Struct(
    "elf_aid" / LV,  # Executable Load File AID
    "module_aid" / LV,  # Executable Module AID
    "application_aid" / LV,
    "privileges" / LV,  # 1 or 3 bytes (Tables 11-7 to 11-9)
    "install_parameters" / BER_LV,  # C9 application specific parameters, and optional system parameters
    "install_token" / BER_LV,
    Terminated,
)


@dataclass(frozen=True)
class InstallForLoad:
    """INSTALL [for load] command data (GPCS §11.5.2.3, Table 11-49)."""

    load_file_aid: bytes
    sd_aid: bytes = b""
    load_file_hash: bytes = b""
    load_parameters: bytes = b""
    load_token: bytes = b""

    NAMES: ClassVar[tuple[str, ...]] = (
        "load_file_aid",
        "sd_aid",
        "load_file_hash",
        "load_parameters",
        "load_token",
    )

    @classmethod
    def parse(cls, data: bytes) -> InstallForLoad:
        """ApduError naming the field when ``data`` does not follow Table 11-49."""
        return cls(**fields(parse(INSTALL_FOR_LOAD, data, "INSTALL [for load] data"), cls.NAMES))

    def to_bytes(self) -> bytes:
        return build(INSTALL_FOR_LOAD, {n: getattr(self, n) for n in self.NAMES}, "INSTALL [for load] data")


@dataclass(frozen=True)
class InstallForInstall:
    """INSTALL [for install] / [for make selectable] / [for personalization] command data (GPCS §11.5.2.3):
    the fields a variant does not use are empty. [for extradition] (Table 11-50) has the same six fields,
    the first being the AID of the security domain the application goes to."""

    elf_aid: bytes = b""
    module_aid: bytes = b""
    application_aid: bytes = b""
    privileges: bytes = b""
    install_parameters: bytes = b""
    install_token: bytes = b""

    NAMES: ClassVar[tuple[str, ...]] = (
        "elf_aid",
        "module_aid",
        "application_aid",
        "privileges",
        "install_parameters",
        "install_token",
    )

    @classmethod
    def parse(cls, data: bytes) -> InstallForInstall:
        """ApduError naming the field when ``data`` does not follow the table."""
        return cls(**fields(parse(INSTALL_FOR_INSTALL, data, "INSTALL data"), cls.NAMES))

    def to_bytes(self) -> bytes:
        return build(INSTALL_FOR_INSTALL, {n: getattr(self, n) for n in self.NAMES}, "INSTALL data")


# -- LOAD (GPCS §11.6.2.3) ----------------------------------------------------------------------------------

#: The Load File the LOAD blocks carry, as far as the kit uses it: ``C4 BER-length Load File Data Block``.
#: DAP blocks (E2) before it are not part of this layout (no implementation here verifies a DAP).
LOAD_FILE = FocusedSeq("data_block", Tag(0xC4), "data_block" / BER_LV, Terminated)


def load_file(data_block: bytes) -> bytes:
    return build(LOAD_FILE, bytes(data_block), "Load File")


def load_file_data_block(data: bytes) -> bytes:
    """The Load File Data Block of a whole Load File; ApduError naming what is wrong otherwise."""
    return parse(LOAD_FILE, data, "Load File")


# -- GET STATUS (GPCS §11.4.3.1, Table 11-36) ---------------------------------------------------------------

#: The GP Registry data objects inside an E3 entry, in the order of Table 11-36: tag, field, value layout,
#: whether the tag may repeat. A parsed entry may hold them in any order; a built one follows this order.
STATUS_FIELDS: tuple[tuple[int, str, Construct, bool], ...] = (
    (0x4F, "aid", GreedyBytes, False),  # AID (mandatory)
    (0x9F70, "life_cycle", Int8ub, False),  # Life Cycle State, 1 byte (mandatory)
    (0xC5, "privileges", GreedyBytes, False),  # Privileges (applications and SDs)
    (0xCF, "implicit_selection", Int8ub, True),  # Implicit Selection Parameter
    (0xC4, "elf_aid", GreedyBytes, False),  # the application's Executable Load File AID
    (0xCE, "elf_version", GreedyBytes, False),  # Executable Load File version number
    (0x84, "modules", GreedyBytes, True),  # Executable Module AIDs of a load file
    (0xCC, "sd_aid", GreedyBytes, False),  # associated Security Domain AID
)
_BY_TAG = {tag: (name, sub, many) for tag, name, sub, many in STATUS_FIELDS}
_MANDATORY = (0x4F, 0x9F70)


@dataclass(frozen=True)
class StatusEntry:
    """One E3 entry of a GET STATUS response (Table 11-36). Tags the table does not name are kept in
    ``other``, in order, and built after the named ones."""

    aid: bytes
    life_cycle: int
    privileges: bytes | None = None
    implicit_selection: tuple[int, ...] = ()
    elf_aid: bytes | None = None
    elf_version: bytes | None = None
    modules: tuple[bytes, ...] = ()
    sd_aid: bytes | None = None
    other: tuple[tuple[int, bytes], ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> StatusEntry:
        """One whole ``E3`` TLV; TlvDecodeError (a malformed answer) naming the field when it does not
        follow Table 11-36."""
        return parse(_ONE_ENTRY, data, "GET STATUS entry", TlvDecodeError)

    @classmethod
    def parse_all(cls, data: bytes) -> list[StatusEntry]:
        """The entries of a GET STATUS response data field (each an ``E3`` TLV)."""
        return list(parse(GET_STATUS_RESPONSE, data, "GET STATUS response", TlvDecodeError))

    def to_bytes(self) -> bytes:
        return build(GET_STATUS_ENTRY, self, "GET STATUS entry", TlvError)


class _RegistryData(Adapter):
    """The BER-TLVs inside an E3 entry <-> a :class:`StatusEntry`."""

    def _decode(self, obj: Any, context: Any, path: str) -> StatusEntry:
        values: dict[str, Any] = {}
        other: list[tuple[int, bytes]] = []
        for n, item in enumerate(obj):
            known = _BY_TAG.get(item.tag)
            if known is None:
                other.append((item.tag, item.value))
                continue
            name, sub, many = known
            where = f"{path} -> [{n}] -> {name}"
            try:
                value = whole(sub)._parsereport(io.BytesIO(item.value), context, where)
            except (StreamError, TerminatedError):  # a fixed-size value (9F70, CF) of another size
                size = sub.sizeof()
                raise ValidationError(
                    f"tag {item.tag:X} holds {len(item.value)} bytes, not {size}", path=where
                ) from None
            if many:
                values.setdefault(name, []).append(value)
            elif name in values:
                raise ValidationError(f"tag {item.tag:X} appears more than once", path=where)
            else:
                values[name] = value
        for tag in _MANDATORY:
            name = _BY_TAG[tag][0]
            if name not in values:
                raise ValidationError(f"mandatory tag {tag:X} ({name}) missing (Table 11-36)", path=path)
        for name in ("implicit_selection", "modules"):
            values[name] = tuple(values.get(name, ()))
        return StatusEntry(**values, other=tuple(other))

    def _encode(self, obj: Any, context: Any, path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for tag, name, sub, many in STATUS_FIELDS:
            value = getattr(obj, name)
            for one in value if many else () if value is None else (value,):
                raw = io.BytesIO()
                sub._build(one, raw, context, f"{path} -> {name}")
                out.append({"tag": tag, "value": raw.getvalue()})
        out.extend({"tag": tag, "value": bytes(value)} for tag, value in obj.other)
        return out


#: One GET STATUS entry: ``E3 BER-length {GP Registry data objects}``.
GET_STATUS_ENTRY = FocusedSeq(
    "registry_data", Tag(0xE3), "registry_data" / Prefixed(BER_LENGTH, _RegistryData(UntilEnd(BER_TLV)))
)
#: A GET STATUS response data field in the tag-list format (P2 b2 = 1): E3 entries one after another. (The
#: legacy format of P2 b2 = 0 is not implemented by any implementation here: the emulator answers 6A86.)
GET_STATUS_RESPONSE = UntilEnd(GET_STATUS_ENTRY)
_ONE_ENTRY = FocusedSeq("e3", "e3" / GET_STATUS_ENTRY, Terminated)


# -- GET STATUS tag list (GPCS §11.4.2.2) -------------------------------------------------------------------


def encode_tag_list(tags: tuple[int, ...] | list[int]) -> bytes:
    """The value of a tag list (5C): the BER tags one after another, each in its own bytes (9F70 is two)."""
    return b"".join(t.to_bytes(max(1, (t.bit_length() + 7) // 8), "big") for t in tags)


def decode_tag_list(data: bytes) -> tuple[int, ...]:
    """The BER tags of a tag list value; TlvDecodeError when a multi-byte tag is cut short."""
    tags: list[int] = []
    i = 0
    while i < len(data):
        start = i
        if data[i] & 0x1F == 0x1F:  # multi-byte tag: continuation bytes while b8 is set (ISO/IEC 8825-1)
            i += 1
            while i < len(data) and data[i] & 0x80:
                i += 1
            if i >= len(data):
                raise TlvDecodeError(f"tag list {data.hex().upper()}: tag at offset {start} is cut short")
        i += 1
        tags.append(int.from_bytes(data[start:i], "big"))
    return tuple(tags)
