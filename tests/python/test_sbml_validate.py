"""`needlesim export sbml` writes valid SBML with consistent units, from the run's parameters.

python-libsbml's `checkConsistency` runs with every check category on, units and modelling
practice included; the export must give no error and no warning. (In SBML Level 3 a unit
mismatch is a warning, so warnings count here.)
"""

import math
import os
import subprocess
from pathlib import Path

import libsbml
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NEEDLESIM_BIN", ROOT / "target" / "debug" / "needlesim"))
EXAMPLES = ROOT / "examples"


def needlesim(*args):
    if not BIN.exists():
        pytest.skip(f"needlesim binary not found at {BIN}: build it (cargo build) or set NEEDLESIM_BIN")
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True)


def issues(text):
    """Every consistency issue libsbml reports: (severity, id, message)."""
    doc = libsbml.readSBMLFromString(text)
    found = [doc.getError(i) for i in range(doc.getNumErrors())]
    for cat in (
        libsbml.LIBSBML_CAT_GENERAL_CONSISTENCY,
        libsbml.LIBSBML_CAT_IDENTIFIER_CONSISTENCY,
        libsbml.LIBSBML_CAT_UNITS_CONSISTENCY,
        libsbml.LIBSBML_CAT_MATHML_CONSISTENCY,
        libsbml.LIBSBML_CAT_SBO_CONSISTENCY,
        libsbml.LIBSBML_CAT_OVERDETERMINED_MODEL,
        libsbml.LIBSBML_CAT_MODELING_PRACTICE,
    ):
        doc.setConsistencyChecks(cat, True)
    doc.checkConsistency()
    found += [doc.getError(i) for i in range(doc.getNumErrors())]
    return doc, [(e.getSeverityAsString(), e.getErrorId(), e.getMessage().strip()) for e in found]


def export(tmp_path, *args, name="model.xml"):
    out = tmp_path / name
    r = needlesim("export", "sbml", *args, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out.read_text()


@pytest.mark.parametrize(
    "scenario", [None, "simulate_acne_scars.toml", "simulate_fine_lines.toml"]
)
def test_export_is_valid_sbml_with_consistent_units(tmp_path, scenario):
    args = [] if scenario is None else [EXAMPLES / scenario]
    doc, found = issues(export(tmp_path, *args))
    assert found == [], "\n".join(map(str, found))
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    m = doc.getModel()
    # Every parameter and species has a unit.
    for p in m.getListOfParameters():
        assert p.isSetUnits(), p.getId()
    for s in m.getListOfSpecies():
        assert s.isSetSubstanceUnits(), s.getId()
    assert m.getNumRules() > 33 and m.getNumEvents() >= 3


def test_the_units_check_catches_a_wrong_unit(tmp_path):
    """The check above can fail: one rate constant declared in seconds instead of 1/s."""
    text = export(tmp_path)
    bad = text.replace('id="k_n" name="neutrophil death rate"', 'id="k_n" name="x"', 1)
    i = bad.index('id="k_n" name="x"')
    j = bad.index('units="per_s"', i)
    bad = bad[:j] + 'units="second"' + bad[j + len('units="per_s"'):]
    _, found = issues(bad)
    assert any("k_n" in msg for _, _, msg in found), found


def test_overrides_and_person_reach_the_export(tmp_path):
    older = (EXAMPLES / "simulate_acne_scars.toml").read_text().replace("age_years = 28", "age_years = 61")
    base = tmp_path / "older.toml"
    base.write_text(older)
    scenario = tmp_path / "override.toml"
    scenario.write_text(
        older + "\n[params.healing]\ncytokine_half_life = 5400\n[params.closure]\nhalf_life_none_s = 1800\n"
    )
    m = libsbml.readSBMLFromString(export(tmp_path, scenario)).getModel()
    m0 = libsbml.readSBMLFromString(export(tmp_path, base, name="older.xml")).getModel()
    value = lambda i: m.getParameter(i).getValue()  # noqa: E731
    assert value("cytokine_half_life") == 5400
    assert value("age_years") == 61
    assert math.isclose(value("k_s"), math.log(2) / 5400, rel_tol=1e-15)
    # k_seal comes from the one channel-closure law: ln 2 / half-life, so doubling the
    # unoccluded half-life (900 s by default) halves it, whatever the depth, age, phototype, site.
    assert math.isclose(value("k_seal"), m0.getParameter("k_seal").getValue() / 2, rel_tol=1e-14)


def test_export_is_deterministic(tmp_path):
    a = export(tmp_path, EXAMPLES / "simulate_acne_scars.toml", name="a.xml")
    b = export(tmp_path, EXAMPLES / "simulate_acne_scars.toml", name="b.xml")
    assert a == b
    c = export(tmp_path, EXAMPLES / "simulate_acne_scars.toml", "--seed", "12", name="c.xml")
    assert c != a  # another puncture map: other channel statistics


def test_bad_input_is_a_clear_error(tmp_path):
    r = needlesim("export", "sbml", EXAMPLES / "simulate_acne_scars.toml", "--zone", "chin",
                  "--out", tmp_path / "x.xml")
    assert r.returncode == 2
    assert "--zone `chin`" in r.stderr and "`cheek`" in r.stderr
    r = needlesim("export", "sbml", EXAMPLES / "face_pen_0.5mm.toml", "--out", tmp_path / "x.xml")
    assert r.returncode == 2 and "[protocol]" in r.stderr
    patient = next((EXAMPLES / "patients").glob("*.toml"))
    r = needlesim("export", "sbml", patient, "--out", tmp_path / "x.xml")
    assert r.returncode == 2, r.stderr
    assert not (tmp_path / "x.xml").exists()
