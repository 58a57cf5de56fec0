"""Android's Open Mobile API as each Android release behaves (``android.se.omapi`` and the AOSP SecureElement
service, packages/apps/SecureElement): the facts the reference handset implements and the handset tests
expect, by Android API level (``ics.handset.android_api``).

Sources: the ``android.se.omapi`` javadoc; AOSP SecureElementService.java, Terminal.java, Channel.java,
CommandApduValidator.java, security/AccessControlEnforcer.java, AccessRuleCache.java, ara/AraController.java,
ara/AccessRuleApplet.java, arf/ and gpac/ (their history dates each change); the SE HAL contract
(hardware/interfaces/secure_element ISecureElement); CTS tests/tests/secure_element (OmapiTest,
AccessControlTest). Each behaviour the kit checks is one :class:`Behaviour` in :data:`BEHAVIOURS`, with the
API levels it holds for; docs/android-behaviours.md is rendered from that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: android.se.omapi exists from API 28 (Android 9); the newest behaviour the kit knows is API 35 (Android 15).
OLDEST_API = 28
LATEST_API = 35
RELEASES = {28: "9", 29: "10", 30: "11", 31: "12", 32: "12L", 33: "13", 34: "14", 35: "15", 36: "16"}

# Reader names (javadoc Reader.getName; AOSP SecureElementService: terminals "eSE<n>" and "SIM<n>").
UICC_PREFIX, ESE_PREFIX, SD_PREFIX = "SIM", "eSE", "SD"
READER_PREFIXES = (UICC_PREFIX, ESE_PREFIX, SD_PREFIX)

#: The P2 values Session.open*Channel accepts (AOSP SecureElementService; javadoc: "only the following values
#: are mandatory: '00', '04', '08', '0C'"). Any other P2 throws UnsupportedOperationException before anything
#: is sent.
P2_VALUES = (0x00, 0x04, 0x08, 0x0C)

#: AID lengths an app may pass (javadoc: "if the aid's length is not within 5 to 16 (inclusive)"); an empty
#: AID is taken as no AID (AOSP Terminal).
AID_LENGTHS = range(5, 17)

#: The AID-REF-DO of a carrier-privilege rule (AOSP gpac/AID_REF_DO: a REF-DO without AID is given this one).
CARRIER_PRIVILEGE_AID = bytes.fromhex("FFFFFFFFFFFF")
#: The eUICC's ISD-R (GSMA SGP.02); AOSP skips the carrier-privilege check for it.
ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
#: The permission that makes an app privileged (AOSP Terminal.isPrivilegedApplication).
PRIVILEGED_PERMISSION = "android.permission.SECURE_ELEMENT_PRIVILEGED_OPERATION"
#: The app's side of NFC transaction events (android.nfc.action.TRANSACTION_DETECTED, NFC_TRANSACTION_EVENT).
NFC_TRANSACTION_PERMISSION = "android.permission.NFC_TRANSACTION_EVENT"
NFC_TRANSACTION_ACTION = "android.nfc.action.TRANSACTION_DETECTED"


class HalStatus(StrEnum):
    """What the SE HAL answers to openLogicalChannel/openBasicChannel (ISecureElement:
    SecureElementStatus)."""

    SUCCESS = "success"
    CHANNEL_NOT_AVAILABLE = "channel_not_available"
    NO_SUCH_ELEMENT = "no_such_element"
    UNSUPPORTED_OPERATION = "unsupported_operation"
    IOERROR = "ioerror"


def select_status(sw: int) -> HalStatus:
    """The HAL status for the SE's answer to the SELECT of an open call. The HAL contract names the statuses;
    the mapping is the one AOSP's eSE HALs implement (NXP SecureElement.cpp, openLogicalChannel): 9000 and
    the warnings 62xx/63xx open the channel (the javadoc of Session.openLogicalChannel says the same), 6A82,
    6999 and 6985 mean no such element (a non-multiselectable applet selected elsewhere answers 6985), 6A86
    means the applet refuses the P2, anything else is an I/O error."""
    if sw == 0x9000 or sw >> 8 in (0x62, 0x63):
        return HalStatus.SUCCESS
    if sw in (0x6A82, 0x6999, 0x6985):
        return HalStatus.NO_SUCH_ELEMENT
    if sw == 0x6A86:
        return HalStatus.UNSUPPORTED_OPERATION
    return HalStatus.IOERROR


def manage_channel_status(sw: int) -> HalStatus:
    """The HAL status for MANAGE CHANNEL open (NXP SecureElement.cpp): 9000 opens, 6A81 means no channel is
    free, 6D00/6E00 mean the SE has no logical channels; anything else is an I/O error."""
    if sw == 0x9000:
        return HalStatus.SUCCESS
    if sw == 0x6A81:
        return HalStatus.CHANNEL_NOT_AVAILABLE
    if sw in (0x6D00, 0x6E00):
        return HalStatus.UNSUPPORTED_OPERATION
    return HalStatus.IOERROR


def is_iso_class(cla: int) -> bool:
    """Whether AOSP Channel.transmit treats a command as an ISO (interindustry) one for its MANAGE CHANNEL and
    SELECT checks: b8 = 0 and not the RFU coding 001x xxxx."""
    return cla & 0x80 == 0 and cla & 0x60 != 0x20


def channel_cla(cla: int, channel: int, api: int = LATEST_API) -> int:
    """The CLA the service sends for an app's command on logical channel ``channel`` (AOSP
    Channel.setChannelToClassByte; GPCS v2.3.1 §11.1.4): channels 0-3 in b1-b2 keeping b8, b6-b3; channels
    4-19 in the further interindustry coding (b7 = 1, b1-b4 = channel - 4) keeping b8 and b6-b5, with b6 set
    when the app's CLA asked for secure messaging. From API 31 only a first-interindustry CLA (b7 = 0) can ask
    for secure messaging through b3-b4; before, b3-b4 counted whatever b7 was."""
    if not 0 <= channel < 20:
        raise ValueError(f"channel number must be 0..19, got {channel}")
    if channel < 4:
        return (cla & 0xBC) | channel
    secure = (cla & 0x0C) != 0 if api <= 30 else cla & 0x40 == 0 and cla & 0x0C != 0
    out = (cla & 0xB0) | 0x40 | (channel - 4)
    return out | 0x20 if secure else out


@dataclass(frozen=True)
class Android:
    """The behaviours of one Android API level, as flags the reference handset and the tests read."""

    api: int = LATEST_API

    def __post_init__(self) -> None:
        if not OLDEST_API <= self.api <= max(RELEASES):
            raise ValueError(f"android_api must be {OLDEST_API}..{max(RELEASES)}, got {self.api}")

    @property
    def release(self) -> str:
        return RELEASES.get(self.api, str(self.api))

    @property
    def omapi_version(self) -> str:
        """SEService.getVersion(): "3.2" until API 29, "3.3" from API 30 (CTS OmapiTest OMAPI_VERSION)."""
        return "3.3" if self.api >= 30 else "3.2"

    @property
    def sha256_hashes(self) -> bool:
        """32-byte (SHA-256) Hash-REF-DOs are understood from API 29 ("Add support for SHA-256 Hash_REF_DO");
        before, such a rule does not parse and the rule set is unusable."""
        return self.api >= 29

    @property
    def ese_full_access_without_rules(self) -> bool:
        """An eSE with neither ARA-M nor rules grants full access until API 29; from API 30 it denies
        everything ("Set default access permission as denied for eSE")."""
        return self.api <= 29

    @property
    def missing_nfc_follows_apdu(self) -> bool:
        """A rule without NFC-AR-DO allows NFC events when it allows APDU access, APDU filters included, from
        API 29 ("Missing NFC access rule shall be ALLOWED if APDU access rule is ALLOWED"); until API 28 a
        filter rule without NFC-AR-DO gives no NFC events."""
        return self.api >= 29

    @property
    def missing_attributes_after_merge(self) -> bool:
        """Missing APDU-AR-DO / NFC-AR-DO are resolved after the rules of one REF-DO are merged, from API 30;
        a
        filter rule without NFC-AR-DO then allows NFC events. Until API 29 a rule without APDU-AR-DO denies
        its
        REF-DO whatever the other rules say."""
        return self.api >= 30

    @property
    def resend_after_6c_collects_61(self) -> bool:
        """After 6Cxx the command is sent again and, from API 30, a 61xx that answers it is collected too
        ("Fix
        bug transmit APDU status word 6CXX follow by 61XX case"); until API 29 that 61xx reaches the app."""
        return self.api >= 30

    @property
    def pkg_with_aid_is_error(self) -> bool:
        """From API 30 a REF-DO holding AID-REF-DO, Hash-REF-DO and PKG-REF-DO makes the rules unparsable;
        until API 29 the PKG-REF-DO is ignored."""
        return self.api >= 30

    @property
    def carrier_privilege(self) -> bool:
        """Carrier-privilege rules of the UICC give full access from API 30 ("Add Carrier Privilege
        support")."""
        return self.api >= 30

    @property
    def privileged_apps(self) -> bool:
        """Apps holding SECURE_ELEMENT_PRIVILEGED_OPERATION bypass the ACE from API 30."""
        return self.api >= 30

    @property
    def uicc_reader_by_slot(self) -> bool:
        """SEService.getUiccReader(slot) exists from API 30."""
        return self.api >= 30

    @property
    def reader_reset(self) -> bool:
        """Reader.reset() (system API, needs SECURE_ELEMENT_PRIVILEGED_OPERATION) exists from API 30."""
        return self.api >= 30


@dataclass(frozen=True)
class Behaviour:
    """One Android behaviour the kit checks: what, where it is stated, the API levels it holds for, and the
    requirements that check it."""

    id: str
    what: str
    sources: tuple[str, ...]
    requirements: tuple[str, ...]
    since: int = OLDEST_API
    until: int | None = None  # the last API level it holds for; None: still current

    def applies(self, api: int) -> bool:
        return self.since <= api and (self.until is None or api <= self.until)

    @property
    def versions(self) -> str:
        first = f"API {self.since} (Android {RELEASES.get(self.since, self.since)})"
        if self.until is None:
            return f"from {first}" if self.since > OLDEST_API else "all (API 28+)"
        last = f"API {self.until} (Android {RELEASES.get(self.until, self.until)})"
        return f"{first} to {last}" if self.since > OLDEST_API else f"up to {last}"


_JD, _AOSP, _CTS, _HAL = "javadoc", "AOSP", "CTS", "SE HAL"

BEHAVIOURS: tuple[Behaviour, ...] = (
    # -- SEService and Reader ---------------------------------------------------------------------------
    Behaviour(
        "omapi-version-3.2",
        'SEService.getVersion() returns "3.2"',
        (f"{_JD} SEService.getVersion", f"{_AOSP} frameworks/base android/se/omapi/SEService.java"),
        ("HS-SVC-VERSION",),
        until=29,
    ),
    Behaviour(
        "omapi-version-3.3",
        'SEService.getVersion() returns "3.3"',
        (f"{_JD} SEService.getVersion", f"{_CTS} OmapiTest#testGetOmapiVersion"),
        ("HS-SVC-VERSION",),
        since=30,
    ),
    Behaviour(
        "reader-names",
        "getReaders() lists the readers by name SIM<n>, eSE<n> or SD<n>; each has its SE present",
        (f"{_JD} Reader.getName", f"{_CTS} OmapiTest#testGetReaders"),
        ("HS-SVC-READERS",),
    ),
    Behaviour(
        "uicc-reader-by-slot",
        "getUiccReader(slot) returns the reader SIM<slot> of getReaders(); slot < 1 or no such reader: "
        "IllegalArgumentException",
        (f"{_JD} SEService.getUiccReader", f"{_CTS} OmapiTest#testGetReaders"),
        ("HS-SVC-UICC-SLOT",),
        since=30,
    ),
    Behaviour(
        "reader-reset-privileged",
        "Reader.reset() by an app without SECURE_ELEMENT_PRIVILEGED_OPERATION throws SecurityException",
        (f"{_CTS} OmapiTest#testOmapiReaderReset", f"{_AOSP} Terminal.reset"),
        ("HS-SVC-RESET",),
        since=30,
    ),
    Behaviour(
        "close-sessions",
        "Reader.closeSessions() closes every session of the reader and their channels",
        (f"{_JD} Reader.closeSessions", f"{_CTS} OmapiTest#testCloseSessions"),
        ("HS-SES-CLOSE-ALL",),
    ),
    # -- Session ----------------------------------------------------------------------------------------
    Behaviour(
        "session-close",
        "Session.close() closes its channels and frees their SE channels; isClosed() is then true",
        (f"{_JD} Session.close", f"{_CTS} OmapiTest#testGetSession"),
        ("HS-CLOSE-01", "HS-SES-CLOSED"),
    ),
    Behaviour(
        "session-closed-state",
        "an open call on a closed session throws IllegalStateException",
        (f"{_AOSP} SecureElementService.SecureElementSession", f"{_JD} Session.openLogicalChannel"),
        ("HS-SES-CLOSED",),
    ),
    Behaviour(
        "session-close-channels",
        "Session.closeChannels() closes every channel of the session, the session stays open",
        (f"{_JD} Session.closeChannels", f"{_CTS} OmapiTest#testCloseChannels"),
        ("HS-SES-CLOSE-CHANNELS",),
    ),
    Behaviour(
        "atr-uicc",
        "Session.getATR() of a UICC reader is not null",
        (f"{_CTS} OmapiTest#testATR", f"{_JD} Session.getATR"),
        ("HS-SES-ATR",),
    ),
    Behaviour(
        "check-order",
        "open calls check, in this order: session closed (IllegalStateException), P2 "
        "(UnsupportedOperationException), AID length (IllegalArgumentException), access (SecurityException), "
        "then the SE",
        (f"{_AOSP} SecureElementService.openLogicalChannel", f"{_AOSP} Terminal.openLogicalChannel"),
        ("HS-ORDER-01",),
    ),
    Behaviour(
        "p2-values",
        "P2 00, 04, 08, 0C are accepted and sent in the SELECT; any other P2 throws "
        "UnsupportedOperationException and nothing is sent",
        (
            f"{_AOSP} SecureElementService.openLogicalChannel",
            f"{_JD} Session.openLogicalChannel",
            f"{_CTS} OmapiTest#testP2Value",
        ),
        ("HS-P2-01", "HS-P2-02"),
    ),
    Behaviour(
        "aid-length",
        "an AID of 1-4 or more than 16 bytes throws IllegalArgumentException; an empty AID is no AID",
        (f"{_JD} Session.openLogicalChannel", f"{_AOSP} Terminal.openLogicalChannel"),
        ("HS-ARG-01",),
    ),
    Behaviour(
        "select-status",
        "the SELECT of an open call: 9000, 62xx, 63xx open the channel (getSelectResponse holds the SW); "
        "6A82, 6999, 6985 throw NoSuchElementException; 6A86 throws UnsupportedOperationException; other "
        "status words throw IOException; the SE channel is closed again",
        (
            f"{_JD} Session.openLogicalChannel",
            f"{_HAL} ISecureElement.openLogicalChannel",
            "AOSP eSE HAL (NXP SecureElement.cpp)",
            f"{_CTS} OmapiTest#testWrongAid",
        ),
        ("HS-ARG-01", "HS-SEL-SW-01", "HS-SEL-SW-02"),
    ),
    Behaviour(
        "long-select-response",
        "getSelectResponse() holds the whole select response, however long",
        (f"{_CTS} OmapiTest#testLongSelectResponse",),
        ("HS-SEL-LONG",),
    ),
    Behaviour(
        "open-logical-channel",
        "openLogicalChannel(aid) opens a new logical channel with its own selection; getSelectResponse() "
        "holds the SELECT's data and status word",
        (
            f"{_JD} Session.openLogicalChannel",
            f"{_JD} Channel.getSelectResponse",
            f"{_CTS} OmapiTest#testSelectableAid",
        ),
        ("HS-OPEN-01", "HS-CH-01"),
    ),
    Behaviour(
        "no-free-channel",
        "openLogicalChannel returns null (no exception) when the SE has no free logical channel",
        (f"{_JD} Session.openLogicalChannel", f"{_HAL} CHANNEL_NOT_AVAILABLE"),
        ("HS-CH-03",),
    ),
    Behaviour(
        "ace-needs-a-channel",
        "when the ACE cannot open its own channel to read the rules, the open call returns null",
        (
            f"{_AOSP} Terminal.setUpChannelAccess (MissingResourceException)",
            f"{_AOSP} AraController.initialize",
        ),
        ("HS-CH-ACE",),
    ),
    Behaviour(
        "basic-channel-ese",
        "openBasicChannel(null) and openBasicChannel(aid) give a channel on an eSE; a second one while it is "
        "open returns null",
        (
            f"{_CTS} OmapiTest#testOpenBasicChannelNullAid",
            f"{_CTS} OmapiTest#testOpenBasicChannelNonNullAid",
            f"{_AOSP} Terminal.openBasicChannel",
        ),
        ("HS-CH-02",),
    ),
    Behaviour(
        "basic-channel-uicc",
        "openBasicChannel returns null on a UICC (with or without AID) for an app without privileges",
        (f"{_CTS} OmapiTest#testOpenBasicChannelNullAid", f"{_JD} Session.openBasicChannel"),
        ("HS-CH-UICC-BASIC",),
    ),
    Behaviour(
        "basic-default-locked",
        "once an applet was selected on the basic channel, openBasicChannel(null) returns null until every "
        "session of the reader is closed; closing the basic channel selects the default application again",
        (
            f"{_JD} Session.openBasicChannel",
            f"{_AOSP} Terminal (mDefaultApplicationSelectedOnBasicChannel)",
            f"{_AOSP} Channel.close",
        ),
        ("HS-CH-BASIC-DEFAULT",),
    ),
    Behaviour(
        "uicc-null-aid",
        "openLogicalChannel(null) on a UICC returns null",
        (f"{_JD} Session.openLogicalChannel", f"{_AOSP} frameworks/base android/se/omapi/Session.java"),
        ("HS-CH-UICC-NULL",),
    ),
    # -- Channel ----------------------------------------------------------------------------------------
    Behaviour(
        "transmit-refused",
        "transmit of an ISO-class MANAGE CHANNEL or SELECT by DF name throws SecurityException",
        (
            f"{_JD} Channel.transmit",
            f"{_AOSP} Channel.transmit",
            f"{_CTS} OmapiTest#testSecurityExceptionInTransmit",
        ),
        ("HS-TX-01",),
    ),
    Behaviour(
        "transmit-validation",
        "transmit of fewer than 4 bytes, an Lc or Le inconsistent with the length, CLA FF or INS 6x/9x "
        "throws "
        "IllegalArgumentException",
        (f"{_JD} Channel.transmit", f"{_AOSP} CommandApduValidator"),
        ("HS-TX-02", "HS-TX-03"),
    ),
    Behaviour(
        "transmit-null",
        "transmit(null) throws NullPointerException",
        (f"{_JD} Channel.transmit", f"{_AOSP} Channel.transmit"),
        ("HS-TX-NULL",),
    ),
    Behaviour(
        "transmit-cases",
        "commands of the four ISO cases with CLA 00, 80, A0 and 94 are sent and their responses returned",
        (f"{_CTS} OmapiTest#testTransmitApdu",),
        ("HS-TX-CASES",),
    ),
    Behaviour(
        "transmit-status-words",
        "status words other than 61xx/6Cxx (62xx, 63xx warnings included) reach the app unchanged, with "
        "their "
        "data",
        (f"{_JD} Channel.transmit", f"{_CTS} OmapiTest#testStatusWordTransmit"),
        ("HS-TX-SW",),
    ),
    Behaviour(
        "transmit-61xx",
        "61xx is answered with GET RESPONSE (Le = xx, the command's CLA) until another status word, however "
        "long the chain; the app gets the whole data",
        (
            f"{_JD} Channel.transmit",
            f"{_AOSP} Terminal.transmit",
            f"{_CTS} OmapiTest#testSegmentedResponseTransmit",
        ),
        ("HS-TX-61",),
    ),
    Behaviour(
        "transmit-6cxx-61xx",
        "6Cxx makes the service send the command again with Le = xx, and a 61xx answering that is collected",
        (f"{_AOSP} Terminal.transmit", f"{_CTS} OmapiTest#testSegmentedResponseTransmit"),
        ("HS-TX-6C",),
        since=30,
    ),
    Behaviour(
        "transmit-6cxx-only",
        "6Cxx makes the service send the command again with Le = xx; a 61xx answering that reaches the app",
        (f"{_AOSP} Terminal.transmit",),
        ("HS-TX-6C",),
        until=29,
    ),
    Behaviour(
        "transmit-channel-cla",
        "the app's channel bits are replaced by the channel's number: channels 0-3 in b1-b2, 4-19 in the "
        "further interindustry coding",
        (f"{_JD} Channel.transmit", f"{_AOSP} Channel.setChannelToClassByte", "GPCS v2.3.1 §11.1.4"),
        ("HS-TX-CLA",),
    ),
    Behaviour(
        "transmit-sm-bit-first-interindustry",
        "on channels 4-19, b6 (secure messaging) is set only for a first-interindustry CLA with b3-b4",
        (f'{_AOSP} Channel.setChannelToClassByte ("Fix CLA encoded with wrong SM bit")',),
        ("HS-TX-CLA",),
        since=31,
    ),
    Behaviour(
        "transmit-sm-bit-any",
        "on channels 4-19, b6 (secure messaging) is set whenever the app's CLA has b3-b4 set",
        (f"{_AOSP} Channel.setChannelToClassByte",),
        ("HS-TX-CLA",),
        until=30,
    ),
    Behaviour(
        "transmit-closed",
        "transmit on a closed channel throws IllegalStateException; isOpen() is false",
        (f"{_JD} Channel.transmit", f"{_JD} Channel.isOpen"),
        ("HS-CH-03", "HS-CH-OPEN-STATE"),
    ),
    Behaviour(
        "select-next",
        "selectNext() sends SELECT next occurrence (P2 02) of the channel's AID: false when no further "
        "applet "
        "(6Axx), the applet stays selected; UnsupportedOperationException without AID",
        (f"{_JD} Channel.selectNext", f"{_AOSP} Channel.selectNext", f"{_CTS} OmapiTest#testSelectNext"),
        ("HS-CH-SELECT-NEXT",),
    ),
    Behaviour(
        "is-basic-channel",
        "isBasicChannel() is true for the basic channel only; getSession() is the session that opened it",
        (f"{_JD} Channel.isBasicChannel", f"{_CTS} OmapiTest#testGetSession"),
        ("HS-CH-OPEN-STATE",),
    ),
    # -- Access Control Enforcer --------------------------------------------------------------------------
    Behaviour(
        "ace-before-select",
        "the access decision is made before the SELECT of the target; a denied app causes no SELECT of it",
        (f"{_AOSP} Terminal.openLogicalChannel", "SEAC v1.1 §3"),
        ("HS-DENY-01", "HS-DENY-02"),
    ),
    Behaviour(
        "ace-resolution",
        "rule resolution: (AID, app) > AID with other apps = never > (AID, all) > (all, app) > all with "
        "other "
        "apps = never > (all, all) > deny",
        (f"{_AOSP} AccessRuleCache.findAccessRule", "SEAC v1.0 §4.2.3"),
        (
            "HS-ACE-A",
            "HS-ACE-AID-NEVER",
            "HS-ACE-B",
            "HS-ACE-C",
            "HS-ACE-ALL-NEVER",
            "HS-ACE-D",
            "HS-ACE-NONE",
        ),
    ),
    Behaviour(
        "ace-default-application",
        "a channel without AID is decided by the rules for the default application (C0 00)",
        (f"{_AOSP} AccessRuleCache.getAidRefDo",),
        ("HS-ACE-DEFAULT",),
    ),
    Behaviour(
        "ace-hash-order",
        "the app's certificate hashes are tried SHA-1 first, then SHA-256; the first REF-DO found decides",
        (
            f"{_AOSP} AccessControlEnforcer.getAppCertHashes",
            f"{_AOSP} AccessRuleCache.findAccessRuleInternal",
        ),
        ("HS-HASH-01", "HS-HASH-ORDER"),
        since=29,
    ),
    Behaviour(
        "ace-sha1-only",
        "only SHA-1 Hash-REF-DOs are understood; a 32-byte one makes the rules unusable",
        (f"{_AOSP} gpac/Hash_REF_DO.java",),
        ("HS-HASH-01",),
        until=28,
    ),
    Behaviour(
        "ace-merge",
        "rules of one REF-DO combine: NEVER > filters > ALWAYS for APDU (filters joined), NEVER > ALWAYS "
        "for NFC",
        (f"{_AOSP} AccessRuleCache.putWithMerge", "SEAC v1.1 Annex G"),
        ("HS-MERGE-01", "HS-MERGE-02", "HS-MERGE-03"),
    ),
    Behaviour(
        "ace-missing-apdu-after-merge",
        "a missing APDU-AR-DO is resolved after merging: with another rule of the REF-DO giving APDU access, "
        "access is granted; alone, APDU access is denied",
        (
            f'{_AOSP} AccessRuleCache.mapArDo2ChannelAccess ("Missing APDU access rule attribute shall be '
            'solved after the combination")',
        ),
        ("HS-MERGE-04",),
        since=30,
    ),
    Behaviour(
        "ace-missing-apdu-denies",
        "a rule without APDU-AR-DO denies its REF-DO whatever the other rules of the REF-DO say",
        (f"{_AOSP} AccessRuleCache.mapArDo2ChannelAccess",),
        ("HS-MERGE-04",),
        until=29,
    ),
    Behaviour(
        "ace-nfc-missing",
        "a rule without NFC-AR-DO allows NFC events when it allows APDU access, APDU filters included",
        (
            f'{_AOSP} AccessRuleCache.findAccessRule ("Missing NFC access rule shall be ALLOWED if APDU '
            'access rule is ALLOWED")',
        ),
        ("HS-NFC-02",),
        since=29,
    ),
    Behaviour(
        "ace-nfc-missing-filters-denied",
        "a rule without NFC-AR-DO allows NFC events when its APDU access is ALWAYS, not when it has APDU "
        "filters",
        (f"{_AOSP} AccessRuleCache.findAccessRule",),
        ("HS-NFC-02",),
        until=28,
    ),
    Behaviour(
        "ace-filters",
        "with APDU filters, transmit of a command whose header AND mask differs from every filter header "
        "throws SecurityException; a command a filter matches reaches the SE unchanged but for the channel "
        "number in CLA, and its answer comes back as the SE gave it",
        (
            f"{_AOSP} AccessControlEnforcer.checkCommand",
            f"{_AOSP} Channel.transmit",
            f"{_AOSP} CommandApdu.compareHeaders",
            f"{_CTS} AccessControlTest#testUnauthorisedAPDUAID40",
        ),
        ("HS-FLT-01", "HS-FLT-02"),
    ),
    Behaviour(
        "ace-refresh-tag",
        "before an open the ACE reads the refresh tag and re-reads the rules only when it changed",
        (f"{_AOSP} AraController.initialize",),
        ("HS-REF-01", "HS-REF-02"),
    ),
    Behaviour(
        "ace-no-refresh-tag",
        "an ARA-M whose refresh tag cannot be read makes the ACE deny everything",
        (f"{_AOSP} AccessRuleApplet.readRefreshTag", f"{_AOSP} AccessControlEnforcer.initialize"),
        ("HS-ARAM-BAD",),
    ),
    Behaviour(
        "ace-rules-unusable",
        "rules that do not parse, or GET DATA [Next] errors, make the ACE deny everything",
        (f"{_AOSP} AccessRuleApplet.readAllAccessRules", f"{_AOSP} AccessControlEnforcer.initialize"),
        ("HS-ARAM-BAD",),
    ),
    Behaviour(
        "ace-no-rules",
        "GET DATA [All] answering 6A88 means no rules: every app is denied",
        (f"{_AOSP} AccessRuleApplet.readAllAccessRules",),
        ("HS-ARAM-EMPTY",),
    ),
    Behaviour(
        "ace-ese-no-aram-full",
        "an eSE without ARA-M grants every app full access",
        (f"{_AOSP} AccessControlEnforcer.readSecurityProfile (mFullAccess)",),
        ("HS-ARAM-ABSENT",),
        until=29,
    ),
    Behaviour(
        "ace-ese-no-aram-deny",
        "an eSE without ARA-M denies every app",
        (f'{_AOSP} AccessControlEnforcer ("Set default access permission as denied for eSE")',),
        ("HS-ARAM-ABSENT",),
        since=30,
    ),
    Behaviour(
        "ace-uicc-arf",
        "a UICC without ARA-M is read through its PKCS#15 access rule files (ODF, DODF, ACMF, ACRF, "
        "ACCF); an "
        "ACCF without conditions means never",
        (f"{_AOSP} arf/ArfController, PKCS15Handler, EFACRules, EFACConditions", "SEAC v1.1 ARF"),
        ("HS-ARF-01", "HS-ARF-02"),
    ),
    Behaviour(
        "ace-uicc-ara-first",
        "a UICC with an ARA-M is read through the ARA-M; its ARF is not used",
        (f"{_AOSP} AccessControlEnforcer.initialize",),
        ("HS-ARF-ARA-FIRST",),
    ),
    Behaviour(
        "ace-uicc-no-rules",
        "a UICC with neither ARA-M nor ARF denies every app",
        (f"{_AOSP} AccessControlEnforcer.initialize",),
        ("HS-ARF-NONE",),
    ),
    Behaviour(
        "ace-pkg-ignored",
        "a PKG-REF-DO in a rule with AID is ignored",
        (f"{_AOSP} gpac/REF_DO.java",),
        ("HS-PKG-01",),
        until=29,
    ),
    Behaviour(
        "ace-pkg-with-aid-unusable",
        "a REF-DO with AID-REF-DO, Hash-REF-DO and PKG-REF-DO makes the rules unusable: everything is denied",
        (f'{_AOSP} gpac/REF_DO.interpret ("Unexpected combination of SEAC DOs and DAC DO")',),
        ("HS-PKG-01",),
        since=30,
    ),
    Behaviour(
        "carrier-privilege",
        "on a UICC, an app a carrier-privilege rule (REF-DO without AID; PKG-REF-DO if given must match) "
        "names "
        "gets full access: any AID, the basic channel, SELECT by DF name in transmit",
        (
            f"{_AOSP} Terminal.setUpChannelAccess",
            f"{_AOSP} AccessRuleCache.checkCarrierPrivilege",
            "aosp-uicc-docs",
        ),
        ("HS-CARRIER-01", "HS-CARRIER-02"),
        since=30,
    ),
    Behaviour(
        "carrier-privilege-ese",
        "carrier-privilege rules give nothing on an eSE",
        (f"{_AOSP} Terminal.setUpChannelAccess",),
        ("HS-CARRIER-ESE",),
        since=30,
    ),
    Behaviour(
        "nfc-event-access",
        "NFC transaction events of an SE application reach only the apps whose rule allows NFC events",
        (
            f"{_AOSP} AccessControlEnforcer.isNfcEventAllowed",
            f"{_AOSP} SecureElementService.isNfcEventAllowed",
            "GSMA TS.26 (NFC event access)",
        ),
        ("HS-NFC-01", "HS-NFC-02", "HS-JPKI-NFC"),
    ),
)


def behaviours_for(api: int) -> tuple[Behaviour, ...]:
    return tuple(b for b in BEHAVIOURS if b.applies(api))


def render_table() -> str:
    """docs/android-behaviours.md: each Android behaviour the kit checks, its sources, its API levels and the
    requirements that check it."""
    lines = [
        "# Android behaviours the handset tests check",
        "",
        "Generated from `jpkikit/vocab/omapi/android.py` (`BEHAVIOURS`); `tests/test_handset_docs.py` "
        "checks it",
        "is current. A handset profile states its Android API level (`ics.handset.android_api`, default",
        f"{LATEST_API}); each behaviour below is expected only on the API levels it holds for, and the "
        f"reference",
        "handset behaves as the profile's level says. Sources: the `android.se.omapi` javadoc, AOSP",
        "packages/apps/SecureElement (files named), the SE HAL contract and CTS tests/tests/secure_element.",
        "",
        "| Behaviour | What Android does | Android versions | Sources | Checked by |",
        "|---|---|---|---|---|",
    ]
    for b in BEHAVIOURS:
        cells = (f"`{b.id}`", b.what, b.versions, "; ".join(b.sources), ", ".join(b.requirements))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
