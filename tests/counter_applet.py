"""A test applet whose persistent data changes with every command, for the persistence tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from jpkikit.reference.emulator.applet import Applet, Context, reply
from jpkikit.reference.emulator.personality import AppletSpec, Personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.vocab.iso7816.apdu import CommandApdu, ResponseApdu

COUNTER_AID = bytes.fromhex("F000000001C0")


class CounterApplet(Applet):
    type_name = "test-counter"

    def initial_data(self) -> dict[str, Any]:
        return {"count": 0, "blob": ""}

    def process(self, ctx: Context, apdu: CommandApdu) -> ResponseApdu:
        if apdu.ins == 0x01:  # increment, and grow a blob so writes are not trivially small
            self.data["count"] += 1
            self.data["blob"] = f"{self.data['count']:08d}" * 200
        return reply(data=self.data["count"].to_bytes(4, "big"))


PERSONALITY = Personality(
    name="test-counter",
    description="unit-test card",
    atr=bytes.fromhex("3B00"),
    logical_channels=2,
    extended_length=False,
    max_command_data=255,
    max_response_data=256,
    applets=(AppletSpec("test-counter", COUNTER_AID),),
    default_aid=COUNTER_AID,
    applet_types={CounterApplet.type_name: CounterApplet},
)


def main(state: str) -> None:
    """Increment the counter forever (the persistence test kills this process at random)."""
    card = Card(PERSONALITY, Path(state))
    card.power_on()
    print("ready", flush=True)
    while True:
        card.process(bytes.fromhex("00010000"))


if __name__ == "__main__":
    main(sys.argv[1])
