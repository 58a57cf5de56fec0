"""Open the link a profile's IXIT describes: the in-process emulator, or a PC/SC reader (optionally with
the bundled emulator served behind the vsmartcard-vpcd driver first, so the card is reached through real
pcscd exactly as a real SE in a reader would be)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jpkikit.errors import DeviceUnreachable
from jpkikit.host.inprocess import InProcessTransport
from jpkikit.host.link import Layer, Transport
from jpkikit.host.vpcd import reader_name
from jpkikit.reference.emulator.build import make_card


class ServedEmulator:
    """``jpkikit emulate`` run as a child process, serving a card to the vpcd driver."""

    def __init__(self, serve: Any, timeout: float) -> None:
        cmd = [sys.executable, "-m", "jpkikit", "emulate", "--testbed", "--host", serve.host]
        cmd += ["--port", str(serve.port)]
        for flag, value in (
            ("--personality", serve.personality),
            ("--state", serve.state),
            ("--factory", serve.factory),
        ):
            if value:
                cmd += [flag, str(value)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._wait_for_card(reader_name(serve.port), timeout)

    def _wait_for_card(self, reader: str, timeout: float) -> None:
        """Until the card is in the vpcd slot this emulator serves (whatever reader the profile names)."""
        from jpkikit.host.pcsc import list_readers

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = (self.proc.stderr.read() if self.proc.stderr else "").strip()
                raise DeviceUnreachable(f"the served emulator exited: {err or 'no message'}")
            if any(info.name == reader and info.atr for info in list_readers()):
                return
            time.sleep(0.1)
        self.stop()
        raise DeviceUnreachable(
            f"no card appeared in reader {reader!r} within {timeout:.0f}s of starting the emulator "
            "(is the vsmartcard-vpcd driver installed and pcscd running?)"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Link(Layer):
    """The transport to the implementation under test, plus whatever was started to reach it."""

    def __init__(self, inner: Transport, served: ServedEmulator | None = None) -> None:
        super().__init__(inner)
        self.served = served

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            if self.served:
                self.served.stop()
                self.served = None


def open_link(profile: Any) -> Link:
    """Open the transport described by ``profile.ixit.transport``."""
    t = profile.ixit.transport
    if t.kind == "emulator":
        card = make_card(t.personality, _path(profile, t.state), t.factory)
        name = t.factory or t.personality
        return Link(InProcessTransport(card, f"in-process emulator ({name})"))
    from jpkikit.host.pcsc import PcscTransport
    from jpkikit.host.pcscd import ensure_daemon

    ensure_daemon(start=t.pcscd == "start-if-absent")
    served = ServedEmulator(t.serve, t.timeout) if t.serve else None
    try:
        return Link(PcscTransport(t.reader, timeout=t.timeout, protocol=t.protocol), served)
    except BaseException:
        if served:
            served.stop()
        raise


def _path(profile: Any, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(profile.path).parent / path
