"""Shared pieces of the sensitivity analysis and the calibration (python/sensitivity.py,
python/calibrate.py): the parameters studied with their ranges, and the reference scenario."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

import needlesim

ROOT = Path(__file__).resolve().parent.parent

# Entries that the lumped healing model does not read (they are the spatial resolutions'
# transport constants, the default acne-scar mix of a scenario without [[protocol.scars]], or
# delivery-only closure constants under occlusion): held at their values, listed as excluded.
EXCLUDED = {
    "healing.cytokine_diffusivity": "spatial resolutions only (the lumped model has no transport)",
    "healing.pdgf_diffusivity": "spatial resolutions only",
    "healing.tgfb_diffusivity": "spatial resolutions only",
    "healing.leukocyte_motility": "spatial resolutions only",
    "healing.fibroblast_motility": "spatial resolutions only",
    "healing.icepick_share": "a scenario descriptor (the default scar mix), not a tissue constant; the shares sum to 1",
    "healing.boxcar_share": "a scenario descriptor (the default scar mix)",
    "healing.rolling_share": "a scenario descriptor (the default scar mix)",
    "healing.wrinkle_depth": "feeds only the wrinkle score, which is not among the outputs studied",
    "closure.half_life_serum_s": "closure under a serum film: delivery only (healing uses the unoccluded law)",
    "closure.half_life_patch_s": "closure under a patch: delivery only",
    "injury.pen_mode_factor": "pens only; the reference protocol is a roller",
}

# A calibrated entry's registry range is the calibration's search interval, not a plausible
# range: these are studied over a factor 3 either way of the fitted value. An assumed entry's
# registry range (an order of magnitude either way) is used as it is.
CAL_FACTOR = 3.0


def log_scaled(lo: float, hi: float) -> bool:
    """Whether a range is sampled in log space: positive and spanning more than a factor 4
    (the rule docs/SENSITIVITY.md and docs/CALIBRATION.md state)."""
    return lo > 0 and hi / lo > 4.0


def registry() -> list[dict]:
    """The registry rows (defaults) of the healing, injury and closure groups."""
    return [r for r in needlesim.parameters(as_frame=False) if r["group"] in ("healing", "injury", "closure")]


def studied() -> tuple[list[dict], dict[str, str]]:
    """(parameters studied, each with lo/hi/log and the range's basis; excluded name -> why)."""
    out = []
    excluded = {}
    for r in registry():
        name = r["name"]
        if name in EXCLUDED:
            excluded[name] = EXCLUDED[name]
            continue
        if not r["settable"]:
            excluded[name] = "fixed (not settable)"
            continue
        v, lo, hi = r["value"], r["min"], r["max"]
        basis = r["range_reason"]
        if r["kind"] == "calibrated":
            lo2, hi2 = v / CAL_FACTOR, v * CAL_FACTOR
            lo, hi = max(lo, lo2), min(hi, hi2)
            basis = f"calibrated value x/÷ {CAL_FACTOR:g} within the search interval ({r['range_reason']})"
        if not (hi > lo):
            excluded[name] = "empty range"
            continue
        log = log_scaled(lo, hi)
        out.append({**r, "lo": lo, "hi": hi, "log": log, "basis": basis})
    return out, excluded


def calibration_prior(p: dict) -> dict:
    """The calibration's prior for a studied entry `p` (a row of [`studied`]).

    An assumed or literature entry keeps its registry range. A calibrated entry's prior is its
    registry range as declared in the code (the search interval, fixed before any fit), never a
    range around its current value: after `python/apply_posterior.py` that value is the last
    posterior median, and a prior centred on it would use the calibration cases twice and drift
    from one run to the next."""
    if p["kind"] != "calibrated":
        return p
    lo, hi = p["min"], p["max"]
    log = log_scaled(lo, hi)
    basis = f"the registry's search interval, fixed before any fit ({p['range_reason']})"
    return {**p, "lo": lo, "hi": hi, "log": log, "basis": basis}


def to_values(params: list[dict], unit_rows):
    """Maps rows of the unit hypercube (or of [lo, hi] in log space for log entries) to values."""
    import numpy as np

    u = np.asarray(unit_rows, dtype=float)
    out = np.empty_like(u)
    for j, p in enumerate(params):
        if p["log"]:
            out[:, j] = np.exp(math.log(p["lo"]) + u[:, j] * (math.log(p["hi"]) - math.log(p["lo"])))
        else:
            out[:, j] = p["lo"] + u[:, j] * (p["hi"] - p["lo"])
        out[:, j] = np.clip(out[:, j], p["lo"], p["hi"])
    return out


# The reference protocol of the sensitivity analysis: acne scars on the cheek, 1.5 mm roller,
# 15 passes, 4 sessions 30 days apart, phototype IV, 30 y, followed 182 days (outputs at
# 3 and 6 months from the first session).
REFERENCE = {
    "title": "sensitivity reference: acne scars, 1.5 mm roller x 4 monthly, FST IV",
    "seed": 3,
    "person": {"age_years": 30, "sex": "female", "phototype": 4},
    "device": {
        "kind": "roller",
        "needle_length_mm": 1.5,
        "needle_count": 192,
        "rows": 8,
        "drum_diameter_mm": 20,
        "drum_width_mm": 20,
    },
    "technique": {"passes": 15, "directions": 3},
    "zones": [{"name": "area", "site": "cheek", "shape": "rectangle", "width_mm": 20, "height_mm": 20}],
    "protocol": {"sessions": 4, "interval_days": 30, "follow_up_days": 182, "concerns": ["acne_scars"]},
}
DAYS = [91.0, 182.0]
OUTPUTS = [
    "collagen_i_change_pct@91",
    "collagen_i_change_pct@182",
    "collagen_iii_change_pct@91",
    "collagen_iii_change_pct@182",
    "elastin_change_pct@91",
    "elastin_change_pct@182",
    "dermal_thickness_change_pct@91",
    "dermal_thickness_change_pct@182",
    "papillary_collagen_change_pct@182",
    "epidermal_thickness_change_pct@182",
    "acne_scar_score_reduction_pct@182",
    "downtime_mean_days",
    "pih_risk_pct",
]


# --- validation cases ----------------------------------------------------------------------

METRIC_COLUMN = {
    "healing.papillary_collagen_change_pct": "papillary_collagen_change_pct@{day}",
    "healing.epidermal_thickness_change_pct": "epidermal_thickness_change_pct@{day}",
    "healing.collagen_iii_change_pct": "collagen_iii_change_pct@{day}",
    "healing.collagen_i_change_pct": "collagen_i_change_pct@{day}",
    "healing.elastin_change_pct": "elastin_change_pct@{day}",
    "healing.dermal_thickness_change_pct": "dermal_thickness_change_pct@{day}",
    "healing.acne_scar_score_reduction_pct": "acne_scar_score_reduction_pct@{day}",
    "healing.wrinkle_improvement_pct": "wrinkle_improvement_pct@{day}",
    "healing.laxity_improvement_pct": "laxity_improvement_pct@{day}",
    "healing.texture_improvement_pct": "texture_improvement_pct@{day}",
    "healing.stretch_marks_improvement_pct": "stretch_marks_improvement_pct@{day}",
    "healing.downtime_days": "downtime_mean_days",
    "healing.pih_risk_pct": "pih_risk_pct",
}


def fmt_day(d: float) -> str:
    return str(int(d)) if float(d).is_integer() else repr(float(d))


def healing_cases(role: str | None = None) -> list[dict]:
    """The healing cases with an inline scenario (validation/**.toml), optionally of one role."""
    cases = []
    for path in sorted((ROOT / "validation").rglob("*.toml")):
        c = tomllib.loads(path.read_text())
        if not str(c.get("metric", "")).startswith("healing."):
            continue
        if "scenario" not in c.get("inputs", {}):
            continue
        if role and c.get("role") != role:
            continue
        c["path"] = str(path.relative_to(ROOT))
        c["likelihood"] = likelihood_of(c)
        cases.append(c)
    return cases


def likelihood_of(c: dict) -> dict:
    """The case's likelihood from its published dispersion: binomial for counts ("k of n"),
    otherwise Gaussian with sigma = (high - low) / 4, the case's tolerance being +/- 2 SE of the
    published dispersion (or, where none is published, the tolerance taken as +/- 2 sigma)."""
    d = c.get("dispersion", "")
    m = re.search(r"(\d+)\s+of\s+(\d+)", d + " " + c.get("quantity", ""))
    if m and "binomial" in d:
        return {"kind": "binomial", "k": int(m.group(1)), "n": int(m.group(2))}
    sigma = (c["high"] - c["low"]) / 4.0
    if "none published" in d:
        basis = "no dispersion published: tolerance read as +/- 2 sigma"
    elif "CI" in d:
        # A confidence interval, possibly widened by the case's own assumptions (V01: a 99 % CI
        # over an unpublished baseline grade): its tolerance_basis says how.
        basis = "published CI and the case's tolerance_basis (tolerance read as +/- 2 sigma)"
    else:
        basis = "published SE/SD (tolerance = +/- 2 SE)"
    return {"kind": "normal", "mu": c["expected"], "sigma": sigma, "basis": basis}


def case_column(c: dict) -> str:
    return METRIC_COLUMN[c["metric"]].format(day=fmt_day(c["inputs"]["day"]))
