//! The `needlesim` command-line tool: a thin layer over the library.
//!
//! Exit codes: 0 success, 2 bad input (scenario or flags), 1 any other failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use needlesim::delivery::run::DeliverReport;
use needlesim::healing::simulate::{self as healing_sim, SimulateError, SimulateReport};
use needlesim::pipeline::{self, PuncturesReport};
use needlesim::report;
use needlesim::scenario::{self, ScenarioError};
use needlesim::skin::LayerKind;

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
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Print the time each pipeline stage took.
        #[arg(long)]
        timings: bool,
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
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Print the time each stage took.
        #[arg(long)]
        timings: bool,
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
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Print the time each planner stage took.
        #[arg(long)]
        timings: bool,
        /// Skip the healing-model prediction and optimisation (screening and recommendations
        /// only).
        #[arg(long)]
        no_predict: bool,
    },
    /// Run the validation cases (published measurements) and print measured vs simulated.
    ///
    /// Exits with status 1 if a case's result differs from the one recorded at its last review
    /// (`expect`), or if a case cannot be read.
    Validate {
        /// Folder of case files (searched recursively).
        #[arg(default_value = "validation")]
        dir: PathBuf,
        /// Also write the results as Markdown to this file (e.g. docs/VALIDATION.md).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Print only problems.
        #[arg(long)]
        quiet: bool,
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
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Print the time each pipeline stage took.
        #[arg(long)]
        timings: bool,
        /// Model resolution: lumped (per-layer compartments), unit-cell (adds the
        /// axisymmetric cell around one channel) or patch (adds the 3-D patch over the puncture
        /// maps, `protocol.patch_size_mm`). Overrides the scenario's `protocol.resolution`;
        /// default lumped.
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
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let bad_input = e.downcast_ref::<ScenarioError>().is_some()
                || e.downcast_ref::<needlesim::plan::PatientError>().is_some()
                || matches!(
                    e.downcast_ref::<SimulateError>(),
                    Some(SimulateError::NoProtocol(_))
                );
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
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
            quiet,
            timings,
        } => punctures(&scenario, &out, seed, quiet, timings),
        Command::Deliver {
            scenario,
            out,
            seed,
            quiet,
            timings,
        } => deliver(&scenario, &out, seed, quiet, timings),
        Command::Plan {
            patient,
            out,
            quiet,
            timings,
            no_predict,
        } => plan(&patient, &out, quiet, timings, no_predict),
        Command::Validate { dir, report, quiet } => validate(&dir, report.as_deref(), quiet),
        Command::Simulate {
            scenario,
            out,
            seed,
            quiet,
            timings,
            resolution,
        } => simulate(&scenario, &out, seed, quiet, timings, resolution),
        Command::Schema { which } => {
            let scen = schemars::schema_for!(scenario::ScenarioFile);
            let punc = schemars::schema_for!(PuncturesReport);
            let outc = schemars::schema_for!(SimulateReport);
            let v = match which {
                SchemaKind::Scenario => serde_json::to_value(scen)?,
                SchemaKind::Punctures => serde_json::to_value(punc)?,
                SchemaKind::Delivery => serde_json::to_value(schemars::schema_for!(DeliverReport))?,
                SchemaKind::Case => {
                    serde_json::to_value(schemars::schema_for!(needlesim::validate::Case))?
                }
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

fn punctures(
    path: &Path,
    out: &Path,
    seed: Option<u64>,
    quiet: bool,
    timings: bool,
) -> anyhow::Result<()> {
    let mut s = scenario::load(path)?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let run = pipeline::run_punctures(&s).context("generating punctures")?;
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
    )?;
    if !quiet {
        print_summary(&run.report, out);
    }
    if timings {
        for (stage, t) in &run.timings.stages {
            eprintln!("timing  {stage:<20} {:>9.3} ms", t * 1e3);
        }
    }
    Ok(())
}

fn plan(
    path: &Path,
    out: &Path,
    quiet: bool,
    timings: bool,
    no_predict: bool,
) -> anyhow::Result<()> {
    use needlesim::plan;
    let patient = plan::patient::load(path)?;
    let healing = plan::healing_predictor::HealingPredictor::default();
    let models = plan::Models {
        numbing: &plan::LabelNumbing,
        predictor: (!no_predict).then_some(&healing as &dyn plan::Predictor),
    };
    let p = plan::plan(&patient, &models).context("making the plan")?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output folder `{}`", out.display()))?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let f = out.join(name);
        report::write_atomic(&f, bytes).with_context(|| format!("writing `{}`", f.display()))
    };
    write("plan.json", serde_json::to_string_pretty(&p)?.as_bytes())?;
    write("report.html", plan::render::html(&p).as_bytes())?;
    if !quiet {
        print!("{}", plan::render::text(&p));
        println!(
            "\nwrote {}/plan.json and {}/report.html",
            out.display(),
            out.display()
        );
    }
    if timings {
        for (stage, t) in &p.timings_ms {
            eprintln!("timing  {stage:<20} {t:>9.3} ms");
        }
    }
    Ok(())
}

fn validate(dir: &Path, report_path: Option<&Path>, quiet: bool) -> anyhow::Result<()> {
    use needlesim::validate::{self as v, Expect};
    let files = v::find_cases(dir)?;
    if files.is_empty() {
        anyhow::bail!("no validation cases (*.toml) under `{}`", dir.display());
    }
    let mut outcomes = Vec::new();
    for f in &files {
        outcomes.push(v::run_case(f)?);
    }
    let changed: Vec<_> = outcomes
        .iter()
        .filter(|o| o.pass != (o.expect == Expect::Pass))
        .collect();
    if !quiet {
        println!(
            "{:<14} {:<52} {:>12} {:>12} {:>19}  result",
            "case", "quantity", "published", "simulated", "accepted"
        );
        for o in &outcomes {
            let q: String = o.quantity.chars().take(52).collect();
            let sim = o
                .simulated
                .map_or_else(|| "error".to_string(), |x| format!("{x:.4}"));
            println!(
                "{:<14} {:<52} {:>12.4} {:>12} {:>9.4}-{:<9.4}  {}{}",
                o.id,
                q,
                o.expected,
                sim,
                o.low,
                o.high,
                if o.pass { "pass" } else { "FAIL" },
                match o.role {
                    v::Role::Calibration => " (calibration case)",
                    v::Role::Check => " (formula check)",
                    v::Role::Validation => "",
                }
            );
        }
        let passed = outcomes.iter().filter(|o| o.pass).count();
        println!(
            "{passed} of {} cases within tolerance; failing cases and their reasons are in their files' notes",
            outcomes.len()
        );
    }
    if let Some(path) = report_path {
        let mut md = String::from(
            "# Validation\n\nGenerated by `needlesim validate --report docs/VALIDATION.md` from the case files under `validation/`: each holds the published value, the accepted range and its basis, the source and its evidence grade, and the metric the model computes. Calibration cases were used to fit a parameter, so passing them shows the fit, not an independent check. Failing cases stay in the table; the note says why.\n\n",
        );
        md.push_str(&v::markdown_table(&outcomes));
        report::write_atomic(path, md.as_bytes())
            .with_context(|| format!("writing `{}`", path.display()))?;
    }
    for o in &outcomes {
        if let Some(e) = &o.error {
            eprintln!("error in case {} ({}): {e}", o.id, o.file);
        }
    }
    if !changed.is_empty() {
        let ids: Vec<_> = changed
            .iter()
            .map(|o| {
                format!(
                    "{} ({})",
                    o.id,
                    if o.pass { "now passes" } else { "now fails" }
                )
            })
            .collect();
        anyhow::bail!(
            "validation results changed since the last review: {}; update the case's `expect` and note only after checking why",
            ids.join(", ")
        );
    }
    Ok(())
}

fn simulate(
    path: &Path,
    out: &Path,
    seed: Option<u64>,
    quiet: bool,
    timings: bool,
    resolution: Option<ResolutionArg>,
) -> anyhow::Result<()> {
    let mut s = scenario::load(path)?;
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
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output folder `{}`", out.display()))?;
    // Progress of the spatial runs on stderr, every 10 % of the steps.
    let mut shown = (String::new(), 0u64);
    let mut progress = |zone: &str, p: &needlesim::healing::spatial::Progress| {
        let tenth = 10 * p.step / p.steps.max(1);
        if quiet || (shown.0 == zone && tenth == shown.1) {
            return;
        }
        shown = (zone.to_string(), tenth);
        eprintln!(
            "  {} `{zone}`: step {}/{} (day {:.0} of {:.0})",
            res.name(),
            p.step,
            p.steps,
            p.t_s / healing_params_day(),
            p.t_end_s / healing_params_day()
        );
    };
    let mut opts = healing_sim::SpatialOptions {
        checkpoint_dir: Some(out.to_path_buf()),
        progress: Some(&mut progress),
        ..Default::default()
    };
    let run = healing_sim::run_resolution_with(&s, res, &mut opts)?;
    let spatial_runs = run
        .unit_cells
        .iter()
        .map(|u| (&u.name, &u.run))
        .chain(run.patches.iter().map(|p| (&p.name, &p.run)));
    for (name, r) in spatial_runs {
        for n in &r.notices {
            eprintln!("note: {n}");
        }
        if r.resumed_at_step > 0 && !quiet {
            eprintln!(
                "  `{name}`: resumed from its checkpoint at step {} of {}",
                r.resumed_at_step, r.steps
            );
        }
    }
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let p = out.join(name);
        report::write_atomic(&p, bytes).with_context(|| format!("writing `{}`", p.display()))
    };
    use needlesim::healing::report as hr;
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
    for uc in &run.unit_cells {
        use needlesim::healing::cross_section as xs;
        let name = &uc.name;
        write(
            &format!("unit_cell_{name}.csv"),
            xs::layer_means_csv(&uc.run).as_bytes(),
        )?;
        for snap in &uc.run.snapshots {
            let svg = xs::unit_cell_svg(
                name,
                &uc.cell.model,
                uc.cell.grid.r_faces(),
                uc.cell.grid.z_faces(),
                snap,
            )?;
            write(
                &format!(
                    "cross_section_{name}_day{:.0}.svg",
                    snap.t_s / healing_params_day()
                ),
                svg.as_bytes(),
            )?;
        }
    }
    for pz in &run.patches {
        use needlesim::healing::cross_section as xs;
        let name = &pz.name;
        write(
            &format!("patch_{name}.csv"),
            xs::layer_means_csv(&pz.run).as_bytes(),
        )?;
        let x_faces: Vec<f64> = (0..=pz.patch.n)
            .map(|i| i as f64 * pz.patch.voxel_m)
            .collect();
        for snap in &pz.run.snapshots {
            let svg = xs::patch_svg(
                name,
                &pz.patch.model,
                &x_faces,
                pz.patch.grid.z_faces(),
                (pz.row as f64 + 0.5) * pz.patch.voxel_m,
                snap,
            )?;
            write(
                &format!(
                    "cross_section_{name}_day{:.0}.svg",
                    snap.t_s / healing_params_day()
                ),
                svg.as_bytes(),
            )?;
        }
    }
    write(
        "outcomes.json",
        serde_json::to_string_pretty(&run.report)?.as_bytes(),
    )?;
    if !quiet {
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
    if timings {
        for (stage, t) in &run.timings.stages {
            eprintln!("timing  {stage:<20} {:>9.3} ms", t * 1e3);
        }
    }
    Ok(())
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

fn deliver(
    path: &Path,
    out: &Path,
    seed: Option<u64>,
    quiet: bool,
    timings: bool,
) -> anyhow::Result<()> {
    use needlesim::delivery;
    let (mut s, plan) = delivery::scenario::load(path)?;
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let run = delivery::run::run(&s, &plan).context("simulating delivery")?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output folder `{}`", out.display()))?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let p = out.join(name);
        report::write_atomic(&p, bytes).with_context(|| format!("writing `{}`", p.display()))
    };
    let r = &run.report;
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
    write("delivery.json", serde_json::to_string_pretty(r)?.as_bytes())?;
    if !quiet {
        print_delivery(r, out);
    }
    if timings {
        for (stage, t) in &run.timings.stages {
            eprintln!("timing  {stage:<22} {:>9.3} ms", t * 1e3);
        }
    }
    Ok(())
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
