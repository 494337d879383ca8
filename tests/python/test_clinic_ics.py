"""The calendar (`plan.ics` of `needlesim plan`) is RFC 5545: parsed by the icalendar package
(pinned in python/requirements-test.txt), plus the rules a lenient parser lets through (CRLF,
folding at 75 octets, required properties, deterministic UIDs and DTSTAMP)."""

import datetime as dt
import json
import re

import pytest

from clinic_common import plan_outputs

icalendar = pytest.importorskip("icalendar", reason="icalendar is not installed")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return plan_outputs(tmp_path_factory)


def test_every_calendar_parses_and_follows_rfc5545(outputs):
    for name, (_, out) in outputs.items():
        raw = (out / "plan.ics").read_bytes()
        # Lines end in CRLF, never a bare LF or CR; no line longer than 75 octets.
        assert raw.endswith(b"\r\n"), name
        assert b"\n" not in raw.replace(b"\r\n", b""), name
        assert b"\r" not in raw.replace(b"\r\n", b""), name
        for line in raw.split(b"\r\n"):
            assert len(line) <= 75, f"{name}: {len(line)} octets: {line!r}"
        cal = icalendar.Calendar.from_ical(raw.decode("utf-8"))
        assert cal["VERSION"] == "2.0" and "PRODID" in cal
        events = list(cal.walk("VEVENT"))
        assert events, f"{name}: no event"
        uids = [str(e["UID"]) for e in events]
        assert len(set(uids)) == len(uids), f"{name}: duplicate UID"
        plan = json.loads((out / "plan.json").read_text())
        consult = dt.date.fromisoformat(plan["date"])
        for e in events:
            for prop in ["UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION"]:
                assert prop in e, f"{name}: event without {prop}"
            assert re.fullmatch(r"[0-9a-f-]{36}@needlesim", str(e["UID"]))
            # DTSTAMP is the consultation date, not the wall clock.
            stamp = e["DTSTAMP"].dt
            assert stamp == dt.datetime(consult.year, consult.month, consult.day, tzinfo=dt.timezone.utc)
            start, end = e["DTSTART"].dt, e["DTEND"].dt
            assert isinstance(start, dt.date) and not isinstance(start, dt.datetime)
            assert end > start, name
            assert "not medical advice" in str(e["DESCRIPTION"]), name
        # One event per visit, on the visit's date.
        sessions = sorted(
            e["DTSTART"].dt.isoformat() for e in events
            if str(e["SUMMARY"]).startswith("Microneedling session ")
        )
        assert sessions == sorted(v["date"] for v in plan["visits"]), name
        # Milestones per visit: the sun-protection span ends on the aftercare's "first week" day.
        for a in plan["aftercare"]:
            week = next(s for s in a["steps"] if s["phase"] == "first week")
            sun = [e for e in events
                   if str(e["SUMMARY"]) == f"Strict sun protection after session {a['session']}"]
            assert len(sun) == 1, name
            assert sun[0]["DTSTART"].dt.isoformat() == a["date"]
            assert (sun[0]["DTEND"].dt - dt.timedelta(days=1)).isoformat() == week["to"]


def test_text_is_escaped_and_unfolds(outputs):
    _, out = outputs["extra_everything"]
    cal = icalendar.Calendar.from_ical((out / "plan.ics").read_text())
    descs = [str(e["DESCRIPTION"]) for e in cal.walk("VEVENT")]
    # The long disclaimer is folded in the file and comes back whole, commas unescaped.
    assert any("This is a planning aid, not medical advice." in d for d in descs)


def test_a_broken_calendar_is_rejected():
    """The parser is not a rubber stamp."""
    with pytest.raises(Exception):
        icalendar.Calendar.from_ical("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2026-13-45\r\n")
