"""A vendor simulator that hangs: the kit's emulator card whose ``process`` spins in a busy loop from the
(after+1)-th command on, and whose power and reset calls spin too once it has (a device that stopped).

As a profile factory (``factory: tests.hanging_card:hangs``) the count is over every card of the process,
with ``after`` from JPKIKIT_HANG_AFTER (default 600): the unit is one device, so a reconnect, which builds
a new card, reaches the same hung unit. The loop sits inside ``except Exception``, as the emulator's own
crash guard does (runtime.Card.process answers 6F00 to any exception of an applet): only a BaseException
gets out of it.

JPKIKIT_HANG_AT says where the hang starts: ``command`` (the default: the (after+1)-th command), or
``setup``: the first reset or power call made while a test is being set up, once ``after`` commands were
answered (the warm reset the ``card`` fixture gives each test: the unit hangs *between* two tests). For
``setup`` the module is also loaded as a pytest plugin (``jpkikit certify ... -- -p tests.hanging_card``),
which tells the device when a test's set-up begins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card

AFTER_ENV = "JPKIKIT_HANG_AFTER"
AT_ENV = "JPKIKIT_HANG_AT"
PLACES = ("command", "setup")


class Device:
    """What every card of one hanging unit shares: commands answered so far, and whether it hung."""

    def __init__(self, after: int, at: str = "command") -> None:
        if at not in PLACES:
            raise ValueError(f"{AT_ENV} is one of {', '.join(PLACES)}, got {at!r}")
        self.after, self.at, self.answered, self.spins = after, at, 0, 0
        self.setting_up = False  # a test's set-up began and no command was sent since (the plugin says)

    @property
    def hung(self) -> bool:
        """The next command spins."""
        return self.stopped or (self.at == "command" and self.answered >= self.after)

    @property
    def stopped(self) -> bool:
        """A call has spun: power and reset spin too."""
        return self.spins > 0

    @property
    def hangs_on_reset(self) -> bool:
        """The next power or reset call spins."""
        return self.stopped or (self.at == "setup" and self.setting_up and self.answered >= self.after)

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
        self.device.setting_up = False
        if self.device.hung:
            self.device.spin()
        self.device.answered += 1
        return super().process(command)

    def power_on(self) -> bytes:
        if self.device.hangs_on_reset:
            self.device.spin()
        return super().power_on()

    def power_off(self) -> None:
        if self.device.hangs_on_reset:
            self.device.spin()
        super().power_off()

    def reset(self) -> bytes:
        if self.device.hangs_on_reset:
            self.device.spin()
        return super().reset()


_unit: Device | None = None


def unit() -> Device:
    """The process's one hanging unit (JPKIKIT_HANG_AFTER, JPKIKIT_HANG_AT)."""
    global _unit
    if _unit is None:
        _unit = Device(int(os.environ.get(AFTER_ENV, "600")), os.environ.get(AT_ENV, "command"))
    return _unit


def hangs(personality: str | None, state: Path | None) -> HangingCard:
    """The profile factory: a card of the process's one hanging unit."""
    return HangingCard(unit(), personality, state)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: Any) -> None:
    """As a plugin: a test's set-up begins (before its fixtures: the ``card`` fixture's reset comes next)."""
    unit().setting_up = True
