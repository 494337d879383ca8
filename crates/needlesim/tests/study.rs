//! The front door: `Study` -> `run` -> `StudyRun`, the same results as the stage functions,
//! inputs that do not fit the command refused as bad input.

use std::path::Path;

use needlesim::study::{Command, RunOptions, Study, pipeline};
use needlesim::timings::Timings;

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name),
    )
    .expect("example")
}

#[test]
fn a_study_runs_the_pipeline_and_lists_its_files() {
    let study = Study::from_toml_str(&example("hand_stamp.toml"), "hand_stamp.toml").unwrap();
    let run = study
        .run(&RunOptions {
            seed: Some(5),
            ..RunOptions::new(Command::Punctures)
        })
        .unwrap();
    assert_eq!(run.seed(), Some(5));
    let names: Vec<String> = run.files().unwrap().into_iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "channels_hand_left.csv",
            "zone_hand_left.svg",
            "depth_hand_left.svg",
            "punctures.json"
        ]
    );
    // The stage function gives the same zones as the front door, from the same streams.
    let mut s = study.scenario().unwrap().clone();
    s.seed = 5;
    let direct =
        pipeline::punctures(&s, &needlesim::progress::silent, &mut Timings::default()).unwrap();
    let json = run
        .files()
        .unwrap()
        .into_iter()
        .find(|f| f.name == "punctures.json")
        .unwrap();
    assert_eq!(
        json.bytes,
        serde_json::to_string_pretty(&direct.report)
            .unwrap()
            .into_bytes()
    );
    // Every stage was timed, none of it is in the files.
    for stage in [
        "read scenario",
        "generate punctures",
        "channels",
        "summarise",
    ] {
        assert!(run.timings.get(stage).is_some(), "{stage}");
    }
    assert!(!String::from_utf8_lossy(&json.bytes).contains("timing"));
}

#[test]
fn inputs_that_do_not_fit_the_command_are_bad_input() {
    let patient = Study::patient_from_toml_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/patients/fine_lines_type2.toml"),
        )
        .unwrap(),
        "fine_lines_type2.toml",
    )
    .unwrap();
    let e = patient
        .run(&RunOptions::new(Command::Simulate))
        .err()
        .expect("refused");
    assert!(e.is_bad_input());
    assert!(e.to_string().contains("use `needlesim plan`"), "{e}");
    let scenario = Study::from_toml_str(&example("hand_stamp.toml"), "hand_stamp.toml").unwrap();
    for c in [Command::Plan, Command::Simulate, Command::Deliver] {
        let e = scenario.run(&RunOptions::new(c)).err().expect("refused");
        assert!(e.is_bad_input(), "{c:?}: {e}");
    }
}
