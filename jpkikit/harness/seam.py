"""The one seam between the kit and the implementation under test: from a profile to a link, and back.

Everything that reaches an implementation goes through here, for every area: the card link of the APDU
areas (the in-process emulator, a PC/SC reader, or the emulator served behind vpcd first), its renewal
where the profile allows (a new card, for tests that cannot be undone over the card interface), the
handset agent's endpoint, the TSM's endpoint, and the SE the kit plays when a TSM is under test.

This is the only module of the oracle that may import a reference implementation (an import contract in
``.importlinter`` says so): it launches one by the name the profile gives (``ixit.transport.kind:
emulator``, ``ixit.handset.reference``, ``ixit.tsm.reference``) or a vendor's ``module:callable`` factory.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jpkikit.errors import DeviceUnreachable, KitError, TransportError
from jpkikit.harness.factory import resolve
from jpkikit.harness.profile_sections import ReferenceHandsetIxit, TsmIxit
from jpkikit.host.card_session import CardSession
from jpkikit.host.link import Borrowed, InProcessTransport, Layer, SimulatedCard, Transport
from jpkikit.host.vpcd import reader_name


def emulator_card(
    personality: str | None, state: Path | None = None, factory: str | None = None
) -> SimulatedCard:
    """The kit's emulator card of ``personality``, or a vendor simulator from ``factory``
    (``module:callable``, called as ``factory(personality, state)``; the kit's faulty variants are such
    factories)."""
    if factory:
        card: SimulatedCard = resolve(factory)(personality, state)
        return card
    from jpkikit.reference.emulator.build import make_card

    return make_card(personality, state)


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


def check_factories(profile: Any) -> None:
    """Import every ``module:callable`` the profile names: a typo is one clear error before the run."""
    t = profile.ixit.transport
    refs = [t.factory if t.kind == "emulator" else getattr(t.serve, "factory", None)]
    handset, tsm = profile.ixit.handset, profile.ixit.tsm
    refs.append(handset.reference.factory if handset and handset.reference else None)
    refs.append(tsm.reference.factory if tsm and tsm.reference else None)
    for ref in refs:
        if ref:
            resolve(ref)


def open_link(profile: Any) -> Link:
    """Open the transport described by ``profile.ixit.transport``."""
    t = profile.ixit.transport
    if t.kind == "emulator":
        card = emulator_card(t.personality, _path(profile, t.state), t.factory)
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


def _path(profile: Any, value: Path | str | None) -> Path | None:
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(profile.path).parent / path


Renew = Callable[[], CardSession]


def can_renew(profile: Any) -> bool:
    """True when the kit launched the implementation and can give a test a new card: its emulator in-process,
    or served behind vpcd with the test-bed command (``ixit.transport.serve``)."""
    transport = profile.ixit.transport
    return transport.kind == "emulator" or getattr(transport, "serve", None) is not None


@contextmanager
def renewal(profile: Any, card: CardSession) -> Iterator[Renew | None]:
    """A maker of sessions on a brand-new card (initial PINs, keys, counters), or None where the kit cannot
    renew the implementation (a real device). The kit's emulator is renewed in-process, or, when the kit
    launched it behind vpcd, through PC/SC with its test-bed factory reset; a served card is left new
    afterwards, since the whole run shares it."""
    transport = profile.ixit.transport
    if transport.kind == "emulator":

        def in_process() -> CardSession:
            new = emulator_card(transport.personality, None, transport.factory)  # no state file: initial data
            session = CardSession(InProcessTransport(new, "fresh in-process card"))
            session.reset()
            return session

        yield in_process
        return
    if getattr(transport, "serve", None) is None:
        yield None
        return
    used = False

    # The kit's emulator's test-bed command, honoured only when the kit launched it (emulate --testbed).
    from jpkikit.reference.emulator.runtime import FACTORY_RESET

    def factory_reset() -> None:
        r = card.transmit(FACTORY_RESET)
        if not r.ok:
            raise TransportError(f"the served emulator refused its factory reset: {r}")

    def served() -> CardSession:
        nonlocal used
        used = True
        factory_reset()
        session = CardSession(Borrowed(card.transport))
        session.reset()
        return session

    yield served
    if used:
        factory_reset()


@contextmanager
def fresh_link(profile: Any, card: CardSession) -> Iterator[CardSession]:
    """``card`` itself, except on the in-process emulator, where its link is swapped for a new card for the
    duration (the areas that change the SE leave the run's shared card as the others expect it). The trace
    the plugin saves shows the exchanges with that card."""
    transport = profile.ixit.transport
    if transport.kind != "emulator":
        yield card
        return
    original = card.tracer.inner
    card.tracer.inner = InProcessTransport(
        emulator_card(transport.personality, None, transport.factory), "fresh card"
    )
    try:
        card.reset()
        yield card
    finally:
        card.tracer.inner = original


# -- the handset class ----------------------------------------------------------------------------------


@contextmanager
def handset_endpoint(profile: Any) -> Iterator[tuple[str, int, float]]:
    """(host, port, timeout) of the handset agent: ixit.handset.agent, or the kit's reference handset served
    on 127.0.0.1 over the in-process emulator (ixit.handset.reference, optionally a factory)."""
    ixit = profile.ixit.handset
    if ixit is None:
        raise KitError("a handset profile needs ixit.handset (reader, apps, and agent or reference)")
    if ixit.agent is not None:
        yield ixit.agent.host, ixit.agent.port, ixit.agent.timeout
        return
    from jpkikit.reference.handset.agent import AgentServer
    from jpkikit.reference.handset.handset import ReferenceHandset

    ref = ixit.reference or ReferenceHandsetIxit()
    personality = ref.personality or profile.ics.personality
    handset = (
        resolve(ref.factory)(personality) if ref.factory else ReferenceHandset.over_emulator(personality)
    )
    server = (getattr(handset, "agent_class", None) or AgentServer)(handset).start()
    try:
        host, port = server.address
        yield host, port, 30.0
    finally:
        server.stop()
        handset.close()


# -- the TSM class ----------------------------------------------------------------------------------------


def _se_target(profile: Any, keys: Any, level: int) -> Any:
    from jpkikit.reference.tsm.flows import SeTarget

    return SeTarget(profile.ixit.aids.jpki, profile.ixit.gp.apsd, keys, level)


def reference_tsm(profile: Any, db: Path, keys: Any, level: int, factory: str | None = None) -> Any:
    """The kit's reference TSM with its simulated J-LIS back end, started on 127.0.0.1 for the SE the profile
    describes (APSD key set ``keys``, provisioning level ``level``); ``stop()`` it when done."""
    from jpkikit.reference.tsm.server import TsmService
    from jpkikit.reference.tsm.wiring import start_reference_tsm

    service = resolve(factory) if factory else TsmService
    return start_reference_tsm(db, _se_target(profile, keys, level), service)


@contextmanager
def tsm_endpoint(profile: Any, workdir: Path, keys: Any, level: int) -> Iterator[str]:
    """The base URL of the TSM under test: ixit.tsm.url, or the reference TSM started for this run."""
    ixit = profile.ixit.tsm or TsmIxit()
    if ixit.url is not None:
        yield ixit.url
        return
    if ixit.reference is None:
        raise KitError("a tsm profile needs ixit.tsm.reference or ixit.tsm.url")
    server = reference_tsm(profile, workdir / "jlis.sqlite", keys, level, ixit.reference.factory)
    try:
        yield server.url
    finally:
        server.stop()


def kit_se(profile: Any, lie_about_r: bool = False) -> tuple[SimulatedCard, Any]:
    """The SE the kit plays when a TSM is under test, and the record of what the TSM sent it (its
    ``observations``): the reference smartphone applet on a new emulator card of ics.personality."""
    from jpkikit.reference.emulator.observed_se import kit_se as observed

    card, applet = observed(profile.ics.personality, profile.ixit.aids.jpki, lie_about_r)
    return card, applet
