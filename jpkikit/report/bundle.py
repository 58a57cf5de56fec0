"""The evidence bundle: one signed, content-addressed archive per campaign, verifiable offline.

Layout of the (uncompressed, deterministic) tar::

    manifest.json      {"format", "kit_version", "created", "members": {path: {"sha256", "size"}}}
    signature.json     {"algorithm": "Ed25519", "key_id", "bundle_id", "signature"}
    results/...        junit.xml, allure-results/*, traces/* (redacted), probe.json, certification.*
    profile.json       Profile.redacted(): the effective profile, secrets replaced by their source
    kit.json           kit version, and the sha256 of every file under vectors/
    catalogue/*.yaml   the requirement catalogue the certification report was computed with, and the
                       registry of the documents its sources cite (documents.yaml)

The bundle ID is the sha256 of the manifest bytes; the signature is Ed25519 over those bytes with the
lab's key. ``key_id`` is the sha256 of the raw 32-byte public key, so verification can say "signed by
another key" apart from "altered". Secrets never enter a bundle: traces are written redacted by the
tracer, the profile is the redacted form, and every member is scanned for the profile's secret values
before anything is written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jpkikit import __version__
from jpkikit.errors import KitError
from jpkikit.harness.profile import Profile
from jpkikit.host.tracer import decode_command
from jpkikit.secrets import find_leaks

BUNDLE_FORMAT = "jpkikit-evidence-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
_CONTROL = (MANIFEST, SIGNATURE)
#: Files of a results directory that go into the bundle (relative glob patterns).
RESULT_PATTERNS = (
    "junit.xml",
    "allure-results/*",
    "traces/*.json",
    "probe.json",
    "certification.md",
    "certification.html",
    "certification.json",
    "allure-history.jsonl",
)


class BundleError(KitError):
    """An evidence bundle cannot be made, or does not verify. The message says exactly why."""


# -- keys ---------------------------------------------------------------------------------------------


def keygen(private_path: Path, public_path: Path) -> str:
    """Write a new Ed25519 lab key pair (PKCS#8 / SubjectPublicKeyInfo PEM). Returns the key ID."""
    for path in (private_path, public_path):
        if path.exists():
            raise BundleError(f"{path}: already exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public = key.public_key()
    public_path.write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return key_id(public)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    path = Path(path)
    data = _read(path, "lab key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"{path}: the lab key must be an Ed25519 key (jpkikit keygen makes one)")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    path = Path(path)
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError(f"{path}: not an Ed25519 public key")
    return key


# -- making a bundle ----------------------------------------------------------------------------------


def vector_digests(vectors_dir: Path) -> dict[str, str]:
    if not vectors_dir.is_dir():
        return {}
    return {
        p.relative_to(vectors_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(vectors_dir.rglob("*"))
        if p.is_file()
    }


def _profile_secrets(profile: Profile) -> dict[str, str]:
    """value -> name of every secret of the profile, of every length and source (a public test PIN is
    searched for too: a trace that leaks it would leak a real one the same way)."""
    return {secret.reveal(): name for name, secret in profile.ixit.secrets.items()}


def check_trace_redacted(name: str, data: bytes) -> None:
    """Every secret-bearing command (VERIFY, PUT KEY, ...) in a saved trace must have its data cut out."""
    try:
        doc = json.loads(data)
        exchanges = doc["exchanges"]
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"{name}: not a jpkikit trace; refusing to bundle an unchecked trace") from None
    for index, exchange in enumerate(exchanges):
        command = exchange.get("command") or ""
        if exchange.get("redacted") or not command:
            continue
        try:
            raw = bytes.fromhex(command)
        except ValueError:
            raise BundleError(f"{name}: exchange #{index}: command is not hex") from None
        _, _, redaction = decode_command(raw)
        if redaction is not None:
            raise BundleError(
                f"{name}: exchange #{index} ({exchange.get('name', '?')}) carries {redaction.what} data that "
                "was not redacted; refusing to bundle it (secrets must never leave the lab)"
            )


def collect_members(results_dir: Path, profile: Profile, vectors_dir: Path) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    for pattern in RESULT_PATTERNS:
        for path in sorted(results_dir.glob(pattern)):
            if path.is_file():
                members["results/" + path.relative_to(results_dir).as_posix()] = path.read_bytes()
    from jpkikit.harness.catalogue import DOCUMENTS_PATH, REQUIREMENTS_DIR

    for path in sorted(REQUIREMENTS_DIR.glob("*.yaml")):  # the catalogue the verdicts were computed with
        members[f"catalogue/{path.name}"] = path.read_bytes()
    members[f"catalogue/{DOCUMENTS_PATH.name}"] = DOCUMENTS_PATH.read_bytes()  # what each source cites
    members["profile.json"] = (json.dumps(profile.redacted(), indent=1, sort_keys=True) + "\n").encode()
    kit = {"kit_version": __version__, "vectors": vector_digests(vectors_dir)}
    members["kit.json"] = (json.dumps(kit, indent=1, sort_keys=True) + "\n").encode()
    secrets = _profile_secrets(profile)
    for name, data in members.items():
        if name.startswith("results/traces/"):
            check_trace_redacted(name, data)
        leaked = find_leaks(data.decode("utf-8", "replace"), secrets)
        if leaked:
            raise BundleError(
                f"{results_dir}: {name} contains the value of secret {leaked[0]!r}; refusing to bundle it "
                "(secrets must never leave the lab)"
            )
    return members


def manifest_bytes(members: dict[str, bytes], created: str) -> bytes:
    manifest = {
        "format": BUNDLE_FORMAT,
        "kit_version": __version__,
        "created": created,
        "members": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(members.items())
        },
    }
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def write_bundle(members: dict[str, bytes], key: Ed25519PrivateKey, out: Path, created: str) -> str:
    """Write the signed bundle; returns the bundle ID."""
    manifest = manifest_bytes(members, created)
    bundle_id = hashlib.sha256(manifest).hexdigest()
    signature = {
        "algorithm": "Ed25519",
        "key_id": key_id(key.public_key()),
        "bundle_id": bundle_id,
        "signature": key.sign(manifest).hex(),
    }
    tmp = out.with_name(out.name + ".partial")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, MANIFEST, manifest)
        _add(tar, SIGNATURE, (json.dumps(signature, indent=1, sort_keys=True) + "\n").encode())
        for name in sorted(members):
            _add(tar, name, members[name])
    tmp.replace(out)
    return bundle_id


# -- verifying a bundle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    bundle_id: str
    key_id: str
    kit_version: str
    created: str
    members: int


def _read_tar(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise BundleError(f"{path}: no such bundle file")
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 1024))
            tail = handle.read()
    except OSError as exc:
        raise BundleError(f"{path}: cannot read the bundle: {exc.strerror or exc}") from None
    if size < 1024 or size % 512 or tail != bytes(1024):
        raise BundleError(f"{path}: truncated or not a tar archive (no end-of-archive marker)")
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:") as tar:
            for info in tar:
                if not info.isfile():
                    raise BundleError(
                        f"{path}: member {info.name!r} is not a regular file; not a jpkikit bundle"
                    )
                if info.name in members:
                    raise BundleError(f"{path}: member {info.name!r} appears twice (added after signing)")
                handle = tar.extractfile(info)
                assert handle is not None
                data = handle.read()
                if len(data) != info.size:
                    raise BundleError(f"{path}: truncated: member {info.name!r} is cut short")
                members[info.name] = data
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(f"{path}: truncated or not a tar archive ({exc})") from None
    if not members:
        raise BundleError(f"{path}: empty archive; not a jpkikit bundle")
    return members


def verify_bundle(path: str | Path, public: Ed25519PublicKey) -> Verified:
    """Check a bundle offline. Raises BundleError naming exactly what is wrong."""
    path = Path(path)
    members = _read_tar(path)
    if MANIFEST not in members:
        raise BundleError(f"{path}: no {MANIFEST}; not a jpkikit evidence bundle (or truncated)")
    if SIGNATURE not in members:
        raise BundleError(f"{path}: missing signature ({SIGNATURE} is not in the bundle)")
    manifest_raw = members.pop(MANIFEST)
    try:
        signature = json.loads(members.pop(SIGNATURE))
        sig = bytes.fromhex(signature["signature"])
        signer = signature["key_id"]
        if signature.get("algorithm") != "Ed25519":
            raise ValueError(f"algorithm {signature.get('algorithm')!r}, expected Ed25519")
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{path}: {SIGNATURE} is malformed: {exc}") from None
    expected_key = key_id(public)
    if signer != expected_key:
        raise BundleError(
            f"{path}: signed by an unknown key (key ID {str(signer)[:16]}…), not by the given public key "
            f"(key ID {expected_key[:16]}…)"
        )
    try:
        public.verify(sig, manifest_raw)
    except InvalidSignature:
        raise BundleError(
            f"{path}: the signature does not verify: {MANIFEST} was altered after signing, or the signature "
            "was replaced"
        ) from None
    bundle_id = hashlib.sha256(manifest_raw).hexdigest()
    manifest = json.loads(manifest_raw)
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path}: unsupported bundle format {manifest.get('format')!r}")
    listed: dict[str, dict[str, object]] = manifest["members"]
    problems = []
    for name in sorted(set(listed) - set(members)):
        problems.append(f"member removed: {name}")
    for name in sorted(set(members) - set(listed)):
        problems.append(f"member added: {name}")
    for name in sorted(set(listed) & set(members)):
        if hashlib.sha256(members[name]).hexdigest() != listed[name]["sha256"]:
            problems.append(f"member altered: {name} (sha256 differs from the signed manifest)")
    if problems:
        raise BundleError(f"{path}: does not match its signed manifest: " + "; ".join(problems))
    return Verified(bundle_id, signer, manifest["kit_version"], manifest["created"], len(listed))
