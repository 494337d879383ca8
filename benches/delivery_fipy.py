#!/usr/bin/env python3
"""Accuracy and speed of needlesim's delivery unit cell against FiPy (an independent finite-volume
solver, NIST), on the same problem.

Problem (printed by `cargo bench -p needlesim --bench delivery -- compare`): an axisymmetric cell of
radius 200 um and depth 1 mm; stratum corneum 0-15 um (D_SC = kp*h_SC for caffeine by Potts-Guy),
viable epidermis 15-85 um, dermis 85-1000 um; a cylindrical channel of radius 30 um, 500 um deep,
filled with free solution (Stokes-Einstein D); surface concentration 1 (Dirichlet), perfect sink
at 1 mm, zero flux at the outer radius. Quantity: cumulative amount into the sink per area at
0.25-4 h, and the amount held in the skin. The same problem is solved a second time with a
stratum corneum that stores the solute (capacity K_SC = 20 outside the channel, the same
conductance: a lipophilic compound's SC partitioning), needlesim's rows `capacity_*` against it.

FiPy solves it on a uniform grid (2.5 um) with implicit (backward Euler) steps growing from 0.05 s
to at most 30 s and harmonic-mean face diffusivities, each step solved directly (SciPy LU, residual
below 1e-12 of the right-hand side; FiPy's default acceptance of 1e-5 had left the late-time
transient unconverged). Its 30 s steps are converged from 1 h on; the 0.25 and 0.5 h samples need
smaller ones (--dt-max). needlesim runs at its default and a fine resolution, and with the split
(LOD) and unsplit implicit schemes at steps of at most 300, 30, 10 and 3 s. The script installs
FiPy into a virtual environment under target/ (never needed by the test suite).

Run: python3 benches/delivery_fipy.py            (from the repository root)
     python3 benches/delivery_fipy.py --fipy-h 1.25e-6   (FiPy on a grid twice as fine)
     python3 benches/delivery_fipy.py --dt-max 10 --dt0 0.005 --until 0.5 --only plain
                                                  (FiPy's step-size error at the early samples)
     python3 benches/delivery_fipy.py --steady           (late-time flux against FiPy's steady state)
"""
import json
import os
import subprocess
import sys
import time
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "delivery-bench-venv")


def ensure_fipy():
    try:
        import fipy  # noqa: F401
        return
    except ImportError:
        pass
    py = os.path.join(VENV, "bin", "python")
    if os.path.abspath(sys.executable) != os.path.abspath(py):
        if not os.path.exists(py):
            venv.create(VENV, with_pip=True)
        subprocess.check_call([py, "-m", "pip", "install", "-q", "fipy", "scipy", "numpy"])
        os.execv(py, [py] + sys.argv)


def needlesim_side():
    out = subprocess.run(
        ["cargo", "bench", "-q", "-p", "needlesim", "--bench", "delivery", "--", "compare"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    line = next(l for l in out.splitlines() if l.startswith("COMPARE "))
    return json.loads(line[len("COMPARE "):])


def fipy_cell(p, h):
    """The problem on FiPy's uniform grid of spacing h, shared by the transient and steady runs:
    the mesh, depths z, cell diffusivities d (channel inside), the channel mask, harmonic face
    diffusivities, the concentration with its surface (1) and sink (0) conditions, cell volumes
    per 2 pi (FiPy's cylindrical volumes are r dr dz) and the cells next to the sink."""
    import numpy as np
    from fipy import CellVariable, CylindricalGrid2D
    R, L = p["radius_m"], p["depth_m"]
    nr, nz = int(round(R / h)), int(round(L / h))
    mesh = CylindricalGrid2D(dr=h, dz=h, nr=nr, nz=nz)  # x = r, y = depth
    r, z = mesh.cellCenters
    sc, ve, _ = p["layers_m"]
    d = np.where(z < sc, p["d_sc"], np.where(z < ve, p["d_ve"], p["d_dermis"]))
    inside = (r < p["channel_radius_m"]) & (z < p["channel_depth_m"])
    d = np.where(inside, p["d_channel"], d)
    c = CellVariable(mesh=mesh, value=0.0)
    c.constrain(1.0, mesh.facesBottom)   # skin surface (y = 0)
    c.constrain(0.0, mesh.facesTop)      # sink at 1 mm
    return {
        "mesh": mesh, "nr": nr, "nz": nz, "z": z, "d": d, "inside": inside,
        "dface": CellVariable(mesh=mesh, value=d).harmonicFaceValue, "c": c,
        # FiPy's cylindrical cell volumes are r*dr*dz (no 2*pi): restore it for amounts per area.
        "vol": 2.0 * np.pi * np.asarray(mesh.cellVolumes),
        "last_row": np.asarray(z) > L - h,
    }


def sink_flux(p, cell, h):
    """Flux into the sink per skin area, per second, from the current concentration: D (c - 0) /
    (h/2) through the top face of each cell of the last row (face area = volume / h)."""
    import numpy as np
    d, vol, last = cell["d"], cell["vol"], cell["last_row"]
    cv = np.asarray(cell["c"].value)
    return float(np.sum(d[last] * cv[last] / (h / 2) * (vol[last] / h))) / (np.pi * p["radius_m"] ** 2)


def fipy_solver(name):
    """The linear solver for each implicit step. 'lu' (default): FiPy's SciPy LU factorisation with
    iterative refinement down to a residual of 1e-12 of the right-hand side, i.e. a direct solve.
    'fipy-default': what eq.solve picks without a solver (with only SciPy installed also LU, but
    accepting a residual of 1e-5 of the right-hand side, and skipping the solve when the previous
    step's values already meet that: late in a run, when a step changes little, the concentration
    then stops being updated)."""
    if name == "fipy-default":
        return None
    from fipy.solvers.scipy import LinearLUSolver
    return LinearLUSolver(tolerance=1e-12, criterion="RHS", iterations=10)


def fipy_side(p, h=2.5e-6, dt_max=30.0, k_sc=1.0, dt0=0.05, solver="lu", until_s=None):
    """FiPy's transient (backward Euler, steps growing by 10 % from dt0 to dt_max) up to each of
    needlesim's sample times (those up to until_s if given): cumulative sink amount, amount held
    and the sink flux (per skin area) at each sample."""
    import numpy as np
    from fipy import CellVariable, DiffusionTerm, TransientTerm
    cell = fipy_cell(p, h)
    mesh, z, inside, c, vol = (cell[k] for k in ("mesh", "z", "inside", "c", "vol"))
    sc = p["layers_m"][0]
    # Storage capacity: k_sc in the stratum corneum outside the channel (same conductance d).
    cap = np.where((z < sc) & ~inside, k_sc, 1.0)
    eq = TransientTerm(coeff=CellVariable(mesh=mesh, value=cap)) == DiffusionTerm(coeff=cell["dface"])
    lin = fipy_solver(solver)
    area = np.pi * p["radius_m"] ** 2
    targets = [s[0] for s in p["default"]["samples"] if until_s is None or s[0] <= until_s + 1e-9]
    t, out, dt, steps, worst = 0.0, [], dt0, 0, 0.0
    sink = flux = 0.0
    t0 = time.perf_counter()
    for target in targets:
        while t < target - 1e-9:
            step = min(dt, target - t)
            eq.solve(var=c, dt=step, solver=lin)
            if lin is not None:
                worst = max(worst, lin.convergence.iterations)
            flux = sink_flux(p, cell, h)
            sink += step * flux
            t += step
            steps += 1
            dt = min(dt * 1.1, dt_max)
        cv = np.asarray(c.value)
        out.append([t, sink, float(np.sum(cap * cv * vol)) / area, flux])
    return {"wall_s": time.perf_counter() - t0, "cells": cell["nr"] * cell["nz"], "steps": steps,
            "h": h, "dt_max": dt_max, "dt0": dt0, "solver": solver,
            # FiPy's count of passes (residual check, then an LU solve if not met) in the longest
            # step: 2 is one solve; under 10, every step met the tolerance
            "max_lu_passes": worst, "samples": out}


def fipy_steady_flux(p, h):
    """FiPy's steady state of the same cell (one sparse solve of the diffusion equation): the sink
    flux per skin area, per second. A converged reference for the late times, where the transient
    runs carry FiPy's own step and solver error."""
    from fipy import DiffusionTerm
    cell = fipy_cell(p, h)
    DiffusionTerm(coeff=cell["dface"]).solve(var=cell["c"], solver=fipy_solver("lu"))
    return sink_flux(p, cell, h)


def steady_check(p):
    """--steady: needlesim's late-time sink flux (2 to 4 h, once the skin's content has stopped
    changing) against FiPy's steady state on two grids."""
    print("steady sink flux per skin area (per h): FiPy steady state vs needlesim's 2-4 h slope")
    ref = None
    for h in (2.5e-6, 1.25e-6):
        f = fipy_steady_flux(p, h) * 3600.0
        ref = f
        print(f"  FiPy steady, grid {h * 1e6:g} um: {f:.5e}")
    for k in ("default", "fine"):
        s = p[k]["samples"]
        slope = (s[-1][1] - s[-2][1]) / ((s[-1][0] - s[-2][0]) / 3600.0)
        print(f"  needlesim {k:8s}: {slope:.5e}  ({slope / ref:.4f} of FiPy's finer steady state)")


def parse_args():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steady", action="store_true",
                    help="needlesim's late-time flux against FiPy's steady state (2.5 and 1.25 um)")
    # Halving the grid checks whether the reference is grid-converged (1.25e-6: 128 000 cells).
    ap.add_argument("--fipy-h", type=float, default=2.5e-6, help="FiPy's grid spacing, m (2.5e-6)")
    ap.add_argument("--dt-max", type=float, default=30.0, help="FiPy's largest step, s (30)")
    ap.add_argument("--dt0", type=float, default=0.05, help="FiPy's first step, s (0.05)")
    ap.add_argument("--fipy-solver", choices=("lu", "fipy-default"), default="lu",
                    help="linear solver per step (see fipy_solver)")
    ap.add_argument("--until", type=float, default=None,
                    help="stop FiPy after the sample at this many hours (step-size checks of early times)")
    ap.add_argument("--only", choices=("plain", "capacity"), default=None,
                    help="run FiPy only without (K_SC = 1) or only with the SC capacity (rows 'capacity_*')")
    return ap.parse_args()


def main():
    ensure_fipy()
    args = parse_args()
    if args.steady:
        steady_check(needlesim_side())
        return
    p = needlesim_side()
    opts = dict(h=args.fipy_h, dt_max=args.dt_max, dt0=args.dt0, solver=args.fipy_solver,
                until_s=None if args.until is None else args.until * 3600.0)
    f = None if args.only == "capacity" else fipy_side(p, **opts)
    # The stratum corneum with a storage capacity (lipophilic solute): its own FiPy reference.
    fk = None if args.only == "plain" else fipy_side(p, k_sc=p["k_sc"], **opts)
    labels = [k for k, v in p.items() if isinstance(v, dict) and "samples" in v
              and (fk if k.startswith("capacity") else f) is not None]
    hours = [f"{s[0]/3600:g} h" for s in (f or fk)["samples"]]
    print("needlesim / FiPy, cumulative amount into the sink (and amount held in the skin at the last sample)")
    w = max(len(k) for k in labels)
    print(f"{'setting':{w}s} {'voxels':>6s} {'steps':>6s} {'wall s':>7s}  " + "  ".join(f"{h:>7s}" for h in hours) + "   held")
    for k in labels:
        q = p[k]
        ref = fk if k.startswith("capacity") else f
        ratios = [b[1] / a[1] if a[1] else float("nan") for a, b in zip(ref["samples"], q["samples"])]  # noqa: B905
        held = q["samples"][len(ref["samples"]) - 1][2] / ref["samples"][-1][2]
        print(f"{k:{w}s} {q['voxels']:6d} {q['steps']:6d} {q['wall_s']:7.3f}  " + "  ".join(f"{r:7.3f}" for r in ratios) + f"  {held:6.3f}")
    for name, r in (("FiPy", f), (f"FiPy, K_SC = {p['k_sc']:g}", fk)):
        if r is not None:
            print(f"{name}: {r['cells']} cells, {r['steps']} steps ({r['dt0']:g} s growing to <= {r['dt_max']:g} s), "
                  f"solver {r['solver']}" + (f" (at most {r['max_lu_passes']} LU passes a step)" if r["solver"] == "lu" else "")
                  + f", {r['wall_s']:.1f} s; "
                  "sink amounts " + ", ".join(f"{s[1]:.5e}" for s in r["samples"]))
    if args.until is None and f is not None:
        # The late-time sink flux of the transient against FiPy's own steady state on the same grid.
        st = fipy_steady_flux(p, args.fipy_h)
        s = f["samples"]
        slope = (s[-1][1] - s[-2][1]) / (s[-1][0] - s[-2][0])
        print(f"FiPy steady flux {st * 3600:.5e} per h; transient at {s[-1][0] / 3600:g} h: "
              f"{s[-1][3] / st:.5f} of it, mean over {s[-2][0] / 3600:g}-{s[-1][0] / 3600:g} h: {slope / st:.5f}")
    print("RESULT " + json.dumps({"fipy": f, "fipy_capacity": fk, "needlesim": p}))


if __name__ == "__main__":
    main()
