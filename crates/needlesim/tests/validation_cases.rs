//! Every validation case under `validation/` evaluates, and its outcome is the one recorded at
//! its last review (`expect`): a change that makes a case pass or fail is noticed.

use needlesim::validate::{Expect, find_cases, run_case};

#[test]
fn validation_cases_keep_their_reviewed_outcome() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../validation");
    let files = find_cases(&dir).expect("validation folder is readable");
    assert!(files.len() >= 12, "found only {} cases", files.len());
    let mut problems = Vec::new();
    for f in &files {
        let o = run_case(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if let Some(e) = &o.error {
            problems.push(format!("{}: metric failed: {e}", o.id));
        } else if o.pass != (o.expect == Expect::Pass) {
            problems.push(format!(
                "{}: simulated {:?}, range {}-{}, expected to {:?}",
                o.id, o.simulated, o.low, o.high, o.expect
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_broken_case_is_an_error_not_a_pass() {
    let dir = std::env::temp_dir().join(format!("needlesim-badcase-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        "id = \"X\"\nquantity = \"q\"\nunit = \"u\"\nexpected = 1\nlow = 0\nhigh = 2\ntolerance_basis = \"t\"\nrole = \"validation\"\ngrade = \"A\"\nsource = \"s\"\nexpect = \"pass\"\nmetric = \"no.such.metric\"\n",
    )
    .unwrap();
    let o = run_case(&f).unwrap();
    assert!(
        !o.pass
            && o.error
                .as_deref()
                .is_some_and(|e| e.contains("unknown metric"))
    );
    std::fs::write(&f, "id = 1\n").unwrap();
    assert!(run_case(&f).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
