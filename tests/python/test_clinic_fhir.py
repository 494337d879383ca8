"""The FHIR export (`fhir-bundle.json` of `needlesim plan`) is a valid FHIR R4 Bundle.

Validated with the fhir.resources package (pinned in python/requirements-test.txt). Its
version 8 ships the R4 model as `fhir.resources.R4B`: R4B is the R4-compatible release, and the
resources used here (Bundle, Patient, Observation, Condition, MedicationStatement, Procedure,
CarePlan) are unchanged from R4. The package checks structure, cardinality, required fields and
data types, but not coded values against their value sets, so the required codes are checked
here against the R4 value sets.
"""

import json
import tomllib

import pytest

from clinic_common import plan_outputs

R4B = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources is not installed")

# Required bindings of R4 (hl7.org/fhir/R4 value sets) for the codes the export writes.
VALUE_SETS = {
    ("Bundle", "type"): {"document", "message", "transaction", "transaction-response", "batch",
                         "batch-response", "history", "searchset", "collection"},
    ("Patient", "gender"): {"male", "female", "other", "unknown"},
    ("Observation", "status"): {"registered", "preliminary", "final", "amended", "corrected",
                                "cancelled", "entered-in-error", "unknown"},
    ("MedicationStatement", "status"): {"active", "completed", "entered-in-error", "intended",
                                        "stopped", "on-hold", "unknown", "not-taken"},
    ("Procedure", "status"): {"preparation", "in-progress", "not-done", "on-hold", "stopped",
                              "completed", "entered-in-error", "unknown"},
    ("CarePlan", "status"): {"draft", "active", "on-hold", "revoked", "completed",
                             "entered-in-error", "unknown"},
    ("CarePlan", "intent"): {"proposal", "plan", "order", "option"},
}
ACTIVITY_STATUS = {"not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled",
                   "stopped", "unknown", "entered-in-error"}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return plan_outputs(tmp_path_factory)


def references(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "reference":
                yield v
            else:
                yield from references(v)
    elif isinstance(x, list):
        for v in x:
            yield from references(v)


def test_every_bundle_validates_against_the_r4_model(outputs):
    for name, (patient_file, out) in outputs.items():
        raw = json.loads((out / "fhir-bundle.json").read_text())
        bundle = R4B.Bundle.model_validate(raw)  # raises on any structural error
        assert bundle.type == "collection", name
        types = [e.resource.__resource_type__ for e in bundle.entry]
        for t in ["Patient", "Condition", "CarePlan"]:
            assert t in types, f"{name}: no {t}"
        assert types.count("Patient") == 1 and types.count("CarePlan") == 1, name
        for e in raw["entry"]:
            r = e["resource"]
            assert e["fullUrl"] == f"urn:uuid:{r['id']}", name
            for (rt, field), allowed in VALUE_SETS.items():
                if r["resourceType"] == rt and field in r:
                    assert r[field] in allowed, f"{name}: {rt}.{field} = {r[field]}"
            for a in r.get("activity", []):
                assert a["detail"]["status"] in ACTIVITY_STATUS, name
        assert raw["type"] in VALUE_SETS[("Bundle", "type")]
        # Every reference points at a resource of the bundle.
        urls = {e["fullUrl"] for e in raw["entry"]}
        for ref in references(raw["entry"]):
            assert ref in urls, f"{name}: dangling reference {ref}"


def test_every_medicine_and_concern_is_exported(outputs):
    for name, (patient_file, out) in outputs.items():
        patient = tomllib.loads(patient_file.read_text())
        raw = json.loads((out / "fhir-bundle.json").read_text())
        res = [e["resource"] for e in raw["entry"]]
        meds = [r for r in res if r["resourceType"] == "MedicationStatement"]
        names = [m["medicationCodeableConcept"]["text"] for m in meds]
        assert sorted(names) == sorted(m["name"] for m in patient.get("medications", [])), name
        for m in patient.get("medications", []):
            ms = next(x for x in meds if x["medicationCodeableConcept"]["text"] == m["name"])
            note = ms["note"][0]["text"]
            if m["class"] == "other":
                assert "not checked" in note and "ask the practitioner" in note, note
            stopped = m.get("stopped")
            expect = "completed" if stopped and stopped <= patient["date"] else "active"
            assert ms["status"] == expect, (name, m)
        conditions = [r for r in res if r["resourceType"] == "Condition"]
        n_concerns = sum(len(z["concerns"]) for z in patient["zones"])
        assert len(conditions) >= n_concerns, name
        careplan = next(r for r in res if r["resourceType"] == "CarePlan")
        assert len(careplan.get("addresses", [])) == n_concerns, name
        plan = json.loads((out / "plan.json").read_text())
        assert careplan["status"] == ("on-hold" if plan["verdict"]["kind"] == "not_today" else "active")
        # One planned Procedure per zone session, dated as the plan's visits.
        planned = [r for r in res if r["resourceType"] == "Procedure" and r["status"] == "preparation"]
        sessions = sorted((v["date"], z["zone"]) for v in plan["visits"] for z in v["zones"])
        got = sorted((p["extension"][0]["valueTiming"]["event"][0],
                      p["bodySite"][0]["text"].split("`")[1]) for p in planned)
        assert got == sessions, name
        done = [r for r in res if r["resourceType"] == "Procedure" and r["status"] == "completed"]
        assert len(done) == len(patient.get("procedures", [])), name
        # The screening findings travel as notes, the disclaimer first.
        assert "not medical advice" in careplan["note"][0]["text"]
        assert len(careplan["note"]) == 1 + len(plan["findings"]), name


def test_a_broken_bundle_is_rejected(outputs):
    """The validator is not a rubber stamp: a missing required field fails."""
    _, out = outputs["fine_lines_type2"]
    raw = json.loads((out / "fhir-bundle.json").read_text())
    cp = next(e["resource"] for e in raw["entry"] if e["resource"]["resourceType"] == "CarePlan")
    del cp["intent"]
    with pytest.raises(Exception):
        R4B.Bundle.model_validate(raw)
