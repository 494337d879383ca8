//! The `needlesim` command-line tool: a thin layer over the library.
//!
//! Exit codes: 0 success, 2 bad input (scenario or flags), 1 any other failure (for `validate`:
//! a case that passes in the baseline fails now).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use needlesim::delivery::run::DeliverReport;
use needlesim::healing::simulate::{Resolution, SimulateReport};
use needlesim::input;
use needlesim::pipeline::PuncturesReport;
use needlesim::report::html::RunInfo;
use needlesim::study::validation::{self, ValidateOptions};
use needlesim::study::{Command as Cmd, RunOptions, Study, WriteOptions};

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
    /// List the model parameters: group, name, value, unit, kind, plausible range and source.
    ///
    /// Any entry not marked fixed can be overridden in a scenario or patient file with
    /// `[params.<group>] name = value`, in the unit listed here.
    Params {
        /// Keep entries whose `group.name`, kind or source contains this text
        /// (case-insensitive), e.g. `healing.`, `collagen`, `calibrated`.
        #[arg(long, value_name = "P")]
        filter: Option<String>,
    },
    /// Export a model in an exchange format (SBML).
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Run a virtual cohort: every virtual patient of a cohort file through the planner's
    /// screening and the healing model's predictions, for each protocol and parameter draw.
    ///
    /// Writes hive-partitioned Parquet (results/protocol=<name>/part-<shard>.parquet),
    /// summary.csv, plots, params.csv, draws.csv, cohort.toml and manifest.json to the output
    /// folder (docs/COHORTS.md). Completed shards are skipped, so running the same command again
    /// resumes a stopped run. Results are identical for any --workers.
    Cohort {
        /// Cohort file (TOML); see examples/cohorts/.
        cohort: PathBuf,
        /// Output folder (created if missing).
        #[arg(long, default_value = "out/cohort")]
        out: PathBuf,
        /// Local worker threads (0: all cores).
        #[arg(long, default_value_t = 0)]
        workers: usize,
        /// Run the shards on a Dask cluster at this scheduler address (e.g.
        /// tcp://10.0.0.5:8786) through the needlesim Python package (`$NEEDLESIM_PYTHON`,
        /// else `python3`, `-m needlesim.dask`); each Dask worker runs one thread.
        #[arg(long, value_name = "ADDRESS", conflicts_with = "workers")]
        dask: Option<String>,
        /// Print nothing but errors (no summary, no progress bar).
        #[arg(long)]
        quiet: bool,
    },
    /// Start the local web app: an intake form, the plan, saved patients (docs/APP.md).
    ///
    /// Listens on 127.0.0.1 (this computer only) unless --bind names another address, which
    /// then needs --token. Patients and plans are kept in DIR/needlesim.sqlite; nothing is
    /// written elsewhere. Stop it with Ctrl-C.
    Serve {
        /// Port to listen on.
        #[arg(long, default_value_t = needlesim_web::DEFAULT_PORT)]
        port: u16,
        /// Data folder (created if missing): the database of saved patients and plans.
        #[arg(long, value_name = "DIR", default_value = "needlesim-data")]
        data: PathBuf,
        /// Address to listen on; anything but a loopback address makes the app reachable from
        /// other computers and needs --token.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Access token (at least 16 characters) every request must carry; required with a
        /// non-loopback --bind.
        #[arg(long, value_name = "T")]
        token: Option<String>,
    },
    /// Print the JSON Schema of an input file or an output.
    Schema {
        /// Which schema.
        #[arg(value_enum, default_value = "all")]
        which: SchemaKind,
    },
}

/// What `needlesim export` writes.
#[derive(Subcommand)]
enum ExportCommand {
    /// The lumped healing model of one zone as SBML Level 3 Version 2 with units.
    ///
    /// Built from the same inputs as `needlesim simulate` (the zone's channels, the protocol's
    /// sessions as events, the person, the skin column, the model parameters with the file's
    /// [params.*] overrides). Loads in COPASI, libroadrunner and other SBML tools; see
    /// docs/SBML.md.
    Sbml {
        /// Scenario file (TOML) with a [protocol] section [default: the built-in copy of
        /// examples/simulate_acne_scars.toml].
        scenario: Option<PathBuf>,
        /// SBML file to write.
        #[arg(long, default_value = "model.xml")]
        out: PathBuf,
        /// Zone to export (by name) [default: the scenario's first zone].
        #[arg(long)]
        zone: Option<String>,
        /// Seed of all random streams (overrides the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Also write needlesim's own trajectory of every state variable (CSV: time_s and one
        /// column per SBML id) after each session (1 h, 6 h, 1, 3, 7, 14, 28 days) and at the
        /// end, integrated at the tolerances of [params.numerics].
        #[arg(long, value_name = "FILE.csv")]
        trajectory: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
    },
}

/// The scenario `needlesim export sbml` uses when none is given.
const DEFAULT_EXPORT_SCENARIO: &str = include_str!("../../../examples/simulate_acne_scars.toml");

/// Flags every running command has.
#[derive(clap::Args, Clone, Debug)]
struct Common {
    /// Print nothing but errors (no summary, no progress bar).
    #[arg(long)]
    quiet: bool,
    /// Print the time each stage took (reading input, each model stage, writing outputs) and
    /// write them to timings.json beside the results (result files never hold timings).
    #[arg(long)]
    timings: bool,
    /// Write one self-contained HTML report (inputs, summary, plots, validation status,
    /// version and seed) to this file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Refuse, before computing, a run whose memory estimate exceeds this many GiB.
    #[arg(long, value_name = "GIB", default_value_t = 4.0, value_parser = memory_limit_gib)]
    memory_limit_gib: f64,
}

/// `--memory-limit-gib`: a positive number of GiB, at most 1024.
fn memory_limit_gib(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1024.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a memory limit: give a number of GiB above 0 and at most 1024 (default 4)"
        )),
    }
}

impl Common {
    fn memory_limit_bytes(&self) -> Option<u64> {
        Some((self.memory_limit_gib * (1u64 << 30) as f64) as u64)
    }
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
    /// The cohort file (input of `cohort`).
    Cohort,
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
            let bad_input = e
                .downcast_ref::<needlesim::Error>()
                .is_some_and(needlesim::Error::is_bad_input);
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
        } => study(Cmd::Punctures, &scenario, &out, seed, None, &common),
        Command::Deliver {
            scenario,
            out,
            seed,
            common,
        } => study(Cmd::Deliver, &scenario, &out, seed, None, &common),
        Command::Simulate {
            scenario,
            out,
            seed,
            common,
            resolution,
        } => {
            let res = resolution.map(|r| match r {
                ResolutionArg::Lumped => Resolution::Lumped,
                ResolutionArg::UnitCell => Resolution::UnitCell,
                ResolutionArg::Patch => Resolution::Patch,
            });
            study(Cmd::Simulate, &scenario, &out, seed, res, &common)
        }
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
        } => validate(
            &ValidateOptions {
                baseline: baseline.unwrap_or_else(|| dir.join("baseline.json")),
                markdown: match (markdown, no_markdown) {
                    (Some(p), _) => Some(p),
                    (None, true) => None,
                    // A filtered run would overwrite the full table with a part of it.
                    (None, false) if !filter.is_empty() => None,
                    // Only at the repository root, on its own cases.
                    (None, false) => needlesim::validate::default_markdown(Path::new(""), &dir),
                },
                dir,
                filter,
                update_baseline,
            },
            &out,
            &common,
        ),
        Command::Export {
            what:
                ExportCommand::Sbml {
                    scenario,
                    out,
                    zone,
                    seed,
                    trajectory,
                    quiet,
                },
        } => {
            let study = match &scenario {
                Some(p) => Study::from_path(p)?,
                None => Study::from_toml_str(
                    DEFAULT_EXPORT_SCENARIO,
                    "examples/simulate_acne_scars.toml (built in)",
                )?,
            };
            let e = study.export_sbml(&needlesim::study::export::SbmlOptions {
                zone,
                seed,
                trajectory: trajectory.is_some(),
            })?;
            needlesim::study::output::write_file(&out, e.xml.as_bytes())?;
            if let (Some(path), Some(csv)) = (&trajectory, &e.trajectory_csv) {
                needlesim::study::output::write_file(path, csv.as_bytes())?;
            }
            if !quiet {
                println!(
                    "wrote {} (SBML L3V2, zone `{}`: {} state variables, {} session event(s)){}",
                    out.display(),
                    e.zone,
                    e.variables,
                    e.sessions,
                    trajectory
                        .map(|p| format!(", {}", p.display()))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Cohort {
            cohort,
            out,
            workers,
            dask,
            quiet,
        } => run_cohort(&cohort, &out, workers, dask.as_deref(), quiet),
        Command::Serve {
            port,
            data,
            bind,
            token,
        } => serve(needlesim_web::Config {
            bind,
            port,
            data_dir: data,
            token,
            plan_slots: None,
        }),
        Command::Params { filter } => {
            print!("{}", needlesim::params::table_text(filter.as_deref()));
            Ok(())
        }
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
                SchemaKind::Cohort => {
                    serde_json::to_value(schemars::schema_for!(needlesim::cohort::CohortFile))?
                }
                SchemaKind::All => serde_json::json!({
                    "scenario": scen,
                    "punctures": punc,
                    "delivery": schemars::schema_for!(DeliverReport),
                    "case": schemars::schema_for!(needlesim::validate::Case),
                    "validation": schemars::schema_for!(needlesim::validate::ValidationReport),
                    "patient": schemars::schema_for!(needlesim::plan::PatientFile),
                    "plan": schemars::schema_for!(needlesim::plan::Plan),
                    "outcomes": outc,
                    "cohort": schemars::schema_for!(needlesim::cohort::CohortFile),
                }),
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
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
    /// The library's progress callback: `(stage, done, total)`; `total == 0`: a count.
    fn update(&self, stage: &str, done: usize, total: usize) {
        if total == 0 {
            return self.tick(stage);
        }
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

/// How to repeat this run: the command line as typed (quoted for a POSIX shell where needed),
/// the version and the seed.
fn run_info(seed: Option<u64>) -> RunInfo {
    let command_line = std::env::args()
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
        .join(" ");
    RunInfo {
        command_line,
        version: version(),
        seed,
    }
}

/// Prints the stage timings with `--timings`.
fn print_timings(c: &Common, t: &needlesim::study::Timings, start: Instant) {
    if c.timings {
        eprint!("{}", t.lines(start.elapsed().as_secs_f64()));
    }
}

/// `punctures`, `deliver` and `simulate`: one study, run and written.
fn study(
    cmd: Cmd,
    path: &Path,
    out: &Path,
    seed: Option<u64>,
    resolution: Option<Resolution>,
    c: &Common,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let study = Study::from_path(path)?;
    if cmd == Cmd::Simulate {
        // Checkpoints of the spatial runs go into the output folder.
        std::fs::create_dir_all(out)
            .map_err(|e| needlesim::Error::io("creating output folder", out, e))?;
    }
    let bar = Bar::new(c.quiet);
    let progress = |st: &str, d: usize, n: usize| bar.update(st, d, n);
    let opts = RunOptions {
        seed,
        resolution,
        checkpoint_dir: (cmd == Cmd::Simulate).then(|| out.to_path_buf()),
        progress: Some(&progress),
        quiet: c.quiet,
        memory_limit_bytes: c.memory_limit_bytes(),
        ..RunOptions::new(cmd)
    };
    let mut run = study.run(&opts)?;
    bar.finish();
    for n in run.notices() {
        if !c.quiet || n.starts_with("note:") {
            eprintln!("{n}");
        }
    }
    run.write_with(
        out,
        &WriteOptions {
            report: c.report.as_deref(),
            run_info: Some(run_info(run.seed())),
            timings_since: c.timings.then_some(start),
        },
    )?;
    if !c.quiet {
        print!("{}", run.summary(out, None));
    }
    print_timings(c, &run.timings, start);
    Ok(())
}

fn plan(path: &Path, out: &Path, c: &Common, no_predict: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let study = Study::patient_from_path(path)?;
    let bar = Bar::new(c.quiet);
    let progress = |st: &str, d: usize, n: usize| bar.update(st, d, n);
    let opts = RunOptions {
        predict: !no_predict,
        progress: Some(&progress),
        quiet: c.quiet,
        ..RunOptions::new(Cmd::Plan)
    };
    let mut run = study.run(&opts)?;
    bar.finish();
    let report = c.report.clone().unwrap_or_else(|| out.join("report.html"));
    run.write_with(
        out,
        &WriteOptions {
            report: Some(&report),
            run_info: Some(run_info(None)),
            timings_since: c.timings.then_some(start),
        },
    )?;
    if !c.quiet {
        print!("{}", run.summary(out, Some(&report)));
    }
    print_timings(c, &run.timings, start);
    Ok(())
}

fn validate(o: &ValidateOptions, out: &Path, c: &Common) -> anyhow::Result<()> {
    let start = Instant::now();
    let bar = Bar::new(c.quiet);
    let progress = |st: &str, d: usize, n: usize| bar.update(st, d, n);
    let mut run = validation::run(o, &progress)?;
    bar.finish();
    if !c.quiet {
        print!("{}", run.text(o.update_baseline));
    }
    for e in run.case_errors() {
        eprintln!("{e}");
    }
    run.write(out, o, c.timings.then_some(start))?;
    if let Some(rp) = &c.report {
        let html = run.page(&o.dir, &run_info(None));
        needlesim::study::output::write_file(rp, html.as_bytes())?;
    }
    if !c.quiet {
        println!(
            "wrote {}{}{}",
            out.join("validation.json").display(),
            o.markdown
                .as_ref()
                .map_or(String::new(), |m| format!(", {}", m.display())),
            if o.update_baseline {
                format!(", {}", o.baseline.display())
            } else {
                String::new()
            }
        );
    }
    print_timings(c, &run.timings, start);
    match run.regressions(o) {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// `cohort`: the shards locally on `workers` threads, or on a Dask cluster through the Python
/// package; then the summary.
fn run_cohort(
    path: &Path,
    out: &Path,
    workers: usize,
    dask: Option<&str>,
    quiet: bool,
) -> anyhow::Result<()> {
    let spec = needlesim::cohort::CohortSpec::from_path(path)?;
    let summary = match dask {
        None => {
            let bar = Bar::new(quiet);
            let progress = |st: &str, d: usize, n: usize| bar.update(st, d, n);
            let s = needlesim::cohort::run(
                &spec,
                out,
                &needlesim::cohort::CohortOptions {
                    workers,
                    progress: Some(&progress),
                },
            )?;
            bar.finish();
            s
        }
        Some(address) => {
            dask_shards(path, out, address)?;
            needlesim::cohort::finish(&spec, out)?
        }
    };
    if !quiet {
        print!("{}", summary.text(out));
    }
    Ok(())
}

/// Runs `python -m needlesim.dask COHORT --out DIR --address ADDRESS` (the Python package's
/// Dask driver), with one Rayon thread per process.
fn dask_shards(cohort: &Path, out: &Path, address: &str) -> anyhow::Result<()> {
    use std::process::{Command as Proc, Stdio};
    let (python, from_env) = match std::env::var("NEEDLESIM_PYTHON") {
        Ok(p) if !p.is_empty() => (p, true),
        _ => ("python3".to_string(), false),
    };
    let which = if from_env {
        format!("`{python}` (from NEEDLESIM_PYTHON)")
    } else {
        "`python3` (set NEEDLESIM_PYTHON to choose another interpreter)".to_string()
    };
    let probe = Proc::new(&python)
        .args(["-c", "import needlesim.dask"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match probe {
        Err(e) => {
            return Err(needlesim::Error::Input(format!(
                "--dask needs Python with the needlesim package, but {which} cannot be started: {e}\n  hint: install Python 3 and the needlesim wheel (crates/needlesim-py, `maturin develop` or `pip install`), or run without --dask"
            ))
            .into());
        }
        Ok(o) if !o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err.lines().last().unwrap_or("").trim().to_string();
            return Err(needlesim::Error::Input(format!(
                "--dask needs the needlesim Python package with Dask, but {which} cannot import `needlesim.dask`: {last}\n  hint: install the wheel (crates/needlesim-py: `maturin develop` in a virtual environment) and dask[distributed] into that Python, or run without --dask"
            ))
            .into());
        }
        Ok(_) => {}
    }
    let status = Proc::new(&python)
        .args(["-m", "needlesim.dask"])
        .arg(cohort)
        .arg("--out")
        .arg(out)
        .args(["--address", address])
        // This command prints the summary itself, after its own `finish`.
        .arg("--quiet")
        .env("RAYON_NUM_THREADS", "1")
        .status()
        .map_err(|e| needlesim::Error::Failed(format!("starting {which}: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(2) => Err(needlesim::Error::Input(format!(
            "the Dask run of `{}` stopped on bad input (address {address}; see the message above)",
            cohort.display()
        ))
        .into()),
        _ => Err(needlesim::Error::Failed(format!(
            "the Dask run of `{}` failed ({status}); completed shards are kept, so running the command again resumes",
            cohort.display()
        ))
        .into()),
    }
}
/// `needlesim serve`: runs the web app until Ctrl-C; a configuration that would expose patient
/// data is bad input (exit 2).
fn serve(cfg: needlesim_web::Config) -> anyhow::Result<()> {
    if let Err(e) = cfg.check() {
        return Err(needlesim::Error::Input(e.to_string()).into());
    }
    let token = cfg.token.clone();
    needlesim_web::serve_blocking(cfg, |r| {
        let url = match &token {
            Some(t) => format!("{}/?token={t}", r.url()),
            None => format!("{}/", r.url()),
        };
        println!(
            "needlesim planner: open {url}\n  data: {} (started in {:.0} ms; stop with Ctrl-C)",
            r.db_path.display(),
            r.startup.as_secs_f64() * 1e3
        );
    })?;
    Ok(())
}
