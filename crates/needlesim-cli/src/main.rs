//! The `needlesim` command-line tool: a thin layer over the library.
//!
//! Exit codes: 0 success, 2 bad input (scenario or flags), 1 any other failure (for `validate`:
//! a case that passes in the baseline fails now).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use needlesim::delivery::run::DeliverReport;
use needlesim::healing::simulate::{self as healing_sim, SimulateError, SimulateReport};
use needlesim::input::{self, ScenarioError};
use needlesim::pipeline::{self, PuncturesReport};
use needlesim::report::{self, html};
use needlesim::skin::LayerKind;
use needlesim::validate::{self, Part};

#[derive(Parser)]
#[command(name = "needlesim", version, about = "Microneedling simulator and treatment planner", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the puncture map of a scenario and analyse its channels in the skin.
    ///
    /// Prints a summary per zone and writes punctures.json, channels_<zone>.csv,
    /// zone_<zone>.svg and depth_<zone>.svg to the output folder.
    Punctures {
        /// Scenario file (TOML); see examples/.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Seed of all random streams (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        common: Common,
    },
    /// Simulate a topical product applied after needling: how much gets in, where, how fast.
    ///
    /// Needs a [delivery] section in the scenario. Prints a summary and writes delivery.json,
    /// delivery_series.csv, delivery_profiles.csv, delivery_time.svg and delivery_profile.svg.
    Deliver {
        /// Scenario file (TOML) with a [delivery] section; see examples/deliver_*.toml.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Seed of all random streams (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        common: Common,
    },
    /// Plan a treatment from a patient file: screening, recommendations per zone, sessions,
    /// aftercare.
    ///
    /// Prints the plan and writes plan.json and a self-contained report.html to the output
    /// folder. A planning aid, not medical advice.
    Plan {
        /// Patient file (TOML); see examples/patients/.
        patient: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "out/plan")]
        out: PathBuf,
        #[command(flatten)]
        common: Common,
        /// Skip the healing-model prediction and optimisation (screening and recommendations
        /// only).
        #[arg(long)]
        no_predict: bool,
    },
    /// Run the validation cases (published measurements) and compare them with the baseline.
    ///
    /// Prints a table (case, source, quantity, published value with its dispersion, simulated
    /// value with its band, accepted range, status) and writes <out>/validation.json, and
    /// docs/VALIDATION.md when run at the repository root (or --markdown FILE). Exits with
    /// status 1 when a case that passes in the baseline (validation/baseline.json) fails now;
    /// open cases (never passed) do not fail the run, but a case file with broken values or
    /// inputs does (status 2).
    Validate {
        /// Folder of case files (searched recursively).
        #[arg(default_value = "validation")]
        dir: PathBuf,
        /// Run only the cases whose id, file path or model part (skin, devices, injury,
        /// delivery, healing) contains this text (case-insensitive; repeat to add patterns).
        #[arg(long)]
        filter: Vec<String>,
        /// Reviewed baseline [default: <DIR>/baseline.json].
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Write the results of this run into the baseline (only the cases run; others kept).
        /// Do this after reviewing why a case moved.
        #[arg(long)]
        update_baseline: bool,
        /// Markdown table [default: docs/VALIDATION.md, when every case runs from the repository
        /// root on its own validation/ folder; elsewhere none unless named here].
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Do not write the Markdown table.
        #[arg(long, conflicts_with = "markdown")]
        no_markdown: bool,
        /// Output folder of validation.json (created if missing).
        #[arg(long, default_value = "out")]
        out: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Simulate healing over the scenario's [protocol]: punctures, channels, the healing
    /// cascade after each session, and outcomes with uncertainty bands.
    ///
    /// Writes outcomes.json, timeseries_<zone>.csv, timecourse_<zone>.svg and
    /// response_<zone>.svg to the output folder; with `--resolution unit-cell` also
    /// unit_cell_<zone>.csv (per-layer means of the unit cell, daily), with `--resolution patch`
    /// patch_<zone>.csv (per-layer means of the 3-D patch, weekly), and for both
    /// cross_section_<zone>_day<d>.svg (days 1, 7, 28, 180). Spatial runs checkpoint to
    /// checkpoint_<zone>_<resolution>.bin in the output folder; the same command run again
    /// resumes from it.
    Simulate {
        /// Scenario file (TOML) with a [protocol] section; see examples/simulate_*.toml.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Seed of all random streams (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        common: Common,
        /// Model resolution: lumped (per-layer compartments), unit-cell (adds the
        /// axisymmetric cell around one channel) or patch (adds the 3-D patch over the puncture
        /// maps, `protocol.patch_size_mm`). Overrides the scenario's `protocol.resolution`;
        /// default lumped. Spatial runs checkpoint into the output folder and resume.
        #[arg(long, value_enum)]
        resolution: Option<ResolutionArg>,
    },
    /// Print the JSON Schema of an input file or an output.
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value = "all")]
        which: SchemaKind,
    },
}

/// Flags every running command has.
#[derive(clap::Args, Clone, Debug)]
struct Common {
    /// Print nothing but errors (no summary, no progress bar).
    #[arg(long)]
    quiet: bool,
    /// Print the time each stage took (reading input, each model stage, writing outputs).
    #[arg(long)]
    timings: bool,
    /// Write one self-contained HTML report (inputs, summary, plots, validation status,
    /// version and seed) to this file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ResolutionArg {
    /// Per-layer compartments.
    Lumped,
    /// Lumped outcomes plus the unit cell around one channel per zone.
    UnitCell,
    /// Lumped outcomes plus the 3-D patch over each zone's puncture maps.
    Patch,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    /// The scenario file (input of `punctures`).
    Scenario,
    /// punctures.json (output of `punctures`).
    Punctures,
    /// delivery.json (output of `deliver`).
    Delivery,
    /// A validation case file.
    Case,
    /// validation.json (output of `validate`).
    Validation,
    /// The patient file (input of `plan`).
    Patient,
    /// plan.json (output of `plan`).
    Plan,
    /// outcomes.json (output of `simulate`).
    Outcomes,
    /// All of them, as one JSON object keyed by name.
    All,
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`needlesim schema | head`) would
    // panic in `println!`; the default action ends the process quietly, as other Unix tools do.
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let bad_input = e.downcast_ref::<ScenarioError>().is_some()
                || e.downcast_ref::<needlesim::plan::PatientError>().is_some()
                || matches!(
                    e.downcast_ref::<validate::ValidateError>(),
                    Some(validate::ValidateError::Case { .. })
                )
                || matches!(
                    e.downcast_ref::<SimulateError>(),
                    Some(SimulateError::NoProtocol(_))
                );
            // Many library errors already quote their cause in their message; print a cause only
            // when its text has not been shown yet.
            let mut shown = e.to_string();
            eprintln!("error: {shown}");
            for cause in e.chain().skip(1) {
                let c = cause.to_string();
                if !shown.contains(&c) {
                    eprintln!("  caused by: {c}");
                    shown.push_str(&c);
                }
            }
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Punctures {
            scenario,
            out,
            seed,
            common,
        } => punctures(&scenario, &out, seed, &common),
        Command::Deliver {
            scenario,
            out,
            seed,
            common,
        } => deliver(&scenario, &out, seed, &common),
        Command::Plan {
            patient,
            out,
            common,
            no_predict,
        } => plan(&patient, &out, &common, no_predict),
        Command::Validate {
            dir,
            filter,
            baseline,
            update_baseline,
            markdown,
            no_markdown,
            out,
            common,
        } => validate(&ValidateArgs {
            baseline: baseline.unwrap_or_else(|| dir.join("baseline.json")),
            markdown: match (markdown, no_markdown) {
                (Some(p), _) => Some(p),
                (None, true) => None,
                // A filtered run would overwrite the full table with a part of it.
                (None, false) if !filter.is_empty() => None,
                // Only at the repository root, on its own cases.
                (None, false) => validate::default_markdown(Path::new(""), &dir),
            },
            dir,
            filter,
            update_baseline,
            out,
            common,
        }),
        Command::Simulate {
            scenario,
            out,
            seed,
            common,
            resolution,
        } => simulate(&scenario, &out, seed, &common, resolution),
        Command::Schema { which } => {
            let scen = schemars::schema_for!(input::scenario::ScenarioFile);
            let punc = schemars::schema_for!(PuncturesReport);
            let outc = schemars::schema_for!(SimulateReport);
            let v = match which {
                SchemaKind::Scenario => serde_json::to_value(scen)?,
                SchemaKind::Punctures => serde_json::to_value(punc)?,
                SchemaKind::Delivery => serde_json::to_value(schemars::schema_for!(DeliverReport))?,
                SchemaKind::Case => {
                    serde_json::to_value(schemars::schema_for!(needlesim::validate::Case))?
                }
                SchemaKind::Validation => serde_json::to_value(schemars::schema_for!(
                    needlesim::validate::ValidationReport
                ))?,
                SchemaKind::Patient => {
                    serde_json::to_value(schemars::schema_for!(needlesim::plan::PatientFile))?
                }
                SchemaKind::Plan => {
                    serde_json::to_value(schemars::schema_for!(needlesim::plan::Plan))?
                }
                SchemaKind::Outcomes => serde_json::to_value(outc)?,
                SchemaKind::All => serde_json::json!({
                    "scenario": scen,
                    "punctures": punc,
                    "delivery": schemars::schema_for!(DeliverReport),
                    "case": schemars::schema_for!(needlesim::validate::Case),
                    "validation": schemars::schema_for!(needlesim::validate::ValidationReport),
                    "patient": schemars::schema_for!(needlesim::plan::PatientFile),
                    "plan": schemars::schema_for!(needlesim::plan::Plan),
                    "outcomes": outc,
                }),
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Shared by the commands: stage timings, progress bars, the HTML report
// ----------------------------------------------------------------------------------------------

/// Wall time of each stage of a command, in order.
#[derive(Default)]
struct Stopwatch {
    stages: Vec<(String, f64)>,
    start: Option<Instant>,
}

impl Stopwatch {
    fn new() -> Stopwatch {
        Stopwatch {
            stages: Vec::new(),
            start: Some(Instant::now()),
        }
    }
    /// Runs `f` as the stage `name`.
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let v = f();
        self.stages
            .push((name.to_string(), t0.elapsed().as_secs_f64()));
        v
    }
    /// Adds the library's own stage timings (s).
    fn extend(&mut self, stages: &[(String, f64)]) {
        self.stages.extend(stages.iter().cloned());
    }
    fn print(&self, on: bool) {
        if !on {
            return;
        }
        for (stage, t) in &self.stages {
            eprintln!("timing  {stage:<24} {:>10.3} ms", t * 1e3);
        }
        if let Some(t0) = self.start {
            eprintln!(
                "timing  {:<24} {:>10.3} ms",
                "total (wall)",
                t0.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}

/// A progress bar on stderr, drawn only on a terminal and without `--quiet`.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
}

impl Bar {
    fn new(quiet: bool) -> Bar {
        use std::io::IsTerminal;
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        Bar { bar }
    }
    /// The library's progress callback: `(stage, done, total)`.
    fn update(&self, stage: &str, done: usize, total: usize) {
        if let Some(b) = &self.bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            b.set_message(stage.to_string());
        }
    }
    /// One more unit of an open-ended stage (count only).
    fn tick(&self, stage: &str) {
        if let Some(b) = &self.bar {
            if b.position() == 0 {
                // Open-ended: a spinner and a count, no bar.
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {pos} {msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                b.set_message(stage.to_string());
            }
            b.inc(1);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The version shown in reports: crate version and, where the build knew it, the git commit.
fn version() -> String {
    let commit = env!("NEEDLESIM_GIT_COMMIT");
    if commit.is_empty() {
        env!("CARGO_PKG_VERSION").to_string()
    } else {
        format!("{} (commit {commit})", env!("CARGO_PKG_VERSION"))
    }
}

/// The command line as typed, quoted for a POSIX shell where needed.
fn command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, a)| {
            let a = if i == 0 { "needlesim".to_string() } else { a };
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading `{}`", path.display()))
}

/// Writes the HTML report of a page atomically.
fn write_report(page: &html::Page, path: &Path, seed: Option<u64>) -> anyhow::Result<()> {
    let info = html::RunInfo {
        command_line: command_line(),
        version: version(),
        seed,
    };
    let text = page.finish(&info, &validate::Baseline::stored());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the report's folder `{}`", dir.display()))?;
    }
    report::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing the report `{}`", path.display()))
}

fn num_cell(v: f64, digits: usize) -> String {
    format!("#{v:.digits$}")
}

fn punctures(path: &Path, out: &Path, seed: Option<u64>, c: &Common) -> anyhow::Result<()> {
    let mut sw = Stopwatch::new();
    let bar = Bar::new(c.quiet);
    let mut s = sw.time("read scenario", || input::load(path))?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let run = pipeline::run_punctures_with(&s, &|st, d, n| bar.update(st, d, n))
        .context("generating punctures")?;
    bar.finish();
    sw.extend(&run.timings.stages);
    sw.time("write outputs", || -> anyhow::Result<()> {
        std::fs::create_dir_all(out)
            .with_context(|| format!("creating output folder `{}`", out.display()))?;
        let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
            let p = out.join(name);
            report::write_atomic(&p, bytes).with_context(|| format!("writing `{}`", p.display()))
        };
        for (zone, (_, ch, column, _)) in s.zones.iter().zip(&run.sets) {
            let name = &zone.zone.name;
            write(
                &format!("channels_{name}.csv"),
                report::channels_csv(ch).as_bytes(),
            )?;
            write(
                &format!("zone_{name}.svg"),
                report::zone_map_svg(&zone.zone, ch)?.as_bytes(),
            )?;
            write(
                &format!("depth_{name}.svg"),
                report::depth_histogram_svg(&zone.zone, column, ch)?.as_bytes(),
            )?;
        }
        write(
            "punctures.json",
            serde_json::to_string_pretty(&run.report)?.as_bytes(),
        )
    })?;
    if let Some(rp) = &c.report {
        sw.time("write report", || -> anyhow::Result<()> {
            let r = &run.report;
            let mut page = html::Page::new(
                &format!("Punctures: {}", r.title),
                &format!("needlesim punctures · {}", path.display()),
            );
            page.parts(&[Part::Skin, Part::Devices, Part::Injury]);
            page.section("Summary", &punctures_summary_html(r));
            for (zone, (_, ch, column, _)) in s.zones.iter().zip(&run.sets) {
                let name = &zone.zone.name;
                page.raw(&format!("<h2>Zone {}</h2>", html::esc(name)));
                page.figure(
                    &format!("Puncture map of zone {name}: punctures coloured by effective depth (thinned to at most {REPORT_MAP_POINTS}); detail of the centre to scale."),
                    &report::zone_map_svg_thinned(&zone.zone, ch, REPORT_MAP_POINTS)?,
                );
                page.figure(
                    &format!("Effective channel depth in zone {name}, by the deepest layer reached."),
                    &report::depth_histogram_svg(&zone.zone, column, ch)?,
                );
            }
            page.input(&path.display().to_string(), &read_text(path)?);
            page.resolved(
                "Resolved scenario (validated, SI units)",
                &format!("{s:#?}"),
            );
            write_report(&page, rp, Some(s.seed))
        })?;
    }
    if !c.quiet {
        print_summary(&run.report, out);
    }
    sw.print(c.timings);
    Ok(())
}

/// Punctures drawn per zone map in the HTML report (the SVG files keep
/// [`report::MAP_MAX_POINTS`]), so a many-zone report stays light on a phone.
const REPORT_MAP_POINTS: usize = 3_000;

fn punctures_summary_html(r: &PuncturesReport) -> String {
    let rows: Vec<Vec<String>> = r
        .zones
        .iter()
        .map(|z| {
            vec![
                html::esc(&z.name),
                html::esc(&z.site),
                num_cell(z.area_cm2, 1),
                format!("#{}", z.punctures),
                num_cell(z.density_per_cm2, 0),
                format!(
                    "#{:.0} ± {:.0} ({:.0}-{:.0})",
                    z.depth.mean_um, z.depth.sd_um, z.depth.p5_um, z.depth.p95_um
                ),
                num_cell(z.bleeding_fraction * 100.0, 0),
                num_cell(z.needling_min, 1),
            ]
        })
        .collect();
    let mut h = html::table(
        &[
            "zone",
            "site",
            "area (cm²)",
            "punctures",
            "density (/cm²)",
            "depth mean ± SD (p5-p95), µm",
            "bleeding (%)",
            "needling (min)",
        ],
        &rows,
    );
    let t = &r.session;
    h.push_str(&format!(
        "<p>Session: preparation {:.0} + numbing {:.0} ({}) + needling {:.1} + aftercare {:.0} = <b>{:.0} min</b>.</p>",
        t.preparation_min,
        t.numbing_min,
        html::esc(t.numbing.name()),
        t.needling_min,
        t.aftercare_min,
        t.total_min
    ));
    for w in &r.warnings {
        h.push_str(&format!("<p class=\"open\">Warning: {}</p>", html::esc(w)));
    }
    h
}

/// Counts the planner's predictions on the progress bar (the planner calls its predictor once
/// per protocol it evaluates; this wrapper is the progress callback).
struct CountingPredictor<'a> {
    inner: &'a dyn needlesim::plan::Predictor,
    bar: &'a Bar,
}

impl needlesim::plan::Predictor for CountingPredictor<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn predict(
        &self,
        input: &needlesim::plan::predict::PredictInput<'_>,
    ) -> Result<needlesim::plan::predict::Prediction, String> {
        self.bar.tick("plan: protocols evaluated");
        self.inner.predict(input)
    }
}

fn plan(path: &Path, out: &Path, c: &Common, no_predict: bool) -> anyhow::Result<()> {
    use needlesim::plan;
    let mut sw = Stopwatch::new();
    let patient = sw.time("read patient", || plan::patient::load(path))?;
    let healing = plan::healing_predictor::HealingPredictor::default();
    let numbing = plan::ModelNumbing::default();
    let bar = Bar::new(c.quiet);
    let counting = CountingPredictor {
        inner: &healing,
        bar: &bar,
    };
    let models = plan::Models {
        numbing: &numbing,
        predictor: (!no_predict).then_some(&counting as &dyn plan::Predictor),
    };
    let p = plan::plan(&patient, &models).context("making the plan")?;
    bar.finish();
    // The planner's own stages, in pipeline order (its total is the wall time above).
    for stage in ["screen", "recommend", "predict+optimise"] {
        if let Some(ms) = p.timings_ms.get(stage) {
            sw.stages.push((format!("plan: {stage}"), ms / 1e3));
        }
    }
    let report_path = c.report.clone().unwrap_or_else(|| out.join("report.html"));
    sw.time("write outputs", || -> anyhow::Result<()> {
        std::fs::create_dir_all(out)
            .with_context(|| format!("creating output folder `{}`", out.display()))?;
        let f = out.join("plan.json");
        report::write_atomic(&f, serde_json::to_string_pretty(&p)?.as_bytes())
            .with_context(|| format!("writing `{}`", f.display()))
    })?;
    sw.time("write report", || -> anyhow::Result<()> {
        let mut page = plan::render::page(&p);
        page.input(&path.display().to_string(), &read_text(path)?);
        page.resolved(
            "Resolved patient (validated)",
            &serde_json::to_string_pretty(&patient)?,
        );
        write_report(&page, &report_path, None)
    })?;
    if !c.quiet {
        print!("{}", plan::render::text(&p));
        println!(
            "\nwrote {}/plan.json and {}",
            out.display(),
            report_path.display()
        );
    }
    sw.print(c.timings);
    Ok(())
}

struct ValidateArgs {
    dir: PathBuf,
    filter: Vec<String>,
    baseline: PathBuf,
    update_baseline: bool,
    markdown: Option<PathBuf>,
    out: PathBuf,
    common: Common,
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

fn validate(a: &ValidateArgs) -> anyhow::Result<()> {
    use needlesim::validate::{self as v, Status};
    let c = &a.common;
    let mut sw = Stopwatch::new();
    let baseline = sw.time("read baseline", || {
        if a.baseline.exists() {
            v::Baseline::load(&a.baseline).map(Some)
        } else {
            Ok(None)
        }
    })?;
    let Some(baseline) = baseline.or_else(|| a.update_baseline.then(v::Baseline::default)) else {
        anyhow::bail!(
            "no validation baseline at `{}`; review the results and create it with `needlesim validate {} --update-baseline`, or name one with --baseline PATH",
            a.baseline.display(),
            a.dir.display()
        );
    };
    let bar = Bar::new(c.quiet);
    let mut outcomes = sw.time("run cases", || {
        v::run_dir(&a.dir, &a.filter, &mut |done, total, id| {
            bar.update(&format!("validate {id}"), done, total)
        })
    })?;
    bar.finish();
    if outcomes.is_empty() {
        anyhow::bail!(
            "no validation cases under `{}`{}",
            a.dir.display(),
            if a.filter.is_empty() {
                String::new()
            } else {
                format!(
                    " match --filter {}; patterns match a case id, file path or model part (skin, devices, injury, delivery, healing)",
                    a.filter.join(", ")
                )
            }
        );
    }
    let missing = v::apply_baseline(&mut outcomes, &baseline);
    // Baseline cases that no file has: only meaningful when every case ran.
    let removed: Vec<String> = if a.filter.is_empty() {
        missing
    } else {
        Vec::new()
    };
    let rep = v::ValidationReport::new(outcomes, &a.filter);
    if !c.quiet {
        println!(
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
            println!(
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
                    v::Role::Calibration => " (calibration case)",
                    v::Role::Check => " (formula check)",
                    v::Role::Validation => "",
                }
            );
        }
        let k = &rep.counts;
        println!(
            "{} cases: {} pass, {} open, {} regressed, {} newly passing",
            k.total, k.pass, k.open, k.regressed, k.now_passes
        );
        for o in rep.cases.iter().filter(|o| o.status == Status::Open) {
            println!(
                "open {}: {}",
                o.id,
                shorten(o.note.lines().next().unwrap_or(""), 160)
            );
        }
        for o in rep.cases.iter().filter(|o| o.status == Status::NowPasses) {
            println!(
                "{} now passes (simulated {}, range {}-{}); {}",
                o.id,
                v::simulated_text(o),
                v::fmt_num(o.low),
                v::fmt_num(o.high),
                if a.update_baseline {
                    "recorded in the baseline"
                } else {
                    "review it and update the baseline (--update-baseline)"
                }
            );
        }
        for id in &removed {
            println!("{id} is in the baseline but has no case file; --update-baseline drops it");
        }
    }
    for o in &rep.cases {
        if let Some(e) = &o.error {
            eprintln!("error in case {} ({}): {e}", o.id, o.file);
        }
    }
    sw.time("write outputs", || -> anyhow::Result<()> {
        std::fs::create_dir_all(&a.out)
            .with_context(|| format!("creating output folder `{}`", a.out.display()))?;
        let j = a.out.join("validation.json");
        report::write_atomic(&j, serde_json::to_string_pretty(&rep)?.as_bytes())
            .with_context(|| format!("writing `{}`", j.display()))?;
        if let Some(md) = &a.markdown {
            if let Some(d) = md.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("creating folder `{}`", d.display()))?;
            }
            report::write_atomic(md, v::markdown(&rep).as_bytes())
                .with_context(|| format!("writing `{}`", md.display()))?;
        }
        if a.update_baseline {
            let b = baseline.updated(&rep.cases, &removed);
            report::write_atomic(&a.baseline, b.to_json().as_bytes())
                .with_context(|| format!("writing the baseline `{}`", a.baseline.display()))?;
        }
        Ok(())
    })?;
    if let Some(rp) = &c.report {
        sw.time("write report", || {
            let mut page = html::Page::new(
                "Validation against published measurements",
                &format!("needlesim validate · {}", a.dir.display()),
            );
            page.section("Summary", &validation_summary_html(&rep));
            page.section(
                "Validation status by model part",
                &html::validation_status_html(
                    &rep.by_part,
                    "From this run (the table below has every case and its reason).",
                ),
            );
            page.figure(
                "Every case on one scale: the shaded band is each case's accepted range.",
                &v::forest_svg(&rep.cases),
            );
            page.section("Cases", &validation_cases_html(&rep));
            write_report(&page, rp, None)
        })?;
    }
    if !c.quiet {
        println!(
            "wrote {}{}{}",
            a.out.join("validation.json").display(),
            a.markdown
                .as_ref()
                .map_or(String::new(), |m| format!(", {}", m.display())),
            if a.update_baseline {
                format!(", {}", a.baseline.display())
            } else {
                String::new()
            }
        );
    }
    sw.print(c.timings);
    let regressed: Vec<_> = rep
        .cases
        .iter()
        .filter(|o| o.status == Status::Regressed)
        .map(|o| {
            format!(
                "{} (simulated {}, accepted {}-{})",
                o.id,
                v::simulated_text(o),
                v::fmt_num(o.low),
                v::fmt_num(o.high)
            )
        })
        .collect();
    if !regressed.is_empty() && !a.update_baseline {
        anyhow::bail!(
            "{} case(s) passed in the baseline `{}` and fail now: {}; find what moved them (a model change must not break a published case), or, if the change is right, record it with --update-baseline and say why in the case's note",
            regressed.len(),
            a.baseline.display(),
            regressed.join(", ")
        );
    }
    Ok(())
}

fn validation_summary_html(rep: &needlesim::validate::ValidationReport) -> String {
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

fn validation_cases_html(rep: &needlesim::validate::ValidationReport) -> String {
    use needlesim::validate::{self as v, Status};
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

fn simulate(
    path: &Path,
    out: &Path,
    seed: Option<u64>,
    c: &Common,
    resolution: Option<ResolutionArg>,
) -> anyhow::Result<()> {
    let mut sw = Stopwatch::new();
    let mut s = sw.time("read scenario", || input::load(path))?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let res = match resolution {
        Some(ResolutionArg::Lumped) => healing_sim::Resolution::Lumped,
        Some(ResolutionArg::UnitCell) => healing_sim::Resolution::UnitCell,
        Some(ResolutionArg::Patch) => healing_sim::Resolution::Patch,
        None => s
            .protocol
            .as_ref()
            .and_then(|p| p.resolution)
            .unwrap_or_default(),
    };
    // Checkpoints of the spatial runs go into the output folder.
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output folder `{}`", out.display()))?;
    let bar = Bar::new(c.quiet);
    let stage_cb = |st: &str, d: usize, n: usize| bar.update(st, d, n);
    let mut step_cb = |zone: &str, p: &needlesim::healing::spatial::StepProgress| {
        bar.update(
            &format!(
                "{} `{zone}`: day {:.0} of {:.0}",
                res.name(),
                p.t_s / healing_params_day(),
                p.t_end_s / healing_params_day()
            ),
            p.step as usize,
            p.steps as usize,
        );
    };
    let mut opts = healing_sim::SpatialOptions {
        checkpoint_dir: Some(out.to_path_buf()),
        progress: Some(&mut step_cb),
        stages: Some(&stage_cb),
        ..Default::default()
    };
    let run = healing_sim::run_resolution_with(&s, res, &mut opts)?;
    bar.finish();
    sw.extend(&run.timings.stages);
    let spatial_runs = run
        .unit_cells
        .iter()
        .map(|u| (&u.name, &u.run))
        .chain(run.patches.iter().map(|p| (&p.name, &p.run)));
    for (name, r) in spatial_runs {
        for n in &r.notices {
            eprintln!("note: {n}");
        }
        if r.resumed_at_step > 0 && !c.quiet {
            eprintln!(
                "  `{name}`: resumed from its checkpoint at step {} of {}",
                r.resumed_at_step, r.steps
            );
        }
    }
    use needlesim::healing::report as hr;
    sw.time("write outputs", || -> anyhow::Result<()> {
        std::fs::create_dir_all(out)
            .with_context(|| format!("creating output folder `{}`", out.display()))?;
        let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
            let p = out.join(name);
            report::write_atomic(&p, bytes).with_context(|| format!("writing `{}`", p.display()))
        };
        for (zone, res) in run.report.zones.iter().zip(&run.zones) {
            let name = &zone.name;
            write(
                &format!("timeseries_{name}.csv"),
                hr::timeseries_csv(res).as_bytes(),
            )?;
            write(
                &format!("timecourse_{name}.svg"),
                hr::timecourse_svg(name, res, &run.protocol)?.as_bytes(),
            )?;
            write(
                &format!("response_{name}.svg"),
                hr::response_svg(name, res, &run.protocol)?.as_bytes(),
            )?;
        }
        for v in spatial_views(&run) {
            write(
                &format!("{}_{}.csv", v.prefix, v.name),
                needlesim::healing::cross_section::layer_means_csv(v.run).as_bytes(),
            )?;
            for snap in &v.run.snapshots {
                write(
                    &format!(
                        "cross_section_{}_day{:.0}.svg",
                        v.name,
                        snap.t_s / healing_params_day()
                    ),
                    (v.section)(snap)?.as_bytes(),
                )?;
            }
        }
        write(
            "outcomes.json",
            serde_json::to_string_pretty(&run.report)?.as_bytes(),
        )
    })?;
    if let Some(rp) = &c.report {
        sw.time("write report", || -> anyhow::Result<()> {
            let r = &run.report;
            let mut page = html::Page::new(
                &format!("Healing simulation: {}", r.title),
                &format!(
                    "needlesim simulate · {} · {} model",
                    path.display(),
                    r.resolution
                ),
            );
            page.parts(&[Part::Skin, Part::Devices, Part::Injury, Part::Healing]);
            page.section("Summary", &simulate_summary_html(r));
            for (zone, res) in r.zones.iter().zip(&run.zones) {
                let name = &zone.name;
                page.raw(&format!("<h2>Zone {}</h2>", html::esc(name)));
                page.figure(
                    &format!("Zone {name}: tissue change over time with the 5-95 % band over parameter samples; dashed lines mark the sessions."),
                    &hr::timecourse_svg(name, res, &run.protocol)?,
                );
                page.figure(
                    &format!("Zone {name}: inflammation and repair after the sessions."),
                    &hr::response_svg(name, res, &run.protocol)?,
                );
                for v in spatial_views(&run).iter().filter(|v| v.name == name) {
                    for snap in &v.run.snapshots {
                        page.figure(
                            &format!(
                                "Zone {name}: {}, day {:.0}.",
                                v.caption,
                                snap.t_s / healing_params_day()
                            ),
                            &(v.section)(snap)?,
                        );
                    }
                }
            }
            page.input(&path.display().to_string(), &read_text(path)?);
            page.resolved(
                "Resolved scenario (validated, SI units)",
                &format!("{s:#?}"),
            );
            write_report(&page, rp, Some(s.seed))
        })?;
    }
    if !c.quiet {
        let r = &run.report;
        println!("{} (seed {}, {} model)", r.title, r.seed, r.resolution);
        for uc in &run.unit_cells {
            println!(
                "unit cell `{}`: radius {:.0} µm, {} voxels, {} steps in {:.2} s",
                uc.name,
                uc.cell.radius_m * 1e6,
                uc.run.voxels,
                uc.run.steps,
                uc.run.wall_s
            );
        }
        for pz in &run.patches {
            println!(
                "3-D patch `{}`: {:.2} mm at {:.0} µm, {} voxels, channels per session {:?}, \
                 {} steps ({} here) in {:.1} s",
                pz.name,
                pz.patch.size_m * 1e3,
                pz.patch.voxel_m * 1e6,
                pz.run.voxels,
                pz.channels_per_session,
                pz.run.steps,
                pz.run.steps_here,
                pz.run.wall_s
            );
        }
        println!(
            "  sessions on days {:?}, follow-up {} days",
            r.protocol.session_days, r.protocol.follow_up_days
        );
        for z in &r.zones {
            let o = &z.outcomes;
            println!(
                "zone {:<14} depth {:.0} µm, {:.0} /cm², {:.0} % bleeding",
                z.name,
                z.injury.mean_depth_um,
                z.injury.density_per_cm2,
                100.0 * z.injury.bleeding_fraction
            );
            println!(
                "  downtime {:.1} d [{:.1}-{:.1}] per session; PIH risk {:.1} % [{:.1}-{:.1}]",
                o.downtime_mean_days.nominal,
                o.downtime_mean_days.p5,
                o.downtime_mean_days.p95,
                o.pih_risk_pct.nominal,
                o.pih_risk_pct.p5,
                o.pih_risk_pct.p95
            );
            for t in &o.timepoints {
                print!(
                    "  day {:>5.0}: collagen I {:+.1} % [{:+.1}, {:+.1}], III {:+.1} %, elastin {:+.1} %, epidermis {:+.1} %, dermis {:+.1} %",
                    t.day,
                    t.collagen_i_change_pct.nominal,
                    t.collagen_i_change_pct.p5,
                    t.collagen_i_change_pct.p95,
                    t.collagen_iii_change_pct.nominal,
                    t.elastin_change_pct.nominal,
                    t.epidermal_thickness_change_pct.nominal,
                    t.dermal_thickness_change_pct.nominal
                );
                if let Some(b) = &t.acne_scar_score_reduction_pct {
                    print!(
                        ", scar score -{:.0} % [{:.0}-{:.0}]",
                        b.nominal, b.p5, b.p95
                    );
                }
                if let Some(b) = &t.wrinkle_improvement_pct {
                    print!(", wrinkles -{:.0} % (uncalibrated)", b.nominal);
                }
                println!();
            }
        }
        println!("wrote {}", out.display());
    }
    sw.print(c.timings);
    Ok(())
}

fn band_text(b: &needlesim::healing::outcomes::Band, digits: usize) -> String {
    format!(
        "#{:.digits$} [{:.digits$}, {:.digits$}]",
        b.nominal, b.p5, b.p95
    )
}

/// One spatial run's outputs (unit cell or 3-D patch): its zone, the prefix of its CSV, the
/// caption of its cross-sections and how to draw one at a snapshot.
struct SpatialView<'a> {
    name: &'a str,
    prefix: &'static str,
    caption: &'static str,
    run: &'a needlesim::healing::spatial::SpatialRun,
    section: SectionFn<'a>,
}

type SectionFn<'a> =
    Box<dyn Fn(&needlesim::healing::spatial::Snapshot) -> anyhow::Result<String> + 'a>;

/// The unit cells, then the 3-D patches, of a simulate run.
fn spatial_views(run: &healing_sim::SimulateRun) -> Vec<SpatialView<'_>> {
    use needlesim::healing::cross_section as xs;
    let cells = run.unit_cells.iter().map(|uc| SpatialView {
        name: &uc.name,
        prefix: "unit_cell",
        caption: "unit cell around one channel",
        run: &uc.run,
        section: Box::new(move |snap| {
            Ok(xs::unit_cell_svg(
                &uc.name,
                &uc.cell.model,
                uc.cell.grid.r_faces(),
                uc.cell.grid.z_faces(),
                snap,
            )?)
        }),
    });
    let patches = run.patches.iter().map(|pz| SpatialView {
        name: &pz.name,
        prefix: "patch",
        caption: "3-D patch, depth section through the channel nearest its centre",
        run: &pz.run,
        section: Box::new(move |snap| {
            // The x-z plane through the channel nearest the patch centre.
            let x_faces: Vec<f64> = (0..=pz.patch.n)
                .map(|i| i as f64 * pz.patch.voxel_m)
                .collect();
            Ok(xs::patch_svg(
                &pz.name,
                &pz.patch.model,
                &x_faces,
                pz.patch.grid.z_faces(),
                (pz.row as f64 + 0.5) * pz.patch.voxel_m,
                snap,
            )?)
        }),
    });
    cells.chain(patches).collect()
}

fn simulate_summary_html(r: &SimulateReport) -> String {
    let mut h = format!(
        "<p>Sessions on days {}; follow-up {:.0} days; seed {}. Values are nominal with the 5-95 % band over parameter samples in brackets.</p>",
        r.protocol
            .session_days
            .iter()
            .map(|d| format!("{d:.0}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.protocol.follow_up_days,
        r.seed
    );
    for z in &r.zones {
        let o = &z.outcomes;
        h.push_str(&format!(
            "<h3>Zone {} ({})</h3><p>Channels: mean depth {:.0} µm, {:.0} /cm², {:.0} % bleeding. Downtime {:.1} days [{:.1}, {:.1}] per session; PIH risk {:.1} % [{:.1}, {:.1}].</p>",
            html::esc(&z.name),
            html::esc(&z.site),
            z.injury.mean_depth_um,
            z.injury.density_per_cm2,
            100.0 * z.injury.bleeding_fraction,
            o.downtime_mean_days.nominal,
            o.downtime_mean_days.p5,
            o.downtime_mean_days.p95,
            o.pih_risk_pct.nominal,
            o.pih_risk_pct.p5,
            o.pih_risk_pct.p95
        ));
        let rows: Vec<Vec<String>> = o
            .timepoints
            .iter()
            .map(|t| {
                vec![
                    num_cell(t.day, 0),
                    band_text(&t.collagen_i_change_pct, 1),
                    band_text(&t.collagen_iii_change_pct, 1),
                    band_text(&t.elastin_change_pct, 1),
                    band_text(&t.epidermal_thickness_change_pct, 1),
                    band_text(&t.dermal_thickness_change_pct, 1),
                    t.acne_scar_score_reduction_pct
                        .as_ref()
                        .map_or("-".into(), |b| band_text(b, 0)),
                ]
            })
            .collect();
        h.push_str(&html::table(
            &[
                "day",
                "collagen I (%)",
                "collagen III (%)",
                "elastin (%)",
                "epidermis (%)",
                "dermis (%)",
                "scar score reduction (%)",
            ],
            &rows,
        ));
    }
    for w in &r.warnings {
        h.push_str(&format!("<p class=\"open\">Warning: {}</p>", html::esc(w)));
    }
    h
}

fn healing_params_day() -> f64 {
    needlesim::healing::params::DAY
}

fn short(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::StratumCorneum => "SC",
        LayerKind::ViableEpidermis => "VE",
        LayerKind::PapillaryDermis => "PD",
        LayerKind::ReticularDermis => "RD",
        LayerKind::Subcutis => "SubQ",
    }
}

fn print_summary(r: &PuncturesReport, out: &Path) {
    println!("needlesim punctures: {} (seed {})", r.title, r.seed);
    let p = &r.person;
    let sex = match p.sex {
        needlesim::skin::Sex::Female => "female",
        needlesim::skin::Sex::Male => "male",
    };
    println!(
        "person: {:.0} y, {sex}, Fitzpatrick {}",
        p.age_years, p.phototype
    );
    for z in &r.zones {
        println!();
        println!(
            "zone {} ({}, {:.1} cm², {}; skin {:.2} mm = SC {:.0} + VE {:.0} + PD {:.0} µm + RD {:.2} mm)",
            z.name,
            z.site,
            z.area_cm2,
            z.device,
            z.skin_thickness_mm,
            z.layers[0].thickness_um,
            z.layers[1].thickness_um,
            z.layers[2].thickness_um,
            z.layers[3].thickness_um / 1000.0
        );
        println!(
            "  punctures     {:>9}   density {:.0}/cm² (kinematic {:.0}/cm²)",
            z.punctures, z.density_per_cm2, z.expected_density_per_cm2
        );
        let d = &z.depth;
        println!(
            "  depth (µm)    nominal {:.0}  mean {:.0} ± {:.0} (ratio {:.2}, model range {:.0}-{:.0})",
            d.nominal_um, d.mean_um, d.sd_um, d.ratio, d.model_range_um[0], d.model_range_um[1]
        );
        println!(
            "                p5 {:.0}  p25 {:.0}  p50 {:.0}  p75 {:.0}  p95 {:.0}",
            d.p5_um, d.p25_um, d.p50_um, d.p75_um, d.p95_um
        );
        let reach: Vec<String> = z
            .reach_fraction
            .iter()
            .skip(1)
            .map(|v| format!("{} {:.0} %", short(v.layer), v.value * 100.0))
            .collect();
        println!("  reaching      {}", reach.join("  "));
        let inj: Vec<String> = z
            .injured_volume_fraction
            .iter()
            .filter(|v| v.value > 0.0)
            .map(|v| format!("{} {:.2} %", short(v.layer), v.value * 100.0))
            .collect();
        println!("  injured vol.  {}", inj.join("  "));
        println!(
            "  bleeding      {:.0} % of channels   open surface {:.2} %   needling {:.1} min",
            z.bleeding_fraction * 100.0,
            z.open_surface_fraction * 100.0,
            z.needling_min
        );
    }
    let t = &r.session;
    println!();
    println!(
        "session: preparation {:.0} + numbing {:.0} ({}) + needling {:.1} + aftercare {:.0} = {:.0} min",
        t.preparation_min,
        t.numbing_min,
        t.numbing.name(),
        t.needling_min,
        t.aftercare_min,
        t.total_min
    );
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!(
        "wrote {}/punctures.json, channels_*.csv, zone_*.svg, depth_*.svg",
        out.display()
    );
}

fn deliver(path: &Path, out: &Path, seed: Option<u64>, c: &Common) -> anyhow::Result<()> {
    use needlesim::delivery;
    let mut sw = Stopwatch::new();
    let (mut s, plan) = sw.time("read scenario", || input::delivery::load(path))?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let bar = Bar::new(c.quiet);
    let run = delivery::run::run_with(&s, &plan, &|st, d, n| bar.update(st, d, n))
        .context("simulating delivery")?;
    bar.finish();
    sw.extend(&run.timings.stages);
    let r = &run.report;
    sw.time("write outputs", || -> anyhow::Result<()> {
        std::fs::create_dir_all(out)
            .with_context(|| format!("creating output folder `{}`", out.display()))?;
        let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
            let p = out.join(name);
            report::write_atomic(&p, bytes).with_context(|| format!("writing `{}`", p.display()))
        };
        write(
            "delivery_series.csv",
            delivery::report::series_csv(r).as_bytes(),
        )?;
        write(
            "delivery_profiles.csv",
            delivery::report::profiles_csv(r).as_bytes(),
        )?;
        write(
            "delivery_time.svg",
            delivery::report::time_svg(r)?.as_bytes(),
        )?;
        write(
            "delivery_profile.svg",
            delivery::report::profile_svg(r)?.as_bytes(),
        )?;
        write("delivery.json", serde_json::to_string_pretty(r)?.as_bytes())
    })?;
    if let Some(rp) = &c.report {
        sw.time("write report", || -> anyhow::Result<()> {
            let mut page = html::Page::new(
                &format!("Delivery: {}", r.title),
                &format!("needlesim deliver · {}", path.display()),
            );
            page.parts(&[Part::Skin, Part::Devices, Part::Injury, Part::Delivery]);
            page.section("Summary", &delivery_summary_html(r));
            page.section("Figures", "");
            page.figure(
                "Amounts over time, needled skin against intact skin.",
                &delivery::report::time_svg(r)?,
            );
            page.figure(
                "Concentration against depth at the sampled times.",
                &delivery::report::profile_svg(r)?,
            );
            page.input(&path.display().to_string(), &read_text(path)?);
            page.resolved(
                "Resolved scenario and delivery plan (validated, SI units)",
                &format!("{s:#?}\n\n{plan:#?}"),
            );
            write_report(&page, rp, Some(s.seed))
        })?;
    }
    if !c.quiet {
        print_delivery(r, out);
    }
    sw.print(c.timings);
    Ok(())
}

fn delivery_summary_html(r: &DeliverReport) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.3}"));
    let mut h = format!(
        "<p>Zone {} ({}, {}), {:?}; product {} ({}), compound {} (MW {:.0} g/mol, log K {:.2}). Channels: {:.0} /cm², mean depth {:.0} µm, open radius {:.1} µm at the surface; barrier recovery {} h.</p>",
        html::esc(&r.zone),
        html::esc(&r.site),
        html::esc(&r.device),
        r.setup,
        html::esc(&r.product),
        html::esc(&r.vehicle),
        html::esc(&r.compound.name),
        r.compound.mw_g_mol,
        r.coefficients.log_k_used,
        r.channels.density_per_cm2,
        r.channels.mean_depth_um,
        r.channels.surface_open_radius_um,
        f(r.closure.barrier_recovery_h)
    );
    let t_end = r.series.last().map_or(0.0, |p| p.t_h);
    let rows: Vec<Vec<String>> = [
        (
            "entered the skin (µg/cm²)",
            r.needled.entered_ug_cm2,
            r.intact.entered_ug_cm2,
        ),
        (
            "reached the dermis (µg/cm²)",
            r.needled.reached_dermis_ug_cm2,
            r.intact.reached_dermis_ug_cm2,
        ),
        (
            "blood + receptor (µg/cm²)",
            r.needled.receptor_blood_ug_cm2,
            r.intact.receptor_blood_ug_cm2,
        ),
        (
            "held in the skin (µg/cm²)",
            r.needled.held_in_skin_ug_cm2,
            r.intact.held_in_skin_ug_cm2,
        ),
        (
            "peak flux out (µg/cm²/h)",
            r.needled.peak_flux_out_ug_cm2_h,
            r.intact.peak_flux_out_ug_cm2_h,
        ),
    ]
    .iter()
    .map(|(n, a, b)| vec![n.to_string(), format!("#{a:.4e}"), format!("#{b:.4e}")])
    .chain(std::iter::once(vec![
        "lag time (h)".to_string(),
        format!("#{}", f(r.needled.lag_time_h)),
        format!("#{}", f(r.intact.lag_time_h)),
    ]))
    .collect();
    h.push_str(&html::table(
        &[&format!("after {t_end:.2} h"), "needled", "intact"],
        &rows,
    ));
    h.push_str(&format!(
        "<p>Enhancement (needled / intact): blood + receptor {}, reached dermis {}.</p>",
        f(r.enhancement_receptor_blood),
        f(r.enhancement_reached_dermis)
    ));
    for w in &r.warnings {
        h.push_str(&format!("<p class=\"open\">Warning: {}</p>", html::esc(w)));
    }
    h
}

fn print_delivery(r: &DeliverReport, out: &Path) {
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.3}"));
    println!("needlesim deliver: {} (seed {})", r.title, r.seed);
    println!(
        "zone {} ({}, {}), {:?}; product {} ({}), compound {} (MW {:.0}, log K {:.2})",
        r.zone,
        r.site,
        r.device,
        r.setup,
        r.product,
        r.vehicle,
        r.compound.name,
        r.compound.mw_g_mol,
        r.coefficients.log_k_used
    );
    let c = &r.channels;
    println!(
        "channels: {:.0}/cm², mean depth {:.0} µm, open radius {:.1} µm at the surface; barrier recovery {} h",
        c.density_per_cm2,
        c.mean_depth_um,
        c.surface_open_radius_um,
        fmt(r.closure.barrier_recovery_h)
    );
    let k = &r.coefficients;
    println!(
        "coefficients: r_h {:.2} nm, D free {:.1} / VE {:.1} / dermis {:.1} µm²/s, kp {:.3e} cm/h",
        k.r_h_nm, k.d_free_um2_s, k.d_viable_epidermis_um2_s, k.d_dermis_um2_s, k.kp_cm_h
    );
    let n = &r.numerics;
    let grid = match (n.geometry, n.patch_voxel_um) {
        (needlesim::delivery::run::GeometryKind::Patch { side_m }, Some(dx)) => format!(
            "3-D patch {:.1} mm at {dx:.1} µm lateral voxels",
            side_m * 1e3
        ),
        _ => "axisymmetric unit cell".to_string(),
    };
    println!(
        "numerics: {grid}, {} voxels, {} steps (needled arm)",
        n.voxels_needled, n.steps_needled
    );
    let t_end = r.series.last().map_or(0.0, |p| p.t_h);
    println!("after {t_end:.2} h (per cm²):        needled      intact");
    for (name, a, b) in [
        (
            "entered the skin (µg)",
            r.needled.entered_ug_cm2,
            r.intact.entered_ug_cm2,
        ),
        (
            "reached the dermis (µg)",
            r.needled.reached_dermis_ug_cm2,
            r.intact.reached_dermis_ug_cm2,
        ),
        (
            "blood + receptor (µg)",
            r.needled.receptor_blood_ug_cm2,
            r.intact.receptor_blood_ug_cm2,
        ),
        (
            "held in the skin (µg)",
            r.needled.held_in_skin_ug_cm2,
            r.intact.held_in_skin_ug_cm2,
        ),
        (
            "peak flux out (µg/h)",
            r.needled.peak_flux_out_ug_cm2_h,
            r.intact.peak_flux_out_ug_cm2_h,
        ),
    ] {
        println!("  {name:<26} {a:>11.4e} {b:>11.4e}");
    }
    println!(
        "  {:<26} {:>11} {:>11}",
        "lag time (h)",
        fmt(r.needled.lag_time_h),
        fmt(r.intact.lag_time_h)
    );
    if let Some(th) = r.effect_threshold_ug_cm2 {
        println!(
            "  {:<26} {:>11} {:>11}   (threshold {th:.3e} µg/cm² in VE + dermis)",
            "time to effect (min)",
            fmt(r.needled.time_to_effect_min),
            fmt(r.intact.time_to_effect_min)
        );
    }
    println!(
        "enhancement (needled / intact): blood + receptor {}, reached dermis {}",
        fmt(r.enhancement_receptor_blood),
        fmt(r.enhancement_reached_dermis)
    );
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!(
        "wrote {}/delivery.json, delivery_series.csv, delivery_profiles.csv, delivery_time.svg, delivery_profile.svg",
        out.display()
    );
}
