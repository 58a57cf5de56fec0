"""Facts of the card-compatible JPKI application (公的個人認証AP) as existing client middleware expects
them (docs/spec/jpki-applet.md; OpenSC src/libopensc/card-jpki.c and pkcs15-jpki.c): its AID, the EF
map, the proprietary instructions, token labels and the PIN charsets a profile can claim."""

from __future__ import annotations

import string
from dataclasses import dataclass
from enum import IntEnum

#: The JPKI-AP's DF name, the same on the card and on the phone tokens. Tests take the AID to use from
#: the profile (ixit.aids.jpki); this is the public value the reference implementations install.
JPKI_AID = bytes.fromhex("D392F000260100000001")

EF_SIGN_CERT = 0x0001
EF_SIGN_CA = 0x0002
EF_TOKEN_INFO = 0x0006
#: EF 0006 as SELECT (P1 02) carries it in its data field
SELECT_TOKEN_INFO = EF_TOKEN_INFO.to_bytes(2, "big")
EF_CERT_STATUS = 0x0008
EF_AUTH_CERT = 0x000A
EF_AUTH_CA = 0x000B
EF_AUTH_KEY = 0x0017
EF_AUTH_PIN = 0x0018
EF_SIGN_KEY = 0x001A
EF_SIGN_PIN = 0x001B


class JpkiIns(IntEnum):
    """Proprietary-class (CLA 80) instructions of the JPKI-AP."""

    COMPUTE_DIGITAL_SIGNATURE = 0x2A  # 80 2A 00 80 Lc DigestInfo Le
    LAST_COMMAND_INDICATOR = 0xFC  # 80 FC 00 00, named for the iPhone token only (single public source)


def ins_name(ins: int) -> str | None:
    try:
        return JpkiIns(ins).name.replace("_", " ")
    except ValueError:
        return None


#: VERIFY with this P2 addresses the key of the current EF: SELECT the PIN EF first.
P2_CURRENT_EF = 0x80
#: Largest READ BINARY offset: 15 bits.
MAX_OFFSET = 0x7FFF
#: The VERIFY data field is 1 to 16 bytes.
MAX_PIN_BYTES = 16
#: Length of the token label at the start of EF 0006 (space padded ASCII).
LABEL_LENGTH = 32
#: The characters of each PIN charset a profile can claim (ics.jpki.*_pin.charset).
CHARSETS = {
    "digits": string.digits,
    "upper-alnum": string.ascii_uppercase + string.digits,
    "alnum": string.ascii_letters + string.digits,
    "printable": "".join(chr(c) for c in range(0x20, 0x7F)),
}
#: The token labels the public sources report: the card, and the Android GP-SE token. The SIM design's
#: label is not published.
CARD_LABEL = "JPKIAPICCTOKEN2"
GPSE_LABEL = "JPKIAPGPSETOKEN"


@dataclass(frozen=True)
class KeyPair:
    """One of the two JPKI credentials: its PIN EF, key EF, certificate EF and CA certificate EF."""

    name: str  # "auth" | "sign": also the profile's ics.jpki.<name>_pin and ixit.secrets.<name>_pin
    pin_ef: int
    key_ef: int
    cert_ef: int
    ca_ef: int


AUTH = KeyPair("auth", EF_AUTH_PIN, EF_AUTH_KEY, EF_AUTH_CERT, EF_AUTH_CA)
SIGN = KeyPair("sign", EF_SIGN_PIN, EF_SIGN_KEY, EF_SIGN_CERT, EF_SIGN_CA)
PAIRS = (AUTH, SIGN)
#: The label each profile personality (ics.personality) must carry.
LABELS_BY_PERSONALITY = {"mynumber-card": CARD_LABEL, "gp-se": GPSE_LABEL}
