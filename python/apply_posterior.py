#!/usr/bin/env python3
"""Writes the posterior medians of crates/needlesim/data/posterior.json into the registry
(crates/needlesim/src/params/healing.rs) as the calibrated entries' values, so that the nominal
run is the centre of the posterior-predictive bands (a test checks they agree).

Each entry becomes `Calibrated`, its source names the joint calibration, and a factor range
(`ASSUMED`, `LIT`: relative to the value) is replaced by the same bounds written out, so that the
prior stays where it was. Run after python/calibrate.py; then rebuild and run
`cargo run --release -p needlesim --example export_parameters` (docs/parameters.csv).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "crates" / "needlesim" / "src" / "params" / "healing.rs"
POSTERIOR = ROOT / "crates" / "needlesim" / "data" / "posterior.json"


def main() -> int:
    doc = json.loads(POSTERIOR.read_text())
    pri = doc["provenance"]["priors"]
    cases = ", ".join(doc["provenance"]["calibration_cases"])
    med = np.median(np.array(doc["draws"]), axis=0)
    text = TABLE.read_text()
    for name, m in zip(doc["parameters"], med):
        short = name.removeprefix("healing.")
        pat = re.compile(
            rf'^(?P<ind>\s+){short} = (?P<val>.+?), "(?P<unit>[^"]*)", (?P<kind>\w+), (?P<spread>[\d.]+), (?P<range>.+), "(?P<src>(?:[^"\\]|\\.)*)",\s*$',
            re.M,
        )
        mt = pat.search(text)
        if not mt:
            print(f"{name}: row not found in {TABLE}", file=sys.stderr)
            return 2
        rng = mt["range"]
        if rng in ("ASSUMED", "LIT") or rng.startswith("Range::factor"):
            lo, hi = pri[name]["lo"], pri[name]["hi"]
            why = "the joint calibration's prior: the registry's plausible range before calibration"
            rng = f'Range::between({lo:.6e}, {hi:.6e}, "{why}")'
        old = mt["src"]
        src = f"joint calibration, posterior median (docs/CALIBRATION.md; cases {cases})"
        if old and not old.startswith("joint calibration"):
            src += f"; prior from: {old}"
        row = f'{mt["ind"]}{short} = {m:.6e}, "{mt["unit"]}", Calibrated, {mt["spread"]}, {rng}, "{src}",'
        text = text[: mt.start()] + row + text[mt.end() :]
        print(f"{name} = {m:.6e} {mt['unit']}")
    TABLE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
