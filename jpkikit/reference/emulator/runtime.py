"""The card runtime shared by every personality: power and reset, logical channels, the application
registry, SELECT by AID, GET RESPONSE, status words for bad commands, and persistence.

Clauses: ISO/IEC 7816-4:2020 §5.1 (command-response pairs), §5.4.1 (CLA), §5.6 (status words),
§7.1 (current structures per channel; the default application implicitly selected on the basic channel after
a reset), §11.1.1 (SELECT), §11.1.2 (MANAGE CHANNEL); GPCS v2.3.1 §11.7, §11.9 (MANAGE CHANNEL and SELECT as
an SE implements them; SELECT by name without data selects the ISD, §11.9.2.3).
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jpkikit.errors import ApduError, StateError
from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.personality import Personality
from jpkikit.reference.emulator.state import STATE_FORMAT, load_state, save_state
from jpkikit.vocab.commands import redact
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu, cla_channel
from jpkikit.vocab.iso7816.ins import Ins
from jpkikit.vocab.iso7816.sw import SW

log = logging.getLogger("jpkikit.reference.emulator")

INS_SELECT, INS_MANAGE_CHANNEL, INS_GET_RESPONSE = Ins.SELECT, Ins.MANAGE_CHANNEL, Ins.GET_RESPONSE

# Test-bed command of the kit's own emulator: return to the personality's initial state, as a new card.
# Honoured only when the kit itself launched the emulator (``testbed``): destructive tests (blocking a
# PIN) then run through PC/SC as they do in-process. No real implementation is expected to have it.
FACTORY_RESET = bytes.fromhex("80FE4A4B15") + b"jpkikit factory reset"


@dataclass
class RegistryEntry:
    """One application in the registry (GPCS §6.5 names this the GP Registry)."""

    applet: Applet
    life_cycle: int = 0x07  # GP SELECTABLE (GPCS Table 11-4)

    @property
    def selectable(self) -> bool:
        return self.life_cycle & 0x87 == 0x07  # SELECTABLE or later, not LOCKED (b8) (GPCS Tables 11-4/11-5)


@dataclass
class Channel:
    number: int
    selected: RegistryEntry | None = None
    session: dict[str, Any] = field(default_factory=dict)
    pending: bytes = b""  # response data waiting for GET RESPONSE


class Card:
    """A simulated card. Implements :class:`jpkikit.host.link.SimulatedCard`."""

    def __init__(self, personality: Personality, state_path: str | Path | None = None) -> None:
        self.personality = personality
        self.state_path = Path(state_path) if state_path else None
        self.registry: dict[bytes, RegistryEntry] = {}
        self.channels: dict[int, Channel] = {}
        self.powered = False
        self.testbed = False  # honour FACTORY_RESET
        self.life_cycle = 0x0F  # GP SECURED (GPCS Table 11-3)
        self._saved: str | None = None
        self._saved_doc: dict[str, Any] | None = None  # a deep copy of the state last written
        # True once applet code may have run since the last save check (see process()). A subclass that
        # replaces the runtime's own command paths gets the full check after every command instead.
        self._may_change = True
        self._runtime_paths_own = all(
            getattr(type(self), name) is getattr(Card, name)
            for name in ("process", "_process", "_select_by_name", "_get_response")
        )
        doc = load_state(self.state_path) if self.state_path else None
        if doc is None:
            self._install()
        else:
            self._restore(doc)

    def _install(self) -> None:
        self.registry = {aid: RegistryEntry(applet) for aid, applet in self.personality.install()}
        self.life_cycle = 0x0F
        self.save()

    def factory_reset(self) -> None:
        """Back to the personality's initial state: applets, keys, PINs, counters, life cycle."""
        self._install()
        self._clear_transient()

    # -- power ------------------------------------------------------------------------------------------

    def power_on(self) -> bytes:
        self._clear_transient()
        self.powered = True
        return self.atr

    def power_off(self) -> None:
        self._clear_transient()
        self.powered = False

    def reset(self) -> bytes:
        return self.power_on()

    @property
    def atr(self) -> bytes:
        return self.personality.atr

    def _clear_transient(self) -> None:
        self._may_change = True  # deselecting runs applet code
        for ch in self.channels.values():
            self._deselect(ch)
        self.channels = {0: Channel(0)}
        implicit = self._implicit_selection()
        if implicit is not None:
            self._make_selected(self.channels[0], implicit)

    # -- command processing -----------------------------------------------------------------------------

    def process(self, command: bytes) -> bytes:
        """One APDU in, one response out; no exception ever escapes (the emulator must not crash)."""
        try:
            response = self._process(bytes(command))
        except Exception:  # an applet bug must not take the card down
            name, shown, redaction = redact(bytes(command))  # PINs and keys cut out, as in traces
            cut = f" (+{redaction.what} redacted)" if redaction else ""
            log.exception("emulator: internal error while processing %s %s%s", name, shown.hex().upper(), cut)
            response = reply(SW.NO_PRECISE_DIAGNOSIS)
        if self.state_path is None:  # nothing persists: the hot path of a served card (issue 16)
            return response.to_bytes()
        # Persistent state changes only in applet code. A command the runtime answered alone (an absent AID,
        # a bad CLA, GET RESPONSE, a malformed APDU) needs no comparison of the whole state (issue 16: 3 µs
        # of a served round trip with --state).
        if not self._may_change and self._runtime_paths_own:
            return response.to_bytes()
        self._may_change = False
        try:
            self.save()
        except StateError as exc:
            log.error("%s", exc)
            response = reply(SW.MEMORY_FAILURE)
        return response.to_bytes()

    def _process(self, raw: bytes) -> ResponseApdu:
        if not self.powered:
            return reply(SW.NO_PRECISE_DIAGNOSIS)
        if len(raw) < 4:
            return reply(SW.WRONG_LENGTH)
        if self.testbed and raw == FACTORY_RESET:
            self._may_change = True
            self.factory_reset()
            return reply()
        cla = raw[0]
        number = cla_channel(cla)
        if number is None:
            return reply(SW.CLA_NOT_SUPPORTED)
        try:
            apdu = CommandApdu.parse(raw)
        except ApduError:
            return reply(SW.WRONG_LENGTH)  # Lc inconsistent with the bytes sent (§5.1)
        personality = self.personality
        if apdu.extended and not personality.extended_length:  # parse() sets it for extended fields only
            return reply(SW.WRONG_LENGTH)
        if len(apdu.data) > personality.max_command_data:
            return reply(SW.WRONG_LENGTH)
        channel = self.channels.get(number)
        if channel is None or number >= personality.logical_channels:
            return reply(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
        interindustry = not cla & 0x80
        if interindustry and apdu.ins == INS_GET_RESPONSE:
            return self._get_response(channel, apdu)
        channel.pending = b""
        if interindustry and apdu.ins == INS_MANAGE_CHANNEL:
            self._may_change = True
            return self._manage_channel(channel, apdu)
        if interindustry and apdu.ins == INS_SELECT and apdu.p1 == 0x04:
            response = self._select_by_name(channel, apdu)
        else:
            self._may_change = True
            response = self._dispatch(channel, apdu)
        return self._shape(channel, apdu, response) if response.data else response

    def _dispatch(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        """A command for the channel's current application (a UICC personality also has its file system)."""
        if channel.selected is None:
            return reply(SW.CLA_NOT_SUPPORTED if apdu.cla & 0x80 else SW.INS_NOT_SUPPORTED)
        return channel.selected.applet.process(self._context(channel), apdu)

    def _implicit_selection(self) -> RegistryEntry | None:
        """What is current on the basic channel after a reset and on a channel opened from it (GPCS §11.7.2.1:
        the default application; a UICC personality: its MF, i.e. no application)."""
        default = self.personality.default_aid
        return self.registry.get(default) if default else None

    def _context(self, channel: Channel) -> Context:
        return Context(self, channel.number, channel.session)

    def _shape(self, channel: Channel, apdu: CommandApdu, response: ResponseApdu) -> ResponseApdu:
        """Fit response data to Ne (§5.1): at most Ne bytes; with no Le, the data waits for GET RESPONSE."""
        data = response.data
        if not data:
            return response
        if apdu.ne is None:
            channel.pending = data + response.sw.to_bytes(2, "big")
            return reply(0x6100 | (min(len(data), 256) & 0xFF))
        limit = min(apdu.ne, self.personality.max_response_data)
        if len(data) > limit:
            return ResponseApdu(data[:limit], response.sw)
        return response

    def _get_response(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 or apdu.p2:
            return reply(SW.INCORRECT_P1P2)
        if not channel.pending:
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        body, final_sw = channel.pending[:-2], channel.pending[-2:]
        ne = apdu.ne or 256
        chunk, rest = body[:ne], body[ne:]
        if rest:
            channel.pending = rest + final_sw
            return ResponseApdu(chunk, 0x6100 | (min(len(rest), 256) & 0xFF))
        channel.pending = b""
        return ResponseApdu(chunk, int.from_bytes(final_sw, "big"))

    # -- SELECT (ISO 7816-4 §11.1.1, GPCS §11.9) ---------------------------------------------------------

    def _select_by_name(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p2 & 0xF3:  # b8-b5 RFU, b2-b1 other than 00
            return reply(SW.INCORRECT_P1P2)  # only "first or only occurrence" is supported
        aid = apdu.data
        if not aid and self.personality.default_aid:
            aid = self.personality.default_aid  # no data: the ISD / default application (GPCS §11.9.2.3)
        if not 5 <= len(aid) <= 16:
            return reply(SW.WRONG_DATA if aid else SW.WRONG_LENGTH)
        if aid not in self.registry:
            # a right-truncated AID selects the first application whose AID begins with it (ISO/IEC 7816-4
            # §11.2.2, P2 "first or only occurrence"; ETSI TS 102 221 §11.1.1.2; GPCS §11.9.2.1)
            for registered, candidate in self.registry.items():
                if registered.startswith(aid) and candidate.selectable:
                    aid = registered
                    break
        entry = self.registry.get(aid)
        if entry is None or not entry.selectable:
            return reply(SW.FILE_NOT_FOUND)  # the current selection stays (GPCS §11.9.2.1)
        if self.life_cycle in (0x7F, 0xFF) and aid != self.personality.default_aid:
            return reply(SW.FUNCTION_NOT_SUPPORTED)  # CARD_LOCKED/TERMINATED: ISD only (GPCS §5.1.1.4-5)
        if not entry.applet.multiselectable and self._selected_elsewhere(entry, channel):
            return reply(SW.CONDITIONS_NOT_SATISFIED)
        self._may_change = True  # from here the applets' select and deselect run
        self._make_selected(channel, entry)
        response = entry.applet.select(self._context(channel), apdu)
        if not response.ok:
            self._deselect(channel)
            return response
        if apdu.p2 & 0x0C == 0x0C:  # P2 b4-b3 = 11: no response data
            return ResponseApdu(b"", response.sw)
        return response

    def _selected_elsewhere(self, entry: RegistryEntry, channel: Channel) -> bool:
        return any(ch.selected is entry for ch in self.channels.values() if ch is not channel)

    def _make_selected(self, channel: Channel, entry: RegistryEntry) -> None:
        self._deselect(channel)
        channel.selected = entry

    def _deselect(self, channel: Channel) -> None:
        if channel.selected is not None:
            channel.selected.applet.deselect(self._context(channel))
        channel.selected = None
        channel.session = {}
        channel.pending = b""

    # -- MANAGE CHANNEL (ISO 7816-4 §11.1.2, GPCS §11.7) --------------------------------------------------

    def _manage_channel(self, channel: Channel, apdu: CommandApdu) -> ResponseApdu:
        if self.personality.logical_channels <= 1:
            return reply(SW.LOGICAL_CHANNEL_NOT_SUPPORTED)
        if apdu.p1 == 0x00:  # open
            if apdu.data:
                return reply(SW.WRONG_LENGTH)
            if apdu.p2 == 0x00:
                if apdu.ne != 1:
                    return reply(SW.WRONG_LENGTH)
                free = [n for n in range(1, self.personality.logical_channels) if n not in self.channels]
                if not free:
                    return reply(SW.FUNCTION_NOT_SUPPORTED)
                number = free[0]
            else:
                number = apdu.p2
                if apdu.ne is not None:
                    return reply(SW.WRONG_LENGTH)
                if number >= self.personality.logical_channels:
                    return reply(SW.INCORRECT_P1P2)
                if number in self.channels:
                    return reply(SW.CONDITIONS_NOT_SATISFIED)
            new = self.channels[number] = Channel(number)
            # GPCS §11.7.2.1: from the basic channel the default application is selected on the new channel;
            # from another channel, the application selected there (if it is multi-selectable).
            origin = channel.selected
            if channel.number == 0:
                origin = self._implicit_selection()
            if origin is not None and (
                origin.applet.multiselectable or not self._selected_elsewhere(origin, new)
            ):
                self._make_selected(new, origin)
            return reply(SW.OK, bytes((number,)) if apdu.p2 == 0 else b"")
        if apdu.p1 == 0x80:  # close
            if apdu.data or apdu.ne is not None:
                return reply(SW.WRONG_LENGTH)
            target = apdu.p2 or channel.number
            if target == 0:
                return reply(SW.INCORRECT_P1P2)  # the basic channel is never closed (§11.1.2)
            if target not in self.channels:
                return reply(SW.INCORRECT_P1P2)
            self._deselect(self.channels.pop(target))
            return reply()
        return reply(SW.INCORRECT_P1P2)

    # -- persistence ------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "personality": self.personality.name,
            "card_life_cycle": self.life_cycle,
            "registry": [
                {
                    "aid": aid.hex(),
                    "type": e.applet.type_name,
                    "life_cycle": e.life_cycle,
                    "params": e.applet.params,
                    "data": e.applet.data,
                }
                for aid, e in self.registry.items()
            ],
        }

    def save(self) -> None:
        """Write the state file if anything persistent changed since the last write."""
        if self.state_path is None:
            return
        doc = self.snapshot()
        # Most APDUs change nothing persistent: a deep comparison with a copy of the last state written
        # (in C, over shared strings) says so far faster than serialising the whole state after every APDU
        # (96 of 240 µs a round trip, issue 16). Only when it differs is the JSON text compared and written
        # (== holds 1 and True equal; no persistent value of the emulator turns from one into the other).
        if doc == self._saved_doc:
            return
        text = json.dumps(doc, sort_keys=True)
        if text != self._saved:
            save_state(self.state_path, doc)
            self._saved = text
        self._saved_doc = copy.deepcopy(doc)

    def _restore(self, doc: dict[str, Any]) -> None:
        where = str(self.state_path)
        if doc.get("personality") != self.personality.name:
            raise StateError(
                f"{where}: state belongs to personality {doc.get('personality')!r}, "
                f"not {self.personality.name!r}; use another --state file"
            )
        try:
            self.life_cycle = int(doc["card_life_cycle"])
            for item in doc["registry"]:
                cls = self.personality.applet_types[item["type"]]
                aid = bytes.fromhex(item["aid"])
                applet = cls(aid, item["data"], **item.get("params", {}))
                self.registry[aid] = RegistryEntry(applet, int(item["life_cycle"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(
                f"{where}: emulator state is malformed ({exc!r}); remove it to start afresh"
            ) from None
        self._saved = json.dumps(self.snapshot(), sort_keys=True)
        self._saved_doc = copy.deepcopy(self.snapshot())
