"""The provisioning suite runs through the profile's adapter: the kit's command set on the reference applet,
and the variant adapter on the differently encoded applet of tests/variant_applet.py (issue 14: "the
provisioning suite passes through both adapters")."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tests.variant_applet
from jpkikit.errors import KitError
from jpkikit.harness.profile import load_profile
from jpkikit.harness.seam import provisioning_adapter
from jpkikit.host.link import InProcessTransport
from jpkikit.host.provisioning_adapter import KitCommandSet
from jpkikit.vocab.commands import redact

from .conformance_runner import QUIET, REPO, outcome

pytest_plugins = ["pytester"]
SUITE = str(REPO / "conformance" / "provisioning")


def _variant_profile(tmp_path: Path, adapter: str | None = "tests.variant_applet:VariantAdapter") -> Path:
    doc = yaml.safe_load((REPO / "profiles" / "emulator-gpse.yaml").read_text())
    doc["implementation"]["name"] = "vendor B applet (test variant)"
    doc["ixit"]["transport"] = {
        "kind": "emulator",
        "factory": "tests.variant_applet:make_card",
        "personality": "gp-se",
    }
    if adapter:
        doc["ixit"]["provisioning"] = {"adapter": adapter, "options": {"vendor": "B"}}
    path = tmp_path / "vendor-b.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_suite_passes_through_the_kits_command_set(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        SUITE, f"--profile={REPO / 'profiles' / 'emulator-gpse.yaml'}", *QUIET
    )
    assert outcome(result) == {"passed": 11}, result.stdout.str()[-3000:]


def test_the_suite_passes_through_the_variant_adapter(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = pytester.runpytest_inprocess(SUITE, f"--profile={_variant_profile(tmp_path)}", *QUIET)
    assert outcome(result) == {"passed": 11}, result.stdout.str()[-3000:]


def test_the_kits_command_set_does_not_speak_the_variant(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Without its adapter the variant fails: the suite really goes through the adapter the profile names."""
    result = pytester.runpytest_inprocess(SUITE, f"--profile={_variant_profile(tmp_path, None)}", *QUIET)
    assert outcome(result).get("failed", 0) >= 5, result.stdout.str()[-3000:]


def test_adapters_are_named_by_module_class_or_entry_point(tmp_path: Path) -> None:
    profile = load_profile(_variant_profile(tmp_path))
    card = tests.variant_applet.make_card("gp-se", None)
    link = InProcessTransport(card)
    link.reset()
    a = provisioning_adapter(profile, link, profile.keys(profile.keyset("apsd")), profile.ixit.gp.apsd, 0x33)
    assert isinstance(a, tests.variant_applet.VariantAdapter) and a.options == {"vendor": "B"}
    a.open()
    assert len(a.read_se_id()) == 16
    # the variant's temporary-PIN command is redacted in traces like the kit's own
    _, kept, redaction = redact(bytes.fromhex("80480081041234ABCD"))
    assert redaction is not None and redaction.what == "temporary PIN" and b"\x12\x34" not in kept
    default = load_profile(REPO / "profiles" / "emulator-gpse.yaml")
    assert isinstance(provisioning_adapter(default, link, None, None, 0x33), KitCommandSet)
    doc = yaml.safe_load(_variant_profile(tmp_path).read_text())
    doc["ixit"]["provisioning"]["adapter"] = "no-such-entry-point"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(
        KitError, match=r"no entry point 'no-such-entry-point' in group 'jpkikit\.provisioning_adapters'"
    ):
        provisioning_adapter(load_profile(bad), link, None, None, 0x33)
