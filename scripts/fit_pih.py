#!/usr/bin/env python3
"""Joint maximum-likelihood fit of the PIH hazard (`healing.pih_hazard`) on every PIH case whose
role is "calibration" (binomial counts), with the other PIH cases (role "prediction") kept out
and reported as predictions.

The model's PIH risk is 1 - exp(-h * X) with X the phototype- and dose-weighted exposure of the
protocol (docs/MODEL.md), so X is read once per case from a run with h = 1 and the likelihood
sum_c [k_c ln(1 - exp(-h X_c)) - (n_c - k_c) h X_c] is maximised over h.

usage: scripts/fit_pih.py [NEEDLESIM_BIN]   (default target/debug/needlesim; run from the repo root)
"""
import json, math, os, subprocess, sys, tempfile, tomllib

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/debug/needlesim"
# id -> (events, n): the published counts of each PIH case.
COUNTS = {"V02-PIH": (5, 30), "R2-C10a": (0, 39), "R2-C10b": (0, 25), "V08-PIH": (0, 30),
          "B2.4-PIH": (0, 25), "F09-PIH": (0, 32)}


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def dump(d, prefix=""):
    out, tables = [], []
    for k, v in d.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                out.append(f"[[{prefix}{k}]]")
                out.append(dump(item, prefix + k + "."))
        else:
            out.append(f"{k} = {toml_value(v)}")
    for k, v in tables:
        out.append(f"[{prefix}{k}]")
        out.append(dump(v, prefix + k + "."))
    return "\n".join(out)


def exposure(case, tmp):
    sc = dict(case["inputs"]["scenario"])
    sc["protocol"] = dict(sc["protocol"], uncertainty_samples=0)
    sc["params"] = {"healing": {"pih_hazard": 1.0}}
    path = os.path.join(tmp, case["id"] + ".toml")
    with open(path, "w") as f:
        f.write(dump(sc) + "\n")
    out = os.path.join(tmp, case["id"])
    subprocess.run([BIN, "simulate", path, "--out", out, "--quiet"], check=True)
    with open(os.path.join(out, "outcomes.json")) as f:
        o = json.load(f)
    risk = o["zones"][0]["outcomes"]["pih_risk_pct"]["nominal"] / 100.0
    return -math.log(max(1.0 - risk, 1e-300))


def main():
    cases = []
    for root, _, files in os.walk("validation/biology"):
        for fn in sorted(files):
            if fn.endswith(".toml"):
                with open(os.path.join(root, fn), "rb") as f:
                    c = tomllib.load(f)
                if c.get("metric") == "healing.pih_risk_pct":
                    cases.append(c)
    with tempfile.TemporaryDirectory() as tmp:
        xs = {c["id"]: exposure(c, tmp) for c in cases}
    cal = [c["id"] for c in cases if c["role"] == "calibration"]

    def nll(h):
        s = 0.0
        for i in cal:
            k, n = COUNTS[i]
            p = 1.0 - math.exp(-h * xs[i])
            s -= k * math.log(max(p, 1e-300)) + (n - k) * math.log(max(1.0 - p, 1e-300))
        return s

    from scipy.optimize import minimize_scalar
    r = minimize_scalar(lambda lh: nll(math.exp(lh)), bounds=(math.log(1e-5), 0.0), method="bounded")
    h = math.exp(r.x)
    print(f"pih_hazard = {h:.4g}  (calibration cases: {', '.join(cal)}; -log L = {r.fun:.3f})")
    for c in cases:
        k, n = COUNTS[c["id"]]
        risk = 100.0 * (1.0 - math.exp(-h * xs[c["id"]]))
        ok = c["low"] <= risk <= c["high"]
        print(f"  {c['id']:9} {c['role']:11} {k}/{n}: model {risk:5.1f} %  accepted {c['low']}-{c['high']}  {'pass' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
