//! The `validate` command's run and outputs: the cases against the reviewed baseline, the
//! terminal table, `validation.json`, the Markdown table, the updated baseline and the report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{OutputFile, Timings};
use crate::error::{Error, Result};
use crate::report::html::{self, Page, RunInfo};
use crate::validate::{self as v, Baseline, Role, Status, ValidationReport};

/// What `needlesim validate` selects.
pub struct ValidateOptions {
    /// Folder of case files (searched recursively).
    pub dir: PathBuf,
    /// Patterns on case id, file path or model part (empty: every case).
    pub filter: Vec<String>,
    /// The reviewed baseline.
    pub baseline: PathBuf,
    /// Record this run's results in the baseline.
    pub update_baseline: bool,
    /// Where to write the Markdown table (none: not written).
    pub markdown: Option<PathBuf>,
}

/// A validation run: the report, the baseline ids no case file has, and the stage timings.
pub struct ValidationRun {
    pub report: ValidationReport,
    /// Baseline cases without a case file (only when every case ran).
    pub removed: Vec<String>,
    pub baseline: Baseline,
    pub timings: Timings,
}

/// Runs the selected cases (each through the study pipeline) and compares them with the
/// baseline. `progress(stage, done, total)` is called before each case.
pub fn run(o: &ValidateOptions, progress: crate::progress::Progress<'_>) -> Result<ValidationRun> {
    let mut timings = Timings::default();
    let t0 = Instant::now();
    let stored = if o.baseline.exists() {
        Some(Baseline::load(&o.baseline)?)
    } else {
        None
    };
    timings.add("read baseline", t0);
    let Some(baseline) = stored.or_else(|| o.update_baseline.then(Baseline::default)) else {
        return Err(Error::Failed(format!(
            "no validation baseline at `{}`; review the results and create it with `needlesim validate {} --update-baseline`, or name one with --baseline PATH",
            o.baseline.display(),
            o.dir.display()
        )));
    };
    let t0 = Instant::now();
    let mut outcomes = v::run_dir(&o.dir, &o.filter, &mut |done, total, id| {
        progress(&format!("validate {id}"), done, total)
    })?;
    timings.add("run cases", t0);
    if outcomes.is_empty() {
        return Err(Error::Failed(format!(
            "no validation cases under `{}`{}",
            o.dir.display(),
            if o.filter.is_empty() {
                String::new()
            } else {
                format!(
                    " match --filter {}; patterns match a case id, file path or model part (skin, devices, injury, delivery, healing)",
                    o.filter.join(", ")
                )
            }
        )));
    }
    let missing = v::apply_baseline(&mut outcomes, &baseline);
    // Baseline cases that no file has: only meaningful when every case ran.
    let removed = if o.filter.is_empty() {
        missing
    } else {
        Vec::new()
    };
    Ok(ValidationRun {
        report: ValidationReport::new(outcomes, &o.filter),
        removed,
        baseline,
        timings,
    })
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

impl ValidationRun {
    /// The terminal table and remarks (open cases, newly passing, removed ones).
    pub fn text(&self, update_baseline: bool) -> String {
        let rep = &self.report;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<16} {:<8} {:<22} {:<44} {:>24} {:>24} {:>19}  status",
            "case", "part", "source", "quantity", "published", "simulated [5-95 %]", "accepted"
        );
        for o in &rep.cases {
            let published = if o.dispersion.is_empty() {
                v::fmt_num(o.expected)
            } else {
                format!(
                    "{} ({})",
                    v::fmt_num(o.expected),
                    shorten(&o.dispersion, 14)
                )
            };
            let _ = writeln!(
                s,
                "{:<16} {:<8} {:<22} {:<44} {:>24} {:>24} {:>19}  {}{}",
                o.id,
                o.part.name(),
                shorten(&o.source, 22),
                shorten(&format!("{} ({})", o.quantity, o.unit), 44),
                shorten(&published, 24),
                v::simulated_text(o),
                format!("{}-{}", v::fmt_num(o.low), v::fmt_num(o.high)),
                o.status.label(),
                match o.role {
                    Role::Calibration => " (calibration case)",
                    Role::Check => " (formula check)",
                    Role::Validation => "",
                    Role::Prediction => " (prediction)",
                }
            );
        }
        let k = &rep.counts;
        let _ = writeln!(
            s,
            "out-of-sample predictions: {} of {} pass; {} cases in all: {} pass, {} open, {} regressed, {} newly passing",
            k.predictions_pass, k.predictions, k.total, k.pass, k.open, k.regressed, k.now_passes
        );
        for o in rep.cases.iter().filter(|o| o.status == Status::Open) {
            let _ = writeln!(
                s,
                "open {}: {}",
                o.id,
                shorten(o.note.lines().next().unwrap_or(""), 160)
            );
        }
        for o in rep.cases.iter().filter(|o| o.status == Status::NowPasses) {
            let _ = writeln!(
                s,
                "{} now passes (simulated {}, range {}-{}); {}",
                o.id,
                v::simulated_text(o),
                v::fmt_num(o.low),
                v::fmt_num(o.high),
                if update_baseline {
                    "recorded in the baseline"
                } else {
                    "review it and update the baseline (--update-baseline)"
                }
            );
        }
        for id in &self.removed {
            let _ = writeln!(
                s,
                "{id} is in the baseline but has no case file; --update-baseline drops it"
            );
        }
        s
    }

    /// The cases whose evaluation failed, one line each (printed on stderr).
    pub fn case_errors(&self) -> Vec<String> {
        self.report
            .cases
            .iter()
            .filter_map(|o| {
                o.error
                    .as_ref()
                    .map(|e| format!("error in case {} ({}): {e}", o.id, o.file))
            })
            .collect()
    }

    /// Writes `validation.json` into `out` (as a set with `--timings`' `timings.json`), the
    /// Markdown table and, when asked, the updated baseline.
    pub fn write(
        &mut self,
        out: &Path,
        o: &ValidateOptions,
        timings_since: Option<Instant>,
    ) -> Result<()> {
        let t0 = Instant::now();
        let json = serde_json::to_string_pretty(&self.report)
            .map_err(|e| Error::Failed(format!("serialising validation.json: {e}")))?;
        let mut files = vec![OutputFile::new("validation.json", json)];
        if let Some(since) = timings_since {
            files.push(OutputFile::new(
                "timings.json",
                self.timings.to_json(since.elapsed().as_secs_f64()),
            ));
        }
        super::output::write_set(out, &files)?;
        if let Some(md) = &o.markdown {
            super::output::write_file(md, v::markdown(&self.report).as_bytes())?;
        }
        if o.update_baseline {
            let b = self.baseline.updated(&self.report.cases, &self.removed);
            super::output::write_file(&o.baseline, b.to_json().as_bytes())?;
        }
        self.timings.add("write outputs", t0);
        Ok(())
    }

    /// The HTML report of the run (`dir`: the case folder, named in the subtitle).
    pub fn page(&self, dir: &Path, info: &RunInfo) -> String {
        let rep = &self.report;
        let mut page = Page::new(
            "Validation against published measurements",
            &format!("needlesim validate · {}", dir.display()),
        );
        page.section("Summary", &validation_summary_html(rep));
        page.section(
            "Validation status by model part",
            &html::validation_status_html(
                &rep.by_part
                    .iter()
                    .map(v::PartStatus::row)
                    .collect::<Vec<_>>(),
                "From this run (the table below has every case and its reason).",
            ),
        );
        page.figure_for_phone(
            "Every case on one scale: the shaded band is each case's accepted range.",
            &v::forest_svg(&rep.cases),
            &crate::report::plot_style::narrow(|| v::forest_svg(&rep.cases)),
        );
        page.section("Cases", &validation_cases_html(rep));
        page.finish(info)
    }

    /// The regressions (cases that passed in the baseline and fail now), as the error the
    /// command exits with; none when there is none or the baseline is being updated.
    pub fn regressions(&self, o: &ValidateOptions) -> Option<Error> {
        let regressed: Vec<_> = self
            .report
            .cases
            .iter()
            .filter(|c| c.status == Status::Regressed)
            .map(|c| {
                format!(
                    "{} (simulated {}, accepted {}-{})",
                    c.id,
                    v::simulated_text(c),
                    v::fmt_num(c.low),
                    v::fmt_num(c.high)
                )
            })
            .collect();
        (!regressed.is_empty() && !o.update_baseline).then(|| {
            Error::Failed(format!(
                "{} case(s) passed in the baseline `{}` and fail now: {}; find what moved them (a model change must not break a published case), or, if the change is right, record it with --update-baseline and say why in the case's note",
                regressed.len(),
                o.baseline.display(),
                regressed.join(", ")
            ))
        })
    }
}

fn validation_summary_html(rep: &ValidationReport) -> String {
    let k = &rep.counts;
    format!(
        "<p><b>{}</b> cases{}: <span class=\"pass\">{} pass</span>, <span class=\"open\">{} open</span>, <span class=\"fail\">{} regressed</span>, {} newly passing (against the reviewed baseline). Open cases never passed; their reasons are in the table.</p>",
        k.total,
        if rep.filter.is_empty() {
            String::new()
        } else {
            format!(" matching {}", html::esc(&rep.filter.join(", ")))
        },
        k.pass,
        k.open,
        k.regressed,
        k.now_passes
    )
}

fn validation_cases_html(rep: &ValidationReport) -> String {
    let rows: Vec<Vec<String>> = rep
        .cases
        .iter()
        .map(|o| {
            let class = match o.status {
                Status::Pass | Status::NowPasses => "pass",
                Status::Open => "open",
                Status::Regressed => "fail",
            };
            vec![
                format!(
                    "<b>{}</b><br><span class=\"small\">{}</span>",
                    html::esc(&o.id),
                    html::esc(o.part.name())
                ),
                format!(
                    "{} ({})<br><span class=\"small\">{}</span>",
                    html::esc(&o.quantity),
                    html::esc(&o.unit),
                    html::esc(&o.source)
                ),
                format!(
                    "{}<br><span class=\"small\">{}</span>",
                    v::fmt_num(o.expected),
                    html::esc(&o.dispersion)
                ),
                html::esc(&v::simulated_text(o)),
                format!(
                    "{}-{}<br><span class=\"small\">{}</span>",
                    v::fmt_num(o.low),
                    v::fmt_num(o.high),
                    html::esc(&o.tolerance_basis)
                ),
                format!("<span class=\"{class}\">{}</span>", o.status.label()),
                format!(
                    "<details><summary>{:?}, grade {}</summary><span class=\"small\">{}</span></details>",
                    o.role,
                    html::esc(&o.grade),
                    html::esc(&o.note)
                ),
            ]
        })
        .collect();
    html::table(
        &[
            "case",
            "quantity, source",
            "published (dispersion)",
            "simulated [5-95 %]",
            "accepted",
            "status",
            "role, grade, note",
        ],
        &rows,
    )
}
