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


def open_link(profile: Any, timeout: float | None = None) -> Link:
    """Open the transport described by ``profile.ixit.transport``; ``timeout`` bounds each call of the
    link instead of ``ixit.transport.timeout`` (a probe of a unit that stopped answering). An in-process
    link without either has no bound (jpkikit.host.link.InProcessTransport)."""
    t = profile.ixit.transport
    if t.kind == "emulator":
        card = emulator_card(t.personality, _path(profile, t.state), t.factory)
        name = t.factory or t.personality
        bound = timeout or t.timeout
        return Link(InProcessTransport(card, f"in-process emulator ({name})", timeout=bound))
    from jpkikit.host.pcsc import PcscTransport
    from jpkikit.host.pcscd import ensure_daemon

    ensure_daemon(start=t.pcscd == "start-if-absent")
    served = ServedEmulator(t.serve, t.timeout) if t.serve else None
    try:
        bound = timeout or t.timeout
        return Link(PcscTransport(t.reader, timeout=bound, protocol=t.protocol), served)
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
            session = CardSession(InProcessTransport(new, "fresh in-process card", timeout=transport.timeout))
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
        # traced there, but without that session's 61xx collector
        session = CardSession(Borrowed(card.tracer))
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
    card.tracer.inner = fresh = InProcessTransport(
        emulator_card(transport.personality, None, transport.factory), "fresh card", timeout=transport.timeout
    )
    try:
        card.reset()
        yield card
    finally:
        card.tracer.inner = original
        try:  # bounded like its calls; gives back the timer's signal handler
            fresh.close()
        except Exception:  # best effort: a vendor's simulator that raises on power off; the card is discarded
            pass


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
    claims = profile.ics.handset
    options = {"android_api": claims.android_api if claims else None, "access_rules": ref.access_rules}
    make = resolve(ref.factory) if ref.factory else ReferenceHandset.over_emulator
    handset = make(personality, **options)
    server = (getattr(handset, "agent_class", None) or AgentServer)(handset).start()
    try:
        host, port = server.address
        yield host, port, 30.0
    finally:
        server.stop()
        handset.close()


# -- provisioning: the applet's adapter ----------------------------------------------------------------------


def _named(ref: str, group: str) -> Any:
    """``module:Class``, or the name of an entry point of ``group`` (a vendor's installed adapter)."""
    if ":" in ref:
        return resolve(ref)
    from importlib.metadata import entry_points

    found = [e for e in entry_points(group=group) if e.name == ref]
    if not found:
        raise KitError(f"no entry point {ref!r} in group {group!r}, and not a module:Class reference")
    return found[0].load()


def provisioning_adapter(profile: Any, link: Transport, keys: Any, sd_aid: bytes | None, level: int) -> Any:
    """The profile's provisioning adapter (``ixit.provisioning.adapter``; default the kit's command set) on
    ``link``, opening SCP03 with ``keys`` through the JPKI applet at ``level``."""
    from jpkikit.host.provisioning_adapter import KitCommandSet, ProvisioningTarget

    ixit = profile.ixit.provisioning
    cls = _named(ixit.adapter, "jpkikit.provisioning_adapters") if ixit and ixit.adapter else KitCommandSet
    from jpkikit.vocab.commands import SECRET_FIELDS

    for key, what in getattr(cls, "secret_commands", {}).items():  # redacted in traces like the kit's own
        SECRET_FIELDS.setdefault(key, what)
    target = ProvisioningTarget(profile.ixit.aids.jpki, sd_aid, keys, level)
    return cls(link, target, (ixit.options if ixit else None) or {})


# -- the TSM class ----------------------------------------------------------------------------------------


class TsmEndpoint:
    """The TSM under test as the harness reaches it: its base URL, the TLS context the kit's agent and app
    use, and the adapter for its app-facing API."""

    def __init__(self, url: str, tls: Any, adapter: Any, reference: Any = None) -> None:
        self.url, self.tls, self.adapter, self.reference = url, tls, adapter, reference


PSK_MISSING = (
    "ics.tsm.tls is psk, but this Python's ssl module has no TLS-PSK (SSLContext.set_psk_client_callback "
    "exists from Python 3.13); run the kit on Python 3.13 or later for a PSK-TLS TSM"
)


def client_tls(profile: Any, ca_pem: bytes | None) -> Any:
    """The TLS context of the kit's agent and app: TLS 1.2 or later, the server certificate checked
    against ``ca_pem`` (or ``ixit.tsm.tls.ca``) and the host name; PSK where the ICS says so."""
    import ssl

    from jpkikit.errors import Inconclusive

    claims, ixit = profile.ics.tsm, profile.ixit.tsm or TsmIxit()
    if claims is not None and claims.tls == "psk":
        if not hasattr(ssl.SSLContext, "set_psk_client_callback"):
            raise Inconclusive(PSK_MISSING)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # PSK-TLS authenticates with the key (RFC 4279)
        identity = ixit.tls.psk_identity if ixit.tls else None
        key = bytes.fromhex(profile.secret(ixit.tls.psk).reveal()) if ixit.tls and ixit.tls.psk else b""
        context.set_psk_client_callback(lambda hint: (identity, key))  # type: ignore[attr-defined]
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("PSK")
        return context
    if ca_pem is None and ixit.tls and ixit.tls.ca:
        ca_pem = profile.resource(ixit.tls.ca)
    if ca_pem is None:
        context = ssl.create_default_context()  # the system's trust store (about 20 ms to load)
    else:
        context = ssl.create_default_context(
            cadata=ca_pem.decode("ascii") if ca_pem.startswith(b"-----") else ca_pem
        )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _tsm_adapter(profile: Any, url: str, tls: Any) -> Any:
    from jpkikit.host.tsm_adapter import KitOrderApi

    ixit = profile.ixit.tsm or TsmIxit()
    cls = _named(ixit.adapter, "jpkikit.tsm_adapters") if ixit.adapter else KitOrderApi
    return cls(url, tls if url.startswith("https") else None, ixit.options or {})


def reference_tsm(profile: Any, workdir: Path, keys: Any, level: int, factory: str | None = None) -> Any:
    """The kit's reference TSM with its simulated J-LIS back end, started on 127.0.0.1 for the SE the profile
    describes (APSD key set ``keys``, provisioning level ``level``; the ISD key set for its SEI-TSM role),
    trusting the persona's card CA and ``ixit.tsm.card_ca``; over TLS with a fresh test CA unless
    ``ixit.tsm.reference.tls`` is false. Returns (server, CA PEM or None); ``stop()`` the server."""
    from cryptography import x509

    from jpkikit.host.test_pki import tls_pki
    from jpkikit.reference.backend.certificates import persona_ca
    from jpkikit.reference.tsm.flows import SeiTarget, SeTarget, TsmOptions
    from jpkikit.reference.tsm.server import TsmService
    from jpkikit.reference.tsm.wiring import server_tls, start_reference_tsm

    ixit = profile.ixit.tsm or TsmIxit()
    aids, gp = profile.ixit.aids, profile.ixit.gp
    target = SeTarget(aids.jpki, gp.apsd, keys, level)
    isd_set = profile.keyset("isd")
    sei = SeiTarget(gp.isd, profile.keys(isd_set), level, gp.apsd, keys, aids.jpki) if isd_set else None
    claims = profile.ics.tsm
    options = TsmOptions(claims.key_generation if claims else "on-card")
    cas = [persona_ca("sign").cert]
    if ixit.card_ca is not None:
        raw = profile.resource(ixit.card_ca.certificate)
        load = x509.load_pem_x509_certificate if raw.startswith(b"-----") else x509.load_der_x509_certificate
        cas.append(load(raw))
    tls, ca_pem = None, None
    if ixit.reference is None or ixit.reference.tls:
        files = tls_pki(workdir / "tls")
        tls, ca_pem = server_tls(files.cert, files.key), files.ca.read_bytes()
    service = resolve(factory) if factory else TsmService
    server = start_reference_tsm(
        workdir / "tsm.sqlite", target, service, sei=sei, options=options, tls=tls, card_cas=tuple(cas)
    )
    return server, ca_pem


@contextmanager
def tsm_under_test(profile: Any, workdir: Path, keys: Any, level: int) -> Iterator[TsmEndpoint]:
    """The TSM under test: ixit.tsm.url, or the reference TSM started for this test."""
    ixit = profile.ixit.tsm or TsmIxit()
    if ixit.url is not None:
        tls = client_tls(profile, None)
        yield TsmEndpoint(ixit.url, tls, _tsm_adapter(profile, ixit.url, tls))
        return
    if ixit.reference is None:
        raise KitError("a tsm profile needs ixit.tsm.reference or ixit.tsm.url")
    server, ca_pem = reference_tsm(profile, workdir, keys, level, ixit.reference.factory)
    try:
        tls = client_tls(profile, ca_pem) if server.url.startswith("https") else None
        yield TsmEndpoint(server.url, tls, _tsm_adapter(profile, server.url, tls), server)
    finally:
        server.stop()


def kit_se(profile: Any, **options: Any) -> tuple[SimulatedCard, Any]:
    """The SE the kit plays when a TSM is under test, and the record of what the TSM sent it (its
    ``Observations``): a new emulator card of ics.personality (jpkikit.reference.emulator.observed_se;
    ``options`` are its KitSeOptions)."""
    from jpkikit.reference.emulator.observed_se import KitSeOptions
    from jpkikit.reference.emulator.observed_se import kit_se as observed

    return observed(profile.ics.personality, profile.ixit.aids.jpki, KitSeOptions(**options))


def in_process_timeout(profile: Any) -> float | None:
    """The bound of an in-process card link the kit opens for ``profile`` besides the unit's own (the SE it
    plays for a TSM): ``ixit.transport.timeout`` for ``kind: emulator``, else None (no bound), the rule of
    :func:`open_link`. It bounds calls made from the main thread only (jpkikit.host.link)."""
    transport = profile.ixit.transport
    return transport.timeout if transport.kind == "emulator" else None


# -- the SIM design's UICC and the reader/writer class ------------------------------------------------------


@contextmanager
def testbed(profile: Any, card: CardSession) -> Iterator[Renew | None]:
    """Like :func:`renewal`, on a new card that also honours the kit's test-bed commands
    (jpkikit.vocab.testbed: a UICC's contactless interface, the phone switched off, a card taken off the kit's
    virtual reader). None where the kit did not launch the implementation (a real device: those steps are a
    person's, docs/spec/uicc.md#the-test-bed and docs/spec/reader.md#the-reference-reader)."""
    transport = profile.ixit.transport
    if transport.kind != "emulator":
        with renewal(profile, card) as renew:  # served with --testbed: the same card, reset to new
            yield renew
        return

    def in_process() -> CardSession:
        new = emulator_card(transport.personality, None, transport.factory)
        new.testbed = True  # type: ignore[attr-defined]
        link = InProcessTransport(new, "fresh in-process test bed", timeout=transport.timeout)
        session = CardSession(link)
        session.reset()
        return session

    yield in_process
