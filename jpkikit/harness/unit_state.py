"""The unit as found and as left: what the kit can read back of a card's persistent state, before the first
test and after the last, and the differences between the two.

Read (each only where the profile says the unit has it; nothing read spends a PIN try):

* the ATR;
* GlobalPlatform: IIN (GET DATA 42), CIN (45), card recognition data (66) and CPLC (9F7F) from the ISD
  (GPCS v2.3.1 §11.3), and — where the profile gives an ISD key set — the registry with its life cycles
  (GET STATUS of the ISD and of applications, §11.4);
* the JPKI application: every EF's content digest (the protected ones after a right VERIFY, which resets
  the counter it reads), the token label, and each PIN's retry counter (the retry query spends nothing);
* the ARA-M's rules (GET DATA [All], GP SE Access Control v1.1 §4.1).

Counters the specifications say move are not compared: the SCP03 sequence counters (every INITIALIZE
UPDATE increments one, Amd D §6.2.2.1) and the card's challenge state.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jpkikit.errors import KitError
from jpkikit.harness.preflight import claimed_pairs
from jpkikit.harness.profile import Profile
from jpkikit.host.card_session import CardSession
from jpkikit.host.jpki_client import JpkiClient
from jpkikit.host.scp03 import Scp03Layer
from jpkikit.vocab.gp import seac
from jpkikit.vocab.gp.layouts import StatusEntry
from jpkikit.vocab.iso7816.apdu import CommandApdu
from jpkikit.vocab.iso7816.sw import retries_left

UNIT_STATE_FILE = "unit-state.json"
#: The JPKI EFs whose content is persistent data of the holder (certificates, token information).
JPKI_EFS = (0x0001, 0x0002, 0x0006, 0x0008, 0x000A, 0x000B)

State = dict[str, str]

# -- the names of the items (one home: the report words each pattern in its language, jpkikit.report.i18n;
# the JSON and the English report keep these names as they are)
ITEM_ATR = "ATR"
ITEM_GP_DATA = "GP GET DATA {tag} ({data})"  # tag: hex; data: one of GP_DATA
ITEM_GP_REGISTRY = "GP registry ({scope})"  # scope: REGISTRY_ISD or REGISTRY_APPLICATIONS
ITEM_JPKI_APPLICATION = "JPKI application"
ITEM_PIN_TRIES = "JPKI {pin} PIN tries left"  # pin: the key pair's name (auth, sign)
ITEM_TOKEN_LABEL = "JPKI token label"
ITEM_EF = "JPKI EF {fid}"  # fid: 4 hex digits
ITEM_ARAM_RULES = "ARA-M rules"
ITEM_PART_UNREADABLE = "{part} (read back)"  # part: a name of PARTS, whose reading broke off
#: The one item of a unit that could not be read at all at the end (jpkikit.harness.plugin).
ITEM_UNIT_UNREADABLE = "(read back)"
#: Every item name pattern, the most specific first.
ITEM_PATTERNS = (
    ITEM_ATR,
    ITEM_GP_DATA,
    ITEM_GP_REGISTRY,
    ITEM_JPKI_APPLICATION,
    ITEM_PIN_TRIES,
    ITEM_TOKEN_LABEL,
    ITEM_EF,
    ITEM_ARAM_RULES,
    ITEM_UNIT_UNREADABLE,
    ITEM_PART_UNREADABLE,
)
#: The GP data objects read from the ISD (GPCS v2.3.1 §11.3.3.1), by tag.
GP_DATA = {0x42: "IIN", 0x45: "CIN", 0x66: "card recognition data", 0x9F7F: "CPLC"}
REGISTRY_ISD = "ISD"
REGISTRY_APPLICATIONS = "applications and SDs"
#: The parts of the state, each read on its own (the name an item of a part that broke off carries).
PART_GP, PART_JPKI, PART_ARAM = "gp", "jpki", "aram"

# -- the kit's words among the values (the report words them in its language; a value the unit gave is shown
# as it was)
UNREADABLE = "unreadable"
UNREADABLE_PREFIX = UNREADABLE + ": "  # then the error
NOT_SELECTABLE = "not selectable"
ABSENT = "absent"  # an item read at one end only
DIGEST = "{length} bytes, sha256 {sha256}"  # the content of an EF or of the ARA-M's rules
VALUE_PATTERNS = (DIGEST,)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    regex = ""
    for literal, field, _, _ in string.Formatter().parse(pattern):
        regex += re.escape(literal) + (f"(?P<{field}>.+?)" if field else "")
    return re.compile(regex)


_REGEXES = {pattern: _pattern_regex(pattern) for pattern in ITEM_PATTERNS + VALUE_PATTERNS}


def fields_of(text: str, patterns: tuple[str, ...] = ITEM_PATTERNS) -> tuple[str, dict[str, str]] | None:
    """The pattern of ``patterns`` (default: the item names) ``text`` was made from, and its fields; None for
    a text this module does not make."""
    for pattern in patterns:
        match = _REGEXES[pattern].fullmatch(text)
        if match:
            return pattern, match.groupdict()
    return None


@dataclass(frozen=True)
class Difference:
    item: str
    before: str
    after: str


def _digest(data: bytes) -> str:
    return DIGEST.format(length=len(data), sha256=hashlib.sha256(data).hexdigest()[:16])


def _read(what: Callable[[], str], state: State, item: str) -> None:
    try:
        state[item] = what()
    except (KitError, AssertionError) as exc:
        state[item] = f"{UNREADABLE_PREFIX}{exc}"


def _gp(session: CardSession, profile: Profile, state: State) -> None:
    gp = profile.ixit.gp
    if gp is None:
        return
    session.reset()
    session.select(gp.isd, p2=0x00)
    for tag, data in GP_DATA.items():
        r = session.send(0x80, 0xCA, tag >> 8, tag & 0xFF, ne=256)
        item = ITEM_GP_DATA.format(tag=f"{tag:02X}", data=data)
        state[item] = r.data.hex().upper() if r.ok else f"SW {r.sw:04X}"
    keyset = next((k for k in gp.keysets_of("isd") if k.kvn != gp.exhaustion_kvn), None)
    if keyset is None:
        return
    layer = Scp03Layer(session.transport, profile.keys(keyset), sd_aid=gp.isd)
    layer.open(0x01)
    for p1, scope in ((0x80, REGISTRY_ISD), (0x40, REGISTRY_APPLICATIONS)):
        r = layer.send(CommandApdu(0x80, 0xF2, p1, 0x02, b"\x4f\x00", ne=256))
        if r.sw != 0x9000:
            state[ITEM_GP_REGISTRY.format(scope=scope)] = f"SW {r.sw:04X}"
            continue
        entries = StatusEntry.parse_all(r.data)
        state[ITEM_GP_REGISTRY.format(scope=scope)] = " ".join(
            f"{e.aid.hex().upper()}:{e.life_cycle:02X}" for e in sorted(entries, key=lambda e: e.aid)
        )
    layer.end()


def _jpki(session: CardSession, profile: Profile, state: State) -> None:
    session.reset()
    jpki = JpkiClient(session, profile.ixit.aids.jpki)
    if not jpki.select_ap().ok:
        state[ITEM_JPKI_APPLICATION] = NOT_SELECTABLE
        return
    for pair in claimed_pairs(profile):
        r = jpki.retry_query(pair.pin_ef)
        left = retries_left(r.sw)
        state[ITEM_PIN_TRIES.format(pin=pair.name)] = str(left) if left is not None else f"SW {r.sw:04X}"
    label, _ = jpki.token_label()
    state[ITEM_TOKEN_LABEL] = label if label is not None else UNREADABLE
    # a right VERIFY opens the protected EFs and resets the counter it reads
    for pair in claimed_pairs(profile):
        jpki.verify(pair.pin_ef, profile.secret(f"{pair.name}_pin"))
    for fid in JPKI_EFS:
        content, last = jpki.read_ef(fid)
        state[ITEM_EF.format(fid=f"{fid:04X}")] = _digest(content) if last.ok else f"SW {last.sw:04X}"
    jpki.select_ap()  # nothing stays verified


def _aram(session: CardSession, profile: Profile, state: State) -> None:
    if profile.ics.aram is None or not profile.ics.aram.present or profile.ixit.aram is None:
        return
    session.reset()
    r = session.select(profile.ixit.aram.aid, p2=0x00)
    if not r.ok:
        state[ITEM_ARAM_RULES] = f"SELECT SW {r.sw:04X}"
        return
    r = session.send(0x80, 0xCA, seac.T_ALL >> 8, seac.T_ALL & 0xFF, ne=256)
    data = r.data
    while r.ok and data and len(data) < _announced(data):
        r = session.send(0x80, 0xCA, 0xFF, 0x60, ne=256)
        data += r.data
    state[ITEM_ARAM_RULES] = _digest(data) if r.ok or r.sw == 0x6A88 else f"SW {r.sw:04X}"


def _announced(data: bytes) -> int:
    """The whole length of the FF40 object whose first chunk is ``data``."""
    if len(data) < 3:
        return len(data)
    first = data[2]
    if first < 0x80:
        return 3 + first
    n = first & 0x7F
    return 3 + n + int.from_bytes(data[3 : 3 + n], "big")


def take(session: CardSession, profile: Profile) -> State:
    """The unit's persistent state as the kit can read it (see the module docstring)."""
    state: State = {}
    _read(lambda: session.reset().hex().upper(), state, ITEM_ATR)
    for name, part in ((PART_GP, _gp), (PART_JPKI, _jpki), (PART_ARAM, _aram)):
        try:
            part(session, profile, state)
        except (KitError, AssertionError) as exc:  # a unit that answers garbage: record it, go on
            state[ITEM_PART_UNREADABLE.format(part=name)] = f"{UNREADABLE_PREFIX}{exc}"
    session.reset()
    return state


def compare(before: State, after: State) -> list[Difference]:
    items = sorted(set(before) | set(after))
    return [
        Difference(item, before.get(item, ABSENT), after.get(item, ABSENT))
        for item in items
        if before.get(item) != after.get(item)
    ]


def as_json(before: State, after: State | None) -> dict[str, Any]:
    differences = compare(before, after) if after is not None else []
    return {
        "before": before,
        "after": after,
        "differences": [d.__dict__ for d in differences],
    }
