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

FiPy solves it on a uniform grid (2.5 um) with implicit (backward Euler) steps and harmonic-mean
face diffusivities; needlesim at its default and a fine resolution, and with the split (LOD) and
unsplit implicit schemes at steps of at most 300, 30, 10 and 3 s. The script installs FiPy into a
virtual environment under target/ (never needed by the test suite).

Run: python3 benches/delivery_fipy.py            (from the repository root)
     python3 benches/delivery_fipy.py --fipy-h 1.25e-6   (FiPy on a grid twice as fine)
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


def fipy_side(p, h=2.5e-6, dt_max=30.0, k_sc=1.0):
    import numpy as np
    from fipy import CellVariable, DiffusionTerm, TransientTerm
    cell = fipy_cell(p, h)
    mesh, z, d, inside, c, vol, last_row = (
        cell[k] for k in ("mesh", "z", "d", "inside", "c", "vol", "last_row")
    )
    nr, nz = cell["nr"], cell["nz"]
    sc = p["layers_m"][0]
    # Storage capacity: k_sc in the stratum corneum outside the channel (same conductance d).
    cap = np.where((z < sc) & ~inside, k_sc, 1.0)
    eq = TransientTerm(coeff=CellVariable(mesh=mesh, value=cap)) == DiffusionTerm(coeff=cell["dface"])
    area = np.pi * p["radius_m"] ** 2
    # Flux into the sink per cell of the last row: D (c - 0) / (h/2) * face area.
    face_area = vol[last_row] / h
    targets = [s[0] for s in p["default"]["samples"]]
    t, out, dt = 0.0, [], 0.05
    sink = 0.0
    t0 = time.perf_counter()
    for target in targets:
        while t < target - 1e-9:
            step = min(dt, target - t)
            eq.solve(var=c, dt=step)
            cv = np.asarray(c.value)
            sink += step * float(np.sum(d[last_row] * cv[last_row] / (h / 2) * face_area))
            t += step
            dt = min(dt * 1.1, dt_max)
        cv = np.asarray(c.value)
        out.append([t, sink / area, float(np.sum(cap * cv * vol)) / area])
    return {"wall_s": time.perf_counter() - t0, "cells": nr * nz, "samples": out}


def fipy_steady_flux(p, h):
    """FiPy's steady state of the same cell (one sparse solve of the diffusion equation): the sink
    flux per skin area, per second. A converged reference for the late times, where the transient
    runs carry FiPy's own step and solver error."""
    import numpy as np
    from fipy import DiffusionTerm
    cell = fipy_cell(p, h)
    c, d, vol, last = cell["c"], cell["d"], cell["vol"], cell["last_row"]
    DiffusionTerm(coeff=cell["dface"]).solve(var=c)
    return float(np.sum(d[last] * np.asarray(c.value)[last] / (h / 2) * vol[last] / h)) / (np.pi * p["radius_m"] ** 2)


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


def main():
    ensure_fipy()
    if "--steady" in sys.argv:
        steady_check(needlesim_side())
        return
    # --fipy-h H: FiPy's grid spacing in metres (default 2.5e-6). Halving it checks whether the
    # reference itself is grid-converged (1.25e-6: 128 000 cells, about 8 min per run here).
    h = float(sys.argv[sys.argv.index("--fipy-h") + 1]) if "--fipy-h" in sys.argv else 2.5e-6
    p = needlesim_side()
    f = fipy_side(p, h=h)
    # The stratum corneum with a storage capacity (lipophilic solute): its own FiPy reference.
    fk = fipy_side(p, h=h, k_sc=p["k_sc"])
    labels = [k for k, v in p.items() if isinstance(v, dict) and "samples" in v]
    hours = [f"{a[0]/3600:g} h" for a in f["samples"]]
    print("needlesim / FiPy, cumulative amount into the sink (and amount held in the skin at the end)")
    print(f"{'setting':16s} {'voxels':>6s} {'steps':>6s} {'wall s':>7s}  " + "  ".join(f"{h:>7s}" for h in hours) + "   held")
    for k in labels:
        q = p[k]
        ref = fk if k.startswith("capacity") else f
        ratios = [b[1] / a[1] if a[1] else float("nan") for a, b in zip(ref["samples"], q["samples"])]  # noqa: B905
        held = q["samples"][-1][2] / ref["samples"][-1][2]
        print(f"{k:16s} {q['voxels']:6d} {q['steps']:6d} {q['wall_s']:7.3f}  " + "  ".join(f"{r:7.3f}" for r in ratios) + f"  {held:6.3f}")
    print(f"FiPy: {f['cells']} cells, {f['wall_s']:.2f} s (steps <= 30 s); with the SC capacity "
          f"K_SC = {p['k_sc']:g} (rows 'capacity_*' against it): {fk['wall_s']:.2f} s")
    print("RESULT " + json.dumps({"fipy": f, "fipy_capacity": fk, "needlesim": p}))


if __name__ == "__main__":
    main()
