#!/bin/sh
# Fits the calibrated healing parameters to their cases (see docs/VALIDATION.md, Healing) and
# prints which case fitted which parameter. Copy the fitted values into
# crates/needlesim/src/healing/params.rs, then run `cargo run --release -p needlesim --example
# export_parameters` and `needlesim validate` (regenerates docs/VALIDATION.md).
set -e
cd "$(dirname "$0")/.."
exec cargo run --release -q -p needlesim --example calibrate_healing
