//! Every validation case under `validation/` evaluates, and its outcome is the one recorded in the
//! reviewed baseline (`validation/baseline.json`): a change that makes a case pass or fail is
//! noticed here (CI) as well as by `needlesim validate`.

use needlesim::validate::{Baseline, Status, apply_baseline, find_cases, run_case, run_dir};

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../validation")
}

#[test]
fn validation_cases_keep_their_baseline_outcome() {
    let dir = dir();
    let baseline = Baseline::load(&dir.join("baseline.json")).expect("baseline is readable");
    // The copy built into the library (shown in reports) is the committed file.
    assert_eq!(Baseline::stored(), baseline);
    let mut outcomes = run_dir(&dir, &[], &mut |_, _, _| {}).expect("cases are readable");
    assert!(outcomes.len() >= 12, "found only {} cases", outcomes.len());
    let stale = apply_baseline(&mut outcomes, &baseline);
    assert!(stale.is_empty(), "baseline cases without a file: {stale:?}");
    let mut problems = Vec::new();
    for o in &outcomes {
        if let Some(e) = &o.error {
            problems.push(format!("{}: metric failed: {e}", o.id));
        } else if matches!(o.status, Status::Regressed | Status::NowPasses) {
            problems.push(format!(
                "{}: simulated {:?}, range {}-{}: {:?} against the baseline (review, then `needlesim validate --update-baseline`)",
                o.id, o.simulated, o.low, o.high, o.status
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Healing outcomes carry their uncertainty band around the nominal value.
    let v02 = outcomes.iter().find(|o| o.id == "V02").expect("V02 exists");
    let [lo, hi] = v02.band.expect("V02 has a band");
    let x = v02.simulated.unwrap();
    assert!(lo < x && x < hi, "{lo} {x} {hi}");
}

#[test]
fn a_broken_case_is_an_error_not_a_pass() {
    let dir = std::env::temp_dir().join(format!("needlesim-badcase-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        "id = \"X\"\nquantity = \"q\"\nunit = \"u\"\nexpected = 1\nlow = 0\nhigh = 2\ntolerance_basis = \"t\"\nrole = \"validation\"\ngrade = \"A\"\nsource = \"s\"\nmetric = \"no.such.metric\"\n",
    )
    .unwrap();
    let o = run_case(&f).unwrap();
    assert!(
        !o.pass
            && o.error
                .as_deref()
                .is_some_and(|e| e.contains("unknown metric"))
    );
    // A folder run rejects a metric with no model part, naming it.
    let e = run_dir(&dir, &[], &mut |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("no.such.metric"), "{e}");
    std::fs::write(&f, "id = 1\n").unwrap();
    assert!(run_case(&f).is_err());
    assert_eq!(find_cases(&dir).unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
