"""Shared helpers of the clinic-output tests: run `needlesim plan` on every bundled example
patient (and on an extra patient with every history item, a procedure and a medicine of class
"other") and hand back the output folders."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PATIENTS = sorted((ROOT / "examples" / "patients").glob("*.toml"))

# Every history flag, a zone-local and a person-wide skin state, an earlier procedure and a
# medicine the rules do not know (class "other"): the paths the examples leave out.
EXTRA = """
title = "Everything at once; commas, semicolons; and a backslash \\\\ in the title"
date = "2026-11-21"
skin_state = ["sunburn"]
[patient]
age_years = 71
sex = "male"
phototype = 6
[history]
keloid_tendency = true
metal_allergy = true
diabetes = "controlled"
pih_history = true
[[medications]]
name = "warfarin 5 mg"
class = "other"
started = "2020-01-01"
[[medications]]
name = "tretinoin cream 0.05 %"
class = "topical_retinoid"
started = "2026-01-01"
stopped = "2026-11-01"
[[procedures]]
kind = "filler"
date = "2026-09-01"
zones = ["cheeks"]
detail = "hyaluronic acid, 1 mL"
[[zones]]
name = "cheeks"
site = "cheek"
concerns = [{ kind = "melasma" }, { kind = "acne_scars", grade = 3, scar_types = ["icepick", "boxcar"] }]
[[zones]]
name = "eyes"
site = "periorbital"
concerns = [{ kind = "fine_lines" }]
skin_state = ["eczema_flare"]
"""


def binary():
    b = os.environ.get("NEEDLESIM_BIN") or str(ROOT / "target" / "debug" / "needlesim")
    if not pathlib.Path(b).is_file():
        pytest.skip(f"needlesim binary not found at {b}: build it (cargo build) or set NEEDLESIM_BIN")
    return b


def plan_outputs(tmp_path_factory):
    """{name: output folder} for every example patient and the extra patient."""
    b = binary()
    base = tmp_path_factory.mktemp("clinic")
    extra = base / "extra_everything.toml"
    extra.write_text(EXTRA)
    out = {}
    for p in PATIENTS + [extra]:
        d = base / p.stem
        r = subprocess.run(
            [b, "plan", str(p), "--out", str(d), "--no-predict", "--quiet"],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        out[p.stem] = (p, d)
    return out
