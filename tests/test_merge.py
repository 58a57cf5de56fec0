"""``jpkikit merge CAMPAIGN.yaml --root DIR -o OUT``: the results of a campaign's units, made on any number
of hosts, merged into one campaign report (per model, per unit, the requirement x unit matrix), one Allure
results directory and one signed bundle (jpkikit/report/merge.py); campaign files and results that do not
belong to the campaign are refused with one clear message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jpkikit.cli.main import main
from jpkikit.report.merge import CampaignError, is_merged, load_campaign, merge

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "campaign.yaml"
UNITS = ("emulator-gpse-normal", "emulator-gpse", "emulator-sim")
UNIT_ARGS = ["--profile", str(ROOT / "docs/examples/emulator-gpse-normal.yaml")]
UNIT_ARGS += ["--profile", "emulator-gpse", "--profile", "emulator-sim"]


@pytest.fixture(scope="module")
def units_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example campaign's three units, certified at once (a few tests each, to keep this fast)."""
    root = tmp_path_factory.mktemp("units")
    proc = subprocess.run(
        [sys.executable, "-m", "jpkikit", "certify", *UNIT_ARGS, "-k", "test_select", "--results", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


@pytest.fixture(scope="module")
def merged(units_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("merged") / "campaign"
    merge(EXAMPLE, out, units_root)
    return out


def campaign_file(tmp_path: Path, units: list[dict[str, str]], **top: object) -> Path:
    doc = {"schema": "jpkikit-campaign/1", "name": "test campaign", "units": units, **top}
    path = tmp_path / "campaign.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return path


def unit(
    name: str, profile: str, results: str, role: str = "sacrificial", host: str = "h1"
) -> dict[str, str]:
    return {"name": name, "profile": profile, "host": host, "role": role, "results": results}


# -- the merged campaign -----------------------------------------------------------------------------------


def test_merge_gives_models_units_and_the_requirement_by_unit_matrix(merged: Path) -> None:
    report = json.loads((merged / "campaign.json").read_text())
    assert report["format"] == "jpkikit-campaign-report/1"
    assert [u["name"] for u in report["units"]] == ["gpse-normal", "gpse-sacrificial", "sim"]
    assert [u["role"] for u in report["units"]] == ["normal", "sacrificial", "sacrificial"]
    assert [u["host"] for u in report["units"]] == ["runner-1", "runner-2", "runner-2"]
    assert all(u["recorded_host"] for u in report["units"])  # where pytest really ran (junit.xml)
    models = report["models"]
    assert [m["units"] for m in models] == [["gpse-normal", "gpse-sacrificial"], ["sim"]]
    for model in models:  # every model has its own combined certification report
        assert model["certification"]["verdict"] == model["report"]["certification"]["verdict"]
        assert (merged / "models" / model["model"] / "certification.json").is_file()
        assert model["report"]["matrix"]["units"] == model["units"]
    matrix = report["matrix"]
    assert matrix["units"] == ["gpse-normal", "gpse-sacrificial", "sim"]
    rows = {row["requirement"]: row for row in matrix["rows"]}
    assert len(rows) == len(matrix["rows"]) == len(models[0]["report"]["requirements"])
    select = rows["ISO-SEL-01"]
    assert set(select["outcomes"]) == set(matrix["units"])
    assert select["outcomes"]["gpse-sacrificial"] == "pass"
    assert set(select["combined"]) == {m["model"] for m in models}
    assert report["certification"]["verdict"] in ("PASS", "INCOMPLETE", "FAIL", "INCONCLUSIVE", "KIT ERROR")
    assert "gpse-normal" in (merged / "campaign.md").read_text()


def test_merged_allure_results_keep_the_units_apart(merged: Path, units_root: Path) -> None:
    results = [json.loads(p.read_text()) for p in (merged / "allure-results").glob("*-result.json")]
    expected = sum(len(list((units_root / u / "allure-results").glob("*-result.json"))) for u in UNITS)
    assert len(results) == expected
    labels = [{lb["name"]: lb["value"] for lb in r["labels"]} for r in results]
    assert {lb["parentSuite"] for lb in labels} == {"gpse-normal", "gpse-sacrificial", "sim"}
    assert {lb["host"] for lb in labels} == {"runner-1", "runner-2"}
    # one test on three units: three history IDs (Allure would take one ID for retries of one test)
    same = [
        r["historyId"] for r, lb in zip(results, labels, strict=True) if "test_select" in lb["jpkikit-test"]
    ]
    assert len(same) == len(set(same))
    env = (merged / "allure-results" / "environment.properties").read_text()
    assert "campaign=bundled emulators" in env and "unit.sim.role=sacrificial" in env
    assert (merged / "allure-results" / "categories.json").is_file()


def test_the_merged_campaign_bundles_and_verifies(merged: Path, tmp_path: Path, capsys) -> None:
    assert is_merged(merged)
    assert main(["keygen", "-o", str(tmp_path / "lab")]) == 0
    tar = tmp_path / "campaign.tar"
    assert main(["bundle", str(merged), "--key", str(tmp_path / "lab.key"), "-o", str(tar)]) == 0
    assert "campaign bundled emulators (3 units)" in capsys.readouterr().out
    assert main(["verify", str(tar), "--pubkey", str(tmp_path / "lab.pub")]) == 0
    import tarfile

    names = tarfile.open(tar).getnames()
    for name in ("gpse-normal", "gpse-sacrificial", "sim"):
        assert f"units/{name}/results/junit.xml" in names
        assert f"units/{name}/profile.json" in names
        assert f"units/{name}/results/unit-state.json" in names
    assert "campaign.json" in names and "allure-results/environment.properties" in names


def test_merge_command_prints_units_and_models(units_root: Path, tmp_path: Path, capsys) -> None:
    history = tmp_path / "out" / "allure-history.jsonl"  # Allure's history of earlier campaigns
    history.parent.mkdir()
    history.write_text('{"uuid": "earlier"}\n', encoding="utf-8")
    code = main(["merge", str(EXAMPLE), "--root", str(units_root), "-o", str(tmp_path / "out")])
    assert history.read_text() == '{"uuid": "earlier"}\n'  # a merge into the same OUT keeps it
    out = capsys.readouterr().out
    assert "unit gpse-normal (normal, host runner-1):" in out
    assert "model jpkikit-reference-emulator-0.1.0 (gpse-normal, gpse-sacrificial):" in out
    verdict = json.loads((tmp_path / "out" / "campaign.json").read_text())["certification"]["verdict"]
    assert code == (0 if verdict == "PASS" else 1)


def test_a_japanese_merge_names_the_allure_categories_in_japanese(units_root: Path, tmp_path: Path) -> None:
    merge(EXAMPLE, tmp_path / "ja", units_root, lang="ja")
    written = tmp_path / "ja" / "allure-results" / "categories.json"
    names = [c["name"] for c in json.loads(written.read_text(encoding="utf-8"))]
    assert names and all(not name.isascii() for name in names), names
    environment = (tmp_path / "ja" / "allure-results" / "environment.properties").read_text(encoding="utf-8")
    assert "report.lang=ja\n" in environment  # tools/allure-report.sh names the report in Japanese


# -- what is refused ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("units: [\n", "campaign.yaml: <document>"),
        ("- just a list\n", "is not of type 'object'"),
        (
            '{"schema": "jpkikit-campaign/2", "name": "x", "units": []}',
            "schema: 'jpkikit-campaign/1' was expected",
        ),
        (
            '{"schema": "jpkikit-campaign/1", "name": "x", "units": '
            '[{"name": "a", "profile": "p", "host": "h", '
            '"results": "r"}]}',
            "units[0]: 'role' is a required property",
        ),
        (
            '{"schema": "jpkikit-campaign/1", "name": "x", "units": '
            '[{"name": "a", "profile": "p", "host": "h", '
            '"role": "spare", "results": "r"}]}',
            "units[0].role: 'spare' is not one of ['normal', 'sacrificial']",
        ),
        (
            '{"schema": "jpkikit-campaign/1", "name": "x", "units": '
            '[{"name": "a", "profile": "p", "host": "h", '
            '"role": "normal", "results": "r", "colour": "red"}]}',
            "units[0]: Additional properties are not allowed ('colour' was unexpected)",
        ),
    ],
)
def test_a_bad_campaign_file_is_one_clear_error(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    assert message in str(caught.value)


def test_two_units_of_one_name_are_refused(tmp_path: Path) -> None:
    path = campaign_file(tmp_path, [unit("a", "emulator-sim", "x"), unit("a", "emulator-gpse", "y")])
    with pytest.raises(CampaignError, match=r"units\[1\]\.name: 'a' names two units"):
        load_campaign(path)


def test_a_missing_results_directory_is_refused(units_root: Path, tmp_path: Path, capsys) -> None:
    path = campaign_file(
        tmp_path,
        [
            unit("sim", "emulator-sim", "emulator-sim"),
            unit("gone", "emulator-gpse", "no-such-dir", host="lab-7"),
        ],
    )
    code = main(["merge", str(path), "--root", str(units_root), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "unit gone (host lab-7): its results directory" in err and "no-such-dir is missing" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing is written from a campaign that does not hold


def test_results_of_another_profile_are_refused(units_root: Path, tmp_path: Path) -> None:
    path = campaign_file(tmp_path, [unit("sim", "emulator-sim", "emulator-gpse")])  # the GP-SE unit's results
    with pytest.raises(
        CampaignError, match=r"holds a run of profile emulator-gpse\.yaml .*not of emulator-sim"
    ):
        merge(path, tmp_path / "out", units_root)


def test_a_role_the_profile_contradicts_is_refused(units_root: Path, tmp_path: Path) -> None:
    path = campaign_file(tmp_path, [unit("sim", "emulator-sim", "emulator-sim", role="normal")])
    with pytest.raises(CampaignError, match="says role normal, but its profile emulator-sim says"):
        merge(path, tmp_path / "out", units_root)


def test_results_of_another_kit_version_are_refused(units_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "old" / "emulator-sim"
    shutil.copytree(units_root / "emulator-sim", copy)
    env = copy / "allure-results" / "environment.properties"
    env.write_text(env.read_text().replace("kit.version=", "kit.version=0.0.9-"), encoding="utf-8")
    path = campaign_file(tmp_path, [unit("sim", "emulator-sim", "emulator-sim")])
    with pytest.raises(CampaignError, match=r"unit sim: .*results were produced by jpkikit 0\.0\.9-"):
        merge(path, tmp_path / "out", tmp_path / "old")


def test_an_unknown_profile_is_refused(units_root: Path, tmp_path: Path) -> None:
    path = campaign_file(tmp_path, [unit("x", "no-such-profile", "emulator-sim")])
    with pytest.raises(CampaignError, match="unit x: profile 'no-such-profile' is neither a file"):
        merge(path, tmp_path / "out", units_root)


def test_no_absolute_path_of_the_machine_in_the_merged_reports(merged: Path) -> None:
    import os

    machine = [str(Path.cwd().resolve()), str(merged.resolve().parent), os.path.expanduser("~")]
    for name in ("campaign.json", "campaign.md"):
        text = (merged / name).read_text(encoding="utf-8")
        leaks = [prefix for prefix in machine if prefix in text]
        assert not leaks, f"{name} shows {leaks}"
    for report in (merged / "models").glob("*/certification.*"):
        if report.suffix in (".md", ".json", ".html"):
            text = report.read_text(encoding="utf-8")
            assert str(merged.resolve().parent) not in text and str(Path.cwd().resolve()) not in text, report
