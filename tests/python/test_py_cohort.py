"""needlesim.cohort(...) on local threads: the same files for any worker count, resuming, the
results as DataFrames, and cohort-file errors as exceptions (point 2 of issue 22, Python side)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

needlesim = pytest.importorskip("needlesim", reason="the needlesim wheel is not installed (bash .ci/run builds it)")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cohorts" / "face_mixed_200.toml"


def small_cohort(tmp_path: Path, patients: int = 12, shard_size: int = 3) -> Path:
    """The example cohort with fewer patients (the same distributions and seed)."""
    text = EXAMPLE.read_text()
    assert "patients = 200" in text and "shard_size = 25" in text
    text = text.replace("patients = 200", f"patients = {patients}").replace(
        "shard_size = 25", f"shard_size = {shard_size}"
    )
    p = tmp_path / "cohort.toml"
    p.write_text(text)
    return p


def tree(d: Path) -> dict[str, bytes]:
    """Every file under `d`, by relative path."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_same_files_for_one_and_two_workers_and_after_resuming(tmp_path):
    cohort = small_cohort(tmp_path)
    calls = []
    one = needlesim.cohort(cohort, tmp_path / "one", workers=1, progress=lambda *a: calls.append(a))
    two = needlesim.cohort(cohort, tmp_path / "two", workers=2)
    a, b = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert a == b
    assert any(k.startswith("results/protocol=recommended/") and k.endswith(".parquet") for k in a)
    assert {"summary.csv", "manifest.json", "cohort.toml", "params.csv"} <= set(a)
    assert calls[-1] == ("cohort: shards", 4, 4)
    assert one.summary == two.summary
    assert one.summary["patients"] == 12 and one.summary["shards"] == 4

    # a killed run: one shard's files are gone; the rerun redoes only that one
    for p in (tmp_path / "two").rglob("*-00002*"):
        p.unlink()
    assert tree(tmp_path / "two") != a
    needlesim.cohort(cohort, tmp_path / "two", workers=2)
    assert tree(tmp_path / "two") == a


def test_results_as_dataframes(tmp_path):
    res = needlesim.cohort(small_cohort(tmp_path, patients=12, shard_size=4), tmp_path / "out", workers=2)
    df = res.results()
    assert len(df) == res.summary["rows"] > 0
    assert set(df["protocol"].astype(str)) == {"recommended", "pen_1_5mm_4x4wk"}
    assert {"patient", "patient_seed", "zone", "protocol", "draw", "verdict", "error", "responder"} <= set(df.columns)
    rec = res.results("recommended")
    assert len(rec) == (df["protocol"].astype(str) == "recommended").sum()
    assert len(res.summary_table()) > 0
    m = res.manifest
    assert m["patients"] == 12 and m["shards"] == 3
    assert "virtual patients" in res.text and "no row failed" in res.text
    assert res.failed_rows == res.summary["failed_rows"]
    with pytest.raises(needlesim.InputError, match="protocols"):
        res.results("nope")


def test_the_command_lines_cohort_writes_the_same_files(tmp_path):
    binary = os.environ.get("NEEDLESIM_BIN")
    if not binary or not Path(binary).exists():
        pytest.skip("NEEDLESIM_BIN (the needlesim binary) is not set; .ci/run sets it")
    cohort = small_cohort(tmp_path, patients=8, shard_size=4)
    rel = os.path.relpath(cohort, tmp_path)
    r = subprocess.run([binary, "cohort", rel, "--out", "cli", "--workers", "2", "--quiet"], cwd=tmp_path)
    assert r.returncode == 0
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        needlesim.cohort(rel, "py", workers=1)
    finally:
        os.chdir(cwd)
    assert tree(tmp_path / "cli") == tree(tmp_path / "py")


def test_cohort_file_errors_name_the_field(tmp_path):
    text = EXAMPLE.read_text().replace("sd_years = 13", "sd_years = -2")
    with pytest.raises(needlesim.FieldError) as e:
        needlesim.cohort(text, tmp_path / "out")
    assert e.value.field == "age.sd_years" and e.value.value == "-2"
    assert e.value.hint
    text = EXAMPLE.read_text().replace("female = 0.7", "female = 0.9")
    with pytest.raises(needlesim.FieldError) as e:
        needlesim.cohort(text, tmp_path / "out")
    assert e.value.field.startswith("sex")
    text = EXAMPLE.read_text().replace("min_years = 18", "min_years = 12")
    with pytest.raises(needlesim.FieldError, match="age.min_years"):
        needlesim.cohort(text, tmp_path / "out")
    with pytest.raises(needlesim.InputError, match="cannot read cohort file"):
        needlesim.cohort(tmp_path / "missing.toml", tmp_path / "out")
    with pytest.raises(needlesim.InputError, match="workers"):
        needlesim.cohort(EXAMPLE, tmp_path / "out", workers=-1)
    assert not (tmp_path / "out").exists()


def test_an_output_folder_of_another_cohort_is_refused(tmp_path):
    a = small_cohort(tmp_path, patients=4, shard_size=4)
    needlesim.cohort(a, tmp_path / "out")
    other = a.read_text().replace("seed = 2026", "seed = 7")
    with pytest.raises(needlesim.InputError, match="another cohort"):
        needlesim.cohort(other, tmp_path / "out")
