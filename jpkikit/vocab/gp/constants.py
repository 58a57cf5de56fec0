"""GlobalPlatform codings (GPCS v2.3.1 §11.1, Tables 11-3 to 11-10; Amendment D v1.1.1 §7), the one home
of the GP instruction codes, life cycles and privileges for the host side and the reference alike."""

from __future__ import annotations

from enum import IntEnum

ISD_AID = bytes.fromhex("A000000151000000")  # GPCS H.1.3
GP_RID = bytes.fromhex("A000000151")
GP_OID = bytes.fromhex("2A864886FC6B")  # {iso(1) member-body(2) us(840) globalPlatform(114283)}, GPCS H.2
SCP_OID_ARC = 0x04  # {globalPlatform 4 scp i}: the Secure Channel Protocol OID of card recognition data (H.2)

# GET STATUS P1 (GPCS Table 11-33) and the data objects of its command data field (§11.4.2.2)
STATUS_ISD, STATUS_APPS, STATUS_ELFS, STATUS_ELF_MODULES = 0x80, 0x40, 0x20, 0x10
T_SEARCH_AID = 0x4F  # search criteria: AID prefix (empty: all)
T_TAG_LIST = 0x5C  # tag list: the data objects each E3 entry is to hold (GPCS §11.4.2.2)

# DELETE [key] command data (GPCS §11.2.2.3): key identifier and key version number
T_KEY_IDENTIFIER, T_KEY_VERSION = 0xD0, 0xD2

# GlobalPlatform command chaining (GPCS §11.1.5): P1 b8 of INSTALL, PUT KEY and DELETE means "more commands
# of this kind follow"; STORE DATA and LOAD mark the last block with P1 b8 and number blocks in P2.
P1_MORE = 0x80
P1_LAST_BLOCK = 0x80

# Card life cycle (GPCS Table 11-3)
OP_READY, INITIALIZED, SECURED, CARD_LOCKED, TERMINATED = 0x01, 0x07, 0x0F, 0x7F, 0xFF
# Application / SD life cycle (Tables 11-4, 11-5)
LOADED, INSTALLED, SELECTABLE, PERSONALIZED = 0x01, 0x03, 0x07, 0x0F
LOCKED_BIT = 0x80

# Legal card life-cycle transitions (GPCS §5.1): forward only, SECURED <-> CARD_LOCKED, any -> TERMINATED.
CARD_TRANSITIONS: dict[int, set[int]] = {
    OP_READY: {INITIALIZED, TERMINATED},
    INITIALIZED: {SECURED, TERMINATED},
    SECURED: {CARD_LOCKED, TERMINATED},
    CARD_LOCKED: {SECURED, TERMINATED},
    TERMINATED: set(),
}

# Privileges, byte 1 (Table 11-7) and byte 2 (Table 11-8)
PRIV_SECURITY_DOMAIN = 0x800000
PRIV_CARD_LOCK = 0x100000
PRIV_CARD_TERMINATE = 0x080000
PRIV_CARD_RESET = 0x040000
PRIV_AUTHORIZED_MANAGEMENT = 0x004000
PRIV_FINAL_APPLICATION = 0x000200
ISD_PRIVILEGES = 0x9EFE80  # typical ISD (GPCS Tables 11-7 to 11-9; GlobalPlatformPro's tests)


class GpIns(IntEnum):
    """Commands of the proprietary class (GPCS Table 11-10; Amd D Table 7-1 for the SCP03 ones)."""

    INITIALIZE_UPDATE = 0x50
    END_R_MAC_SESSION = 0x78
    BEGIN_R_MAC_SESSION = 0x7A
    EXTERNAL_AUTHENTICATE = 0x82
    GET_DATA = 0xCA
    GET_DATA_ODD = 0xCB
    PUT_KEY = 0xD8
    STORE_DATA = 0xE2
    DELETE = 0xE4
    INSTALL = 0xE6
    LOAD = 0xE8
    SET_STATUS = 0xF0
    GET_STATUS = 0xF2


def ins_name(ins: int) -> str | None:
    try:
        return GpIns(ins).name.removesuffix("_ODD").replace("_", " ")
    except ValueError:
        return None


INS_DELETE, INS_STORE_DATA, INS_INSTALL, INS_LOAD = GpIns.DELETE, GpIns.STORE_DATA, GpIns.INSTALL, GpIns.LOAD
INS_SET_STATUS, INS_GET_STATUS, INS_PUT_KEY = GpIns.SET_STATUS, GpIns.GET_STATUS, GpIns.PUT_KEY
INS_GET_DATA, INS_INITIALIZE_UPDATE = GpIns.GET_DATA, GpIns.INITIALIZE_UPDATE
INS_EXTERNAL_AUTHENTICATE = GpIns.EXTERNAL_AUTHENTICATE
