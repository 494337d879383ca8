//! Delivery benchmarks (figures in docs/BENCHMARKS.md, "Delivery").
//!
//! * `unit`: a 24 h unit-cell delivery run (needled + intact arms) of the bundled examples on one
//!   thread, median of 5.
//! * `patch`: the vitamin C and lidocaine examples as 1 cm² 3-D patches over their real
//!   puncture maps, all threads.
//! * `compare`: the fixed comparison problem that `benches/delivery_fipy.py` also solves with FiPy
//!   (a static cylindrical channel in a layered axisymmetric cell, Franz set-up), at two
//!   resolutions, printed as one JSON line (`COMPARE {...}`).
//!
//! Run: `cargo bench -p needlesim --bench delivery [-- unit|patch|compare]`; patch options:
//! `dx=25,40`, `prev`, `base` (the previous steps, ×2 up to 30 min), `split`,
//! `pc=zline,multigrid`, `only=lidocaine|vitamin`, `hours=H`.

use std::time::Instant;

use needlesim::delivery::closure::{Closure, Occlusion};
use needlesim::delivery::compounds::Library;
use needlesim::delivery::dosing::{Application, Dose, Schedule};
use needlesim::delivery::model::{Arm, ChannelShape, DeliveryNumerics, Setup, run_arm};
use needlesim::delivery::physchem::{PermeabilityModel, PhysChemParams, coefficients};
use needlesim::delivery::run::{DeliveryPlan, DeliveryRun, GeometryKind};
use needlesim::scenario::Scenario;

/// One delivery run through the study pipeline.
fn run(
    s: &Scenario,
    plan: &DeliveryPlan,
) -> Result<DeliveryRun, needlesim::delivery::DeliveryError> {
    needlesim::study::pipeline::deliver(
        s,
        plan,
        &needlesim::progress::silent,
        &mut needlesim::timings::Timings::default(),
    )
}
use needlesim::input::delivery as scenario;
use needlesim::skin::{self, Person, Site, ThicknessOverrides};
use needlesim::transport::UnsplitPreconditioner;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn example(
    name: &str,
) -> (
    needlesim::scenario::Scenario,
    needlesim::delivery::run::DeliveryPlan,
) {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    match scenario::load(&p) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}

fn unit() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    for (label, name) in [
        ("unsplit", "deliver_vitamin_c_roller.toml"),
        ("backward Euler", "deliver_vitamin_c_roller.toml"),
        ("split", "deliver_vitamin_c_roller.toml"),
        ("unsplit", "deliver_fitc_dextran_franz.toml"),
        ("backward Euler", "deliver_fitc_dextran_franz.toml"),
        ("split", "deliver_fitc_dextran_franz.toml"),
        ("unsplit", "deliver_lidocaine_pen_0.5mm.toml"),
        ("backward Euler", "deliver_lidocaine_pen_0.5mm.toml"),
        ("split", "deliver_lidocaine_pen_0.5mm.toml"),
    ] {
        let (s, mut plan) = example(name);
        if label == "split" {
            // An earlier default, as baseline: split sweeps with steps of at most 10 s.
            plan.resolution.unsplit = false;
            plan.resolution.tr_bdf2 = false;
            plan.resolution.dt_first_s = 0.05;
            plan.resolution.dt_growth = 1.1;
            plan.resolution.closure_step_fraction = 0.05;
            plan.resolution.dt_max_s = 10.0;
        }
        if label == "backward Euler" {
            // The previous default: unsplit backward Euler, 0.05 s steps growing 1.1× up to
            // 5 min, closure resolved at 5 % per step.
            plan.resolution.tr_bdf2 = false;
            plan.resolution.dt_first_s = 0.05;
            plan.resolution.dt_growth = 1.1;
            plan.resolution.closure_step_fraction = 0.05;
            plan.resolution.dt_max_s = 300.0;
        }
        plan.duration_s = 24.0 * 3600.0;
        plan.profile_times_s.retain(|t| *t <= plan.duration_s);
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let t0 = Instant::now();
            let r = pool.install(|| run(&s, &plan)).expect("runs");
            times.push(t0.elapsed().as_secs_f64());
            last = Some(r.report);
        }
        let r = last.expect("ran");
        println!(
            "BENCH unit {name} ({label}): 24 h, 1 thread, {:.3} s (median of 5); voxels {} + {}, steps {} + {}",
            median(times),
            r.numerics.voxels_needled,
            r.numerics.voxels_intact,
            r.numerics.steps_needled,
            r.numerics.steps_intact
        );
    }
}

#[allow(dead_code)]
fn unit_old() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    for name in [
        "deliver_vitamin_c_roller.toml",
        "deliver_fitc_dextran_franz.toml",
        "deliver_lidocaine_pen_0.5mm.toml",
    ] {
        let (s, mut plan) = example(name);
        plan.duration_s = 24.0 * 3600.0;
        plan.profile_times_s.retain(|t| *t <= plan.duration_s);
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            let t0 = Instant::now();
            let r = pool.install(|| run(&s, &plan)).expect("runs");
            times.push(t0.elapsed().as_secs_f64());
            last = Some(r.report);
        }
        let r = last.expect("ran");
        println!(
            "BENCH unit {name}: 24 h, 1 thread, {:.3} s (median of 5); voxels {} + {}, steps {} + {}",
            median(times),
            r.numerics.voxels_needled,
            r.numerics.voxels_intact,
            r.numerics.steps_needled,
            r.numerics.steps_intact
        );
    }
}

fn patch() {
    // The 1 cm² patch with its default settings (`DeliveryNumerics::patch()`: unsplit TR-BDF2) at the
    // listed lateral voxels, and with `prev` first the previous unsplit settings (backward
    // Euler, 2 s first steps growing 1.5×, closure resolved at 5 % per step, tolerance 1e-8)
    // and with `split` the split sweeps, in the same command. Options (after `--`):
    // `dx=25,40` lateral voxels in µm (default: `DeliveryNumerics::patch()`'s); `pc=zline,multigrid`
    // runs each unsplit case once per listed preconditioner (default: the engine's choice);
    // `only=lidocaine` or `only=vitamin` runs one example; `hours=H` shortens the simulated time.
    let args: Vec<String> = std::env::args().collect();
    let pcs: Vec<String> = args
        .iter()
        .find_map(|a| a.strip_prefix("pc="))
        .map(|l| l.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| vec![String::new()]);
    let dxs: Vec<f64> = args
        .iter()
        .find_map(|a| a.strip_prefix("dx="))
        .map(|l| l.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| vec![DeliveryNumerics::patch().dx_patch_m * 1e6]);
    let only = args.iter().find_map(|a| a.strip_prefix("only="));
    // `hours=H`: simulate H hours instead of the examples' 24 h / 3 h (shorter measurements).
    let hours: Option<f64> = args
        .iter()
        .find_map(|a| a.strip_prefix("hours="))
        .and_then(|h| h.parse().ok())
        .filter(|h: &f64| *h > 0.0);
    let previous = DeliveryNumerics {
        dt_first_s: 2.0,
        dt_growth: 1.5,
        closure_step_fraction: 0.05,
        tr_bdf2: false,
        solver_tolerance: 1e-8,
        ..DeliveryNumerics::patch()
    };
    // `base`: the previous default steps (doubling up to 30 min), as the baseline of this one.
    let doubling = DeliveryNumerics {
        dt_growth: 2.0,
        dt_max_s: 1800.0,
        ..DeliveryNumerics::patch()
    };
    for (name, dur_h) in [
        ("deliver_vitamin_c_roller.toml", 24.0),
        ("deliver_lidocaine_pen_0.5mm.toml", 3.0),
    ] {
        if only.is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let dur_h = hours.unwrap_or(dur_h);
        let (s, uplan0) = example(name);
        let mut uplan = uplan0.clone();
        uplan.duration_s = dur_h * 3600.0;
        uplan.profile_times_s = vec![uplan.duration_s];
        let u = run(&s, &uplan).expect("runs").report;
        let mut cases: Vec<(&str, DeliveryNumerics, String)> = Vec::new();
        for &dx in &dxs {
            let at = |r: &DeliveryNumerics| DeliveryNumerics {
                dx_patch_m: dx * 1e-6,
                ..r.clone()
            };
            if args.iter().any(|a| a == "split") {
                let split = DeliveryNumerics {
                    unsplit: false,
                    tr_bdf2: false,
                    ..at(&DeliveryNumerics::patch())
                };
                cases.push(("split sweeps", split, String::new()));
            }
            for pc in &pcs {
                if args.iter().any(|a| a == "prev") {
                    cases.push(("previous unsplit", at(&previous), pc.clone()));
                }
                if args.iter().any(|a| a == "base") {
                    cases.push(("steps ×2 to 30 min", at(&doubling), pc.clone()));
                }
                cases.push(("default", at(&DeliveryNumerics::patch()), pc.clone()));
            }
        }
        for (label, res, pc) in cases {
            let mut plan = uplan0.clone();
            plan.geometry = GeometryKind::Patch { side_m: 10e-3 };
            plan.resolution = res.clone();
            if !pc.is_empty() {
                plan.resolution.preconditioner = UnsplitPreconditioner::parse(&pc)
                    .unwrap_or_else(|| panic!("pc={pc}: use auto, zline or multigrid"));
            }
            plan.duration_s = uplan.duration_s;
            plan.profile_times_s = vec![plan.duration_s];
            let _ = needlesim::transport::solve_probe::take();
            let t0 = Instant::now();
            let r = run(&s, &plan).expect("runs").report;
            let t = t0.elapsed().as_secs_f64();
            let st = needlesim::transport::solve_probe::take();
            println!(
                "BENCH patch {name} ({label}, {:.0} µm{}): 1 cm², {:.0} h, {} threads, {:.1} s; {} voxels, {} channels, {} steps; reached dermis {:.4e} µg/cm² (unit cell {:.4e}, ratio {:.3}); CG (both arms): {} solves, {} iterations ({:.1} per solve), preconditioner set-up {:.1} s, application {:.1} s",
                res.dx_patch_m * 1e6,
                if pc.is_empty() {
                    String::new()
                } else {
                    format!(", {pc}")
                },
                dur_h,
                rayon::current_num_threads(),
                t,
                r.numerics.voxels_needled,
                r.channels.patch_channels.unwrap_or(0),
                r.numerics.steps_needled,
                r.needled.reached_dermis_ug_cm2,
                u.needled.reached_dermis_ug_cm2,
                r.needled.reached_dermis_ug_cm2 / u.needled.reached_dermis_ug_cm2,
                st.solves,
                st.iterations,
                st.iterations as f64 / st.solves.max(1) as f64,
                st.setup_s,
                st.precondition_s,
            );
        }
    }
}

/// The comparison problem shared with benches/delivery_fipy.py.
fn compare() {
    let col = skin::column(
        Site::Abdomen,
        &Person::default(),
        &ThicknessOverrides {
            stratum_corneum_m: Some(15e-6),
            viable_epidermis_m: Some(70e-6),
            papillary_dermis_m: Some(100e-6),
            reticular_dermis_m: Some(815e-6),
            subcutis_m: None,
        },
    )
    .expect("column");
    let co = coefficients(
        Library::builtin().compound("caffeine").expect("caffeine"),
        PermeabilityModel::PottsGuy1992,
        &PhysChemParams::default(),
    );
    let radius = 200e-6;
    let ch = ChannelShape {
        depth_m: 500e-6,
        needle_radius_m: 30e-6,
        tip_half_angle_rad: 89.99f64.to_radians(),
        recoil: 1.0,
        surface_radius_m: 30e-6,
    };
    let sched = Schedule::new(vec![Application {
        t_apply_s: 0.0,
        dose: Dose::Infinite {
            concentration_kg_m3: 1.0,
        },
        wipe_s: None,
        occlusion: Occlusion::None,
    }])
    .expect("schedule");
    let clo = Closure {
        segments: vec![(0.0, Occlusion::None, f64::INFINITY)],
        recovered_fraction: 0.1,
        elastic: None,
    };
    let times: Vec<f64> = [0.25, 0.5, 1.0, 2.0, 4.0]
        .iter()
        .map(|h| h * 3600.0)
        .collect();
    let mut out = Vec::new();
    let dt = |dt_max: f64, unsplit: bool| DeliveryNumerics {
        dt_first_s: 0.05,
        dt_growth: 1.1,
        dt_max_s: dt_max,
        unsplit,
        ..DeliveryNumerics::default()
    };
    // The same problem with a stratum corneum that stores the solute: capacity K_SC (as for a
    // lipophilic compound, docs/TRANSPORT.md "SC partitioning and storage"), same conductance.
    const K_SC: f64 = 20.0;
    let mut co_k = co.clone();
    co_k.sc_partition = K_SC;
    let fine = DeliveryNumerics {
        sc_cells: 6,
        dz_epidermis_m: 2.5e-6,
        dz_dermis_m: 5e-6,
        dz_max_m: 10e-6,
        r_cells_channel: 12,
        dr_max_m: 5e-6,
        dt_first_s: 0.05,
        dt_growth: 1.1,
        dt_max_s: 10.0,
        ..DeliveryNumerics::default()
    };
    for (label, res, co) in [
        ("default", DeliveryNumerics::default(), &co),
        ("capacity_default", DeliveryNumerics::default(), &co_k),
        ("capacity_unsplit_dt30", dt(30.0, true), &co_k),
        ("split_dt300", dt(300.0, false), &co),
        ("split_dt30", dt(30.0, false), &co),
        ("split_dt10", dt(10.0, false), &co),
        ("split_dt3", dt(3.0, false), &co),
        ("unsplit_dt300", dt(300.0, true), &co),
        ("unsplit_dt30", dt(30.0, true), &co),
        ("unsplit_dt10", dt(10.0, true), &co),
        ("unsplit_dt3", dt(3.0, true), &co),
        ("fine", fine.clone(), &co),
        ("capacity_fine", fine.clone(), &co_k),
    ] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        let t0 = Instant::now();
        let r = pool.install(|| {
            let mut arm =
                Arm::unit_cell(&col, Some(&ch), radius, co, Setup::FranzCell, &res).expect("arm");
            let v = arm.voxels();
            (
                run_arm(
                    &mut arm,
                    &sched,
                    Some(&clo),
                    1e3,
                    4.0 * 3600.0,
                    &times,
                    &[],
                    &res,
                )
                .expect("run"),
                v,
            )
        });
        let wall = t0.elapsed().as_secs_f64();
        let (res_run, voxels) = r;
        let q: Vec<String> = res_run
            .samples
            .iter()
            .map(|s| {
                format!(
                    "[{}, {:.8e}, {:.8e}]",
                    s.t_s,
                    s.bottom_kg_m2,
                    s.layers_kg_m2.iter().sum::<f64>()
                )
            })
            .collect();
        out.push(format!(
            "\"{label}\": {{\"wall_s\": {wall:.4}, \"voxels\": {voxels}, \"steps\": {}, \"samples\": [{}]}}",
            res_run.steps,
            q.join(", ")
        ));
    }
    println!(
        "COMPARE {{\"radius_m\": {radius}, \"depth_m\": 1e-3, \"layers_m\": [15e-6, 85e-6, 1e-3], \"channel_radius_m\": 30e-6, \"channel_depth_m\": 5e-4, \"d_sc\": {:.8e}, \"d_ve\": {:.8e}, \"d_dermis\": {:.8e}, \"d_channel\": {:.8e}, \"k_sc\": {K_SC}, {}}}",
        co.kp_m_s * 15e-6,
        co.d_ve_m2_s,
        co.d_dermis_m2_s,
        co.d_free_m2_s,
        out.join(", ")
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = args.is_empty();
    if all || args.iter().any(|a| a == "unit") {
        unit();
    }
    if all || args.iter().any(|a| a == "patch") {
        patch();
    }
    if all || args.iter().any(|a| a == "compare") {
        compare();
    }
}
