"""What a command APDU is, across the specifications the kit speaks: its instruction name, and which data
fields carry a secret that no trace, log or report may keep.

Both tables are built here, explicitly, from every vocabulary module, so they are complete whatever else
has been imported (a trace written by ``jpkikit bundle`` redacts the provisioning commands as one written
during a run does).
"""

from __future__ import annotations

from dataclasses import dataclass

from jpkikit.errors import ApduError
from jpkikit.vocab.gp import constants as gp
from jpkikit.vocab.iso7816 import ins as iso
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.jpki import card as jpki
from jpkikit.vocab.jpki import provisioning as prov

#: (CLA is proprietary, INS) -> what its data field holds. ISO/IEC 7816-4 §11.5: VERIFY, CHANGE REFERENCE
#: DATA and RESET RETRY COUNTER carry PINs; GPCS v2.3.1 §11.8 PUT KEY carries key values (encrypted, but
#: kept out of traces all the same); the provisioning command set's SET TEMPORARY PIN carries one.
SECRET_FIELDS: dict[tuple[bool, int], str] = {
    **{(False, int(i)): "PIN" for i in iso.PIN_COMMANDS},
    (True, int(gp.GpIns.PUT_KEY)): "key",
    (True, int(prov.ProvIns.SET_TEMP_PIN)): "temporary PIN",
    (True, int(prov.ProvIns.PUT_KEY_PAIR)): "key package",
}


def is_proprietary(cla: int) -> bool:
    """CLA b8 set (ISO/IEC 7816-4 §5.4.1), FF being invalid rather than proprietary."""
    return bool(cla & 0x80) and cla != 0xFF


def ins_name(cla: int, ins: int) -> str:
    """Name of the instruction ``ins`` sent with class ``cla``, or ``INS xx`` when unknown.

    In the proprietary class the GlobalPlatform, JPKI and provisioning codes are tried first (the codes
    do not overlap), then the interindustry name, which GP reuses for GET DATA and EXTERNAL AUTHENTICATE.
    """
    if is_proprietary(cla):
        name = gp.ins_name(ins) or jpki.ins_name(ins) or prov.ins_name(ins) or iso.name(ins)
    else:
        name = iso.name(ins)
    return name or f"INS {ins:02X}"


@dataclass(frozen=True)
class Redaction:
    what: str
    offset: int
    length: int


def redact(command: bytes) -> tuple[str, bytes, Redaction | None]:
    """The instruction name, the command with any secret data field cut out, and where it was.

    Tolerant of malformed bytes: when the data field cannot be located, only the header is kept.
    """
    if len(command) < 4:
        return "(malformed)", bytes(command), None
    cla, ins = command[0], command[1]
    name = ins_name(cla, ins)
    secret = SECRET_FIELDS.get((is_proprietary(cla), ins))
    if secret is None:
        return name, bytes(command), None
    try:
        apdu = CommandApdu.parse(command)
    except ApduError:
        return name, bytes(command[:4]), Redaction(secret, 4, len(command) - 4)
    if not apdu.data:
        return name, bytes(command), None
    offset = 7 if apdu.is_extended else 5
    kept = command[:offset] + command[offset + len(apdu.data) :]
    return name, bytes(kept), Redaction(secret, offset, len(apdu.data))
