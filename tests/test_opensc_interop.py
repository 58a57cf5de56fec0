"""OpenSC (the jpki driver, PKCS#15 emulation and PKCS#11 module) against the emulator served through real
pcscd and the vsmartcard-vpcd driver (docs/spec/jpki-applet.md, "PIN states and blocking" and "What OpenSC
expects"): what existing middleware must see.

Both personalities work with OpenSC 0.23 (Debian 12): the driver finds the card by selecting the JPKI AID
(OpenSC card-jpki.c, ``jpki_match_card``), not by ATR or label, and its bind only queries both PINs, so the
GP-SE token's protected EF 000A does not disturb it; reading that certificate needs ``--verify-pin`` there
(tested below).

Each test serves a fresh card (a new emulator instance), so a PIN blocked here never leaks. The test PINs
are the public test persona's (jpkikit/reference/persona); they are passed to OpenSC on the command line,
and never appear in an assertion message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jpkikit.reference.emulator.jpki import DEFAULT_PIN_RULES
from jpkikit.reference.emulator.personalities import get_personality
from jpkikit.reference.emulator.runtime import Card
from jpkikit.reference.persona import load_persona

from .pcsc_support import MISSING as PCSC_MISSING
from .pcsc_support import READER, require_free_slot
from .pcsc_support import served as served_card

MODULE_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
)
MODULE = next((m for m in MODULE_CANDIDATES if Path(m).is_file()), None)
TOKENS = {"auth": "JPKI (User Authentication PIN)", "sign": "JPKI (Digital Signature PIN)"}
IDS = {"auth": "01", "sign": "02"}  # PKCS#15 object IDs of the jpki driver (OpenSC pkcs15-jpki.c)
PERSONA = load_persona()

_MISSING = [
    what
    for what, ok in (
        *((what, False) for what in PCSC_MISSING),
        ("OpenSC (apt-get install opensc)", shutil.which("pkcs15-tool") and shutil.which("pkcs11-tool")),
        ("opensc-pkcs11.so (apt-get install opensc-pkcs11)", MODULE is not None),
        ("openssl", shutil.which("openssl")),
    )
    if not ok
]

pytestmark = [
    pytest.mark.pcsc,
    pytest.mark.skipif(bool(_MISSING), reason=f"not installed: {', '.join(_MISSING)}"),
]


@pytest.fixture(scope="module")
def daemon() -> None:
    require_free_slot()


@pytest.fixture(params=["mynumber-card", "gp-se"])
def served(request: pytest.FixtureRequest, daemon: None, tmp_path: Path) -> Iterator[str]:
    """A fresh emulator card of the personality in the vpcd reader; yields the personality name."""
    with served_card(Card(get_personality(request.param)), poll_interval=0.05):
        yield request.param


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """An OpenSC/OpenSSL command with its own HOME (no OpenSC file cache shared between cards)."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)


def pkcs15(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(tmp_path, "pkcs15-tool", "--reader", READER, *args)


def pkcs11(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert MODULE is not None
    return run(tmp_path, "pkcs11-tool", "--module", MODULE, *args)


def pins_listed(tmp_path: Path) -> dict[str, int]:
    """PIN label -> 'Tries left' as pkcs15-tool --list-pins shows them."""
    r = pkcs15(tmp_path, "--list-pins")
    assert r.returncode == 0, r.stdout + r.stderr
    return {
        label: int(left)
        for label, left in re.findall(r"PIN \[([^\]]+)\].*?Tries left\s*:\s*(\d+)", r.stdout, re.S)
    }


def test_pkcs15_tool_lists_four_certificates_and_two_pins(served: str, tmp_path: Path) -> None:
    r = pkcs15(tmp_path, "--list-certificates")
    assert r.returncode == 0, r.stdout + r.stderr
    paths = dict(re.findall(r"X\.509 Certificate \[([^\]]+)\].*?Path\s*:\s*(\w+)", r.stdout, re.S))
    assert paths == {
        "User Authentication Certificate": "000a",
        "Digital Signature Certificate": "0001",
        "User Authentication Certificate CA": "000b",
        "Digital Signature Certificate CA": "0002",
    }, r.stdout
    assert pins_listed(tmp_path) == {
        "User Authentication PIN": DEFAULT_PIN_RULES["auth"]["tries"],
        "Digital Signature PIN": DEFAULT_PIN_RULES["sign"]["tries"],
    }
    r = pkcs15(tmp_path, "--verify-pin", "--auth-id", "01", "--pin", "0000")
    assert r.returncode != 0
    assert pins_listed(tmp_path)["User Authentication PIN"] == DEFAULT_PIN_RULES["auth"]["tries"] - 1


def _read_certificate(tmp_path: Path, which: str, personality: str) -> bytes:
    args = ["--read-certificate", IDS[which]]
    if which == "sign" or personality == "gp-se":  # 0001 always, 000A on the phone need a PIN (file map)
        args += ["--verify-pin", "--auth-id", IDS[which], "--pin", PERSONA.pins[which]]
    r = pkcs15(tmp_path, *args)
    assert r.returncode == 0 and "BEGIN CERTIFICATE" in r.stdout, r.stdout + r.stderr
    pem = tmp_path / f"{which}.pem"
    pem.write_text(r.stdout[r.stdout.index("-----BEGIN") :])
    out = tmp_path / f"{which}.der"
    r = run(tmp_path, "openssl", "x509", "-in", str(pem), "-outform", "DER", "-out", str(out))
    assert r.returncode == 0, r.stderr
    return out.read_bytes()


@pytest.mark.parametrize("which", ["auth", "sign"])
def test_pkcs11_signs_and_openssl_verifies(served: str, tmp_path: Path, which: str) -> None:
    der = _read_certificate(tmp_path, which, served)
    assert der == PERSONA.certs[which], "the certificate read back is not the persona's"
    data = tmp_path / "data.bin"
    data.write_bytes(f"jpkikit OpenSC interop {which} {served}".encode())
    sig = tmp_path / "sig.bin"
    r = pkcs11(
        tmp_path,
        "--token-label",
        TOKENS[which],
        "--login",
        "--pin",
        PERSONA.pins[which],
        "--sign",
        "--mechanism",
        "SHA256-RSA-PKCS",
        "--id",
        IDS[which],
        "--input-file",
        str(data),
        "--output-file",
        str(sig),
    )
    assert r.returncode == 0 and sig.stat().st_size == 256, r.stdout + r.stderr
    pub = tmp_path / "pub.pem"
    assert (
        run(
            tmp_path,
            "openssl",
            "x509",
            "-in",
            str(tmp_path / f"{which}.pem"),
            "-pubkey",
            "-noout",
            "-out",
            str(pub),
        ).returncode
        == 0
    )
    r = run(tmp_path, "openssl", "dgst", "-sha256", "-verify", str(pub), "-signature", str(sig), str(data))
    assert r.returncode == 0 and "Verified OK" in r.stdout, r.stdout + r.stderr


def test_opensc_reports_a_blocked_pin(served: str, tmp_path: Path) -> None:
    tries = DEFAULT_PIN_RULES["auth"]["tries"]
    for _ in range(tries):
        r = pkcs11(tmp_path, "--token-label", TOKENS["auth"], "--login", "--pin", "0000", "--list-objects")
        assert r.returncode != 0 and "CKR_PIN_INCORRECT" in r.stdout + r.stderr, r.stdout + r.stderr
    assert pins_listed(tmp_path)["User Authentication PIN"] == 0
    r = pkcs11(tmp_path, "--list-token-slots")
    block = r.stdout.split(TOKENS["auth"], 1)[1].split("Slot", 1)[0]
    assert "user PIN locked" in block, r.stdout
    r = pkcs11(
        tmp_path, "--token-label", TOKENS["auth"], "--login", "--pin", PERSONA.pins["auth"], "--list-objects"
    )
    # OpenSC 0.23 has no PKCS#11 code for 6984 (SC_ERROR_REF_DATA_NOT_USABLE): C_Login fails with
    # CKR_GENERAL_ERROR. The token's "user PIN locked" flag above comes from the retry query's 63C0.
    assert r.returncode != 0 and "C_Login failed" in r.stderr, "the right PIN opened a blocked token"
    r = pkcs15(tmp_path, "--verify-pin", "--auth-id", "01", "--pin", PERSONA.pins["auth"])
    assert r.returncode != 0 and "Reference data not usable" in r.stdout + r.stderr  # 6984 (jpki-applet.md)
    assert pins_listed(tmp_path)["Digital Signature PIN"] == DEFAULT_PIN_RULES["sign"]["tries"]
