"""Data objects a security domain answers GET DATA with (GPCS §11.3, H.2;
docs/spec/globalplatform.md#get-data)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jpkikit.vocab.gp.constants import GP_OID, SCP_OID_ARC
from jpkikit.vocab.iso7816.tlv import Tlv

if TYPE_CHECKING:
    from jpkikit.reference.emulator.gp.security_domain import SecurityDomain

ALL_KIDS = (1, 2, 3)  # Key-ENC, Key-MAC, Key-DEK of an SCP03 key set


def present_kids(entry: dict[str, object]) -> tuple[int, ...]:
    """The key identifiers of a key set still present (DELETE [key] of one key removes its KID)."""
    kids = entry.get("kids")
    return ALL_KIDS if kids is None else tuple(int(k) for k in kids)  # type: ignore[union-attr]


def _oid(tag: int, oid: bytes) -> bytes:
    return Tlv(tag, Tlv(0x06, oid).encode()).encode()


def card_recognition_data(i: int) -> bytes:
    """Tag 66 value: 73 { 06 GP-RID-OID, 60 GP version 2.3.1, 63 card id scheme, 64 SCP03 with i } (H.2)."""
    body = (
        Tlv(0x06, GP_OID + b"\x01").encode()
        + _oid(0x60, GP_OID + bytes.fromhex("02020301"))  # {globalPlatform 2 v=2.3.1}
        + _oid(0x63, GP_OID + b"\x03")
        + _oid(0x64, GP_OID + bytes((SCP_OID_ARC, 0x03, i)))  # {globalPlatform 4 scp=03 i}
    )
    return Tlv(0x73, body).encode()


def key_information(sd: SecurityDomain) -> bytes:
    """Tag E0 value: one C0 { KID KVN type length } per key, basic form (GPCS §11.3.3.1.1)."""
    out = b""
    for kvn_hex, entry in sorted(sd.data["keysets"].items()):
        length = len(bytes.fromhex(entry["enc"]))
        for kid in present_kids(entry):
            out += Tlv(0xC0, bytes((kid, int(kvn_hex, 16), 0x88, length))).encode()
    return out


def cplc(stored: str) -> bytes:
    """Tag 9F7F value: 42 bytes of Card Production Life Cycle data (OP 2.0.1 §6.12.1; the field layout as
    GlobalPlatformPro's CPLC.java reads it)."""
    if stored:
        return bytes.fromhex(stored)
    fields = [
        "4A50", "4B49", "0001", "5001", "0100", "5001", "00000001", "0001", "4A50", "5001",
        "4A50", "5001", "4A50", "5001", "00000001", "4A50", "5001", "00000001",
    ]  # fmt: skip
    data = bytes.fromhex("".join(fields))
    assert len(data) == 42
    return data
