#!/usr/bin/env python3
"""Joint fit of the hair model's calibrated parameters on the hair calibration cases.

One command reruns it from the repository root:

    python tools/fit_hair.py            # debug build of the model (about a minute)
    python tools/fit_hair.py --release  # optimised build

It builds the example `calibrate_hair` (crates/needlesim/examples/calibrate_hair.rs), starts it
in `--serve` mode (one JSON line of every hair case's value per line of parameter values) and
fits, with scipy's `least_squares` (trust-region reflective, bounds = the registry ranges),
the five calibrated `hair` parameters jointly on the five calibration cases (residual: log of
model / published value). The prediction cases (role "validation") and the checks are only
evaluated at the fitted values: they are out-of-sample. It writes
crates/needlesim/data/hair_fit.json (fitted values, residuals, every case at the fit, number of
model evaluations, wall time); crates/needlesim/src/params/hair.rs must hold the same values
(a test compares them). See docs/MODEL.md, Hair, "Calibration".
"""

import argparse
import json
import math
import pathlib
import subprocess
import sys
import time
import tomllib

import numpy as np
from scipy.optimize import least_squares

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/needlesim/data/hair_fit.json"

# Fitted parameter -> (calibration case id, lower, upper bound = the registry range, start).
FIT = {
    "hair.mx_contact_h": ("R2-C03", 0.01, 12.0, 0.2),
    "hair.wnt_delay_days": ("R2-C05", 1.0, 12.0, 2.0),
    "hair.mx_effect_max": ("R2-C02a", 0.01, 100.0, 5.0),
    "hair.wound_anagen_gain": ("R2-C01a", 0.01, 100.0, 3.0),
    "hair.prp_signal_gain": ("R2-C01b", 0.001, 5.0, 0.5),
}


def cases():
    out = {}
    for f in sorted((ROOT / "validation/hair").glob("H-*.toml")):
        c = tomllib.loads(f.read_text())
        out[c["id"]] = c | {"file": f.name}
    return out


class Model:
    def __init__(self, release):
        cmd = ["cargo", "build", "-q", "-p", "needlesim", "--example", "calibrate_hair"]
        if release:
            cmd.append("--release")
        subprocess.run(cmd, cwd=ROOT, check=True)
        exe = ROOT / "target" / ("release" if release else "debug") / "examples" / "calibrate_hair"
        self.p = subprocess.Popen(
            [str(exe), "--serve"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.calls = 0

    def __call__(self, values):
        line = " ".join(f"{k}={float(v)!r}" for k, v in values.items())
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        self.calls += 1
        r = json.loads(self.p.stdout.readline())
        if r["errors"]:
            raise RuntimeError(f"model refused {line}: {r['errors']}")
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--release", action="store_true", help="use an optimised build")
    args = ap.parse_args()
    cs = cases()
    names = list(FIT)
    for n in names:
        cid = FIT[n][0]
        assert cs[cid]["role"] == "calibration", f"{cid} is not a calibration case"
    model = Model(args.release)
    t0 = time.time()

    def resid(x):
        r = model(dict(zip(names, np.exp(x))))
        return np.array([math.log(max(r[FIT[n][0]], 1e-9) / cs[FIT[n][0]]["expected"]) for n in names])

    lo = np.log([FIT[n][1] for n in names])
    hi = np.log([FIT[n][2] for n in names])
    x0 = np.log([FIT[n][3] for n in names])
    fit = least_squares(resid, x0, bounds=(lo, hi), diff_step=1e-4, xtol=1e-10, ftol=1e-10)
    seconds = time.time() - t0
    values = {n: float(f"{v:.4g}") for n, v in zip(names, np.exp(fit.x))}
    at = model(values)
    report = {
        "method": "scipy.optimize.least_squares (trf), log parameters within the registry ranges, "
        "residual log(model / published) per calibration case",
        "status": fit.message,
        "model_evaluations": model.calls,
        "wall_seconds": round(seconds, 1),
        "build": "release" if args.release else "debug",
        "fitted": {
            n: {
                "value": values[n],
                "case": FIT[n][0],
                "target": cs[FIT[n][0]]["expected"],
                "model": at[FIT[n][0]],
                "at_bound": bool(abs(fit.x[i] - lo[i]) < 1e-6 or abs(fit.x[i] - hi[i]) < 1e-6),
            }
            for i, n in enumerate(names)
        },
        "cases": {
            cid: {
                "role": c["role"],
                "file": c["file"],
                "expected": c["expected"],
                "low": c["low"],
                "high": c["high"],
                "model": at[cid],
                "in_band": at[cid] is not None and c["low"] <= at[cid] <= c["high"],
            }
            for cid, c in cs.items()
        },
    }
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{fit.message} ({model.calls} evaluations, {seconds:.1f} s)")
    for n, f in report["fitted"].items():
        flag = "  AT BOUND" if f["at_bound"] else ""
        print(f"  {n} = {f['value']:.4g}: {f['case']} {f['model']:.4g} (target {f['target']}){flag}")
    for cid, c in report["cases"].items():
        m = "none" if c["model"] is None else f"{c['model']:.4g}"
        band = "in band" if c["in_band"] else "OUT of band"
        print(f"  {cid:<20} {c['role']:<11} {m:>9} expected {c['expected']} [{c['low']}, {c['high']}] {band}")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
