//! Checkpoints of the spatial resolutions: a run interrupted (by asking the library to stop
//! after a given step) and resumed from its checkpoint gives bit-identical results to an
//! uninterrupted run; a checkpoint of another run, or a corrupt one, is ignored with a notice
//! and the run starts over; the patch is bit-identical for 1 and 2 threads.

use needlesim::healing::lumped::{InjuryInput, SessionInput};
use needlesim::healing::model::BlockInjury;
use needlesim::healing::params::{DAY, HealingParams};
use needlesim::healing::patch::{Patch, PatchGrid};
use needlesim::healing::spatial::{
    self, CellGrid, CheckpointSpec, RunControl, SpatialError, SpatialRun, Stepping, UnitCell,
};
use needlesim::injury::{Channel, ChannelSet};
use needlesim::skin::{self, LayerKind, Person, Site, ThicknessOverrides};

fn column() -> needlesim::skin::SkinColumn {
    skin::column(
        Site::Cheek,
        &Person::default(),
        &ThicknessOverrides::default(),
    )
    .unwrap()
}

fn sessions() -> Vec<SessionInput> {
    let inj = InjuryInput {
        injured_volume_fraction: [0.02, 0.02, 0.02, 0.01, 0.0],
        bleeding_fraction: 0.7,
        recoil: 0.5,
        open_surface_fraction: 0.01,
        density_m2: 2.5e6,
        mean_depth_m: 1.2e-3,
    };
    [0.0, 20.0]
        .iter()
        .map(|d| SessionInput {
            t_s: d * DAY,
            injury: inj,
        })
        .collect()
}

const T_END_DAYS: f64 = 40.0;

fn outputs() -> (Vec<f64>, Vec<f64>) {
    let out = (0..=T_END_DAYS as usize).map(|d| d as f64 * DAY).collect();
    let snaps = vec![1.0 * DAY, 7.0 * DAY, 28.0 * DAY];
    (out, snaps)
}

fn channels() -> ChannelSet {
    let ch = |x_m, y_m, depth_m, bleeds| Channel {
        x_m,
        y_m,
        t_s: 0.0,
        pass: 0,
        depth_m,
        deepest: LayerKind::ReticularDermis,
        bleeds,
    };
    ChannelSet {
        channels: vec![
            ch(60e-6, 70e-6, 1.2e-3, true),
            ch(150e-6, 140e-6, 0.9e-3, false),
        ],
        needle_radius_m: 60e-6,
        tip_half_angle_rad: 0.2,
        recoil: 0.5,
        slot_length_m: 0.0,
        mean_depth_m: 1.05e-3,
        depth_sd_m: 0.0,
        mean_depth_range_m: [0.9e-3, 1.2e-3],
        reach_fraction: [1.0; 5],
        deepest_fraction: [0.0, 0.0, 0.0, 1.0, 0.0],
        bleeding_fraction: 0.5,
        injured_volume_fraction: [0.0, 0.0, 0.01, 0.0, 0.0],
        open_surface_fraction: 0.005,
    }
}

/// Which spatial model a test runs.
#[derive(Clone, Copy)]
enum Which {
    Cell,
    Patch,
}

/// Builds the model and runs it under `ctl`; returns the run and the final fields.
fn run(which: Which, ctl: &mut RunControl<'_>) -> Result<(SpatialRun, Vec<f64>), SpatialError> {
    let col = column();
    let p = HealingParams::default();
    let (out, snaps) = outputs();
    match which {
        Which::Cell => {
            let g = CellGrid {
                nr: 5,
                nz_papillary: 3,
                nz_reticular: 6,
            };
            let mut cell = UnitCell::new(&col, 2.5e6, 35.0, 3, &p, &g)?;
            let ch = channels();
            let inj = cell.channel_injury(&ch, 1.2e-3, &p);
            let all: Vec<usize> = (0..cell.model.len()).collect();
            let r = spatial::run_controlled(
                &mut cell.model,
                &sessions(),
                &|_, v, _| inj[v],
                T_END_DAYS * DAY,
                &out,
                &snaps,
                &all,
                &Stepping::default(),
                ctl,
            )?;
            Ok((r, cell.model.raw_fields().to_vec()))
        }
        Which::Patch => {
            let g = PatchGrid {
                size_m: 200e-6,
                voxel_m: 25e-6,
                nz_papillary: 3,
                nz_reticular: 5,
                reticular_ratio: 1.25,
            };
            let mut patch = Patch::new(&col, &g, [0.0; 2], 35.0, 3, &p)?;
            let ch = channels();
            let map = patch.channel_injury(&ch, &p);
            assert_eq!(map.channels, 2);
            let plane = patch.plane(patch.row_through_channel(&ch));
            let layers: Vec<usize> = (0..patch.model.len())
                .map(|v| patch.model.layer_of(v))
                .collect();
            let injury =
                |_: usize, v: usize, _: &InjuryInput| -> BlockInjury { map.at(v, layers[v]) };
            let r = spatial::run_controlled(
                &mut patch.model,
                &sessions(),
                &injury,
                T_END_DAYS * DAY,
                &out,
                &snaps,
                &plane,
                &Stepping::patch(),
                ctl,
            )?;
            Ok((r, patch.model.raw_fields().to_vec()))
        }
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_identical(a: &(SpatialRun, Vec<f64>), b: &(SpatialRun, Vec<f64>)) {
    assert_eq!(bits(&a.1), bits(&b.1), "final fields differ");
    assert_eq!(a.0.steps, b.0.steps);
    for l in 0..2 {
        for (ya, yb) in a.0.trajectory.values[l]
            .iter()
            .zip(&b.0.trajectory.values[l])
        {
            assert_eq!(bits(ya), bits(yb), "layer means differ");
        }
    }
    assert_eq!(a.0.snapshots.len(), b.0.snapshots.len());
    for (sa, sb) in a.0.snapshots.iter().zip(&b.0.snapshots) {
        assert_eq!(sa.t_s, sb.t_s);
        for (va, vb) in sa.values.iter().zip(&sb.values) {
            assert_eq!(
                bits(va),
                bits(vb),
                "snapshot at day {} differs",
                sa.t_s / DAY
            );
        }
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "needlesim-checkpoint-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d.join("checkpoint.bin")
}

fn spec(path: &std::path::Path, fingerprint: &str) -> CheckpointSpec {
    CheckpointSpec {
        path: path.to_path_buf(),
        fingerprint: fingerprint.into(),
        interval_s: 5.0 * DAY,
    }
}

/// Interrupts a run twice (once in the first session's healing, once after the second
/// session), resumes it each time, and compares with the uninterrupted run bit for bit.
fn interrupted_equals_uninterrupted(which: Which, name: &str) {
    let full = run(which, &mut RunControl::default()).unwrap();
    let n = full.0.steps;
    let path = tmp(name);
    let _ = std::fs::remove_file(&path);
    for stop in [n / 4, 2 * n / 3] {
        let mut ctl = RunControl {
            checkpoint: Some(spec(&path, "run A")),
            stop_after_steps: Some(stop),
            ..Default::default()
        };
        match run(which, &mut ctl) {
            Err(SpatialError::Interrupted { step, .. }) => assert_eq!(step, stop),
            other => panic!(
                "expected an interruption at step {stop}, got {:?}",
                other.err()
            ),
        }
        assert!(path.exists(), "no checkpoint after the interruption");
    }
    let mut steps_seen = Vec::new();
    let mut cb = |p: &spatial::StepProgress| steps_seen.push(p.step);
    let mut ctl = RunControl {
        checkpoint: Some(spec(&path, "run A")),
        progress: Some(&mut cb),
        ..Default::default()
    };
    let resumed = run(which, &mut ctl).unwrap();
    assert_eq!(resumed.0.resumed_at_step, 2 * n / 3);
    assert_eq!(resumed.0.steps_here, n - 2 * n / 3);
    assert!(resumed.0.notices.is_empty(), "{:?}", resumed.0.notices);
    assert_eq!(steps_seen.first(), Some(&(2 * n / 3 + 1)));
    assert_eq!(steps_seen.last(), Some(&n));
    assert_identical(&full, &resumed);
    // A checkpoint of another run is ignored, with a notice, and the run starts over.
    let mut ctl = RunControl {
        checkpoint: Some(spec(&path, "run B")),
        ..Default::default()
    };
    let other = run(which, &mut ctl).unwrap();
    assert_eq!(other.0.resumed_at_step, 0);
    assert!(
        other.0.notices.iter().any(|m| m.contains("another run")),
        "{:?}",
        other.0.notices
    );
    assert_identical(&full, &other);
    // A damaged checkpoint is ignored with a notice too.
    std::fs::write(&path, b"NSHEAL02garbage").unwrap();
    let mut ctl = RunControl {
        checkpoint: Some(spec(&path, "run A")),
        ..Default::default()
    };
    let damaged = run(which, &mut ctl).unwrap();
    assert_eq!(damaged.0.resumed_at_step, 0);
    assert!(damaged.0.notices.iter().any(|m| m.contains("truncated")));
    assert_identical(&full, &damaged);
    let _ = std::fs::remove_file(&path);
}

/// A checkpoint with 8 bytes overwritten in the middle is reported as corrupt by its file name,
/// ignored, and the run starts over: the result is the uninterrupted run's, bit for bit (a
/// checkpoint without a checksum resumed from the damaged numbers and failed with a NaN).
fn corrupt_checkpoint_starts_over(which: Which, name: &str) {
    let full = run(which, &mut RunControl::default()).unwrap();
    let path = tmp(&format!("{name}-corrupt"));
    let _ = std::fs::remove_file(&path);
    let mut ctl = RunControl {
        checkpoint: Some(spec(&path, "run A")),
        stop_after_steps: Some(full.0.steps / 2),
        ..Default::default()
    };
    assert!(matches!(
        run(which, &mut ctl),
        Err(SpatialError::Interrupted { .. })
    ));
    let mut bytes = std::fs::read(&path).unwrap();
    // 8 bytes in the middle of the numbers, on a value's boundary (counted from the end).
    let len = bytes.len();
    let at = len - 8 * (len / 16);
    bytes[at..at + 8].copy_from_slice(&[0xff; 8]);
    std::fs::write(&path, &bytes).unwrap();
    let mut ctl = RunControl {
        checkpoint: Some(spec(&path, "run A")),
        ..Default::default()
    };
    let again = run(which, &mut ctl).expect("a corrupt checkpoint must not fail the run");
    assert_eq!(again.0.resumed_at_step, 0);
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        again
            .0
            .notices
            .iter()
            .any(|m| m.contains("corrupt") && m.contains(&file)),
        "{:?}",
        again.0.notices
    );
    assert_identical(&full, &again);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn unit_cell_corrupt_checkpoint_starts_over() {
    corrupt_checkpoint_starts_over(Which::Cell, "cell");
}

#[test]
fn patch_corrupt_checkpoint_starts_over() {
    corrupt_checkpoint_starts_over(Which::Patch, "patch");
}

#[test]
fn unit_cell_resumed_run_is_bit_identical() {
    interrupted_equals_uninterrupted(Which::Cell, "cell");
}

#[test]
fn patch_resumed_run_is_bit_identical() {
    interrupted_equals_uninterrupted(Which::Patch, "patch");
}

/// The patch (ROS2 per voxel in parallel chunks, then the engine's diffusion) gives the same
/// bits on 1 and 2 threads.
#[test]
fn patch_is_bit_identical_for_1_and_2_threads() {
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run(Which::Patch, &mut RunControl::default()).unwrap())
    };
    assert_identical(&on(1), &on(2));
}
