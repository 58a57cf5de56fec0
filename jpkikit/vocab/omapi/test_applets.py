"""The OMAPI test applets the handset tests talk to, as facts: their AIDs and the commands they answer.

- The CTS OMAPI test applet (CTS tests/tests/secure_element/omapi OmapiTest; the same behaviour as the
  emulated HAL of hardware/interfaces/secure_element/aidl/default, "CtsAndroidOmapiTestApplet"): an SE that
  passes Android CTS holds it. ``ics.handset.cts_applet`` claims it is on the reader's SE.
- The kit's own test applets (``ics.handset.kit_applets``): applets whose SELECT answers a chosen status word,
  and one that is not multi-selectable. Only a simulated SE (the kit's emulator, a vendor's simulator behind
  the HAL) can hold them; their AIDs use the proprietary category F0 (ISO/IEC 7816-5), "JPKIKIT".
"""

from __future__ import annotations

_CTS_RID = "A000000476416E64726F69644354533"  # Google's RID A000000476, "AndroidCTS" + digit

#: Selects with 9000 and no data; answers the commands below.
CTS_SELECTABLE = bytes.fromhex(_CTS_RID + "1")
#: Selects with a 252-byte BER-TLV (tag 1F00) select response and 9000.
CTS_LONG_SELECT = bytes.fromhex(_CTS_RID + "2")
#: Not on the SE: opening a channel to it throws NoSuchElementException (OmapiTest#testWrongAid).
CTS_NON_SELECTABLE = bytes.fromhex("A000000476416E64726F6964435453FF")
LONG_SELECT_DATA = 252

# Commands of the CTS applet (INS), any CLA:
INS_NO_DATA_1, INS_NO_DATA_2 = 0x06, 0x0A  # case 1 / case 3: 9000, no data
INS_DATA_1, INS_DATA_2 = 0x08, 0x0C  # case 2 / case 4: 256 bytes of data, 9000
INS_SW_62XX = 0xF3  # P1 = 1..16 picks SW_62XX[P1-1]; P2 08: 3 bytes of data; P2 0C: echoes the command
INS_SEGMENTED_1, INS_SEGMENTED_2 = 0xC2, 0xC4  # P1P2 bytes of data through 61xx, first chunk min(Le, 256)
INS_SEGMENTED_3, INS_SEGMENTED_4 = 0xC6, 0xC8  # the same, first chunk of Le bytes (6100: 256 more)
INS_SEGMENTED_6C = 0xCF  # Le FF: 6CFF; then P1P2 bytes through 61xx
INS_CHECK_P2 = 0xF4  # one data byte: the P2 of the SELECT that selected the applet
SEGMENTED_LAST_BYTE = 0xFF  # the last data byte of a segmented response (OmapiTest checks it)

#: The warnings INS F3 answers, in P1 order (OmapiTest SW_62xx).
SW_62XX = (
    0x6200, 0x6281, 0x6282, 0x6283, 0x6285, 0x62F1, 0x62F2, 0x63F1,
    0x63F2, 0x63C2, 0x6202, 0x6280, 0x6284, 0x6286, 0x6300, 0x6381,
)  # fmt: skip


def pattern(length: int) -> bytes:
    """The data the CTS applet answers (bytes 00..FF repeated), its last byte FF (OmapiTest checks it)."""
    data = bytearray(i & 0xFF for i in range(length))
    if data:
        data[-1] = SEGMENTED_LAST_BYTE
    return bytes(data)


def long_select_response() -> bytes:
    """The CTS long select response: BER-TLV 1F 00 82 00 FC <252 bytes>, its last byte FF."""
    n = LONG_SELECT_DATA
    head = bytes((0x1F, 0x00, 0x81, n)) if n < 0x100 else bytes((0x1F, 0x00, 0x82, n >> 8, n & 0xFF))
    body = bytearray((i & 0xFF) for i in range(n))
    body[-1] = 0xFF
    return head + bytes(body)


# -- the kit's test applets ---------------------------------------------------------------------------------

_KIT_RID = "F04A504B494B4954"  # F0 "JPKIKIT"

#: Applets whose SELECT answers the status word in their AID's last two bytes (data: 2 bytes for warnings).
KIT_SELECT_SW = {
    sw: bytes.fromhex(f"{_KIT_RID}53{sw:04X}") for sw in (0x6283, 0x6310, 0x6A86, 0x6999, 0x6F00)
}
#: A non-multi-selectable applet: selected on one channel, its SELECT on another answers 6985.
KIT_SINGLE = bytes.fromhex(f"{_KIT_RID}5331")
#: A multi-selectable applet that answers INS CA with the CLA it received (for the channel-number tests).
KIT_ECHO_CLA = bytes.fromhex(f"{_KIT_RID}4543")
INS_ECHO_CLA = 0xCA
