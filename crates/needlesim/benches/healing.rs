//! Benchmark: the lumped healing model of a 4-session, 6-month protocol (two compartments,
//! 33 state variables), final state only (the planner's path) and with a full output grid.
//! Back to back in the same run: the integrator as first merged (finite-difference Jacobian,
//! LU refactored at every step-size change) and the current one (analytic Jacobian, LU reused
//! within 30 % of its step size), each at several tolerances, with the error of the planning
//! outcome (matrix content change at day 182) against a tight reference (rtol 1e-7).
//!
//! Run: `cargo bench -p needlesim --bench healing`

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

fn main() {
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
