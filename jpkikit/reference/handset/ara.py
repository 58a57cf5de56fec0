"""Reading the ARA-M as Android does (AOSP security/ara/AraController.java, AccessRuleApplet.java; SEAC v1.1
ARA-M GET DATA; docs/spec/globalplatform.md#ara-m-commands).

On every initialisation the controller opens a logical channel of its own to the ARA-M (no channel: the open
call of the app returns null; no ARA-M: NoSuchElement), reads the refresh tag (80 CA DF 20 00; an error or
anything but DF20 with 8 bytes: the ACE denies everything), and only when the tag differs from the cached one
reads all rules: GET DATA [All] (80 CA FF 40 00; 6A88 means no rules), then [Next] (80 CA FF 60 00) until the
length FF40 announced has arrived. The channel is closed again in every case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jpkikit.reference.handset.errors import AccessControlError, MissingResource
from jpkikit.reference.handset.rules import A, AccessRuleCache, ChannelAccess, RuleParseError, parse_all
from jpkikit.vocab.gp import seac

if TYPE_CHECKING:
    from jpkikit.reference.handset.channel import Channel
    from jpkikit.reference.handset.terminal import Terminal

GET_ALL = bytes.fromhex("80CAFF4000")
GET_NEXT = bytes.fromhex("80CAFF6000")
GET_REFRESH_TAG = bytes.fromhex("80CADF2000")


def _header(data: bytes) -> tuple[int, int]:
    """(tag, length of header + value) of the first TLV of ``data``, without checking the data that follows
    (AOSP BerTlv.decode(data, 0, false))."""
    if len(data) < 2:
        raise AccessControlError("GET DATA (all) not successfull. Tlv encoding wrong.")
    pos = 1
    tag = data[0]
    if tag & 0x1F == 0x1F:
        tag = tag << 8 | data[1]
        pos = 2
    if pos >= len(data):
        raise AccessControlError("GET DATA (all) not successfull. Tlv encoding wrong.")
    first = data[pos]
    pos += 1
    if first & 0x80:
        n = first & 0x7F
        if not 1 <= n <= 3 or pos + n > len(data):
            raise AccessControlError("GET DATA (all) not successfull. Tlv encoding wrong.")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    else:
        length = first
    return tag, pos + length


class AraController:
    """Reads the ARA-M into the rule cache (one per ACE)."""

    #: eSE ARA AID candidates (AOSP res/values/config.xml config_ara_aid_candidate_list_ese; empty in AOSP).
    candidates: tuple[bytes | None, ...] = ()

    def __init__(self, cache: AccessRuleCache, terminal: Terminal) -> None:
        self.cache = cache
        self.terminal = terminal
        self.aid = seac.ARAM_AID
        self.reads = 0  # how many times all rules were read (evidence for the refresh-tag tests)

    def initialize(self) -> None:
        from jpkikit.vocab.omapi.errors import NoSuchElementError, OmapiIOError

        channel: Channel | None = None
        for aid in self.candidates if self.terminal.name.startswith("eSE") else ():
            try:
                channel = self.terminal.open_logical_channel_without_access(aid)
                if channel is None:
                    raise MissingResource("could not open channel")
                self.aid = aid or seac.ARAM_AID
                break
            except NoSuchElementError:
                continue
        if channel is None:
            channel = self.terminal.open_logical_channel_without_access(seac.ARAM_AID)
            if channel is None:
                raise MissingResource("could not open channel")
        channel.access = ChannelAccess(A.ALLOWED, A.ALLOWED, reason="")
        try:
            tag = self.read_refresh_tag(channel)
            if self.cache.refresh_tag is not None and tag == self.cache.refresh_tag:
                return
            self.cache.refresh_tag = tag
            self.cache.clear()
            self._read_all(channel)
        except OmapiIOError:
            raise
        except MissingResource:
            raise
        except Exception as exc:
            raise AccessControlError(str(exc)) from None
        finally:
            channel.close()

    @staticmethod
    def read_refresh_tag(channel: Channel) -> bytes:
        response = channel.transmit(GET_REFRESH_TAG)
        if response[-2:] != b"\x90\x00":
            raise AccessControlError("GET REFRESH TAG not successfull.")
        data = response[:-2]
        if len(data) < 3 or data[:2] != b"\xdf\x20":
            raise AccessControlError("GET REFRESH TAG returned invalid Tlv.")
        if data[2] != 8 or len(data) < 11:
            raise AccessControlError("GET REFRESH TAG not successfull. Tlv encoding wrong.")
        return data[3:11]

    def read_all_rules(self, channel: Channel) -> bytes | None:
        response = channel.transmit(GET_ALL)
        sw = response[-2:]
        if sw == b"\x6a\x88":
            return None
        if sw != b"\x90\x00":
            raise AccessControlError(f"GET DATA (all) not successfull. SW1SW2={sw.hex().upper()}")
        data = response[:-2]
        _tag, overall = _header(data)
        while len(data) < overall:
            more = channel.transmit(GET_NEXT)
            if more[-2:] != b"\x90\x00":
                raise AccessControlError(f"GET DATA (next) not successfull, SW1SW2={more[-2:].hex().upper()}")
            data += more[:-2]
        return data

    def _read_all(self, channel: Channel) -> None:
        data = self.read_all_rules(channel)
        self.reads += 1
        if data is None:
            return
        try:
            rules = parse_all(data, self.cache.android)
        except RuleParseError as exc:
            raise AccessControlError(f"Parsing Data Object Exception: {exc}") from None
        for ref, ar in rules:
            self.cache.put_rule(ref, ar)
