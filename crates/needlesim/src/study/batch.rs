//! Many runs of one scenario with model parameters varied by name: the engine of the global
//! sensitivity analysis (`python/sensitivity.py`) and the joint calibration
//! (`python/calibrate.py`), reached from Python as `needlesim.batch`.
//!
//! A [`Batch`] prepares the scenario once (validation, puncture maps and channels) and then runs
//! the lumped healing model for each row of parameter values, with the nominal parameters of the
//! row only (no uncertainty samples: the caller does the sampling). Rows that vary only
//! `healing.*` or `closure.*` entries reuse the prepared channels; a row that varies an
//! `injury.*` or `device.*` entry regenerates the zone's punctures and channels with it (same
//! seed). Rows are independent: [`Batch::run`] spreads them over rayon's threads and the result
//! does not depend on the thread count.
//!
//! The outputs are read from the first zone's outcomes generically: every banded outcome of
//! the zone (`downtime_mean_days`, `pih_risk_pct`, ...) by its name, and every banded outcome of
//! each requested day as `name@day` (e.g. `collagen_i_change_pct@90`), nominal values. A row
//! that fails (a value out of its range, an integrator failure) gives NaN in every column and
//! its message in [`BatchResult::errors`].

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::healing::params::DAY;
use crate::pipeline::PuncturesRun;
use crate::scenario::Scenario;

use super::Study;

/// Groups a batch may vary: healing and closure reuse the channels; injury and device rebuild them.
pub const GROUPS: [&str; 4] = ["healing", "closure", "injury", "device"];

/// A scenario prepared for many runs.
pub struct Batch {
    base: Scenario,
    punctures: PuncturesRun,
    names: Vec<String>,
    days: Vec<f64>,
    rebuild: bool,
    columns: Vec<String>,
}

/// The outputs of [`Batch::run`]: `values[row][column]`.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchResult {
    pub columns: Vec<String>,
    pub values: Vec<Vec<f64>>,
    /// `(row, message)` of the rows that failed (their values are NaN).
    pub errors: Vec<(usize, String)>,
}

fn bad(msg: String) -> Error {
    Error::Input(msg)
}

impl Batch {
    /// Prepares `study` (a scenario with a `[protocol]`) to run with the parameters `names`
    /// (`group.name`, groups in [`GROUPS`]) varied, reporting the outcomes at `days` (days from
    /// the first session, within the follow-up).
    pub fn new(study: &Study, names: &[String], days: &[f64]) -> Result<Batch> {
        let Some(s) = study.scenario() else {
            return Err(bad(
                "a batch runs a scenario file (with a [protocol]), not a patient file".into(),
            ));
        };
        let mut s = s.clone();
        let mut rebuild = false;
        for n in names {
            s.params
                .get(n)
                .map_err(|e| bad(format!("batch parameter: {e}")))?;
            let group = n.split('.').next().unwrap_or("");
            if !GROUPS.contains(&group) {
                return Err(bad(format!(
                    "batch parameter `{n}`: only the groups {} can be varied in a batch (the others are baked into the validated scenario); vary it in the file instead",
                    GROUPS.join(", ")
                )));
            }
            rebuild |= group == "injury" || group == "device";
        }
        let Some(pr) = s.protocol.as_mut() else {
            return Err(bad(
                "the scenario has no [protocol]: a batch runs the healing model".into(),
            ));
        };
        pr.samples = 0;
        for &d in days {
            if !(d.is_finite() && d >= 0.0 && d * DAY <= pr.follow_up_s + 1.0) {
                return Err(bad(format!(
                    "batch day {d} is outside the protocol's follow-up (0 to {} days); ask for days within it or lengthen protocol.follow_up_days",
                    pr.follow_up_s / DAY
                )));
            }
            if !pr.report_times_s.iter().any(|&t| (t - d * DAY).abs() < 1.0) {
                pr.report_times_s.push(d * DAY);
            }
        }
        pr.report_times_s.sort_by(f64::total_cmp);
        let punctures = crate::pipeline::stages::punctures(
            &s,
            &crate::progress::silent,
            &mut crate::timings::Timings::default(),
        )?;
        let mut b = Batch {
            base: s,
            punctures,
            names: names.to_vec(),
            days: days.to_vec(),
            rebuild,
            columns: Vec::new(),
        };
        // The columns: those of a run with the scenario's own values.
        let (cols, _) = b.outputs(&b.base, &b.punctures)?;
        b.columns = cols;
        Ok(b)
    }

    /// The output columns, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The varied parameters, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn outputs(&self, s: &Scenario, punct: &PuncturesRun) -> Result<(Vec<String>, Vec<f64>)> {
        let run = crate::pipeline::stages::heal(
            s,
            punct,
            &s.params.healing,
            &crate::progress::silent,
            &mut crate::timings::Timings::default(),
        )?;
        let z = run
            .report
            .zones
            .first()
            .ok_or_else(|| bad("the scenario has no zone".into()))?;
        let o = serde_json::to_value(&z.outcomes).map_err(|e| bad(e.to_string()))?;
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        let nominal = |v: &serde_json::Value| v.get("nominal").and_then(|x| x.as_f64());
        if let Some(m) = o.as_object() {
            for (k, v) in m {
                if let Some(x) = nominal(v) {
                    cols.push(k.clone());
                    vals.push(x);
                }
            }
        }
        let tps = o["timepoints"].as_array().cloned().unwrap_or_default();
        for &d in &self.days {
            let tp = tps
                .iter()
                .find(|t| t["day"].as_f64().is_some_and(|x| (x - d).abs() < 1e-6))
                .ok_or_else(|| bad(format!("report day {d} not found")))?;
            if let Some(m) = tp.as_object() {
                for (k, v) in m {
                    if let Some(x) = nominal(v) {
                        cols.push(format!("{k}@{}", fmt_day(d)));
                        vals.push(x);
                    }
                }
            }
        }
        Ok((cols, vals))
    }

    /// One row: the outputs with `values` (one per name) set.
    pub fn run_row(&self, values: &[f64]) -> Result<Vec<f64>> {
        if values.len() != self.names.len() {
            return Err(bad(format!(
                "a row has {} values for {} parameters",
                values.len(),
                self.names.len()
            )));
        }
        let mut s = self.base.clone();
        for (n, &v) in self.names.iter().zip(values) {
            s.params
                .set(n, v)
                .map_err(|e| bad(format!("{e}; {}", e.hint())))?;
        }
        let rebuilt;
        let punct = if self.rebuild {
            s.injury = crate::injury::InjuryParams {
                relative_stiffness: s.injury.relative_stiffness,
                ..s.params.injury.clone()
            };
            rebuilt = crate::pipeline::stages::punctures(
                &s,
                &crate::progress::silent,
                &mut crate::timings::Timings::default(),
            )?;
            &rebuilt
        } else {
            &self.punctures
        };
        let (cols, vals) = self.outputs(&s, punct)?;
        if cols != self.columns {
            return Err(bad(
                "the outputs of a row differ from the batch's columns".into()
            ));
        }
        Ok(vals)
    }

    /// Every row (in parallel; the result is independent of the thread count).
    pub fn run(&self, rows: &[Vec<f64>]) -> BatchResult {
        let out: Vec<Result<Vec<f64>>> = rows.par_iter().map(|r| self.run_row(r)).collect();
        let mut values = Vec::with_capacity(rows.len());
        let mut errors = Vec::new();
        for (i, r) in out.into_iter().enumerate() {
            match r {
                Ok(v) => values.push(v),
                Err(e) => {
                    values.push(vec![f64::NAN; self.columns.len()]);
                    errors.push((i, e.to_string()));
                }
            }
        }
        BatchResult {
            columns: self.columns.clone(),
            values,
            errors,
        }
    }
}

fn fmt_day(d: f64) -> String {
    if d.fract() == 0.0 {
        format!("{}", d as i64)
    } else {
        format!("{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study() -> Study {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/simulate_fine_lines.toml"
        ))
        .unwrap();
        Study::from_toml_str(&text, "fine_lines.toml").unwrap()
    }

    #[test]
    fn rows_match_single_runs_and_vary_with_the_parameter() {
        let st = study();
        let names = vec![
            "healing.collagen_output_activated".to_string(),
            "injury.recoil".to_string(),
        ];
        let b = Batch::new(&st, &names, &[90.0]).unwrap();
        assert!(b.columns().iter().any(|c| c == "collagen_i_change_pct@90"));
        assert!(b.columns().iter().any(|c| c == "downtime_mean_days"));
        let base = [
            st.params().get(&names[0]).unwrap(),
            st.params().get(&names[1]).unwrap(),
        ];
        let rows = vec![
            base.to_vec(),
            vec![base[0] * 2.0, base[1]],
            vec![base[0], base[1] * 0.5],
            vec![-1.0, base[1]],
        ];
        let r = b.run(&rows);
        let c = r
            .columns
            .iter()
            .position(|c| c == "collagen_i_change_pct@90")
            .unwrap();
        assert!(
            r.values[1][c] > r.values[0][c],
            "more output, more collagen"
        );
        assert_ne!(r.values[2][c], r.values[0][c], "recoil changes the injury");
        assert!(r.values[3].iter().all(|x| x.is_nan()));
        assert_eq!(r.errors.len(), 1);
        assert!(
            r.errors[0].1.contains("collagen_output_activated"),
            "{}",
            r.errors[0].1
        );
        // Same as one run of the study through the front door (no samples).
        let single = b.run_row(&base).unwrap();
        assert_eq!(single, r.values[0]);
    }

    /// The protocol's default geometry (here the wrinkle depth) is a parameter like the others:
    /// a batch that varies it moves the score it enters (session 19: it used to be fixed when the
    /// scenario was read, so the sensitivity analysis saw no effect) and leaves the tissue alone.
    #[test]
    fn the_default_wrinkle_depth_is_varied_like_any_parameter() {
        // The example sets the depth in its [protocol]: the file's value holds.
        let names = vec!["healing.wrinkle_depth".to_string()];
        let fixed = Batch::new(&study(), &names, &[90.0]).unwrap();
        let d = study().params().get(&names[0]).unwrap();
        let r = fixed.run(&[vec![d], vec![2.0 * d]]);
        assert_eq!(r.values[0], r.values[1]);
        // Without it, the parameter's.
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/simulate_fine_lines.toml"
        ))
        .unwrap()
        .replace("wrinkle_depth_mm = 0.15\n", "");
        let st = Study::from_toml_str(&text, "fine_lines.toml").unwrap();
        let b = Batch::new(&st, &names, &[90.0]).unwrap();
        let d = st.params().get(&names[0]).unwrap();
        let r = b.run(&[vec![d], vec![2.0 * d]]);
        let col = |name: &str| r.columns.iter().position(|c| c == name).unwrap();
        let (w, c1) = (
            col("wrinkle_improvement_pct@90"),
            col("collagen_i_change_pct@90"),
        );
        let w0 = r.values[0][w] / 100.0;
        let want = 100.0 * (1.0 - (1.0 - w0).sqrt());
        assert!(
            (r.values[1][w] - want).abs() < 1e-9 * want,
            "{} vs {want}",
            r.values[1][w]
        );
        assert_eq!(r.values[1][c1], r.values[0][c1]);
    }

    #[test]
    fn refuses_groups_baked_into_the_scenario_and_days_past_the_follow_up() {
        let st = study();
        let e = Batch::new(&st, &["skin.dermis_dry_mass".into()], &[]);
        assert!(e.is_err());
        let e = Batch::new(&st, &[], &[1.0e5]).err().unwrap().to_string();
        assert!(e.contains("follow-up"), "{e}");
    }
}
