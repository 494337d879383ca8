//! Wall time of each stage of a run: the one counters type of every command.
//!
//! Timings never go into result files (those are byte-identical for identical inputs); they are
//! printed with `--timings` and written to `timings.json` beside the results.

use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Wall time spent per stage, s, in the order the stages first ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Timings {
    pub stages: Vec<(String, f64)>,
}

impl Timings {
    /// Adds the time since `t0` to the stage `name` (stages run per zone accumulate).
    pub fn add(&mut self, name: &str, t0: Instant) {
        self.record(name, t0.elapsed().as_secs_f64());
    }

    /// Adds `seconds` to the stage `name`.
    pub fn record(&mut self, name: &str, seconds: f64) {
        match self.stages.iter_mut().find(|(n, _)| n == name) {
            Some((_, t)) => *t += seconds,
            None => self.stages.push((name.to_string(), seconds)),
        }
    }

    /// Runs `f` as (part of) the stage `name`.
    pub fn time<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let v = f();
        self.add(name, t0);
        v
    }

    /// Appends every stage of `other`.
    pub fn extend(&mut self, other: &Timings) {
        for (n, t) in &other.stages {
            self.record(n, *t);
        }
    }

    /// The time of a stage, s.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.stages.iter().find(|(n, _)| n == name).map(|s| s.1)
    }

    /// One line per stage (`timing  <stage> <ms> ms`) and the total wall time since `start`.
    pub fn lines(&self, total_wall_s: f64) -> String {
        let mut s = String::new();
        for (stage, t) in &self.stages {
            s.push_str(&format!("timing  {stage:<24} {:>10.3} ms\n", t * 1e3));
        }
        s.push_str(&format!(
            "timing  {:<24} {:>10.3} ms\n",
            "total (wall)",
            total_wall_s * 1e3
        ));
        s
    }

    /// The content of `timings.json`: each stage and the total wall time, s.
    pub fn to_json(&self, total_wall_s: f64) -> String {
        #[derive(Serialize)]
        struct Stage<'a> {
            stage: &'a str,
            seconds: f64,
        }
        #[derive(Serialize)]
        struct File<'a> {
            stages: Vec<Stage<'a>>,
            total_wall_s: f64,
        }
        let f = File {
            stages: self
                .stages
                .iter()
                .map(|(n, t)| Stage {
                    stage: n,
                    seconds: *t,
                })
                .collect(),
            total_wall_s,
        };
        serde_json::to_string_pretty(&f).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_accumulate_in_first_run_order() {
        let mut t = Timings::default();
        t.record("a", 1.0);
        t.record("b", 2.0);
        t.record("a", 0.5);
        assert_eq!(t.stages, vec![("a".into(), 1.5), ("b".into(), 2.0)]);
        assert_eq!(t.get("b"), Some(2.0));
        let v: serde_json::Value = serde_json::from_str(&t.to_json(4.0)).unwrap();
        assert_eq!(v["stages"][0]["stage"], "a");
        assert_eq!(v["total_wall_s"], 4.0);
        assert!(t.lines(4.0).contains("total (wall)"));
    }
}
