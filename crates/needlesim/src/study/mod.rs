//! The front door: one [`Study`] per input file, run through the one pipeline, written as one
//! set of outputs.
//!
//! ```text
//! Study::from_path(scenario.toml) / Study::patient_from_path(patient.toml)
//!   study.run(&RunOptions)  -> StudyRun      (pipeline::run: zones -> punctures -> channels ->
//!                                             delivery? -> healing -> outcomes; or the planner)
//!   run.write(dir)                            (the result files, atomically; output::write_set)
//!   run.page(&RunInfo), run.summary(dir)      (the HTML report and the terminal summary)
//! ```
//!
//! Like rapier's physics pipeline, one struct owns the steps: the command line, the planner and
//! the validation cases all go through [`pipeline`]; nothing else repeats the zone loop or the
//! random streams. Every stage is timed into the run's [`Timings`], which never go into the
//! result files.

pub mod batch;
pub mod export;
pub mod output;
pub mod page;
pub mod pipeline;
pub mod text;
pub mod validation;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::delivery::run::{DeliveryPlan, DeliveryRun};
pub use crate::error::{Error, Result};
use crate::healing::HealingParams;
use crate::healing::simulate::{Resolution, SimulateRun};
use crate::params::ModelParams;
use crate::pipeline::PuncturesRun;
use crate::plan::{Patient, Plan};
use crate::progress::Progress;
use crate::report::html::RunInfo;
use crate::scenario::Scenario;
pub use crate::timings::Timings;
pub use output::OutputFile;

/// The input file of a study, as read: its name (path) and text.
#[derive(Clone, Debug, Default)]
pub struct InputText {
    pub name: String,
    pub text: String,
}

/// A validated input.
#[derive(Clone, Debug)]
pub enum Input {
    /// A scenario file, with its `[delivery]` plan when it has one.
    Scenario {
        scenario: Box<Scenario>,
        delivery: Option<Box<DeliveryPlan>>,
    },
    /// A patient file (for the planner).
    Patient(Box<Patient>),
}

/// What a run computes: one per command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Puncture maps and channels per zone.
    Punctures,
    /// Topical delivery after needling (the scenario's `[delivery]`).
    Deliver,
    /// Healing over the scenario's `[protocol]` and the outcomes.
    Simulate,
    /// A treatment plan from a patient file.
    Plan,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Punctures => "punctures",
            Command::Deliver => "deliver",
            Command::Simulate => "simulate",
            Command::Plan => "plan",
        }
    }
}

/// What the caller (a command line, a script) selects for a run.
pub struct RunOptions<'a> {
    pub command: Command,
    /// Seed of all random streams (overrides the scenario's `seed`).
    pub seed: Option<u64>,
    /// Model resolution of `simulate` (overrides the scenario's `protocol.resolution`; default
    /// lumped).
    pub resolution: Option<Resolution>,
    /// `plan`: run the healing model's predictions and optimisation (`--no-predict`: false).
    pub predict: bool,
    /// Folder of the spatial runs' checkpoints (`simulate`); the command line uses the output
    /// folder, so that the same command run again resumes.
    pub checkpoint_dir: Option<PathBuf>,
    /// Progress `(stage, done, total)`; `total == 0`: an open-ended count.
    pub progress: Option<Progress<'a>>,
    /// No progress reports and no notices.
    pub quiet: bool,
    /// Stop each zone's spatial run after this many steps (tests).
    pub stop_after_steps: Option<u64>,
    /// Memory limit of the run, bytes: a run whose estimate ([`crate::budget`]) exceeds it is
    /// refused before anything is allocated. `None`: [`crate::budget::DEFAULT_LIMIT_BYTES`].
    pub memory_limit_bytes: Option<u64>,
}

impl RunOptions<'_> {
    /// The defaults of a command: the scenario's seed and resolution, predictions on, silent.
    pub fn new(command: Command) -> RunOptions<'static> {
        RunOptions {
            command,
            seed: None,
            resolution: None,
            predict: true,
            checkpoint_dir: None,
            progress: None,
            quiet: false,
            stop_after_steps: None,
            memory_limit_bytes: None,
        }
    }
}

/// A study: one validated input file and the model parameters its runs use.
#[derive(Clone, Debug)]
pub struct Study {
    pub source: InputText,
    pub input: Input,
    /// Reading and validating the input.
    pub timings: Timings,
}

impl Study {
    /// Reads and validates a scenario file.
    pub fn from_path(path: &Path) -> Result<Study> {
        let t0 = Instant::now();
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| crate::input::ScenarioError::Io {
                file: name.clone(),
                source,
            })?;
        let mut s = Study::from_toml_str(&text, &name)?;
        s.timings = Timings::default();
        s.timings.add("read scenario", t0);
        Ok(s)
    }

    /// Validates scenario text; `name` names it in messages. A `[delivery]` section is
    /// validated with it.
    pub fn from_toml_str(text: &str, name: &str) -> Result<Study> {
        let t0 = Instant::now();
        let raw = crate::input::parse_raw(text, name)?;
        // Every section present is validated once, whichever command runs.
        let (scenario, delivery) = crate::input::scenario::validate_all(&raw, name)?;
        let input = Input::Scenario {
            scenario: Box::new(scenario),
            delivery: delivery.map(Box::new),
        };
        let mut timings = Timings::default();
        timings.add("read scenario", t0);
        Ok(Study {
            source: InputText {
                name: name.into(),
                text: text.into(),
            },
            input,
            timings,
        })
    }

    /// A study of an already validated scenario (library use: calibration, validation cases).
    pub fn from_scenario(scenario: Scenario, delivery: Option<DeliveryPlan>) -> Study {
        Study {
            source: InputText::default(),
            input: Input::Scenario {
                scenario: Box::new(scenario),
                delivery: delivery.map(Box::new),
            },
            timings: Timings::default(),
        }
    }

    /// Reads and validates a patient file.
    pub fn patient_from_path(path: &Path) -> Result<Study> {
        let t0 = Instant::now();
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| crate::plan::PatientError::Io {
                file: name.clone(),
                source,
            })?;
        let mut s = Study::patient_from_toml_str(&text, &name)?;
        s.timings = Timings::default();
        s.timings.add("read patient", t0);
        Ok(s)
    }

    /// Validates patient text; `name` names it in messages.
    pub fn patient_from_toml_str(text: &str, name: &str) -> Result<Study> {
        let t0 = Instant::now();
        let patient = crate::plan::patient::parse(text, name)?;
        let mut timings = Timings::default();
        timings.add("read patient", t0);
        Ok(Study {
            source: InputText {
                name: name.into(),
                text: text.into(),
            },
            input: Input::Patient(Box::new(patient)),
            timings,
        })
    }

    /// The same study with other healing parameters (calibration, validation).
    pub fn with_healing_params(mut self, p: HealingParams) -> Study {
        match &mut self.input {
            Input::Scenario { scenario, .. } => scenario.params.healing = p,
            Input::Patient(patient) => patient.params.healing = p,
        }
        self
    }

    /// The model parameters of every stage: the registry's defaults with the file's
    /// `[params.<group>]` overrides (`crate::params`), as the input carries them.
    pub fn params(&self) -> &ModelParams {
        match &self.input {
            Input::Scenario { scenario, .. } => &scenario.params,
            Input::Patient(patient) => &patient.params,
        }
    }

    /// The validated scenario (none for a patient file).
    pub fn scenario(&self) -> Option<&Scenario> {
        match &self.input {
            Input::Scenario { scenario, .. } => Some(scenario),
            Input::Patient(_) => None,
        }
    }

    /// Runs the command `opts.command` through the pipeline.
    pub fn run(&self, opts: &RunOptions<'_>) -> Result<StudyRun> {
        let silent: Progress<'_> = &crate::progress::silent;
        let progress = match opts.progress {
            Some(p) if !opts.quiet => p,
            _ => silent,
        };
        let mut timings = self.timings.clone();
        let result = match (&self.input, opts.command) {
            (Input::Patient(patient), Command::Plan) => {
                let plan = self.plan(patient, opts.predict, progress, &mut timings)?;
                Outcome::Plan {
                    patient: patient.clone(),
                    plan: Box::new(plan),
                }
            }
            (Input::Patient(_), c) => {
                return Err(Error::Input(format!(
                    "`{}` is a patient file: use `needlesim plan` (`needlesim {}` needs a scenario file; see examples/)",
                    self.source.name,
                    c.name()
                )));
            }
            (Input::Scenario { .. }, Command::Plan) => {
                return Err(Error::Input(format!(
                    "`{}` is a scenario file: use `needlesim punctures`, `deliver` or `simulate` (`needlesim plan` needs a patient file; see examples/patients/)",
                    self.source.name
                )));
            }
            (Input::Scenario { scenario, delivery }, c) => {
                let mut s = (**scenario).clone();
                if let Some(seed) = opts.seed {
                    s.seed = seed;
                }
                let stages = match c {
                    Command::Punctures => pipeline::Stages::Punctures,
                    Command::Deliver => pipeline::Stages::Delivery,
                    _ => pipeline::Stages::Healing(opts.resolution.unwrap_or_else(|| {
                        s.protocol
                            .as_ref()
                            .and_then(|p| p.resolution)
                            .unwrap_or_default()
                    })),
                };
                if c == Command::Deliver && delivery.is_none() {
                    // The delivery reader's own error names the missing section.
                    crate::input::delivery::parse(&self.source.text, &self.source.name)?;
                }
                let ctl = pipeline::Control {
                    progress,
                    checkpoint_dir: opts.checkpoint_dir.clone(),
                    checkpoint_interval_days: 0.0,
                    stop_after_steps: opts.stop_after_steps,
                    memory_limit_bytes: opts.memory_limit_bytes,
                };
                let plan = delivery.as_deref();
                let flow = pipeline::run(&s, stages, plan, &s.params.healing, &ctl, &mut timings)?;
                match (flow.punctures, flow.delivery, flow.healing) {
                    (_, _, Some(run)) => Outcome::Simulate {
                        scenario: Box::new(s),
                        run: Box::new(run),
                    },
                    (_, Some(run), None) => match plan {
                        Some(plan) => Outcome::Deliver {
                            scenario: Box::new(s),
                            plan: Box::new(plan.clone()),
                            run: Box::new(run),
                        },
                        None => return Err(Error::Input("delivery without a plan".into())),
                    },
                    (Some(run), None, None) => Outcome::Punctures {
                        scenario: Box::new(s),
                        run: Box::new(run),
                    },
                    (None, None, None) => {
                        return Err(Error::Input("the pipeline produced nothing".into()));
                    }
                }
            }
        };
        Ok(StudyRun {
            source: self.source.clone(),
            command: opts.command,
            result,
            timings,
        })
    }

    fn plan(
        &self,
        patient: &Patient,
        predict: bool,
        progress: Progress<'_>,
        timings: &mut Timings,
    ) -> Result<Plan> {
        use crate::plan::{self, ModelNumbing, Models};
        let healing = plan::healing_predictor::HealingPredictor::new(&patient.params);
        // Thinning hair goes to the hair model; the patient's minoxidil joins its arm.
        let on_minoxidil = patient
            .medications
            .iter()
            .any(|m| m.class == plan::patient::MedicationClass::Minoxidil && m.stopped.is_none());
        let scalp =
            plan::hair_predictor::ScalpPredictor::new(&healing, &patient.params, on_minoxidil);
        let counting = CountingPredictor {
            inner: &scalp,
            progress,
            done: AtomicUsize::new(0),
        };
        let numbing = ModelNumbing::new(&patient.params);
        let models = Models {
            numbing: &numbing,
            predictor: predict.then_some(&counting as &dyn plan::Predictor),
        };
        Ok(plan::plan_timed(patient, &models, timings)?)
    }
}

/// Counts the planner's predictions on the progress callback (the planner calls its predictor
/// once per protocol it evaluates).
struct CountingPredictor<'a> {
    inner: &'a dyn crate::plan::Predictor,
    progress: Progress<'a>,
    done: AtomicUsize,
}

impl crate::plan::Predictor for CountingPredictor<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn predict(
        &self,
        input: &crate::plan::predict::PredictInput<'_>,
    ) -> Result<crate::plan::predict::Prediction, String> {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        (self.progress)("plan: protocols evaluated", n, 0);
        self.inner.predict(input)
    }
    fn pih_band_exceeds(&self, input: &crate::plan::predict::PredictInput<'_>, max: f64) -> bool {
        self.inner.pih_band_exceeds(input, max)
    }
}

/// What a run produced, per command, with the input it ran on (seed override applied).
pub enum Outcome {
    Punctures {
        scenario: Box<Scenario>,
        run: Box<PuncturesRun>,
    },
    Deliver {
        scenario: Box<Scenario>,
        plan: Box<DeliveryPlan>,
        run: Box<DeliveryRun>,
    },
    Simulate {
        scenario: Box<Scenario>,
        run: Box<SimulateRun>,
    },
    Plan {
        patient: Box<Patient>,
        plan: Box<Plan>,
    },
}

/// The result of [`Study::run`]: the outputs of one command and what each stage cost.
pub struct StudyRun {
    pub source: InputText,
    pub command: Command,
    pub result: Outcome,
    /// Wall time per stage (reading the input, each pipeline stage; writing adds its own).
    pub timings: Timings,
}

/// Where and how [`StudyRun::write_with`] writes.
#[derive(Default)]
pub struct WriteOptions<'a> {
    /// The HTML report (`--report`); inside the output folder it joins the set.
    pub report: Option<&'a Path>,
    /// How to repeat the run, shown in the report.
    pub run_info: Option<RunInfo>,
    /// Also write `timings.json` (each stage and the total wall time since this instant).
    pub timings_since: Option<Instant>,
}

impl StudyRun {
    /// The seed of the run's random streams (none for a plan).
    pub fn seed(&self) -> Option<u64> {
        match &self.result {
            Outcome::Punctures { scenario, .. }
            | Outcome::Deliver { scenario, .. }
            | Outcome::Simulate { scenario, .. } => Some(scenario.seed),
            Outcome::Plan { .. } => None,
        }
    }

    /// The result files, in the order they are listed in `docs/OUTPUTS.md`.
    pub fn files(&self) -> Result<Vec<OutputFile>> {
        page::files(self)
    }

    /// Writes the result files into `dir` as one set ([`output::write_set`]).
    pub fn write(&self, dir: &Path) -> Result<()> {
        output::write_set(dir, &self.files()?)
    }

    /// Writes the result files, and with `opts` the HTML report and `timings.json`: the files
    /// inside `dir` as one set, a report elsewhere on its own (atomically). The stages
    /// `render outputs`, `render report` and `write outputs` are added to the run's timings.
    pub fn write_with(&mut self, dir: &Path, opts: &WriteOptions<'_>) -> Result<()> {
        let t0 = Instant::now();
        let mut files = self.files()?;
        self.timings.add("render outputs", t0);
        let mut report_elsewhere = None;
        if let Some(path) = opts.report {
            let t0 = Instant::now();
            let info = opts
                .run_info
                .clone()
                .unwrap_or_else(|| RunInfo::library(self.seed()));
            let html = self.page(&info)?;
            match path.file_name().filter(|_| same_folder(path, dir)) {
                Some(name) => files.push(OutputFile::new(name.to_string_lossy(), html)),
                None => report_elsewhere = Some((path, html)),
            }
            self.timings.add("render report", t0);
        }
        // timings.json holds every stage up to here (the writing itself is printed only).
        if let Some(since) = opts.timings_since {
            files.push(OutputFile::new(
                "timings.json",
                self.timings.to_json(since.elapsed().as_secs_f64()),
            ));
        }
        let t0 = Instant::now();
        output::write_set(dir, &files)?;
        if let Some((path, html)) = report_elsewhere {
            output::write_file(path, html.as_bytes())?;
        }
        self.timings.add("write outputs", t0);
        Ok(())
    }

    /// The self-contained HTML report of the run.
    pub fn page(&self, info: &RunInfo) -> Result<String> {
        page::page(self, info)
    }

    /// The terminal summary (as `needlesim <command>` prints it; `dir`: where the files went,
    /// `report`: the HTML report, named by the plan's summary).
    pub fn summary(&self, dir: &Path, report: Option<&Path>) -> String {
        text::summary(self, dir, report)
    }

    /// Remarks of the run for the terminal (checkpoints ignored or resumed).
    pub fn notices(&self) -> Vec<String> {
        text::notices(self)
    }
}

/// Whether `file` lies directly in `dir`.
fn same_folder(file: &Path, dir: &Path) -> bool {
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if parent == dir {
        return true;
    }
    match (std::fs::canonicalize(&parent), std::fs::canonicalize(dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
