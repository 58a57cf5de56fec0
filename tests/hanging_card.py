"""A vendor simulator that hangs: the kit's emulator card whose ``process`` spins in a busy loop from the
(after+1)-th command on, and whose power and reset calls spin too once it has (a device that stopped).

As a profile factory (``factory: tests.hanging_card:hangs``) the count is over every card of the process,
with ``after`` from JPKIKIT_HANG_AFTER (default 600): the unit is one device, so a reconnect, which builds
a new card, reaches the same hung unit. The loop sits inside ``except Exception``, as the emulator's own
crash guard does (runtime.Card.process answers 6F00 to any exception of an applet): only a BaseException
gets out of it.
"""

from __future__ import annotations

import os
from pathlib import Path

from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card

AFTER_ENV = "JPKIKIT_HANG_AFTER"


class Device:
    """What every card of one hanging unit shares: commands answered so far, and whether it hung."""

    def __init__(self, after: int) -> None:
        self.after, self.answered, self.spins = after, 0, 0

    @property
    def hung(self) -> bool:
        """The next command spins."""
        return self.answered >= self.after

    @property
    def stopped(self) -> bool:
        """A command has spun: power and reset spin too."""
        return self.spins > 0

    def spin(self) -> None:
        """Loop until interrupted (by a signal's handler raising a BaseException)."""
        self.spins += 1
        try:
            while True:
                pass
        except Exception:  # as a simulator's crash guard would: swallows any Exception, never a BaseException
            pass


class HangingCard(Card):
    def __init__(self, device: Device, personality: str | None = None, state: Path | None = None) -> None:
        self.device = device
        super().__init__(get_personality(personality or "gp-se"), state)

    def process(self, command: bytes) -> bytes:
        if self.device.hung:
            self.device.spin()
        self.device.answered += 1
        return super().process(command)

    def power_on(self) -> bytes:
        if self.device.stopped:
            self.device.spin()
        return super().power_on()

    def power_off(self) -> None:
        if self.device.stopped:
            self.device.spin()
        super().power_off()

    def reset(self) -> bytes:
        if self.device.stopped:
            self.device.spin()
        return super().reset()


_unit: Device | None = None


def hangs(personality: str | None, state: Path | None) -> HangingCard:
    """The profile factory: a card of the process's one hanging unit (JPKIKIT_HANG_AFTER)."""
    global _unit
    if _unit is None:
        _unit = Device(int(os.environ.get(AFTER_ENV, "600")))
    return HangingCard(_unit, personality, state)
