#!/usr/bin/env python3
"""Fit the parallel-route model of intact-skin permeability on measured human kp values.

One command reruns everything from the committed data:

    python tools/fit_intact_routes.py

It reads crates/needlesim/data/intact_kp_huskindb.csv (measured log kp per compound, see its
header), fits the free constants of the polar (aqueous pore) and appendageal routes with the
lipid route fixed at Potts-Guy 1992, and writes

* crates/needlesim/data/intact_routes_fit.json: fitted constants, RMSE (fit / held-out) and the
  prediction of every compound (the Rust route model is tested against these predictions);
* docs/img/intact_kp_fit.png and .svg: predicted vs measured log kp.

`--extract HUSKINDB_CSV` rebuilds the data CSV from the HuskinDB export (the `huskinDB.csv` of
the HuskinDB publication repository); see docs/TRANSPORT.md "Intact skin: parallel routes".

The model (the same equations as crates/needlesim/src/delivery/physchem.rs):

    kp = kp_lipid + kp_polar + kp_appendageal                       (parallel routes)
    log10 kp_lipid[cm/h] = -2.7 + 0.71 log P - 0.0061 MW              (Potts & Guy 1992, fixed)
    kp_polar = (eps / (tau L_sc)) * D_free(r_s) * H_Renkin(r_s / r_pore)      (fitted: both)
    kp_appendageal = f_follicle * D_free(r_s) / L_appendage  (L_appendage set by caffeine's
                     follicular share, Kattou et al. 2017; f_follicle of the trunk, Otberg 2004)
    r_s: sphere of MW * v_bar / N_A;  D_free: Stokes-Einstein at 32 C in water
"""

import argparse
import json
import math
import pathlib
import sys

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "crates/needlesim/data/intact_kp_huskindb.csv"
OUT_JSON = ROOT / "crates/needlesim/data/intact_routes_fit.json"
FIG = ROOT / "docs/img/intact_kp_fit"

# Constants shared with the Rust model (PhysChemParams defaults; change both together).
K_B = 1.380649e-23
N_A = 6.02214076e23
TEMPERATURE_K = 305.15
VISCOSITY_PA_S = 0.765e-3
SPECIFIC_VOLUME_M3_KG = 0.8e-3
CM_PER_H = 1e-2 / 3600.0
# Follicular orifice area fraction of the fitted skin (abdomen/breast/thigh surgical and cadaver
# skin): the trunk value of Otberg et al. 2004 (see docs/TRANSPORT.md); fixed, not fitted.
FOLLICLE_AREA_FRACTION = 1.4e-3

HEADER = """\
# Intact human skin permeability coefficients, one row per compound.
# Database: HuskinDB (Stepanov D, Canipa S, Wolber G. HuskinDB, a database for skin permeation of
#   xenobiotics. Scientific Data 7, 426 (2020), doi:10.1038/s41597-020-00764-z; licence CC BY 4.0).
#   Export read: huskinDB.csv of github.com/RhDm/huskinDB_publication (commit 3edb807), 546 records.
# Filter: human skin (HuskinDB holds human skin only); donor not neat; for each compound its records
#   on 'epidermis' or 'stratum corneum' membranes (SC-limited), or, for a compound with none, its
#   records on full-thickness skin ('epidermis, dermis'); dermis-only and SC-stripped records left out;
#   inorganic salts (calculated log P below -8: borax, borates) left out.
# Aggregation: median of log kp over all records of a compound; n_records counts them.
# Columns: compound; log_kp_cm_h (median log10 kp, cm/h; the database gives cm/s, + log10 3600);
#   log_p (octanol/water log P as listed in HuskinDB: RDKit Crippen, calculated); mw_g_mol (as
#   listed: monoisotopic mass, g/mol); n_records; membrane (epidermis_or_sc / full_thickness); sd_log_kp (SD across records, empty for one);
#   split ('fit' or 'held_out': compounds sorted by log P, every 4th held out).
"""


def extract(src: pathlib.Path) -> None:
    d = pd.read_csv(src)
    # Inorganic salts (borax, borates) have meaningless calculated log P (below -8): left out.
    d = d[(d["neat"] == 0) & (d["LogP"] > -8.0)]
    sc_limited = d["used layer"].isin(["epidermis", "stratum corneum"])
    full = d["used layer"] == "epidermis, dermis"
    # SC-limited records of a compound where there are any; otherwise its full-thickness ones.
    has_sc = set(d.loc[sc_limited, "Compound name"])
    f = d[sc_limited | (full & ~d["Compound name"].isin(has_sc))]
    f = f.assign(membrane=np.where(f["used layer"] == "epidermis, dermis", "full_thickness", "epidermis_or_sc"))
    g = (
        f.groupby("Compound name")
        .agg(
            log_kp_cm_s=("logkp (cm/s)", "median"),
            n_records=("logkp (cm/s)", "size"),
            sd=("logkp (cm/s)", "std"),
            log_p=("LogP", "first"),
            mw_g_mol=("molecular weight", "first"),
            membrane=("membrane", "first"),
        )
        .reset_index()
    )
    g["log_kp_cm_h"] = g["log_kp_cm_s"] + math.log10(3600.0)
    g = g.sort_values(["log_p", "Compound name"], kind="mergesort").reset_index(drop=True)
    g["split"] = ["held_out" if i % 4 == 3 else "fit" for i in range(len(g))]
    out = pd.DataFrame(
        {
            "compound": g["Compound name"].str.strip(),
            "log_kp_cm_h": g["log_kp_cm_h"].round(4),
            "log_p": g["log_p"].round(4),
            "mw_g_mol": g["mw_g_mol"].round(3),
            "n_records": g["n_records"],
            "membrane": g["membrane"],
            "sd_log_kp": g["sd"].round(3),
            "split": g["split"],
        }
    )
    with open(DATA, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        out.to_csv(fh, index=False, lineterminator="\n")
    print(f"wrote {DATA.relative_to(ROOT)}: {len(out)} compounds")


def radius_m(mw):
    v = mw * 1e-3 * SPECIFIC_VOLUME_M3_KG / N_A
    return np.cbrt(3.0 * v / (4.0 * math.pi))


def d_free(r):
    return K_B * TEMPERATURE_K / (6.0 * math.pi * VISCOSITY_PA_S * r)


def renkin(rs, rp):
    lam = np.clip(rs / rp, 0.0, 1.0)
    drag = 1.0 - 2.104 * lam + 2.09 * lam**3 - 0.95 * lam**5
    return np.clip((1.0 - lam) ** 2 * drag, 0.0, None)


# The appendageal route is not identifiable from kp data alone (fitted freely, its path length
# runs to the upper bound and the polar route takes its place). It is set instead so that open
# follicles add APPENDAGE_SHARE_CAFFEINE to caffeine's permeability through the other routes
# (Kattou et al. 2017: the follicular route raises caffeine's predicted systemic availability by
# about 20 % against blocked follicles), and re-derived at each step of the polar fit.
APPENDAGE_SHARE_CAFFEINE = 0.2
CAFFEINE = {"log_p": -1.0293, "mw_g_mol": 194.08}  # the HuskinDB row (Crippen log P)


def lipid_polar(theta, log_p, mw):
    log_porosity, r_pore_nm = theta[0], theta[1]
    r = radius_m(mw)
    d = d_free(r)
    lipid = 10.0 ** (-2.7 + 0.71 * log_p - 0.0061 * mw)
    polar = 10.0**log_porosity * d * renkin(r, r_pore_nm * 1e-9) / CM_PER_H
    return lipid, polar


def appendage_length_m(theta):
    lip, pol = lipid_polar(theta, np.array([CAFFEINE["log_p"]]), np.array([CAFFEINE["mw_g_mol"]]))
    kp_other = (lip + pol)[0] * CM_PER_H
    d = d_free(radius_m(CAFFEINE["mw_g_mol"]))
    return FOLLICLE_AREA_FRACTION * d / (APPENDAGE_SHARE_CAFFEINE * kp_other)


def routes(theta, log_p, mw):
    """kp of each route, cm/h. theta = (log10 eps/(tau L) [1/m], r_pore [nm])."""
    lipid, polar = lipid_polar(theta, log_p, mw)
    app = FOLLICLE_AREA_FRACTION * d_free(radius_m(mw)) / appendage_length_m(theta) / CM_PER_H
    return lipid, polar, app


def predict(theta, log_p, mw):
    return np.log10(sum(routes(theta, log_p, mw)))


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--extract", type=pathlib.Path, help="rebuild the data CSV from huskinDB.csv")
    ap.add_argument("--no-figure", action="store_true")
    args = ap.parse_args()
    if args.extract:
        extract(args.extract)
    data = pd.read_csv(DATA, comment="#")
    fit = data[data["split"] == "fit"]
    held = data[data["split"] == "held_out"]

    def resid(theta):
        return predict(theta, fit["log_p"].values, fit["mw_g_mol"].values) - fit["log_kp_cm_h"].values

    # Bounds: eps/(tau L) 1e-4..1e5 per m (porosity 1e-6..1e-2, tortuosity 1..1000, a 10-20 um SC),
    # pore radius 0.3-50 nm.
    lo = [-4.0, 0.3]
    hi = [5.0, 50.0]
    best = None
    for start in ([0.0, 1.0], [-1.0, 3.0], [1.0, 0.7], [-2.0, 10.0], [2.0, 20.0]):
        r = least_squares(resid, start, bounds=(lo, hi), xtol=1e-12, ftol=1e-12, gtol=1e-12)
        if best is None or r.cost < best.cost - 1e-12:
            best = r
    theta = best.x
    # Standard errors from the Jacobian (linearised, residual variance from the fit).
    dof = max(len(fit) - len(theta), 1)
    s2 = 2.0 * best.cost / dof
    try:
        cov = np.linalg.inv(best.jac.T @ best.jac) * s2
        se = np.sqrt(np.diag(cov)).tolist()
    except np.linalg.LinAlgError:
        se = [float("nan")] * 2
    at_bound = [bool(abs(t - l) < 1e-6 or abs(t - h) < 1e-6) for t, l, h in zip(theta, lo, hi)]

    def pg(df):
        return -2.7 + 0.71 * df["log_p"].values - 0.0061 * df["mw_g_mol"].values

    hf, hh = fit[fit["log_p"] < 0.0], held[held["log_p"] < 0.0]
    pred_all = predict(theta, data["log_p"].values, data["mw_g_mol"].values)
    lip, pol, app = routes(theta, data["log_p"].values, data["mw_g_mol"].values)
    result = {
        "source": "tools/fit_intact_routes.py on crates/needlesim/data/intact_kp_huskindb.csv",
        "model": "kp = Potts-Guy 1992 lipid + polar (eps/(tau L) D_free Renkin(r_s/r_pore)) + appendageal (f D_free / L_app)",
        "constants": {
            "temperature_k": TEMPERATURE_K,
            "fluid_viscosity_pa_s": VISCOSITY_PA_S,
            "small_specific_volume_m3_kg": SPECIFIC_VOLUME_M3_KG,
            "follicle_area_fraction": FOLLICLE_AREA_FRACTION,
        },
        "fitted": {
            "polar_porosity_per_length_per_m": 10.0 ** theta[0],
            "polar_pore_radius_m": theta[1] * 1e-9,
            "log10_polar_porosity_per_length_se": se[0],
            "polar_pore_radius_nm_se": se[1],
            "at_bound": at_bound,
        },
        "derived": {
            "appendage_path_length_m": appendage_length_m(theta),
            "appendage_share_caffeine": APPENDAGE_SHARE_CAFFEINE,
        },
        "n_fit": int(len(fit)),
        "n_held_out": int(len(held)),
        "rmse_log_kp_fit": rmse(predict(theta, fit["log_p"].values, fit["mw_g_mol"].values), fit["log_kp_cm_h"]),
        "rmse_log_kp_held_out": rmse(predict(theta, held["log_p"].values, held["mw_g_mol"].values), held["log_kp_cm_h"]),
        "rmse_log_kp_potts_guy_alone_fit": rmse(pg(fit), fit["log_kp_cm_h"]),
        "rmse_log_kp_potts_guy_alone_held_out": rmse(pg(held), held["log_kp_cm_h"]),
        "rmse_log_kp_hydrophilic_fit": rmse(predict(theta, hf["log_p"].values, hf["mw_g_mol"].values), hf["log_kp_cm_h"]),
        "rmse_log_kp_hydrophilic_held_out": rmse(predict(theta, hh["log_p"].values, hh["mw_g_mol"].values), hh["log_kp_cm_h"]),
        "rmse_log_kp_potts_guy_alone_hydrophilic_fit": rmse(pg(hf), hf["log_kp_cm_h"]),
        "rmse_log_kp_potts_guy_alone_hydrophilic_held_out": rmse(pg(hh), hh["log_kp_cm_h"]),
        "n_hydrophilic": [int(len(hf)), int(len(hh))],
        "log_p_range": [float(data["log_p"].min()), float(data["log_p"].max())],
        "mw_range": [float(data["mw_g_mol"].min()), float(data["mw_g_mol"].max())],
        "predictions": [
            {
                "compound": c,
                "split": s,
                "log_p": float(lp),
                "mw_g_mol": float(m),
                "measured_log_kp_cm_h": float(y),
                "predicted_log_kp_cm_h": round(float(p), 6),
                "lipid_kp_cm_h": float(a),
                "polar_kp_cm_h": float(b),
                "appendageal_kp_cm_h": float(e),
            }
            for c, s, lp, m, y, p, a, b, e in zip(
                data["compound"], data["split"], data["log_p"], data["mw_g_mol"],
                data["log_kp_cm_h"], pred_all, lip, pol, app,
            )
        ],
    }
    OUT_JSON.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    f = result["fitted"]
    print(f"{len(data)} compounds (fit {len(fit)}, held out {len(held)}); "
          f"log P {result['log_p_range'][0]:.2f}..{result['log_p_range'][1]:.2f}, "
          f"MW {result['mw_range'][0]:.0f}..{result['mw_range'][1]:.0f}")
    print(f"eps/(tau L) = {f['polar_porosity_per_length_per_m']:.4g} /m (log10 SE {se[0]:.2f}); "
          f"r_pore = {theta[1]:.3f} nm (SE {se[1]:.2f}); at bound: {at_bound}; "
          f"L_app (derived) = {result['derived']['appendage_path_length_m']:.4g} m")
    print(f"RMSE log kp: fit {result['rmse_log_kp_fit']:.3f}, held out {result['rmse_log_kp_held_out']:.3f} "
          f"(Potts-Guy alone: {result['rmse_log_kp_potts_guy_alone_fit']:.3f} / "
          f"{result['rmse_log_kp_potts_guy_alone_held_out']:.3f})")
    print(f"  log P < 0 ({result['n_hydrophilic'][0]} / {result['n_hydrophilic'][1]}): fit "
          f"{result['rmse_log_kp_hydrophilic_fit']:.3f}, held out {result['rmse_log_kp_hydrophilic_held_out']:.3f} "
          f"(Potts-Guy alone: {result['rmse_log_kp_potts_guy_alone_hydrophilic_fit']:.3f} / "
          f"{result['rmse_log_kp_potts_guy_alone_hydrophilic_held_out']:.3f})")
    if not args.no_figure:
        figure(data, pred_all, result)
    return 0


def figure(data, pred, result):
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "needlesim"
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 5.6), dpi=120)
    pgv = -2.7 + 0.71 * data["log_p"].values - 0.0061 * data["mw_g_mol"].values
    m = data["log_kp_cm_h"].values
    fitm = (data["split"] == "fit").values
    ax.scatter(m, pgv, s=12, marker="x", color="0.6", label="Potts-Guy 1992 alone")
    ax.scatter(m[fitm], pred[fitm], s=18, color="tab:blue",
               label=f"routes, fitted ({fitm.sum()}): RMSE {result['rmse_log_kp_fit']:.2f}")
    ax.scatter(m[~fitm], pred[~fitm], s=22, marker="s", facecolor="none", edgecolor="tab:red",
               label=f"routes, held out ({(~fitm).sum()}): RMSE {result['rmse_log_kp_held_out']:.2f}")
    lim = [-8.5, 0.5]
    ax.plot(lim, lim, color="k", lw=0.8)
    ax.plot(lim, [lim[0] + 1, lim[1] + 1], color="k", lw=0.5, ls=":")
    ax.plot(lim, [lim[0] - 1, lim[1] - 1], color="k", lw=0.5, ls=":")
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel("measured log10 kp (cm/h), HuskinDB median")
    ax.set_ylabel("predicted log10 kp (cm/h)")
    ax.set_title("Intact human skin: parallel routes vs Potts-Guy alone", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.text(0.98, 0.02, "Data: HuskinDB (Stepanov et al., Sci Data 2020, CC BY 4.0)",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.3")
    fig.tight_layout()
    fig.savefig(str(FIG) + ".png")
    fig.savefig(str(FIG) + ".svg", metadata={"Date": None})
    print(f"wrote {FIG.relative_to(ROOT)}.png/.svg")


if __name__ == "__main__":
    sys.exit(main())
