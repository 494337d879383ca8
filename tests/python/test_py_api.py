"""The needlesim Python package: studies, parameters, runs, results, errors (point 1 of issue 22).

Needs the wheel installed (.ci/run builds it with maturin); `NEEDLESIM_BIN` (the command line,
set by .ci/run) for the comparison with the command line's files.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

needlesim = pytest.importorskip("needlesim", reason="the needlesim wheel is not installed (bash .ci/run builds it)")

ROOT = Path(__file__).resolve().parents[2]
FINE_LINES = ROOT / "examples" / "simulate_fine_lines.toml"
PATIENT = ROOT / "examples" / "patients" / "acne_scars_type5.toml"
YEAR = 365.25 * 86400.0


def test_three_constructors_give_identical_results():
    text = FINE_LINES.read_text()
    a = needlesim.Study.from_path(FINE_LINES).run("simulate")
    b = needlesim.Study.from_toml(text).run("simulate")
    c = needlesim.Study.from_dict(tomllib.loads(text)).run("simulate")
    assert a.files.keys() == b.files.keys() == c.files.keys()
    for name in a.files:
        assert a.files[name] == b.files[name] == c.files[name], name
    assert a.data["zones"][0]["name"] == "forehead"


def test_results_are_the_command_lines_files(tmp_path):
    """The package's results are byte for byte the files `needlesim simulate` writes."""
    binary = os.environ.get("NEEDLESIM_BIN")
    if not binary or not Path(binary).exists():
        pytest.skip("NEEDLESIM_BIN (the needlesim binary) is not set; .ci/run sets it")
    out = tmp_path / "cli"
    subprocess.run(
        [binary, "simulate", str(FINE_LINES), "--out", str(out), "--seed", "9", "--quiet"],
        check=True,
        cwd=ROOT,
    )
    res = needlesim.Study.from_path(FINE_LINES).run("simulate", seed=9)
    written = {p.name: p.read_text() for p in out.iterdir()}
    assert written == res.files
    # and Results.write writes the same set
    res.write(tmp_path / "py")
    assert {p.name: p.read_text() for p in (tmp_path / "py").iterdir()} == written


def test_timeseries_are_numpy_and_pandas_at_full_precision():
    res = needlesim.Study.from_path(FINE_LINES).run()  # default: simulate (the file has [protocol])
    assert res.command == "simulate" and res.seed == 5
    arr = res.arrays()
    assert isinstance(arr["day"], np.ndarray) and arr["day"].dtype == np.float64
    df = res.timeseries("forehead")
    assert df.index.name == "day" and len(df) == len(arr["day"]) > 100
    # same columns as the CSV file, equal to its rounded numbers
    csv = pd.read_csv(io.StringIO(res.files["timeseries_forehead.csv"]))
    assert list(csv.columns) == ["day", *df.columns]
    np.testing.assert_allclose(df.index.values, csv["day"].values, atol=6e-5)
    for col in df.columns:
        np.testing.assert_allclose(df[col].values, csv[col].values, atol=0.051, rtol=1e-3, err_msg=col)
    # the bands hold the nominal trajectory at the end of follow-up
    last = df.iloc[-1]
    assert last["collagen_i_pct_p5"] <= last["collagen_i_pct"] <= last["collagen_i_pct_p95"]
    assert last["collagen_i_pct"] > 0
    # the JSON-level results are a dict
    assert res.data["zones"][0]["outcomes"]["timepoints"][-1]["collagen_i_change_pct"]["nominal"] == pytest.approx(
        last["collagen_i_pct"], abs=0.05
    )


def test_other_commands_and_their_tables():
    s = needlesim.Study.from_path(ROOT / "examples" / "hand_stamp.toml")
    p = s.run("punctures", seed=3)
    ch = p.table(f"channels_{p.zones[0]}")
    assert len(ch) == p.data["zones"][0]["punctures"] > 0
    assert {"x_mm", "y_mm", "depth_um"} <= set(ch.columns)
    with pytest.raises(needlesim.InputError, match="simulate"):
        p.arrays()
    cream = tomllib.loads((ROOT / "examples" / "deliver_lidocaine_pen_0.5mm.toml").read_text())
    cream["delivery"].update(duration_h=1, wipe_after_min=30, profile_times_h=[0.25, 0.5])
    d = needlesim.Study.from_dict(cream).run("deliver")
    ts = d.timeseries()
    assert ts.index.name == "t_h" and "needled_reached_dermis_ug_cm2" in ts.columns
    assert ts["needled_reached_dermis_ug_cm2"].iloc[-1] > ts["intact_reached_dermis_ug_cm2"].iloc[-1]


def test_params_get_set_list_and_reach_the_run():
    s = needlesim.Study.from_path(FINE_LINES)
    listing = needlesim.parameters()
    # docs/parameters.csv is generated from the registry (a Rust test keeps it current): one row
    # per parameter after the header.
    csv_rows = (ROOT / "docs" / "parameters.csv").read_text().count("\n") - 1
    assert len(listing) == len(s.params) == csv_rows
    row = s.params.info("healing.collagen_half_life")
    assert row["unit"] == "s" and row["min"] == pytest.approx(7.5 * YEAR) and row["max"] == pytest.approx(30 * YEAR)
    assert row["kind"] in ("literature", "calibrated", "assumed") and row["range_reason"]
    assert s.params["healing.collagen_half_life"] == listing.loc["healing.collagen_half_life", "value"] == pytest.approx(15 * YEAR)
    assert "healing.collagen_half_life" in s.params and "healing.nope" not in s.params
    tbl = s.params.table("healing.collagen")
    assert set(tbl.columns) >= {"value", "unit", "min", "max", "source", "kind"}
    assert all(n.startswith("healing.collagen") for n in tbl.index)

    base = s.run().data["zones"][0]["outcomes"]["timepoints"][-1]["collagen_i_change_pct"]["nominal"]
    s.params["healing.collagen_output_activated"] = 13.5
    assert s.params["healing.collagen_output_activated"] == 13.5
    assert s.params.overrides == {"healing.collagen_output_activated": 13.5}
    assert "collagen_output_activated = 13.5" in s.text
    halved = s.run().data["zones"][0]["outcomes"]["timepoints"][-1]["collagen_i_change_pct"]["nominal"]
    assert halved < base
    # the same as writing it in the file
    filed = needlesim.Study.from_toml(
        FINE_LINES.read_text() + "\n[params.healing]\ncollagen_output_activated = 13.5\n"
    ).run()
    assert filed.files == s.run().files
    del s.params["healing.collagen_output_activated"]
    assert s.params.overrides == {}
    assert s.run().files["outcomes.json"] == needlesim.Study.from_path(FINE_LINES).run().files["outcomes.json"]


def test_params_baked_in_at_validation_reach_the_run():
    """Skin parameters shape the zones' skin columns when the input is validated: an override
    from Python must go through the validation too (a plain field update would not)."""
    s = needlesim.Study.from_path(ROOT / "examples" / "hand_stamp.toml")
    before = s.run("punctures").data["zones"][0]["skin_thickness_mm"]
    s.params["skin.dermis_loss_per_decade"] = 0.0
    after = s.run("punctures").data["zones"][0]["skin_thickness_mm"]
    assert after > before


def test_param_errors_name_the_field_and_leave_the_study_as_it_was():
    s = needlesim.Study.from_path(FINE_LINES)
    with pytest.raises(needlesim.UnknownParamError) as e:
        s.params["healing.colagen_half_life"] = 10 * YEAR
    assert isinstance(e.value, KeyError) and isinstance(e.value, needlesim.FieldError)
    assert e.value.field == "params.healing.colagen_half_life"
    assert e.value.closest[0] == "collagen_half_life"
    assert "closest: collagen_half_life" in str(e.value)
    with pytest.raises(KeyError):
        s.params["healing.colagen_half_life"]
    with pytest.raises(needlesim.ParamError) as e:
        s.params["healing.collagen_half_life"] = 1000 * YEAR
    err = e.value
    assert isinstance(err, ValueError)
    assert err.field == "params.healing.collagen_half_life"
    assert err.value == "3.15576e10"
    assert "plausible range" in str(err) and "in s" in err.hint
    with pytest.raises(needlesim.ParamError, match="whole number"):
        s.params["numerics.cell_nr"] = 24.5
    with pytest.raises(needlesim.InputError, match="must be a number"):
        s.params["healing.collagen_half_life"] = "long"
    assert s.params.overrides == {}
    assert s.params["healing.collagen_half_life"] == pytest.approx(15 * YEAR)


def test_field_errors_carry_the_field_path():
    bad = FINE_LINES.read_text().replace("phototype = 2", "phototype = 9")
    with pytest.raises(needlesim.FieldError) as e:
        needlesim.Study.from_toml(bad, name="lines.toml")
    err = e.value
    assert isinstance(err, ValueError) and isinstance(err, needlesim.InputError)
    assert err.field == "person.phototype" and err.value == "9"
    assert "Fitzpatrick" in err.hint and "lines.toml" in str(err)
    # several problems: every one is listed
    worse = bad.replace('site = "forehead"', 'site = "elbow"')
    with pytest.raises(needlesim.FieldError) as e:
        needlesim.Study.from_toml(worse)
    assert {x["field"] for x in e.value.errors} >= {"person.phototype", "zones[0].site"}
    # exceptions keep their attributes through pickle (Dask sends them between processes)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is needlesim.FieldError and again.field == err.field and again.errors == err.errors
    # dicts name the field too
    d = tomllib.loads(FINE_LINES.read_text())
    d["device"]["needle_length_mm"] = -1.0
    with pytest.raises(needlesim.FieldError) as e:
        needlesim.Study.from_dict(d)
    assert e.value.field == "device.needle_length_mm"
    with pytest.raises(needlesim.InputError, match="cannot read scenario file"):
        needlesim.Study.from_path(ROOT / "no_such_file.toml")


def test_dicts_that_toml_cannot_hold():
    d = tomllib.loads(FINE_LINES.read_text())
    d["protocol"]["session_days"] = [0, None, 60]
    with pytest.raises(needlesim.InputError, match=r"protocol.session_days\[1\]"):
        needlesim.Study.from_dict(d)
    d = tomllib.loads(FINE_LINES.read_text())
    d["person"]["age_years"] = np.int64(55)  # numpy scalars are numbers
    d["device"]["needle_length_mm"] = np.float32(0.5)
    assert needlesim.Study.from_dict(d).run().files == needlesim.Study.from_path(FINE_LINES).run().files
    d["person"]["notes"] = object()
    with pytest.raises(needlesim.InputError, match="person.notes"):
        needlesim.Study.from_dict(d)


def test_commands_that_do_not_fit():
    s = needlesim.Study.from_path(FINE_LINES)
    with pytest.raises(needlesim.InputError, match="patient file"):
        s.run("plan")
    with pytest.raises(needlesim.InputError, match="unknown command"):
        s.run("simulat")
    with pytest.raises(needlesim.InputError, match="unknown resolution"):
        s.run("simulate", resolution="voxels")
    with pytest.raises(needlesim.InputError, match="scenario file"):
        needlesim.plan(FINE_LINES)


def test_plan_from_path_text_dict_and_study():
    text = PATIENT.read_text()
    a = needlesim.plan(PATIENT, predict=False)
    b = needlesim.plan(text, predict=False)
    c = needlesim.plan(tomllib.loads(text), predict=False)
    d = needlesim.plan(needlesim.Study.from_path(PATIENT), predict=False)
    assert a.plan == b.plan == c.plan == d.plan
    assert a.plan["verdict"]["kind"] == "treat_with_precautions"
    assert "not medical advice" in a.plan["disclaimer"]
    assert needlesim.Study.from_path(PATIENT).kind == "patient"


def test_progress_callback_and_its_exceptions():
    calls = []
    needlesim.Study.from_path(FINE_LINES).run(progress=lambda st, d, n: calls.append((st, d, n)))
    assert calls and all(isinstance(st, str) and isinstance(d, int) and isinstance(n, int) for st, d, n in calls)
    assert any(d == n and n > 0 for _, d, n in calls)  # a stage ended

    class Stop(Exception):
        pass

    def boom(stage, done, total):
        raise Stop(stage)

    with pytest.raises(Stop):
        needlesim.Study.from_path(FINE_LINES).run(progress=boom)


def test_the_gil_is_released_during_a_run():
    """While a run works in another thread, this thread keeps running Python code."""
    study = needlesim.Study.from_path(ROOT / "examples" / "simulate_acne_scars.toml")
    # one run long enough to see (repeated when this machine is fast)
    t0 = time.perf_counter()
    study.run()
    one = time.perf_counter() - t0
    reps = max(1, int(0.3 / max(one, 1e-3)))
    done = threading.Event()

    def work():
        for _ in range(reps):
            study.run()
        done.set()

    ticks = 0
    th = threading.Thread(target=work)
    t0 = time.perf_counter()
    th.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    th.join()
    elapsed = time.perf_counter() - t0
    # with the GIL held for the whole run, this loop would get no turn while a run works
    assert ticks >= 0.2 * elapsed / 0.002, (ticks, elapsed, reps)


def test_validate():
    v = needlesim.validate(ROOT / "validation", filter="skin")
    assert v.ok and v.counts["total"] > 0 and v.counts["regressed"] == 0
    cases = v.cases()
    assert len(cases) == v.counts["total"] and (cases["part"] == "skin").any()
    assert "cases in all:" in v.text
    with pytest.raises(needlesim.InputError, match="validation folder"):
        needlesim.validate(ROOT / "nope")
