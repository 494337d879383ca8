"""The independent cross-check of the healing ODE solver (docs/SBML.md).

`needlesim export sbml` writes one zone's lumped healing model as SBML and, with `--trajectory`,
needlesim's own trajectory of every state variable. Two solvers that share no code with needlesim
integrate the SBML file through the 4-session protocol of examples/simulate_acne_scars.toml:

* libroadrunner (CVODE, BDF), reading the file itself;
* scipy's `solve_ivp(method='BDF')` on the right-hand side that the small interpreter below builds
  from the file's MathML (rate rules, assignment rules, initial assignments, session events).

Every state variable must match needlesim's trajectory to 1e-6 relative:
`|x - x_needlesim| <= 1e-6 * max(|x_needlesim|, FLOOR * peak)`, where `peak` is the variable's
largest magnitude over the run and FLOOR = 1e-6 (values below a millionth of their peak, such as
the open surface fraction long after resealing, which decays to 1e-300, compare absolutely).

Tolerances: needlesim rtol 1e-12, atol 1e-14 of each variable's typical size ([params.numerics]);
roadrunner rtol 1e-12, scipy rtol 1e-10 (its BDF stops with "step size less than spacing between
numbers" at 1e-11 here), both with atol 1e-14 of each variable's peak.
"""

import math
import os
import subprocess
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NEEDLESIM_BIN", ROOT / "target" / "debug" / "needlesim"))
EXAMPLE = ROOT / "examples" / "simulate_acne_scars.toml"

REL_TOL = 1e-6
FLOOR = 1e-6
NEEDLESIM_NUMERICS = "\n[params.numerics]\nlumped_rtol = 1e-12\nlumped_atol_frac = 1e-14\n"
RR_RTOL = 1e-12
SCIPY_RTOL = 1e-10
ATOL_OF_PEAK = 1e-14


def needlesim(*args):
    if not BIN.exists():
        pytest.skip(f"needlesim binary not found at {BIN}: build it (cargo build) or set NEEDLESIM_BIN")
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    d = tmp_path_factory.mktemp("sbml")
    scenario = d / "acne_tight.toml"
    scenario.write_text(EXAMPLE.read_text() + NEEDLESIM_NUMERICS)
    r = needlesim("export", "sbml", scenario, "--out", d / "model.xml", "--trajectory", d / "ref.csv")
    assert r.returncode == 0, r.stderr
    ref = pd.read_csv(d / "ref.csv")
    return d / "model.xml", ref


# --------------------------------------------------------------------------------------------
# A small SBML interpreter: enough of SBML L3 core for this model, and loud about the rest.
# --------------------------------------------------------------------------------------------

_REL = {
    libsbml.AST_RELATIONAL_GT: ">",
    libsbml.AST_RELATIONAL_LT: "<",
    libsbml.AST_RELATIONAL_GEQ: ">=",
    libsbml.AST_RELATIONAL_LEQ: "<=",
    libsbml.AST_RELATIONAL_EQ: "==",
    libsbml.AST_RELATIONAL_NEQ: "!=",
}


def py(node):
    """Python source of a MathML tree."""
    t = node.getType()
    k = [py(node.getChild(i)) for i in range(node.getNumChildren())]
    if t == libsbml.AST_PLUS:
        return "(" + " + ".join(k) + ")" if k else "0.0"
    if t == libsbml.AST_TIMES:
        return "(" + " * ".join(k) + ")" if k else "1.0"
    if t == libsbml.AST_MINUS:
        return f"(-{k[0]})" if len(k) == 1 else f"({k[0]} - {k[1]})"
    if t == libsbml.AST_DIVIDE:
        return f"({k[0]} / {k[1]})"
    if t == libsbml.AST_FUNCTION_LN:
        return f"math.log({k[0]})"
    if t in _REL and len(k) == 2:
        return f"({k[0]} {_REL[t]} {k[1]})"
    if t == libsbml.AST_FUNCTION_PIECEWISE:
        expr = k[-1] if len(k) % 2 else "float('nan')"
        pairs = k[: len(k) - len(k) % 2]
        for i in range(len(pairs) - 2, -1, -2):
            expr = f"({pairs[i]} if {pairs[i + 1]} else {expr})"
        return expr
    if t == libsbml.AST_NAME:
        return node.getName()
    if t == libsbml.AST_NAME_TIME:
        return "t"
    if t in (libsbml.AST_INTEGER, libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
        return repr(float(node.getValue()))
    raise NotImplementedError(f"MathML node {t}: {libsbml.formulaToL3String(node)}")


class SbmlOde:
    """Rate rules + assignment rules + initial assignments + events `time >= t_k`, as an ODE."""

    def __init__(self, path):
        doc = libsbml.readSBMLFromFile(str(path))
        assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
        m = doc.getModel()
        # What this interpreter does not implement must not be in the file.
        assert m.getNumReactions() == 0 and m.getNumFunctionDefinitions() == 0
        assert m.getNumConstraints() == 0
        assert all(r.isAssignment() or r.isRate() for r in m.getListOfRules())
        env = {"math": math}
        for c in m.getListOfCompartments():
            env[c.getId()] = c.getSize()
        for p in m.getListOfParameters():
            env[p.getId()] = p.getValue()
        for s in m.getListOfSpecies():
            assert not s.getHasOnlySubstanceUnits() and not s.getBoundaryCondition()
            assert m.getCompartment(s.getCompartment()).getSize() == 1.0
            env[s.getId()] = s.getInitialConcentration()
        for ia in m.getListOfInitialAssignments():
            env[ia.getSymbol()] = eval(py(ia.getMath()), env, {"t": 0.0})
        rules = list(m.getListOfRules())
        assign = [(r.getVariable(), py(r.getMath())) for r in rules if r.isAssignment()]
        rates = [(r.getVariable(), py(r.getMath())) for r in rules if r.isRate()]
        self.states = [v for v, _ in rates]
        self.y0 = np.array([env[v] for v in self.states], dtype=float)
        head = "def f(t, y):\n" + "".join(f"    {v} = y[{i}]\n" for i, v in enumerate(self.states))
        head += "".join(f"    {v} = {e}\n" for v, e in assign)
        exec(head + "    return [" + ", ".join(e for _, e in rates) + "]\n", env)
        self.rhs = env["f"]
        self.events = []
        for ev in m.getListOfEvents():
            trig = ev.getTrigger()
            a = trig.getMath()
            assert a.getType() == libsbml.AST_RELATIONAL_GEQ
            assert a.getChild(0).getType() == libsbml.AST_NAME_TIME
            assert not ev.isSetDelay() and not trig.getInitialValue()
            t_ev = float(eval(py(a.getChild(1)), env))
            body = ", ".join(
                f"{ea.getVariable()!r}: {py(ea.getMath())}" for ea in ev.getListOfEventAssignments()
            )
            scope = dict(env)
            exec(head + "    return {" + body + "}\n", scope)
            self.events.append((t_ev, scope["f"]))
        self.events.sort(key=lambda e: e[0])

    def simulate(self, times, rtol, atol):
        """States at `times` (none on an event); an event fires when time reaches it (t = 0
        included: its trigger is false before the start)."""
        times = np.asarray(times, dtype=float)
        out = np.full((len(times), len(self.y0)), np.nan)
        y, t = self.y0.copy(), 0.0
        t_end = float(times.max())
        for t_next, fire in [e for e in self.events if e[0] <= t_end] + [(t_end, None)]:
            if t_next > t:
                sel = (times > t) & (times < t_next)
                sol = solve_ivp(
                    self.rhs, (t, t_next), y, method="BDF", rtol=rtol, atol=atol,
                    t_eval=np.append(times[sel], t_next),
                )
                assert sol.success, sol.message
                out[sel] = sol.y[:, :-1].T
                y, t = sol.y[:, -1], t_next
            if fire is None:
                out[times == t_end] = y
            else:
                y = y.copy()
                for v, val in fire(t, y).items():
                    y[self.states.index(v)] = val
        return out


# --------------------------------------------------------------------------------------------


def roadrunner_run(path, ref, rtol, peak, tweak=None):
    import roadrunner

    r = roadrunner.RoadRunner(str(path))
    if tweak:
        for k, v in tweak.items():
            r[k] = v
    ids = list(ref.columns[1:])
    species = set(r.model.getFloatingSpeciesIds())
    r.integrator.relative_tolerance = rtol
    r.integrator.maximum_num_steps = 1_000_000
    for i in ids:
        r.integrator.setIndividualTolerance(i, ATOL_OF_PEAK * peak[i])
    sel = ["time"] + [f"[{i}]" if i in species else i for i in ids]
    res = np.array(r.simulate(times=np.concatenate([[0.0], ref.time_s.values]), selections=sel))
    assert np.allclose(res[1:, 0], ref.time_s.values, rtol=1e-15, atol=0)
    return res[1:, 1:]


def errors(x, ref):
    ids = list(ref.columns[1:])
    want = ref[ids].values
    peak = np.abs(want).max(axis=0)
    rel = np.abs(x - want) / np.maximum(np.abs(want), FLOOR * peak)
    return pd.Series(rel.max(axis=0), index=ids)


def report(name, err):
    worst = err.idxmax()
    print(f"\n{name}: max relative error {err.max():.2e} ({worst}); per variable:")
    print(" ".join(f"{k}={v:.1e}" for k, v in err.items()))


def test_protocol_has_four_sessions(export):
    path, ref = export
    m = libsbml.readSBMLFromFile(str(path)).getModel()
    times = sorted(
        e.getTrigger().getMath().getChild(1).getValue() for e in m.getListOfEvents()
    )
    assert np.allclose(np.array(times) / 86400.0, [0, 42, 84, 126])
    assert len(ref.columns) - 1 == 33 and len(ref) >= 20


def test_libroadrunner_matches_needlesim(export):
    path, ref = export
    peak = ref.iloc[:, 1:].abs().max()
    err = errors(roadrunner_run(path, ref, RR_RTOL, peak), ref)
    report("libroadrunner (CVODE) vs needlesim", err)
    assert (err <= REL_TOL).all(), err[err > REL_TOL].to_dict()


def test_scipy_bdf_matches_needlesim(export):
    path, ref = export
    model = SbmlOde(path)
    ids = list(ref.columns[1:])
    assert sorted(model.states) == sorted(ids)
    peak = ref[ids].abs().max()
    atol = np.array([ATOL_OF_PEAK * peak[s] for s in model.states])
    out = pd.DataFrame(model.simulate(ref.time_s.values, SCIPY_RTOL, atol), columns=model.states)
    err = errors(out[ids].values, ref)
    report("scipy solve_ivp(BDF) on the SBML vs needlesim", err)
    assert (err <= REL_TOL).all(), err[err > REL_TOL].to_dict()


def test_the_comparison_sees_a_small_change(export):
    """The check is sharp: a 0.1 % change of one time constant shows up far above the tolerance."""
    path, ref = export
    peak = ref.iloc[:, 1:].abs().max()
    m = libsbml.readSBMLFromFile(str(path)).getModel()
    tv = m.getParameter("vascular_time_constant").getValue()
    err = errors(
        roadrunner_run(path, ref, RR_RTOL, peak, {"vascular_time_constant": tv * 1.001}), ref
    )
    assert err.max() > 100 * REL_TOL, err.max()
