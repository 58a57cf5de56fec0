"""A TSM under test as a GP Amendment B server (docs/tsm-protocol.md): the session, its resumption after an
interruption, and TLS."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit.harness.profile import Profile
from jpkikit.vocab.jpki.provisioning import INS_SET_TEMP_PIN

from .support import KINDS, harness


@pytest.mark.requirement("TSM-RAM-01")
def test_sessions_follow_amendment_b(profile: Profile, tmp_path: Path) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        h.issue(phone, card)
        (report,) = phone.reports
        assert report.scripts, "the issuance session carried no script"
        jpki = f"//aid/{profile.ixit.aids.jpki.hex().upper()}"
        assert set(report.targets) == {jpki}, (
            f"X-Admin-Targeted-Application of the scripts: {sorted(set(report.targets))}, not {jpki}"
        )


@pytest.mark.requirement("TSM-RAM-02")
@pytest.mark.parametrize("case", ["lose-request", "lose-reply"])
def test_an_interrupted_session_resumes(profile: Profile, tmp_path: Path, case: str) -> None:
    with harness(profile, tmp_path) as h:
        phone, card = h.phone(), h.new_card()
        run = h.run(phone, "issue", card, interrupt=lambda n: case if n == 2 else None)
        assert phone.reports and phone.reports[-1].resumed, (
            "the kit's agent did not have to resume (test defect)"
        )
        assert run.done, (
            f"issuance after the interrupted session was resumed: the TSM's order ended {run.why()}"
        )
        own = [der for p2, der in phone.obs.certificates if p2 in (1, 2)]
        made = {k.public_numbers() for k in phone.obs.generated} | {
            d.key.public_key().public_numbers() for d in phone.obs.deliveries if d.key is not None
        }
        for der in own:
            key = x509.load_der_x509_certificate(der).public_key()
            assert isinstance(key, rsa.RSAPublicKey) and key.public_numbers() in made, (
                "after the resumed session a certificate is not for a key of the SE"
            )
        sets = sum(1 for ins, _ in phone.obs.provisioning if ins == INS_SET_TEMP_PIN)
        assert sets == len(KINDS), f"{sets} temporary PINs were set for {len(KINDS)} PINs: a step ran twice"
        temps = run.result.get("temp_pins") or {}
        for n, kind in enumerate(KINDS):
            assert temps.get(kind) == phone.obs.temp_pins[n].hex(), (
                f"after the resumed session the app's {kind} temporary PIN is not the one on the SE"
            )


def _context(h: object, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    base = getattr(h, "tls", None)
    assert isinstance(base, ssl.SSLContext), "the kit has no TLS context for the TSM (test defect)"
    if version is None:
        return base
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    try:
        context.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    return context


def _handshake(url: str, context: ssl.SSLContext) -> tuple[str | None, str | None]:
    """(negotiated TLS version, error) of one handshake with the TSM's host and port."""
    split = urlsplit(url)
    host, port = split.hostname or "127.0.0.1", split.port or 443
    with socket.create_connection((host, port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.version(), None
        except (ssl.SSLError, OSError) as exc:
            return None, str(exc)


@pytest.mark.requirement("TSM-TLS-01")
def test_amendment_b_runs_over_tls(profile: Profile, tmp_path: Path) -> None:
    claims = profile.ics.tsm
    if claims is not None and claims.tls == "psk":
        from jpkikit.harness.seam import PSK_MISSING

        if not hasattr(ssl.SSLContext, "set_psk_client_callback"):
            from jpkikit.errors import Inconclusive

            raise Inconclusive(PSK_MISSING)
    with harness(profile, tmp_path) as h:
        assert h.url.startswith("https://"), f"the TSM is reached at {h.url}: Amendment B requires TLS"
        version, error = _handshake(h.url, _context(h))
        assert error is None, f"TLS with the TSM, its certificate checked against the trusted CA: {error}"
        assert version in ("TLSv1.2", "TLSv1.3"), f"the TSM negotiated {version}"
        for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            try:
                context = _context(h, old)
            except (ValueError, ssl.SSLError):
                continue  # this OpenSSL cannot even offer it
            version, _ = _handshake(h.url, context)
            assert version is None, f"the TSM accepted {version}: Amendment B's TLS is 1.2 or later here"
        phone = h.phone()
        h.issue(phone, h.new_card())  # the whole flow over TLS
