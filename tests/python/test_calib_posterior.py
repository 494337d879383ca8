"""Issue 19, points 1-2: needlesim.Batch, the sensitivity and calibration scripts (tiny sample
counts: the full runs live in docs/), and the posterior file's checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

needlesim = pytest.importorskip("needlesim", reason="the needlesim wheel is not installed (bash .ci/run builds it)")

ROOT = Path(__file__).resolve().parents[2]
FINE_LINES = ROOT / "examples" / "simulate_fine_lines.toml"
POSTERIOR = ROOT / "crates" / "needlesim" / "data" / "posterior.json"
PY = os.environ.get("NEEDLESIM_PYTHON", sys.executable)


def test_batch_rows_equal_single_runs_of_the_study():
    study = needlesim.Study.from_path(FINE_LINES)
    name = "healing.collagen_half_life"
    b = needlesim.Batch(study, [name], days=[90])
    base = study.params[name]
    df = b.run([[base], [base / 1.5]])
    assert "collagen_i_change_pct@90" in b.columns and "pih_risk_pct" in b.columns
    # The same numbers as a run of the study with the value set (its own samples aside).
    study.params[name] = base / 1.5
    one = study.run()
    tp = [t for t in one.data["zones"][0]["outcomes"]["timepoints"] if t["day"] == 90]
    if tp:
        assert df["collagen_i_change_pct@90"][1] == pytest.approx(tp[0]["collagen_i_change_pct"]["nominal"], rel=1e-12)
    assert df["collagen_i_change_pct@90"][1] != df["collagen_i_change_pct@90"][0]


def test_batch_has_laxity_and_texture_columns_moved_by_their_own_gains():
    """Session 18: the V01 cohort's scenario (wrinkles, laxity, texture) gives the laxity and
    texture scores as batch columns, the calibration's inputs; each gain moves only its score."""
    case = tomllib.loads((ROOT / "validation" / "biology" / "V01-LAX_laxity_face.toml").read_text())
    study = needlesim.Study.from_dict(case["inputs"]["scenario"], name="V01-LAX")
    names = ["healing.laxity_score_gain", "healing.texture_score_gain"]
    b = needlesim.Batch(study, names, days=[150])
    cols = ["laxity_improvement_pct@150", "texture_improvement_pct@150", "wrinkle_improvement_pct@150"]
    assert all(c in b.columns for c in cols), b.columns
    lax, tex = (study.params[n] for n in names)
    df = b.run([[lax, tex], [2 * lax, tex], [lax, 2 * tex]])
    l0, t0, w0 = (df[c][0] for c in cols)
    assert 0 < l0 < 100 and 0 < t0 < 100
    # 1 - (1 - x)^2 when the gain doubles; the other scores do not move.
    assert df[cols[0]][1] == pytest.approx(100 * (1 - (1 - l0 / 100) ** 2), rel=1e-9)
    assert df[cols[1]][1] == t0 and df[cols[2]][1] == w0
    assert df[cols[1]][2] == pytest.approx(100 * (1 - (1 - t0 / 100) ** 2), rel=1e-9)
    assert df[cols[0]][2] == l0
    # Without the concerns there are no such columns.
    plain = needlesim.Batch(needlesim.Study.from_path(FINE_LINES), names, days=[90])
    assert not any(c.startswith(("laxity_", "texture_")) for c in plain.columns)


def test_batch_has_the_stretch_mark_column_set_by_the_striae_geometry():
    """Session 19: a striae case's scenario gives the stretch-mark score as a batch column; the
    stria's dermal deficit is a registry entry settable by name, and twice the deficit gives
    1 - sqrt(1 - x), the fill mapping's answer, while the tissue change does not move."""
    case = tomllib.loads((ROOT / "validation" / "biology" / "ALSTER20-SD_striae.toml").read_text())
    study = needlesim.Study.from_dict(case["inputs"]["scenario"], name="ALSTER20-SD")
    name = "healing.striae_depth"
    b = needlesim.Batch(study, [name], days=[210])
    col = "stretch_marks_improvement_pct@210"
    assert col in b.columns, b.columns
    d = study.params[name]
    df = b.run([[d], [2 * d]])
    s0 = df[col][0]
    assert 0 < s0 < 100
    assert df[col][1] == pytest.approx(100 * (1 - (1 - s0 / 100) ** 0.5), rel=1e-9)
    assert df["collagen_i_change_pct@210"][1] == df["collagen_i_change_pct@210"][0]


def test_batch_marks_a_bad_row_and_names_the_parameter():
    study = needlesim.Study.from_path(FINE_LINES)
    b = needlesim.Batch(study, ["healing.collagen_half_life"])
    vals, errors = b.run(np.array([[-1.0]]), as_frame=False)
    assert np.isnan(vals).all()
    assert errors and "collagen_half_life" in errors[0][1]
    with pytest.raises(needlesim.InputError, match="only the groups"):
        needlesim.Batch(study, ["skin.dermis_dry_mass"])


def test_check_posterior_reads_a_path_or_the_text():
    # Given a path, it used to parse the path itself as JSON ("not valid JSON ... line 1").
    by_text = needlesim.check_posterior(POSTERIOR.read_text())
    assert needlesim.check_posterior(POSTERIOR) == by_text
    assert needlesim.check_posterior(str(POSTERIOR)) == by_text
    with pytest.raises(needlesim.InputError, match="not valid JSON"):
        needlesim.check_posterior("no such posterior file")


def test_committed_posterior_matches_the_registry_and_its_provenance():
    text = POSTERIOR.read_text()
    info = needlesim.check_posterior(text)
    doc = json.loads(text)
    assert info["draws"] == len(doc["draws"]) >= 100
    prov = doc["provenance"]
    for key in ("command", "seed", "date", "diagnostics", "calibration_cases"):
        assert key in prov, key
    assert prov["diagnostics"]["converged"] is True
    # Cases tagged validation never entered the likelihood.
    roles = {}
    for p in (ROOT / "validation").rglob("*.toml"):
        c = tomllib.loads(p.read_text())
        roles[c["id"]] = c["role"]
    assert all(roles[c] == "calibration" for c in prov["calibration_cases"])
    assert not set(prov["calibration_cases"]) & set(prov["validation_cases_predicted"])


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["registry"].__setitem__("entries", d["registry"]["entries"] + 1), "registry of"),
        (lambda d: d["registry"].__setitem__("fingerprint", "fnv1a64:0123456789abcdef"), "registry version"),
        (lambda d: d["parameters"].__setitem__(0, d["parameters"][0] + "x"), "is not in the registry"),
        (lambda d: d["draws"][3].append(1.0), "draw 3 has"),
    ],
)
def test_mismatched_posterior_is_refused_with_a_clear_error(edit, message):
    d = json.loads(POSTERIOR.read_text())
    edit(d)
    with pytest.raises(needlesim.InputError, match=message):
        needlesim.check_posterior(json.dumps(d))


def _run(script, *args, cwd=ROOT):
    return subprocess.run([PY, str(ROOT / "python" / script), *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def test_sensitivity_script_smoke(tmp_path):
    r = _run("sensitivity.py", "--n", "4", "--out", str(tmp_path), "--no-docs")
    assert r.returncode == 0, r.stderr + r.stdout
    import pandas as pd

    rank = pd.read_csv(tmp_path / "ranking.csv")
    assert len(rank) > 50 and {"max_ST", "top_output", "range_basis"} <= set(rank.columns)


def test_scar_scan_refits_the_gain_and_tables_every_case():
    # docs/MODEL.md's scan of the scar and striae cases: one entry, both ends of its range.
    r = _run("scar_scan.py", "healing.fibroblast_max_ratio")
    assert r.returncode == 0, r.stderr + r.stdout
    rows = [l for l in r.stdout.splitlines() if l.startswith("| ")]
    # header, accepted ranges, nominal, two ends
    assert len(rows) == 5, r.stdout
    assert "MINH19-d77" in rows[0] and "MA17-SD" in rows[0]
    gains = [float(l.split("|")[2]) for l in rows[2:]]
    # The gain is refitted per row: the ends of the fibroblast ceiling need different gains.
    assert len(set(gains)) == 3 and all(g > 0 for g in gains), gains
    bad = _run("scar_scan.py", "healing.no_such_entry")
    assert bad.returncode != 0 and "unknown registry entries" in (bad.stdout + bad.stderr)


def test_calibration_that_does_not_converge_writes_nothing(tmp_path):
    target = tmp_path / "posterior.json"
    target.write_text("the committed posterior\n")
    r = _run(
        "calibrate.py",
        "--params", "healing.collagen_output_activated", "healing.erythema_reference_downtime",
        "--max-steps", "4", "--check-every", "2", "--walkers", "8",
        "--posterior", str(target), "--no-docs",
    )
    assert r.returncode == 3, r.stderr + r.stdout
    assert "NOT CONVERGED" in r.stderr
    assert target.read_text() == "the committed posterior\n"


def test_calibration_that_converges_writes_a_file_the_core_accepts(tmp_path):
    target = tmp_path / "posterior.json"
    r = _run(
        "calibrate.py",
        "--params", "healing.erythema_reference_downtime",
        "--max-steps", "60", "--check-every", "30", "--walkers", "8", "--draws", "50",
        "--tau-factor", "1", "--rhat-max", "3",
        "--posterior", str(target), "--no-docs",
    )
    assert r.returncode == 0, r.stderr + r.stdout
    info = needlesim.check_posterior(target.read_text())
    assert info["parameters"] == ["healing.erythema_reference_downtime"] and info["draws"] == 50


def test_calibrated_entries_prior_is_their_fixed_search_interval_not_their_value():
    """A calibrated entry's prior must not follow its current (last fitted) value: after
    apply_posterior.py that value is the last posterior median, and a prior around it uses the
    calibration cases twice. Two registries that differ only in that value give the same prior."""
    sys.path.insert(0, str(ROOT / "python"))
    import calibrate
    import ns_common as C

    studied, _ = C.studied()
    row = next(p for p in studied if p["name"] == "healing.collagen_output_activated")
    assert row["kind"] == "calibrated"
    moved = {**row, "value": row["value"] * 7.0, "lo": row["lo"] * 7.0, "hi": row["hi"] * 7.0}
    a, b = C.calibration_prior(row), C.calibration_prior(moved)
    assert (a["lo"], a["hi"]) == (b["lo"], b["hi"]) == (row["min"], row["max"])
    # calibrate.py's chosen parameters carry that prior, not the sensitivity's value x/÷ 3.
    chosen = calibrate.choose(6, 0.05, ROOT / "docs" / "data" / "ranking.csv", ["healing.collagen_output_activated"])
    assert (chosen[0]["lo"], chosen[0]["hi"]) == (row["min"], row["max"])


def test_calibration_doc_predictions_are_current():
    """docs/CALIBRATION.md's prediction table (docs/data/calibration.json) is what the committed
    posterior predicts for today's prediction and validation cases: adding a case or changing the
    model's numerics without `python python/calibrate.py --predictions-only` fails here."""
    sys.path.insert(0, str(ROOT / "python"))
    import calibrate

    fresh, ndraws = calibrate.predict_cases(calibrate.POSTERIOR)
    committed = json.loads((ROOT / "docs" / "data" / "calibration.json").read_text())["validation_predictions"]
    assert ndraws >= 100
    assert [f["id"] for f in fresh] == [f["id"] for f in committed], "cases added or removed: rerun --predictions-only"
    for f, g in zip(fresh, committed):
        for k in ("median", "p5", "p95"):
            assert abs(f[k] - g[k]) <= 1e-6 * max(1.0, abs(g[k])), (f["id"], k, f[k], g[k])
        assert f["inside"] == g["inside"], f["id"]
