#!/usr/bin/env python3
"""Joint Bayesian calibration of the healing parameters that matter (issue 19, point 2).

emcee (affine-invariant ensemble sampler) on every calibration-tagged healing case at once
(validation/**.toml with role = "calibration" and an inline scenario); cases tagged
"prediction" or "validation" never enter the likelihood: they are predicted from the posterior
afterwards. `--predictions-only` predicts them again from the committed draws without sampling
(after a case was added or the model's numerics changed); `--docs-only` rewrites
docs/CALIBRATION.md from docs/data/calibration.json.

* Parameters: the entries each calibration case was fitted to on its own before (ANCHORED), then
  the healing entries with the largest total Sobol index (docs/data/sensitivity.csv, written by
  python/sensitivity.py) on the outputs the calibration cases measure, taken round robin over
  those outputs, at most --max-params in all, ST >= --min-st.
* Priors: uniform over each entry's plausible range (log-uniform where the range spans more
  than a factor 4): an assumed or literature entry's registry range; a calibrated entry's
  registry search interval, fixed in the code before any fit (python/ns_common.py,
  calibration_prior). A prior never follows the fitted value: after apply_posterior.py that
  value is the last posterior median, and a prior around it would use the cases twice.
* Likelihoods from the published dispersions: binomial for counts ("5 of 30"); Gaussian
  otherwise, sigma = (high - low) / 4 (each case's tolerance is +/- 2 SE of its published
  dispersion, or, where none is published, is read as +/- 2 sigma).

The run stops when it has converged (chain longer than 50 integrated autocorrelation times,
split R-hat across walkers < 1.05, mean acceptance 0.1-0.9) or at --max-steps. A run that has not
converged prints so and writes nothing over the posterior file. Otherwise it writes
--posterior (default crates/needlesim/data/posterior.json: --draws draws, the registry's
fingerprint, the parameter names, seed, command, date and diagnostics), checked by the core's
own reader before it replaces the old file, plus docs/data/calibration.json and
docs/CALIBRATION.md.

    python python/calibrate.py                      # the committed posterior
    python python/calibrate.py --max-steps 40 --posterior /tmp/p.json --no-docs   # smoke
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ns_common as C  # noqa: E402

import needlesim  # noqa: E402

# Sensitivity outputs that the calibration cases measure (papillary collagen and epidermis
# follow collagen I; scar score; downtime; PIH risk).
INFORMED = [
    "pih_risk_pct",
    "papillary_collagen_change_pct@182",
    "epidermal_thickness_change_pct@182",
    "collagen_i_change_pct@182",
    "acne_scar_score_reduction_pct@182",
    "downtime_mean_days",
]
POSTERIOR = C.ROOT / "crates" / "needlesim" / "data" / "posterior.json"

# Entries the ranking may not pick: their value is computed, not fitted (the V14 set-up's
# injury dose anchors the erythema clock; with erythema_reference_downtime free, moving the
# anchor would only trade one against the other on the one downtime case).
NOT_CALIBRATED = {"healing.erythema_reference_dose"}

# The entries that were each fitted to one calibration case on their own before the joint
# calibration (their case notes in validation/ say so): they always enter the joint fit, so that
# no band perturbs a fitted entry independently of the others (every calibrated healing entry
# with a spread is drawn from the posterior). The ranking fills the rest of --max-params.
ANCHORED = [
    "healing.scar_score_gain",  # V02
    "healing.pih_hazard",  # V02-PIH and R2-C10a
    "healing.collagen_output_activated",  # V08
    "healing.epidermis_matrix_coupling",  # V08-epi
    "healing.erythema_reference_downtime",  # V14
    "healing.wrinkle_score_gain",  # V01 (issue 19 point 3: the wrinkle mapping)
    "healing.laxity_score_gain",  # V01-LAX (session 18: the laxity mapping)
    "healing.texture_score_gain",  # V01-TEX (session 18: the texture mapping)
]


def choose(max_params: int, min_st: float, ranking: Path, names: list[str] | None) -> list[dict]:
    params, _ = C.studied()
    # Priors: the sensitivity ranges, except that a calibrated entry's is its fixed search
    # interval, not its (last fitted) value x/÷ 3 (C.calibration_prior).
    meta = {p["name"]: C.calibration_prior(p) for p in params}
    if names:
        unknown = [n for n in names if n not in meta]
        if unknown:
            raise SystemExit(f"--params: not studied healing/injury/closure entries: {unknown}")
        return [meta[n] for n in names]
    import pandas as pd

    if not ranking.exists():
        raise SystemExit(f"{ranking} not found: run python/sensitivity.py first (or give --params)")
    # Rank by the total Sobol index over the outputs the calibration cases measure (collagen,
    # scar score, downtime, PIH): an entry that moves only outputs no case informs (elastin,
    # dermal thickness) would come back as its prior.
    sens = pd.read_csv(ranking.parent / "sensitivity.csv")
    sens = sens[sens["output"].isin(INFORMED)]
    # Round robin over those outputs (each output's next most influential entry), so that every
    # measured quantity has its leading parameters in the posterior.
    per_output = []
    for out in INFORMED:
        sub = sens[(sens["output"] == out) & (sens["ST"] >= min_st)].sort_values("ST", ascending=False)
        per_output.append([n for n in sub["parameter"] if n.startswith("healing.") and n in meta and n not in NOT_CALIBRATED])
    chosen = [meta[n] for n in ANCHORED if n in meta][:max_params]
    seen = {p["name"] for p in chosen}
    while len(chosen) < max_params and any(per_output):
        for lst in per_output:
            while lst and lst[0] in seen:
                lst.pop(0)
            if lst and len(chosen) < max_params:
                n = lst.pop(0)
                seen.add(n)
                chosen.append(meta[n])
    return chosen


class Model:
    """Log-posterior over the unit cube of the chosen parameters (log-uniform where log)."""

    def __init__(self, params: list[dict], cases: list[dict]):
        self.params = params
        self.names = [p["name"] for p in params]
        # One batch per distinct scenario and day (cases of one trial share their runs).
        self.batches = []
        self.cases = []
        keys = {}
        for c in cases:
            key = json.dumps([c["inputs"]["scenario"], c["inputs"]["day"]], sort_keys=True)
            if key not in keys:
                study = needlesim.Study.from_dict(c["inputs"]["scenario"], name=c["path"])
                keys[key] = len(self.batches)
                self.batches.append(needlesim.Batch(study, self.names, [c["inputs"]["day"]]))
            b = self.batches[keys[key]]
            col = C.case_column(c)
            if col not in b.columns:
                raise SystemExit(f"case {c['id']}: output {col} not produced")
            self.cases.append((c, keys[key], b.columns.index(col)))
        self.evals = 0

    def values(self, u: np.ndarray) -> np.ndarray:
        return C.to_values(self.params, u)

    def simulate(self, u: np.ndarray) -> np.ndarray:
        """Case outputs, shape (rows, cases)."""
        v = self.values(u)
        runs = [b.run(v, as_frame=False)[0] for b in self.batches]
        out = np.empty((len(u), len(self.cases)))
        for k, (_, bi, j) in enumerate(self.cases):
            out[:, k] = runs[bi][:, j]
        self.evals += len(u) * len(self.batches)
        return out

    def loglik(self, sim: np.ndarray) -> np.ndarray:
        ll = np.zeros(sim.shape[0])
        for k, (c, _, _) in enumerate(self.cases):
            L = c["likelihood"]
            y = sim[:, k]
            if L["kind"] == "binomial":
                p = np.clip(y / 100.0, 1e-9, 1 - 1e-9)
                ll += L["k"] * np.log(p) + (L["n"] - L["k"]) * np.log1p(-p)
            else:
                ll += -0.5 * ((y - L["mu"]) / L["sigma"]) ** 2 - math.log(L["sigma"])
        ll[~np.isfinite(ll)] = -np.inf
        return ll

    def __call__(self, u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(u)
        lp = np.full(len(u), -np.inf)
        inside = np.all((u >= 0.0) & (u <= 1.0), axis=1)
        if inside.any():
            lp[inside] = self.loglik(self.simulate(u[inside]))
        return lp


def split_rhat(chain: np.ndarray) -> np.ndarray:
    """Split R-hat (Gelman et al., BDA3 11.4) per parameter; chain[step, walker, param], each
    walker taken as a chain and split in halves."""
    n = chain.shape[0] // 2
    if n < 2:
        return np.full(chain.shape[2], np.inf)
    halves = np.concatenate([chain[:n], chain[n : 2 * n]], axis=1)  # (n, 2W, P)
    means = halves.mean(axis=0)
    b = n * means.var(axis=0, ddof=1)
    w = halves.var(axis=0, ddof=1).mean(axis=0)
    var = (n - 1) / n * w + b / n
    return np.sqrt(var / w)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # 9: the eight anchored entries (the wrinkle gain among them, session 14; the laxity and
    # texture gains, session 18, each informed by its own case only) and the PIH phototype
    # ratio. With 8 in session 12 (adding collagen_half_life and fibroblast_max_ratio, then
    # ranked 2nd and 3rd) the run had not converged after 9000 steps (autocorrelation time 238
    # steps and growing; docs/CALIBRATION.md).
    ap.add_argument("--max-params", type=int, default=9)
    ap.add_argument("--min-st", type=float, default=0.05)
    ap.add_argument("--params", nargs="*", help="calibrate these entries instead of the ranking's")
    ap.add_argument("--ranking", default=str(C.ROOT / "docs" / "data" / "ranking.csv"))
    ap.add_argument("--walkers", type=int, default=0, help="default: 4 x parameters (at least 16)")
    ap.add_argument("--max-steps", type=int, default=12000)
    ap.add_argument("--check-every", type=int, default=250)
    ap.add_argument("--draws", type=int, default=400)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--rhat-max", type=float, default=1.05)
    ap.add_argument("--tau-factor", type=float, default=50.0)
    ap.add_argument("--posterior", default=str(POSTERIOR))
    ap.add_argument("--no-docs", action="store_true")
    ap.add_argument("--docs-only", action="store_true", help="rewrite docs/CALIBRATION.md from docs/data/calibration.json (no sampling)")
    ap.add_argument(
        "--predictions-only",
        action="store_true",
        help="recompute the prediction and validation cases from the committed posterior draws (no sampling; "
        "after cases were added or the model's numerics changed), then rewrite docs/CALIBRATION.md",
    )
    args = ap.parse_args(argv)
    if args.docs_only:
        summary = json.loads((C.ROOT / "docs" / "data" / "calibration.json").read_text())
        write_doc(summary, C.ROOT / "docs" / "CALIBRATION.md")
        return 0
    if args.predictions_only:
        return refresh_predictions(Path(args.posterior))
    command = "python python/calibrate.py " + " ".join(argv if argv is not None else sys.argv[1:])

    import emcee

    params = choose(args.max_params, args.min_st, Path(args.ranking), args.params)
    cal = C.healing_cases("calibration")
    skipped = [c["id"] for c in cal if c["metric"] not in C.METRIC_COLUMN]
    cal = [c for c in cal if c["metric"] in C.METRIC_COLUMN]
    # Every other healing case with a scenario (roles prediction and validation) is predicted from
    # the posterior and never enters the likelihood.
    val = [c for role in ("prediction", "validation") for c in C.healing_cases(role) if c["metric"] in C.METRIC_COLUMN]
    print(f"calibrating {len(params)} parameters on {len(cal)} calibration cases: {[c['id'] for c in cal]}")
    for p in params:
        print(f"  {p['name']}: {p['lo']:.4g} to {p['hi']:.4g} {p['unit']}{' (log)' if p['log'] else ''}")
    model = Model(params, cal)

    ndim = len(params)
    nwalkers = args.walkers or max(16, 4 * ndim)
    rng = np.random.default_rng(args.seed)
    # Start around the registry's values (a small ball in the unit cube), inside the prior.
    u0 = np.array([_unit(p, p["value"]) for p in params])
    p0 = np.clip(u0 + 0.02 * rng.standard_normal((nwalkers, ndim)), 0.001, 0.999)
    sampler = emcee.EnsembleSampler(nwalkers, ndim, model, vectorize=True)
    sampler.random_state = np.random.RandomState(args.seed).get_state()  # deterministic moves
    t0, c0 = time.time(), time.process_time()
    state = p0
    converged = False
    tau = np.full(ndim, np.inf)
    rhat = np.full(ndim, np.inf)
    while sampler.iteration < args.max_steps:
        state = sampler.run_mcmc(state, args.check_every, progress=False)
        tau = sampler.get_autocorr_time(tol=0, quiet=True)
        tau = np.where(np.isfinite(tau), tau, np.inf)
        burn = int(min(sampler.iteration // 2, 3 * np.max(tau)))
        chain = sampler.get_chain(discard=burn)
        rhat = split_rhat(chain)
        acc = float(np.mean(sampler.acceptance_fraction))
        ok_tau = sampler.iteration > args.tau_factor * np.max(tau)
        ok_rhat = np.all(rhat < args.rhat_max)
        ok_acc = 0.1 <= acc <= 0.9
        print(
            f"step {sampler.iteration}: acceptance {acc:.2f}, tau max {np.max(tau):.1f} "
            f"(need steps > {args.tau_factor:g} tau), R-hat max {np.nanmax(rhat):.3f}, {time.time() - t0:.0f} s",
            flush=True,
        )
        if ok_tau and ok_rhat and ok_acc:
            converged = True
            break
    wall, cpu = time.time() - t0, time.process_time() - c0
    acc = float(np.mean(sampler.acceptance_fraction))
    diag = {
        "converged": converged,
        "steps": int(sampler.iteration),
        "walkers": nwalkers,
        "acceptance_fraction_mean": round(acc, 4),
        "acceptance_fraction_range": [round(float(x), 4) for x in (sampler.acceptance_fraction.min(), sampler.acceptance_fraction.max())],
        "autocorr_time": {p["name"]: round(float(t), 2) for p, t in zip(params, tau)},
        "rhat_split": {p["name"]: round(float(r), 4) for p, r in zip(params, rhat)},
        "criteria": f"steps > {args.tau_factor:g} x max autocorrelation time, split R-hat < {args.rhat_max}, acceptance 0.1-0.9",
        "model_runs": model.evals,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "threads": os.cpu_count(),
    }
    if not converged:
        print(
            f"NOT CONVERGED after {sampler.iteration} steps ({diag['criteria']}): tau {diag['autocorr_time']}, "
            f"R-hat {diag['rhat_split']}, acceptance {acc:.2f}. Nothing written; {args.posterior} is unchanged. "
            "Rerun with more --max-steps or fewer --max-params.",
            file=sys.stderr,
        )
        return 3

    taumax = float(np.max(tau))
    burn = int(3 * taumax)
    flat = sampler.get_chain(discard=burn, flat=True)
    lp = sampler.get_log_prob(discard=burn, flat=True)
    idx = np.linspace(0, len(flat) - 1, args.draws).round().astype(int)
    draws_u = flat[idx]
    draws = C.to_values(params, draws_u)
    fp, count = needlesim._core.registry_fingerprint()
    names = [p["name"] for p in params]
    sim_cal = model.simulate(draws_u)
    case_fit = []
    for k, c in enumerate(cal):
        y = sim_cal[:, k]
        case_fit.append(_summary(c, y))
    preds = _predict(params, val, draws_u)
    diag["burn_in"] = burn
    diag["draws_from"] = len(flat)
    provenance = {
        "command": command.strip(),
        "git_commit": _git_commit(),
        "seed": args.seed,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "needlesim_version": needlesim.__version__,
        "sampler": f"emcee {emcee.__version__} EnsembleSampler (stretch move), vectorized over walkers",
        "priors": {p["name"]: {"lo": p["lo"], "hi": p["hi"], "log_uniform": bool(p["log"]), "basis": p["basis"]} for p in params},
        "likelihood": {c["id"]: c["likelihood"] for c in cal},
        "calibration_cases": [c["id"] for c in cal],
        "calibration_cases_skipped": skipped,
        "validation_cases_predicted": [c["id"] for c in val],
        "diagnostics": diag,
        "map_log_likelihood": float(np.max(lp)),
    }
    doc = {
        "format": "needlesim-posterior",
        "format_version": 1,
        "registry": {"fingerprint": fp, "entries": count},
        "parameters": names,
        "units": [p["unit"] for p in params],
        "draws": [[float(f"{x:.6g}") for x in row] for row in draws],
        "provenance": provenance,
    }
    text = json.dumps(doc, indent=1) + "\n"
    needlesim.check_posterior(text)  # the core's own reader: refuses a mismatched file
    out = Path(args.posterior)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    med = np.median(draws, axis=0)
    print(f"converged after {sampler.iteration} steps, {wall:.0f} s wall, {cpu:.0f} s CPU; wrote {out}")
    for n, m_, lo, hi in zip(names, med, np.percentile(draws, 5, axis=0), np.percentile(draws, 95, axis=0)):
        print(f"  {n}: median {m_:.4g} (5-95 % {lo:.4g} to {hi:.4g})")
    for f in case_fit:
        print(f"  calibration {f['id']}: {f['median']:.3g} [{f['p5']:.3g}, {f['p95']:.3g}] vs {f['expected']} ({f['low']}-{f['high']})")
    for f in preds:
        print(f"  prediction {f['id']}: {f['median']:.3g} [{f['p5']:.3g}, {f['p95']:.3g}] vs {f['expected']} ({f['low']}-{f['high']}) {'in' if f['inside'] else 'OUT'}")
    if not args.no_docs:
        summary = {
            "provenance": provenance,
            "posterior": {n: {"median": float(m_), "p5": float(a), "p95": float(b)} for n, m_, a, b in zip(names, med, np.percentile(draws, 5, axis=0), np.percentile(draws, 95, axis=0))},
            "registry_values": {p["name"]: p["value"] for p in params},
            "calibration_fit": case_fit,
            "validation_predictions": preds,
        }
        data = C.ROOT / "docs" / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "calibration.json").write_text(json.dumps(summary, indent=1) + "\n")
        figure(sampler, params, burn, C.ROOT / "docs" / "img")
        write_doc(summary, C.ROOT / "docs" / "CALIBRATION.md")
    return 0


def _git_commit() -> str:
    """The checkout's commit, "-dirty" when tracked files differ from it ("unknown" outside git)."""
    import subprocess

    try:
        h = subprocess.run(["git", "rev-parse", "HEAD"], cwd=C.ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=C.ROOT, capture_output=True, text=True).stdout.strip()
        return h + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def predict_cases(posterior: Path) -> tuple[list[dict], int]:
    """Every prediction and validation case predicted from a posterior file's draws (the same
    draws the Rust core reads): the summaries of docs/data/calibration.json and the draw count."""
    doc = json.loads(posterior.read_text())
    needlesim.check_posterior(posterior.read_text())  # refuses a file that does not match the registry
    studied, _ = C.studied()
    meta = {p["name"]: C.calibration_prior(p) for p in studied}
    missing = [n for n in doc["parameters"] if n not in meta]
    if missing:
        raise SystemExit(f"{posterior}: entries not among the studied ones: {missing}")
    params = [meta[n] for n in doc["parameters"]]
    draws_u = np.array([[_unit(p, v) for p, v in zip(params, row)] for row in doc["draws"]])
    val = [c for role in ("prediction", "validation") for c in C.healing_cases(role) if c["metric"] in C.METRIC_COLUMN]
    return _predict(params, val, draws_u), len(draws_u)


def _predict(params: list[dict], cases: list[dict], draws_u: np.ndarray) -> list[dict]:
    """Each case's summary over the draws (unit cube): one model for all of them, so cases of
    one scenario and day share their runs."""
    sim = Model(params, cases).simulate(draws_u)
    return [_summary(c, sim[:, k]) for k, c in enumerate(cases)]


def refresh_predictions(posterior: Path) -> int:
    """Rewrites the predictions in docs/data/calibration.json and docs/CALIBRATION.md from the
    committed posterior ([`predict_cases`]); the posterior, its provenance and the calibration
    fit are kept."""
    preds, ndraws = predict_cases(posterior)
    for f in preds:
        print(f"  prediction {f['id']}: {f['median']:.3g} [{f['p5']:.3g}, {f['p95']:.3g}] vs {f['expected']} ({f['low']}-{f['high']}) {'in' if f['inside'] else 'OUT'}")
    path = C.ROOT / "docs" / "data" / "calibration.json"
    summary = json.loads(path.read_text())
    summary["validation_predictions"] = preds
    summary["validation_predictions_refreshed"] = {
        "command": "python python/calibrate.py --predictions-only",
        "git_commit": _git_commit(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "draws": ndraws,
    }
    path.write_text(json.dumps(summary, indent=1) + "\n")
    write_doc(summary, C.ROOT / "docs" / "CALIBRATION.md")
    print(f"{len(preds)} cases predicted from {ndraws} draws; wrote {path} and docs/CALIBRATION.md")
    return 0


def _unit(p: dict, v: float) -> float:
    if p["log"]:
        return (math.log(v) - math.log(p["lo"])) / (math.log(p["hi"]) - math.log(p["lo"]))
    return (v - p["lo"]) / (p["hi"] - p["lo"])


def _summary(c: dict, y: np.ndarray) -> dict:
    y = y[np.isfinite(y)]
    med = float(np.median(y))
    return {
        "id": c["id"],
        "metric": c["metric"],
        "expected": c["expected"],
        "low": c["low"],
        "high": c["high"],
        "median": med,
        "p5": float(np.percentile(y, 5)),
        "p95": float(np.percentile(y, 95)),
        "inside": bool(c["low"] <= med <= c["high"]),
    }


def figure(sampler, params, burn, img: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img.mkdir(parents=True, exist_ok=True)
    chain = sampler.get_chain()
    n = len(params)
    fig, axes = plt.subplots(n, 2, figsize=(12, 1.9 * n + 0.8), squeeze=False)
    for j, p in enumerate(params):
        vals = C.to_values([p] * 1, chain[:, :, j].reshape(-1, 1)).reshape(chain.shape[:2])
        ax = axes[j, 0]
        ax.plot(vals, lw=0.4, alpha=0.5, rasterized=True)  # keeps the SVG small
        ax.axvline(burn, color="k", ls="--", lw=0.8)
        ax.set_ylabel(p["name"].replace("healing.", ""), fontsize=8)
        if p["log"]:
            ax.set_yscale("log")
        ax = axes[j, 1]
        post = vals[burn:].ravel()
        bins = np.geomspace(p["lo"], p["hi"], 40) if p["log"] else np.linspace(p["lo"], p["hi"], 40)
        # Bar height = share of the draws in the bin (bins of equal width on the axis's scale):
        # `density=True` divides by the bin width in value units, which on geometric bins
        # inflates the narrow low bins and drew a spurious mode at a log prior's lower bound.
        ax.hist(post, bins=bins, weights=np.full(post.size, 1.0 / post.size), color="tab:blue", alpha=0.8, label="posterior")
        ax.axvline(p["value"], color="tab:red", lw=1, label="registry value before")
        if p["log"]:
            ax.set_xscale("log")
        ax.set_xlim(p["lo"], p["hi"])
        ax.set_yticks([])
        if j == 0:
            ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("step (dashed: burn-in)")
    axes[-1, 1].set_xlabel("value (prior: the whole axis, uniform / log-uniform); bars: share of the draws per bin")
    fig.suptitle("Joint calibration (emcee): walkers and marginal posteriors", fontsize=11)
    fig.tight_layout()
    fig.savefig(img / "calibration.png", dpi=100)
    fig.savefig(img / "calibration.svg")
    plt.close(fig)


def write_doc(s: dict, path: Path) -> None:
    pv = s["provenance"]
    d = pv["diagnostics"]
    L = [
        "# Joint calibration of the healing model",
        "",
        "Issue 19, point 2: the healing parameters that matter (by the sensitivity ranking,",
        "docs/SENSITIVITY.md) fitted jointly to every calibration case; the posterior sample is",
        "`crates/needlesim/data/posterior.json`, which the core reads for every uncertainty band.",
        "",
        f"Generated by `{pv['command']}` on {pv['date']} (needlesim {pv['needlesim_version']}, seed {pv['seed']}, commit {pv.get('git_commit', 'not recorded')}).",
        "",
        "## Method",
        "",
        f"* Sampler: {pv['sampler']}; {d['walkers']} walkers, {d['steps']} steps, burn-in {d['burn_in']} steps,",
        f"  {len(s['posterior'])} parameters; {len(pv['calibration_cases'])} cases; {d['model_runs']} model runs.",
        "* Parameters: the entries that were each fitted to one calibration case on their own",
        "  before (scar_score_gain: V02; pih_hazard: V02-PIH and R2-C10a; collagen_output_activated: V08;",
        "  epidermis_matrix_coupling: V08-epi; erythema_reference_downtime: V14) and the clinical",
        "  mappings' gains (wrinkle_score_gain: V01, session 14; laxity_score_gain: V01-LAX and",
        "  texture_score_gain: V01-TEX, session 18), so that no band perturbs a fitted entry on its",
        "  own, then the entries that matter most to the calibration cases' outputs",
        "  by the sensitivity ranking (docs/SENSITIVITY.md), round robin over those outputs.",
        "* Priors: uniform (log-uniform where the range spans more than a factor 4) over each entry's",
        "  range (listed below with its basis): an assumed or literature entry's registry range; a",
        "  calibrated entry's registry search interval, fixed in the code before any fit. A prior",
        "  never follows the fitted value: after `python/apply_posterior.py` that value is the last",
        "  posterior median, and a prior around it would use the calibration cases twice (until",
        "  session 13 the calibrated entries' priors were their current value x/÷ 3, and so drifted).",
        "* Likelihoods from the published dispersions: binomial for counts; Gaussian otherwise, with",
        "  σ = (high − low)/4 (each case's tolerance is ±2 SE of its published dispersion, or, where",
        "  none is published, is read as ±2σ). Cases tagged `prediction` or `validation` never enter the likelihood.",
        "* Posterior file: evenly spaced draws of the chains after burn-in, with the registry's",
        "  fingerprint and entry count, the parameter names and units, the seed, command, date and",
        "  these diagnostics. The core refuses a file that does not match its registry.",
        "",
        "## Convergence and cost",
        "",
        f"* Converged: **{d['converged']}** ({d['criteria']}).",
        f"* Mean acceptance fraction {d['acceptance_fraction_mean']} (walkers {d['acceptance_fraction_range'][0]}–{d['acceptance_fraction_range'][1]}).",
        f"* Cost: {d['wall_s']} s wall, {d['cpu_s']} s CPU (the process, all threads; {d['threads']} cores). The wall time depends on",
        "  what else runs on the machine (the committed run shared its 2 cores with other work); on two",
        "  idle cores it would take about CPU / 2 (not measured).",
        "",
        "| parameter | integrated autocorrelation time (steps) | split R-hat |",
        "|---|---:|---:|",
    ]
    for n in d["autocorr_time"]:
        L.append(f"| `{n}` | {d['autocorr_time'][n]} | {d['rhat_split'][n]} |")
    L += [
        "",
        "## Posterior",
        "",
        "![walkers and marginals](img/calibration.png)",
        "",
        "| parameter | value before | posterior median | 5–95 % | prior range | posterior against a prior bound |",
        "|---|---:|---:|---|---|---|",
    ]

    def unit(pr, v):
        if pr["log_uniform"]:
            return (math.log(v) - math.log(pr["lo"])) / (math.log(pr["hi"]) - math.log(pr["lo"]))
        return (v - pr["lo"]) / (pr["hi"] - pr["lo"])

    bound = []
    for n, q in s["posterior"].items():
        pr = pv["priors"][n]
        at = [w for w, hit in (("lower", unit(pr, q["p5"]) < 0.05), ("upper", unit(pr, q["p95"]) > 0.95)) if hit]
        if at:
            bound.append(n)
        L.append(f"| `{n}` | {s['registry_values'][n]:.4g} | {q['median']:.4g} | {q['p5']:.4g} – {q['p95']:.4g} | {pr['lo']:.4g} – {pr['hi']:.4g}{' (log)' if pr['log_uniform'] else ''} | {', '.join(at) or 'no'} |")
    if bound:
        L += [
            "",
            "A posterior whose 5th or 95th percentile lies in the outer 5 % of its prior range is held by",
            f"the prior, not by the data: {', '.join(f'`{n}`' for n in bound)}. Where these are the PIH",
            "entries, they trade off: a low hazard with a large ratio per phototype fits both cohorts",
            "(5/30 at type V, 0/39 at type IV) best, and only the priors (the registry's search intervals)",
            "stop them. The PIH bands are then conditional on those priors; a cohort at another phototype",
            "in the calibration set would separate the two.",
        ]
    L += [
        "",
        "## Fit to the calibration cases (posterior predictive)",
        "",
        "| case | metric | published (accepted range) | posterior median | 5–95 % | likelihood |",
        "|---|---|---|---:|---|---|",
    ]
    for f in s["calibration_fit"]:
        lk = pv["likelihood"][f["id"]]
        lks = f"binomial {lk['k']}/{lk['n']}" if lk["kind"] == "binomial" else f"normal σ = {lk['sigma']:.3g} ({lk['basis']})"
        L.append(f"| {f['id']} | `{f['metric']}` | {f['expected']} ({f['low']}–{f['high']}) | {f['median']:.3g} | {f['p5']:.3g} – {f['p95']:.3g} | {lks} |")
    L += [
        "",
        "## Predictions of the prediction and validation cases (never in the likelihood)",
        "",
    ]
    rf = s.get("validation_predictions_refreshed")
    if rf:
        L += [
            f"Recomputed from the {rf['draws']} committed draws by `{rf['command']}` at commit "
            f"{rf['git_commit']} ({rf['date']}), after the calibration run above: the same posterior, "
            "the cases and the model's numerics of that commit.",
            "",
        ]
    L += [
        "| case | metric | published (accepted range) | posterior median | 5–95 % | median inside |",
        "|---|---|---|---:|---|---|",
    ]
    for f in s["validation_predictions"]:
        L.append(f"| {f['id']} | `{f['metric']}` | {f['expected']} ({f['low']}–{f['high']}) | {f['median']:.3g} | {f['p5']:.3g} – {f['p95']:.3g} | {'yes' if f['inside'] else 'no'} |")
    if pv["calibration_cases_skipped"]:
        L += ["", f"Calibration cases whose metric the batch does not read (not in the likelihood): {', '.join(pv['calibration_cases_skipped'])}."]
    L += [
        "",
        "## Parameters that matter but are not calibrated",
        "",
        "`fibroblast_max_ratio` and the neutrophil influx rank first among the entries that are not",
        "calibrated in docs/SENSITIVITY.md: the fibroblast cap sets collagen I and III and papillary",
        "collagen, the inflammatory entries (neutrophil influx, elastase, cytokine constants) set elastin.",
        "A run that added `collagen_half_life` and `fibroblast_max_ratio` (session 12: 8 parameters, 32",
        "walkers, `--max-params 8` with the collagen outputs first) had **not converged** when it was",
        "stopped after 9000 steps (1661 s wall): the integrated autocorrelation time had reached 238",
        "steps and was still growing (criterion: steps > 50 τ), split R-hat 1.04. Only two calibration",
        "cases (V08, V08-epi, one cohort) measure collagen and epidermis, and they cannot separate the",
        "collagen output of an activated fibroblast, the collagen half-life and the fibroblast cap: the",
        "posterior is a long ridge. `collagen_half_life` has since a source (Verzijl et al. 2000, 15 y,",
        "session 14); `fibroblast_max_ratio` stays assumed, perturbed by its registry spread in the",
        "bands; a second collagen or thickness case with a different protocol would identify it. No",
        "elastin case has numbers (Kenkel et al. 2021: total elastin protein unchanged), so the",
        "inflammatory entries stay assumed.",
        "",
        "## Reproducibility",
        "",
        "The same seed and start give the same posterior (session 13: two runs, identical). Two runs",
        "that started from different registry values (session 14: the values before the wrinkle",
        "gain's first fit, then that fit's medians), both converged by the criteria above, gave",
        "medians up to 9 % apart (wrinkle gain 1.34 and 1.46, epidermis coupling 0.62 and 0.69,",
        "collagen output 26.3 and 25.3) with 5-95 % intervals that overlap almost entirely: more",
        "than the Monte Carlo error that 50 autocorrelation times imply. Read the medians to about",
        "10 %; `--tau-factor 100` (about twice the cost) would tighten them.",
        "",
        "## What the bands are now",
        "",
        "Every band of every output (`p5`/`p50`/`p95` in outcomes.json, the time-series bands, the",
        "planner's bands, the cohort's `sampled` draws) is posterior-predictive for the calibrated",
        "parameters: each band sample takes one posterior draw (chosen by the sample's seeded stream)",
        "for them, and the registry's nominal value of each is the posterior median. The parameters",
        "not in the posterior keep the log-normal perturbation around their registry value (σ of",
        "ln value = the registry's spread, `[uncertainty: ln-SD]` in `needlesim params`). A study",
        "that overrides a calibrated parameter (`[params.healing]`) samples around its own value",
        "with that perturbation instead of the posterior.",
        "",
        "Other calibration cases (transport VT-05/05b/05d/13a/13b, devices VT-04) calibrate injury and",
        "closure entries; no healing parameter enters their metrics, so the joint likelihood factorises",
        "and they are fitted on their own (docs/VALIDATION.md).",
        "",
    ]
    path.write_text("\n".join(L))


if __name__ == "__main__":
    sys.exit(main())
