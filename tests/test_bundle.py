"""The evidence bundle: made from a real run, verified offline, and every kind of damage named exactly."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jpkikit import __version__
from jpkikit.cli.main import main
from jpkikit.harness.profile import load_profile
from jpkikit.report.bundle import (
    BundleError,
    collect_members,
    keygen,
    load_private_key,
    load_public_key,
    verify_bundle,
    write_bundle,
)

from .conformance_runner import REPO
from .test_report_cert import jpkikit

PROFILE = REPO / "profiles" / "emulator-gpse.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("bundle-run")
    proc = jpkikit("certify", "--profile", str(PROFILE), "--results", str(results), "-k", "iso7816")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return results


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("lab")
    keygen(d / "lab.key", d / "lab.pub")
    return d / "lab.key", d / "lab.pub"


@pytest.fixture(scope="module")
def bundle(run: Path, lab: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "campaign.tar"
    assert main(["bundle", str(run), "--key", str(lab[0]), "-o", str(out)]) == 0
    return out


def members_of(path: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(path) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]


def rewrite(
    src: Path, dst: Path, change: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]
) -> Path:
    with tarfile.open(dst, "w") as tar:
        for name, data in change(members_of(src)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dst


def verify_error(path: Path, pub: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["verify", str(path), "--pubkey", str(pub)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jpkikit: error: ") and "Traceback" not in err
    return err


def test_bundle_verifies_and_holds_the_evidence(
    bundle: Path, lab: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(bundle), "--pubkey", str(lab[1])]) == 0
    assert ": OK: bundle ID " in capsys.readouterr().out
    members = dict(members_of(bundle))
    manifest = json.loads(members["manifest.json"])
    assert manifest["kit_version"] == __version__
    for name, entry in manifest["members"].items():  # content-addressed: every member by its sha256
        assert hashlib.sha256(members[name]).hexdigest() == entry["sha256"]
    signature = json.loads(members["signature.json"])
    assert signature["bundle_id"] == hashlib.sha256(members["manifest.json"]).hexdigest()
    names = set(manifest["members"])
    assert {"results/junit.xml", "profile.json", "kit.json", "results/certification.json"} <= names
    assert any(n.startswith("results/traces/") for n in names)
    assert any(n.startswith("results/allure-results/") for n in names)
    assert "catalogue/iso7816.yaml" in names
    kit = json.loads(members["kit.json"])
    assert kit["kit_version"] == __version__ and kit["vectors"]  # digests of vectors/ files
    profile = json.loads(members["profile.json"])
    assert profile["ixit"]["secrets"]["auth_pin"] == "<redacted test>"
    assert b"404142434445464748494A4B4C4D4E4F5051525354555657" not in members["profile.json"]


def test_same_content_gives_the_same_bundle_id(run: Path, lab: tuple[Path, Path], tmp_path: Path) -> None:
    members = collect_members(run, load_profile(PROFILE), REPO / "vectors")
    key = load_private_key(lab[0])
    a = write_bundle(members, key, tmp_path / "a.tar", "2026-01-01T00:00:00Z")
    b = write_bundle(members, key, tmp_path / "b.tar", "2026-01-01T00:00:00Z")
    assert a == b and (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def alter(ms: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(n, d.replace(b"pass", b"PASS") if n == "results/junit.xml" else d) for n, d in ms]


def add(ms: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [*ms, ("results/traces/extra.json", b"{}")]


def remove(ms: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(n, d) for n, d in ms if n != "profile.json"]


def forge_manifest(ms: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Alter a member and fix its digest in the manifest: the signature must catch it."""
    ms = alter(ms)
    junit = dict(ms)["results/junit.xml"]
    out = []
    for n, d in ms:
        if n == "manifest.json":
            doc = json.loads(d)
            doc["members"]["results/junit.xml"]["sha256"] = hashlib.sha256(junit).hexdigest()
            d = json.dumps(doc, indent=1, sort_keys=True).encode()
        out.append((n, d))
    return out


def unsign(ms: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(n, d) for n, d in ms if n != "signature.json"]


def duplicate(ms: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [*ms, ("profile.json", b"{}")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (alter, "member altered: results/junit.xml (sha256 differs from the signed manifest)"),
        (add, "member added: results/traces/extra.json"),
        (remove, "member removed: profile.json"),
        (forge_manifest, "the signature does not verify: manifest.json was altered after signing"),
        (unsign, "missing signature (signature.json is not in the bundle)"),
        (duplicate, "member 'profile.json' appears twice"),
    ],
)
def test_tampering_is_named_exactly(
    bundle: Path,
    lab: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]],
    message: str,
) -> None:
    rewrite(bundle, tmp_path / "tampered.tar", lambda ms: ms)  # the unchanged rewrite still verifies
    verify_bundle(tmp_path / "tampered.tar", load_public_key(lab[1]))
    bad = rewrite(bundle, tmp_path / "bad.tar", change)
    assert message in verify_error(bad, lab[1], capsys)


def test_several_changes_are_all_named(
    bundle: Path, lab: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = rewrite(bundle, tmp_path / "bad.tar", lambda ms: remove(add(alter(ms))))
    err = verify_error(bad, lab[1], capsys)
    for what in (
        "member removed: profile.json",
        "member added: results/traces/extra.json",
        "altered: results/junit",
    ):
        assert what in err


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[: len(data.rstrip(b"\0")) + 511 & ~511], "truncated or not a tar archive"),
        (lambda data: b"", "truncated or not a tar archive"),
        (lambda data: os.urandom(4096), "truncated or not a tar archive"),
    ],
)
def test_truncated_or_garbage_bundle(
    bundle: Path,
    lab: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cut: Callable[[bytes], bytes],
    message: str,
) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(cut(bundle.read_bytes()))
    assert message in verify_error(bad, lab[1], capsys)


def test_unknown_key(bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keygen(tmp_path / "other.key", tmp_path / "other.pub")
    err = verify_error(bundle, tmp_path / "other.pub", capsys)
    assert "signed by an unknown key" in err and "not by the given public key" in err


def test_bad_key_files(
    run: Path, bundle: Path, lab: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "rsa.key").write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "rsa.pub").write_bytes(
        rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    out = str(tmp_path / "x.tar")
    assert main(["bundle", str(run), "--key", str(tmp_path / "rsa.key"), "-o", out]) == 2
    assert "must be an Ed25519 key" in capsys.readouterr().err
    assert main(["bundle", str(run), "--key", str(lab[1]), "-o", out]) == 2
    assert "not an unencrypted PEM private key" in capsys.readouterr().err
    assert main(["bundle", str(run), "--key", str(tmp_path / "none.key"), "-o", out]) == 2
    assert "cannot read the lab key" in capsys.readouterr().err
    assert "not an Ed25519 public key" in verify_error(bundle, tmp_path / "rsa.pub", capsys)
    assert "not a PEM public key" in verify_error(bundle, lab[0], capsys)
    assert "no such bundle file" in verify_error(tmp_path / "none.tar", lab[1], capsys)


def test_keygen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "-o", str(tmp_path / "k")]) == 0
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    load_private_key(tmp_path / "k.key")
    load_public_key(tmp_path / "k.pub")
    capsys.readouterr()
    assert main(["keygen", "-o", str(tmp_path / "k")]) == 2
    assert "already exists; refusing to overwrite a key" in capsys.readouterr().err


def test_results_of_another_kit_version_are_not_bundled(
    run: Path, lab: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "old"
    shutil.copytree(run, copy)
    env = copy / "allure-results" / "environment.properties"
    env.write_text(env.read_text().replace(f"kit.version={__version__}", "kit.version=0.0.9"))
    assert main(["bundle", str(copy), "--key", str(lab[0]), "-o", str(tmp_path / "x.tar")]) == 2
    assert "results were produced by jpkikit 0.0.9; this is jpkikit" in capsys.readouterr().err
    assert not (tmp_path / "x.tar").exists()


def test_an_unredacted_trace_is_never_bundled(run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "leaky"
    shutil.copytree(run, copy)
    trace = {
        "format": "jpkikit-trace/1",
        "exchanges": [{"t": 0, "ms": 0, "command": "0020008004" + b"1234".hex(), "name": "VERIFY"}],
    }
    (copy / "traces" / "leak.json").write_text(json.dumps(trace))
    with pytest.raises(
        BundleError, match=r"results/traces/leak.json: exchange #0 \(VERIFY\) carries PIN data"
    ):
        collect_members(copy, load_profile(PROFILE), REPO / "vectors")


def test_a_lab_secret_in_any_member_is_never_bundled(
    run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = os.urandom(16).hex().upper()
    monkeypatch.setenv("JPKI_TEST_BUNDLE_KEY", key)
    doc = yaml.safe_load(PROFILE.read_text())
    doc["ixit"]["secrets"]["scp03_isd_30"] = "env:JPKI_TEST_BUNDLE_KEY"
    profile_path = tmp_path / "lab-profile.yaml"
    profile_path.write_text(yaml.safe_dump(doc))
    profile = load_profile(profile_path)
    copy = tmp_path / "leaky"
    shutil.copytree(run, copy)
    collect_members(copy, profile, REPO / "vectors")  # clean: no complaint
    junit = copy / "junit.xml"
    junit.write_text(junit.read_text().replace("</testsuites>", f"<!-- {key.lower()} --></testsuites>"))
    with pytest.raises(BundleError, match=r"results/junit\.xml contains the value of secret 'scp03_isd_30'"):
        collect_members(copy, profile, REPO / "vectors")
