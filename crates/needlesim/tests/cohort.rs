//! Virtual cohorts: validation of the cohort file, determinism (worker count, resuming),
//! failed rows, and the outputs.

use std::path::{Path, PathBuf};

use needlesim::cohort::{self, CohortOptions, CohortSpec};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("needlesim-cohort-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A small cohort: 12 patients in shards of 4, two protocols.
const SMALL: &str = r#"
title = "test cohort"
seed = 7
patients = 12
shard_size = 4
[age]
min_years = 20
max_years = 70
[sex]
female = 0.5
male = 0.5
[phototype]
probabilities = [0.1, 0.2, 0.3, 0.2, 0.1, 0.1]
[history]
isotretinoin = 0.2
[[concerns]]
kind = "acne_scars"
probability = 0.6
sites = ["cheek"]
grades = [0.25, 0.25, 0.25, 0.25]
[[concerns]]
kind = "wrinkles"
probability = 0.4
sites = ["periorbital", "forehead"]
[[protocols]]
name = "recommended"
recommended = true
[[protocols]]
name = "fixed_1mm"
setting_mm = 1.0
passes = 3
sessions = 3
interval_days = 28
"#;

/// Every file under `dir`, relative path -> bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn one_and_two_workers_give_identical_files() {
    let spec = CohortSpec::from_toml_str(SMALL).unwrap();
    assert_eq!(spec.shard_count(), 3);
    let a = tmp("w1");
    let b = tmp("w2");
    let sa = cohort::run(
        &spec,
        &a,
        &CohortOptions {
            workers: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let sb = cohort::run(
        &spec,
        &b,
        &CohortOptions {
            workers: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(sa, sb);
    let fa = files(&a);
    let fb = files(&b);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(fb[k] == *v, "{k} differs between 1 and 2 workers");
    }
    assert!(fa.contains_key("results/protocol=recommended/part-00000.parquet"));
    assert!(fa.contains_key("results/protocol=fixed_1mm/part-00002.parquet"));
    // 12 patients; acne: 1 zone, wrinkles: 2 zones; 2 protocols, 1 draw.
    assert!(sa.rows >= 24 && sa.rows <= 48, "{}", sa.rows);
    println!("{}", String::from_utf8_lossy(&fa["summary.csv"]));
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

/// The field errors of a cohort text (panics when it is valid).
fn errors(text: &str) -> Vec<needlesim::input::FieldError> {
    match CohortSpec::from_toml_str(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(needlesim::Error::File(e)) => {
            assert!(
                needlesim::Error::File(needlesim::input::FileError::Invalid {
                    kind: "cohort",
                    file: String::new(),
                    errors: vec![],
                })
                .is_bad_input()
            );
            e.field_errors().to_vec()
        }
        Err(e) => panic!("not a field error: {e}"),
    }
}

fn with(old: &str, new: &str) -> String {
    assert!(SMALL.contains(old), "{old}");
    SMALL.replacen(old, new, 1)
}

#[test]
fn impossible_distributions_are_named() {
    // Negative SD.
    let e = errors(&with(
        "max_years = 70\n",
        "max_years = 70\ndistribution = \"normal\"\nmean_years = 40\nsd_years = -5\n",
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "age.sd_years");
    assert!(e[0].message.contains("negative"), "{}", e[0].message);
    let e = errors(&with("[history]", "[skin]\nsd_scale = -1\n[history]"));
    assert_eq!(e[0].path, "skin.sd_scale");
    assert!(e[0].message.contains("negative"));
    // Probabilities not summing to 1.
    let e = errors(&with("female = 0.5", "female = 0.6"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "sex");
    assert!(e[0].message.contains("sum to 1"), "{}", e[0].message);
    let e = errors(&with(
        "[0.1, 0.2, 0.3, 0.2, 0.1, 0.1]",
        "[0.1, 0.2, 0.3, 0.2, 0.1, 0.2]",
    ));
    assert_eq!(e[0].path, "phototype.probabilities");
    assert!(e[0].value.contains("1.1"), "{}", e[0].value);
    let e = errors(&with("probability = 0.6", "probability = 0.7"));
    assert_eq!(e[0].path, "concerns");
    let e = errors(&with(
        "grades = [0.25, 0.25, 0.25, 0.25]",
        "grades = [0.5, 0.25, 0.25, 0.25]",
    ));
    assert_eq!(e[0].path, "concerns[0].grades");
    let e = errors(&with(
        "female = 0.5\nmale = 0.5",
        "female = 1.5\nmale = -0.5",
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].path, "sex.female");
    assert_eq!(e[1].path, "sex.male");
    // Age range outside 18-90.
    let e = errors(&with("min_years = 20", "min_years = 16"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "age.min_years");
    assert!(e[0].message.contains("18-90"), "{}", e[0].message);
    let e = errors(&with("max_years = 70", "max_years = 95"));
    assert_eq!(e[0].path, "age.max_years");
    // Several at once, each named.
    let e =
        errors(&with("min_years = 20", "min_years = 10").replace("female = 0.5", "female = 0.1"));
    let paths: Vec<&str> = e.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(paths, ["age.min_years", "sex"]);
    // Other checks: unknown site, duplicate protocol name, grades on another concern.
    let e = errors(&with("sites = [\"cheek\"]", "sites = [\"elbow\"]"));
    assert_eq!(e[0].path, "concerns[0].sites[0]");
    let e = errors(&with("name = \"fixed_1mm\"", "name = \"recommended\""));
    assert_eq!(e[0].path, "protocols[1].name");
    let e = errors(&with(
        "sites = [\"periorbital\", \"forehead\"]",
        "sites = [\"periorbital\", \"forehead\"]\ngrades = [1.0, 0.0, 0.0, 0.0]",
    ));
    assert_eq!(e[0].path, "concerns[1].grades");
    // An unknown key names its line.
    let e = errors(&with("[sex]", "[sex]\nother = 0.1"));
    assert!(e[0].message.contains("unknown field"), "{:?}", e[0]);
}

#[test]
fn the_schema_in_the_docs_matches_the_files() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/OUTPUTS.md"),
    )
    .unwrap();
    let section = doc.split("{#cohort}").nth(1).expect("cohort section");
    let mut documented = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = line.split('|').nth(1).unwrap();
        let names: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
        // `x_mean`, `_lo`, `_hi` expand to x_mean, x_lo, x_hi.
        let mut stem = String::new();
        for n in names {
            if let Some(s) = n.strip_suffix("_mean") {
                stem = s.to_string();
                documented.push(n.to_string());
            } else if n.starts_with('_') && !stem.is_empty() {
                documented.push(format!("{stem}{n}"));
            } else {
                documented.push(n.to_string());
            }
        }
    }
    for (name, _, _) in needlesim::cohort::table::COLUMNS {
        assert!(
            documented.iter().any(|d| d == name),
            "column `{name}` is not documented in docs/OUTPUTS.md (cohort)"
        );
    }
}

#[test]
fn a_stopped_run_resumes_to_identical_files() {
    let spec = CohortSpec::from_toml_str(SMALL).unwrap();
    let full = tmp("full");
    cohort::run(
        &spec,
        &full,
        &CohortOptions {
            workers: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let want = files(&full);

    // A run stopped part-way: shard 2 complete, shard 0 stopped after its first protocol's file
    // (no marker), shard 1 not started.
    let part = tmp("part");
    let r = cohort::run_shard(&spec, 2, &part).unwrap();
    assert!(!r.skipped);
    cohort::run_shard(&spec, 0, &part).unwrap();
    std::fs::remove_file(part.join("shards/shard-00000.json")).unwrap();
    std::fs::remove_file(part.join("results/protocol=fixed_1mm/part-00000.parquet")).unwrap();
    // A half-written temporary file of a killed writer is ignored.
    std::fs::write(
        part.join("results/protocol=recommended/.part-00001.parquet.tmp99999"),
        b"partial",
    )
    .unwrap();
    // finish refuses while shards are missing, naming them.
    let e = cohort::finish(&spec, &part).unwrap_err().to_string();
    assert!(
        e.contains("2 of 3 shard(s)") && e.contains("shards 0, 1"),
        "{e}"
    );
    // Shard 2 is skipped on the rerun; the rest is computed.
    assert!(cohort::run_shard(&spec, 2, &part).unwrap().skipped);
    cohort::run(
        &spec,
        &part,
        &CohortOptions {
            workers: 1,
            ..Default::default()
        },
    )
    .unwrap();
    std::fs::remove_file(part.join("results/protocol=recommended/.part-00001.parquet.tmp99999"))
        .unwrap();
    let got = files(&part);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert!(got[k] == *v, "{k} differs after resuming");
    }

    // Another cohort in the same folder is refused, not mixed in.
    let other = CohortSpec::from_toml_str(&SMALL.replace("seed = 7", "seed = 8")).unwrap();
    let e = cohort::run_shard(&other, 0, &part).unwrap_err();
    assert!(e.to_string().contains("another cohort"), "{e}");
    let _ = std::fs::remove_dir_all(&full);
    let _ = std::fs::remove_dir_all(&part);
}

/// Half the patients present with thinning scalp hair, half with acne scars.
fn hair_and_acne(protocols: &str) -> String {
    let head = SMALL.split("[[concerns]]").next().unwrap();
    format!(
        "{head}[[concerns]]\nkind = \"acne_scars\"\nprobability = 0.5\nsites = [\"cheek\"]\n\
         [[concerns]]\nkind = \"hair_thinning\"\nprobability = 0.5\nsites = [\"scalp\"]\n{protocols}"
    )
    .replace("isotretinoin = 0.2", "isotretinoin = 0.0")
}

/// Each row's concern, error and metric, over every shard of `protocol`.
fn rows_of(spec: &CohortSpec, out: &Path, protocol: &str) -> Vec<(String, bool, String)> {
    let mut rows = Vec::new();
    for k in 0..spec.shard_count() {
        let p = out.join(cohort::part_path(protocol, k));
        cohort::table::read_summary_rows(&p, |r| {
            rows.push((
                r.concern.clone(),
                r.failed,
                r.metric.clone().unwrap_or_default(),
            ))
        })
        .unwrap();
    }
    rows
}

#[test]
fn failed_rows_carry_their_error_and_the_cohort_goes_on() {
    // A fixed protocol of 12 sessions 180 days apart runs for more than the two years the hair
    // model simulates: the hair rows fail with that error, the acne rows are predicted.
    let text = hair_and_acne(
        "[[protocols]]\nname = \"long\"\nsetting_mm = 1.0\npasses = 3\nsessions = 12\ninterval_days = 180\n",
    );
    let spec = CohortSpec::from_toml_str(&text).unwrap();
    let out = tmp("fail");
    let s = cohort::run(&spec, &out, &CohortOptions::default()).unwrap();
    assert!(s.failed_rows > 0 && s.failed_rows < s.rows, "{s:?}");
    assert!(s.failed_shards >= 1);
    assert!(
        s.text(&out)
            .contains(&format!("{} row(s) failed", s.failed_rows))
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["failed_rows"].as_u64(), Some(s.failed_rows));
    // The failed rows keep their inputs and are the hair rows.
    let rows = rows_of(&spec, &out, "long");
    let failed: Vec<_> = rows.iter().filter(|r| r.1).collect();
    assert!(
        !failed.is_empty() && failed.iter().all(|r| r.0 == "hair_thinning"),
        "{rows:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// Thinning hair in a cohort goes to the hair model, as in the planner: before session 12 the
/// cohort ran the healing predictor alone, which has no outcome for it, so every hair row
/// failed ("the cohort runner's hair rows fail", issue 20 follow-up).
#[test]
fn hair_rows_are_predicted_by_the_hair_model() {
    let text = hair_and_acne("[[protocols]]\nname = \"recommended\"\nrecommended = true\n");
    let spec = CohortSpec::from_toml_str(&text).unwrap();
    let out = tmp("hair");
    let s = cohort::run(&spec, &out, &CohortOptions::default()).unwrap();
    let rows = rows_of(&spec, &out, "recommended");
    let hair: Vec<_> = rows.iter().filter(|r| r.0 == "hair_thinning").collect();
    assert!(!hair.is_empty(), "{rows:?}");
    assert_eq!(s.failed_rows, 0, "{rows:?}");
    assert!(
        hair.iter().all(|r| r.2.contains("hair count change")),
        "{hair:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_patient_does_not_depend_on_the_cohort_size_or_shards() {
    let spec = CohortSpec::from_toml_str(SMALL).unwrap();
    let bigger = CohortSpec::from_toml_str(
        &SMALL
            .replace("patients = 12", "patients = 40")
            .replace("shard_size = 4", "shard_size = 7"),
    )
    .unwrap();
    for i in 0..12 {
        assert_eq!(
            cohort::patient::draw(&spec, i),
            cohort::patient::draw(&bigger, i)
        );
    }

    // The same cohort read from a file (another name) is the same cohort: the same
    // fingerprint, so its shards are recognised whichever path a worker was given.
    let d = tmp("path");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("some name.toml"), SMALL).unwrap();
    let from_file = CohortSpec::from_path(&d.join("some name.toml")).unwrap();
    assert_eq!(from_file.fingerprint(), spec.fingerprint());
    assert_ne!(bigger.fingerprint(), spec.fingerprint());
    let _ = std::fs::remove_dir_all(&d);
    // The draws follow the distributions: ages within the range, every phototype drawn in 400.
    let many =
        CohortSpec::from_toml_str(&SMALL.replace("patients = 12", "patients = 400")).unwrap();
    let mut seen = [0usize; 6];
    for i in 0..400 {
        let p = cohort::patient::draw(&many, i);
        assert!((20.0..=70.0).contains(&p.person.age_years));
        seen[p.person.phototype as usize - 1] += 1;
    }
    assert!(seen.iter().all(|&n| n > 10), "{seen:?}");
    // Phototype III is the most common (30 %).
    assert_eq!(
        seen.iter().enumerate().max_by_key(|x| x.1).unwrap().0,
        2,
        "{seen:?}"
    );
}
