//! Benchmark: the lumped healing model of a 4-session, 6-month protocol (two compartments,
//! 33 state variables), final state only (the planner's path) and with a full output grid.
//! Back to back in the same run: the integrator as first merged (finite-difference Jacobian,
//! LU refactored at every step-size change) and the current one (analytic Jacobian, LU reused
//! within 30 % of its step size), each at several tolerances, with the error of the planning
//! outcome (matrix content change at day 182) against a tight reference (rtol 1e-7).
//!
//! Run: `cargo bench -p needlesim --bench healing`
//!
//! `cargo bench -p needlesim --bench healing -- patch`: the spatial resolutions on
//! `examples/simulate_acne_scars.toml` (4 sessions, 180 days), in one run: the unit cell
//! (SDIRK2, the baseline) and 3-D patches (ROS2) of the sides in `NEEDLESIM_PATCH_MM`
//! (comma-separated mm, default `0.5,1`) at `NEEDLESIM_PATCH_UM` µm (default 25), with wall and
//! process CPU time, cost per voxel-step and the extrapolation to 1 cm² (linear in voxels:
//! the step schedule does not depend on the grid). With `NEEDLESIM_PATCH_DUMP=<file>` the
//! runs' final layer means and last cross-section snapshot are written to `<file>` (one value
//! per line, `run layer-or-voxel variable value`), to compare two builds' results.

use std::time::Instant;

use needlesim::healing::lumped::{self, Accuracy, InjuryInput, LumpedModel, SessionInput};
use needlesim::healing::model::{C1, C3, E};
use needlesim::healing::params::{DAY, HealingParams};
use needlesim::skin::{self, Person, Site, ThicknessOverrides};

/// CPU time of this thread, ns (Linux `/proc/thread-self/schedstat`; `None` elsewhere). On the
/// shared, loaded machine the wall clock also counts time the thread waited for a core.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Matrix (collagen + elastin) content change per skin area, kg/m², at the last output.
fn content_change(model: &LumpedModel, tr: &lumped::Trajectory) -> f64 {
    let mut s = 0.0;
    for (bi, b) in model.blocks().into_iter().enumerate() {
        let rest = b.base.c1_0 + b.base.c3_0 + b.base.e0;
        let Some(y) = tr.values[bi].last() else {
            continue;
        };
        s += b.base.thickness_m * (y[C1] + y[C3] + y[E] - rest);
    }
    s
}

/// CPU time of the whole process (all threads), s, from `/proc/self/stat`.
fn process_cpu_s() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let Some(rest) = s.rsplit(')').next() else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        f.get(i)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // Fields 14 and 15 (utime, stime) are at 11, 12 after the command; 100 ticks per second.
    (tick(11) + tick(12)) / 100.0
}

/// Appends a run's final layer means and last snapshot to the dump file, if one was asked for.
fn dump_run(label: &str, r: &needlesim::healing::spatial::SpatialRun) {
    use std::io::Write;
    let Ok(path) = std::env::var("NEEDLESIM_PATCH_DUMP") else {
        return;
    };
    let mut s = String::new();
    for (l, vals) in r.trajectory.values.iter().enumerate() {
        if let Some(y) = vals.last() {
            for (i, x) in y.iter().enumerate() {
                s += &format!("{label} mean{l} {i} {x:e}\n");
            }
        }
    }
    if let Some(snap) = r.snapshots.last() {
        for (i, vals) in snap.values.iter().enumerate() {
            for (q, x) in vals.iter().enumerate() {
                s += &format!("{label} v{} {i} {x:e}\n", snap.voxels[q]);
            }
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("dump file");
    f.write_all(s.as_bytes()).expect("dump write");
}

fn patch_bench() {
    use needlesim::healing::patch::{Patch, PatchGrid};
    use needlesim::healing::spatial::{self, CellGrid, RunControl, Stepping, UnitCell};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/simulate_acne_scars.toml"
    );
    let s = needlesim::input::load(std::path::Path::new(path)).expect("example scenario");
    let proto = s.protocol.clone().expect("protocol");
    let punct = needlesim::study::pipeline::punctures(
        &s,
        &needlesim::progress::silent,
        &mut needlesim::timings::Timings::default(),
    )
    .expect("punctures");
    let (set, ch, column, _) = &punct.sets[0];
    let p = HealingParams::default();
    let density = set.density_m2();
    let inj = InjuryInput::from_channels(ch, density);
    let sessions: Vec<SessionInput> = proto
        .session_times_s
        .iter()
        .map(|&t_s| SessionInput { t_s, injury: inj })
        .collect();
    let t_end = proto.follow_up_s;
    let out: Vec<f64> = (0..=(t_end / DAY) as usize)
        .map(|d| d as f64 * DAY)
        .collect();
    let snaps: Vec<f64> = [1.0, 7.0, 28.0, 180.0].iter().map(|d| d * DAY).collect();
    let weekly: Vec<f64> = (0..=(t_end / DAY) as usize / 7)
        .map(|w| w as f64 * 7.0 * DAY)
        .collect();
    let threads = rayon::current_num_threads();
    println!(
        "{} sessions, {:.0} days, {} rayon threads, density {:.0} /cm2",
        sessions.len(),
        t_end / DAY,
        threads,
        density * 1e-4
    );
    let timed = |f: &mut dyn FnMut() -> spatial::SpatialRun| {
        let (c0, t0) = (process_cpu_s(), Instant::now());
        let r = f();
        (r, t0.elapsed().as_secs_f64(), process_cpu_s() - c0)
    };
    // Baseline: the unit cell (SDIRK2), as `simulate --resolution unit-cell` runs it.
    let mut cell = UnitCell::new(
        column,
        density,
        s.person.age_years,
        s.person.phototype,
        &p,
        &CellGrid::default(),
    )
    .expect("unit cell");
    let cinj = cell.channel_injury(ch, ch.mean_depth_m, &p);
    let (r, wall, cpu) = timed(&mut || {
        spatial::run(
            &mut cell.model,
            &sessions,
            &|v, _| cinj[v],
            t_end,
            &out,
            &snaps,
            &Stepping::default(),
        )
        .expect("unit cell run")
    });
    let base = cpu / (r.voxels as f64 * r.steps as f64);
    dump_run("cell-sdirk2", &r);
    println!(
        "unit cell (SDIRK2)        {:>9} voxels {:>4} steps  wall {:>8.2} s  cpu {:>8.2} s  {:>6.2} µs cpu/voxel-step",
        r.voxels,
        r.steps,
        wall,
        cpu,
        base * 1e6
    );
    // The same cell, grid and steps with the patch's pointwise integrator (ROS2).
    let mut cell = UnitCell::with_integrator(
        column,
        density,
        s.person.age_years,
        s.person.phototype,
        &p,
        &CellGrid::default(),
        spatial::Integrator::Rosenbrock,
    )
    .expect("unit cell");
    let (r2, wall, cpu) = timed(&mut || {
        spatial::run(
            &mut cell.model,
            &sessions,
            &|v, _| cinj[v],
            t_end,
            &out,
            &snaps,
            &Stepping::default(),
        )
        .expect("unit cell run")
    });
    let per = cpu / (r2.voxels as f64 * r2.steps as f64);
    dump_run("cell-ros2", &r2);
    let c = |tr: &needlesim::healing::lumped::Trajectory| {
        let y = tr.values[1].last().copied().unwrap_or_default();
        y[C1] + y[C3]
    };
    println!(
        "unit cell (ROS2)          {:>9} voxels {:>4} steps  wall {:>8.2} s  cpu {:>8.2} s  {:>6.2} µs cpu/voxel-step ({:.2}x SDIRK2); reticular collagen at day {:.0}: {:.5} vs {:.5} kg/m3 (SDIRK2)",
        r2.voxels,
        r2.steps,
        wall,
        cpu,
        per * 1e6,
        base / per,
        t_end / DAY,
        c(&r2.trajectory),
        c(&r.trajectory)
    );
    let um: f64 = std::env::var("NEEDLESIM_PATCH_UM")
        .ok()
        .and_then(|x| x.parse().ok())
        .unwrap_or(25.0);
    let sizes: Vec<f64> = std::env::var("NEEDLESIM_PATCH_MM")
        .unwrap_or_else(|_| "0.5,1".into())
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    for mm in sizes {
        let g = PatchGrid {
            size_m: mm * 1e-3,
            voxel_m: um * 1e-6,
            ..PatchGrid::default()
        };
        let origin = Patch::centred_origin(ch, g.size_m).expect("patch fits the zone");
        let mut patch = Patch::new(
            column,
            &g,
            origin,
            s.person.age_years,
            s.person.phototype,
            &p,
        )
        .expect("patch");
        let map = patch.channel_injury(ch, &p);
        let plane = patch.plane(patch.row_through_channel(ch));
        let layers: Vec<usize> = (0..patch.model.len())
            .map(|v| patch.model.layer_of(v))
            .collect();
        let (r, wall, cpu) = timed(&mut || {
            spatial::run_controlled(
                &mut patch.model,
                &sessions,
                &|_, v, _| map.at(v, layers[v]),
                t_end,
                &weekly,
                &snaps,
                &plane,
                &Stepping::patch(),
                &mut RunControl::default(),
            )
            .expect("patch run")
        });
        let per = cpu / (r.voxels as f64 * r.steps as f64);
        dump_run(&format!("patch-{mm}mm"), &r);
        let full = 1e-2 / patch.voxel_m;
        let scale = full * full / (patch.n * patch.n) as f64;
        println!(
            "patch {mm:>4} mm @ {um} µm (ROS2) {:>9} voxels {:>4} steps  wall {:>8.2} s  cpu {:>8.2} s  {:>6.2} µs cpu/voxel-step ({:.2}x the unit cell's); 1 cm2 extrapolated: wall {:.0} s, cpu {:.0} s ({} channels)",
            r.voxels,
            r.steps,
            wall,
            cpu,
            per * 1e6,
            base / per,
            wall * scale,
            cpu * scale,
            map.channels
        );
    }
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "patch") {
        patch_bench();
        return;
    }
    let col = match skin::column(
        Site::Cheek,
        &Person::default(),
        &ThicknessOverrides::default(),
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let model = LumpedModel::new(&col, 35.0, 3, &HealingParams::default());
    let inj = InjuryInput {
        injured_volume_fraction: [0.02, 0.02, 0.02, 0.01, 0.0],
        bleeding_fraction: 0.7,
        recoil: 0.5,
        open_surface_fraction: 0.01,
        density_m2: 2.5e6,
        mean_depth_m: 1.2e-3,
    };
    let sessions: Vec<SessionInput> = (0..4)
        .map(|k| SessionInput {
            t_s: k as f64 * 42.0 * DAY,
            injury: inj,
        })
        .collect();
    let t_end = 182.0 * DAY;
    let grid: Vec<f64> = (0..=182).map(|d| d as f64 * DAY).collect();
    let reference = lumped::final_state(&model, &sessions, t_end, Accuracy::tol(1e-7, 1e-7))
        .expect("reference solve");
    let dref = content_change(&model, &reference);
    println!("reference (rtol 1e-7): matrix content change {dref:.6e} kg/m^2");
    let reps = 300;
    let report = |name: &str, f: &dyn Fn() -> lumped::Trajectory| {
        let _ = f();
        let mut times = Vec::new();
        let mut last = None;
        let cpu0 = thread_cpu_ns();
        for _ in 0..reps {
            let t0 = Instant::now();
            let tr = f();
            times.push(t0.elapsed().as_secs_f64());
            last = Some(tr);
        }
        let cpu = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 * 1e-9 / reps as f64,
            _ => f64::NAN,
        };
        let tr = last.unwrap_or_default();
        let st = tr.stats;
        let wall = median(times);
        let err = (content_change(&model, &tr) - dref).abs() / dref.abs().max(1e-30);
        println!(
            "{name:<48} cpu {:>6.3} ms  wall median {:>6.3} ms  err {:>8.1e}  ({} steps, {} rejected, {} f-evals, {} Jac, {} LU)",
            cpu * 1e3,
            wall * 1e3,
            err,
            st.steps,
            st.rejected,
            st.rhs_evals,
            st.jacobians,
            st.factorisations
        );
        cpu
    };
    let legacy = report("as merged: FD Jacobian, LU per step size, 1e-3", &|| {
        lumped::final_state(&model, &sessions, t_end, Accuracy::legacy()).expect("solve")
    });
    let analytic_only = Accuracy {
        analytic_jacobian: true,
        ..Accuracy::legacy()
    };
    report("analytic Jacobian only, 1e-3", &|| {
        lumped::final_state(&model, &sessions, t_end, analytic_only).expect("solve")
    });
    let mut current = f64::NAN;
    for rtol in [1e-3, 3e-3, 1e-2] {
        let acc = Accuracy::tol(rtol, rtol);
        let m = report(
            &format!("current (analytic, stale LU 30 %), {rtol:.0e}"),
            &|| lumped::final_state(&model, &sessions, t_end, acc).expect("solve"),
        );
        if acc == Accuracy::planning() {
            current = m;
        }
    }
    // Issue 19: a band sample with the posterior (one posterior draw for the calibrated
    // entries, the registry's perturbation for the others), model built per draw, planner path.
    let k = std::cell::Cell::new(0u64);
    let reseal = model.papillary.reseal_rate();
    report("posterior draw + model + planner path, 3e-3", &|| {
        k.set(k.get() + 1);
        let mut rng = needlesim::rng::stream(19, &[k.get()]);
        let pp = HealingParams::default().sample(&mut rng);
        let m = LumpedModel::new(&col, 35.0, 3, &pp).with_reseal_rate(reseal);
        lumped::final_state(&m, &sessions, t_end, Accuracy::planning()).expect("solve")
    });
    report("current default, daily output", &|| {
        lumped::simulate(&model, &sessions, t_end, &grid, Accuracy::default()).expect("solve")
    });
    report("current, 10x tighter (1e-4)", &|| {
        lumped::final_state(&model, &sessions, t_end, Accuracy::tol(1e-4, 1e-4)).expect("solve")
    });
    println!(
        "speed-up (thread CPU time) of the planner path (rtol 3e-3) over the merged integrator (rtol 1e-3): {:.2}x",
        legacy / current
    );
}
