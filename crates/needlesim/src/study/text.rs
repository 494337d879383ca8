//! The terminal summaries of a [`StudyRun`], as `needlesim <command>` prints them.

use std::fmt::Write as _;
use std::path::Path;

use super::{Outcome, StudyRun};
use crate::delivery::run::DeliverReport;
use crate::healing::simulate::SimulateRun;
use crate::pipeline::PuncturesReport;
use crate::skin::LayerKind;

/// The summary of a run; `out`: the output folder named in the last line, `report`: the HTML
/// report a plan names there.
pub fn summary(run: &StudyRun, out: &Path, report: Option<&Path>) -> String {
    match &run.result {
        Outcome::Punctures { run: r, .. } => punctures(&r.report, out),
        Outcome::Deliver { run: r, .. } => delivery(&r.report, out),
        Outcome::Simulate { scenario, run: r } => {
            let mut s = simulate(r, out);
            match crate::hair::report::run_scenario(scenario) {
                Ok(h) if !h.is_empty() => {
                    s.push_str(&crate::hair::report::summary(&h));
                    let _ = writeln!(s, "wrote {}/hair.csv and hair.json", out.display());
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = writeln!(s, "hair: {e}");
                }
            }
            s
        }
        Outcome::Plan { plan, .. } => {
            let mut s = crate::plan::render::text(plan);
            let _ = write!(
                s,
                "\nwrote {0}/plan.json, {0}/handout.html, {0}/plan.ics, {0}/fhir-bundle.json",
                out.display()
            );
            if let Some(r) = report {
                let _ = write!(s, " and {}", r.display());
            }
            s.push('\n');
            s
        }
    }
}

/// Remarks for the terminal: checkpoints of spatial runs ignored (`note: ...`) or resumed.
pub fn notices(run: &StudyRun) -> Vec<String> {
    let mut v = Vec::new();
    if let Outcome::Simulate { run: r, .. } = &run.result {
        let spatial = r
            .unit_cells
            .iter()
            .map(|u| (&u.name, &u.run))
            .chain(r.patches.iter().map(|p| (&p.name, &p.run)));
        for (name, s) in spatial {
            for n in &s.notices {
                v.push(format!("note: {n}"));
            }
            if s.resumed_at_step > 0 {
                v.push(format!(
                    "  `{name}`: resumed from its checkpoint at step {} of {}",
                    s.resumed_at_step, s.steps
                ));
            }
        }
    }
    v
}

fn simulate(run: &SimulateRun, out: &Path) -> String {
    let mut s = String::new();
    let r = &run.report;
    let _ = writeln!(s, "{} (seed {}, {} model)", r.title, r.seed, r.resolution);
    for uc in &run.unit_cells {
        let _ = writeln!(
            s,
            "unit cell `{}`: radius {:.0} µm, {} voxels, {} steps in {:.2} s",
            uc.name,
            uc.cell.radius_m * 1e6,
            uc.run.voxels,
            uc.run.steps,
            uc.run.wall_s
        );
    }
    for pz in &run.patches {
        let _ = writeln!(
            s,
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
    let _ = writeln!(
        s,
        "  sessions on days {:?}, follow-up {} days",
        r.protocol.session_days, r.protocol.follow_up_days
    );
    for z in &r.zones {
        let o = &z.outcomes;
        let _ = writeln!(
            s,
            "zone {:<14} depth {:.0} µm, {:.0} /cm², {:.0} % bleeding",
            z.name,
            z.injury.mean_depth_um,
            z.injury.density_per_cm2,
            100.0 * z.injury.bleeding_fraction
        );
        let _ = writeln!(
            s,
            "  downtime {:.1} d [{:.1}-{:.1}] per session; PIH risk {:.1} % [{:.1}-{:.1}]",
            o.downtime_mean_days.nominal,
            o.downtime_mean_days.p5,
            o.downtime_mean_days.p95,
            o.pih_risk_pct.nominal,
            o.pih_risk_pct.p5,
            o.pih_risk_pct.p95
        );
        for t in &o.timepoints {
            let _ = write!(
                s,
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
                let _ = write!(
                    s,
                    ", scar score -{:.0} % [{:.0}-{:.0}]",
                    b.nominal, b.p5, b.p95
                );
            }
            if let Some(b) = &t.wrinkle_improvement_pct {
                let _ = write!(s, ", wrinkles -{:.0} % (uncalibrated)", b.nominal);
            }
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(s, "wrote {}", out.display());
    s
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

fn punctures(r: &PuncturesReport, out: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "needlesim punctures: {} (seed {})", r.title, r.seed);
    let p = &r.person;
    let sex = match p.sex {
        crate::skin::Sex::Female => "female",
        crate::skin::Sex::Male => "male",
    };
    let _ = writeln!(
        s,
        "person: {:.0} y, {sex}, Fitzpatrick {}",
        p.age_years, p.phototype
    );
    for z in &r.zones {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
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
        let _ = writeln!(
            s,
            "  punctures     {:>9}   density {:.0}/cm² (kinematic {:.0}/cm²)",
            z.punctures, z.density_per_cm2, z.expected_density_per_cm2
        );
        let d = &z.depth;
        let _ = writeln!(
            s,
            "  depth (µm)    nominal {:.0}  mean {:.0} ± {:.0} (ratio {:.2}, model range {:.0}-{:.0})",
            d.nominal_um, d.mean_um, d.sd_um, d.ratio, d.model_range_um[0], d.model_range_um[1]
        );
        let _ = writeln!(
            s,
            "                p5 {:.0}  p25 {:.0}  p50 {:.0}  p75 {:.0}  p95 {:.0}",
            d.p5_um, d.p25_um, d.p50_um, d.p75_um, d.p95_um
        );
        let reach: Vec<String> = z
            .reach_fraction
            .iter()
            .skip(1)
            .map(|v| format!("{} {:.0} %", short(v.layer), v.value * 100.0))
            .collect();
        let _ = writeln!(s, "  reaching      {}", reach.join("  "));
        let inj: Vec<String> = z
            .injured_volume_fraction
            .iter()
            .filter(|v| v.value > 0.0)
            .map(|v| format!("{} {:.2} %", short(v.layer), v.value * 100.0))
            .collect();
        let _ = writeln!(s, "  injured vol.  {}", inj.join("  "));
        let _ = writeln!(
            s,
            "  bleeding      {:.0} % of channels   open surface {:.2} %   needling {:.1} min",
            z.bleeding_fraction * 100.0,
            z.open_surface_fraction * 100.0,
            z.needling_min
        );
    }
    let t = &r.session;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "session: preparation {:.0} + numbing {:.0} ({}) + needling {:.1} + aftercare {:.0} = {:.0} min",
        t.preparation_min,
        t.numbing_min,
        t.numbing.name(),
        t.needling_min,
        t.aftercare_min,
        t.total_min
    );
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    let _ = writeln!(
        s,
        "wrote {}/punctures.json, channels_*.csv, zone_*.svg, depth_*.svg",
        out.display()
    );
    s
}

fn delivery(r: &DeliverReport, out: &Path) -> String {
    let mut s = String::new();
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.3}"));
    let _ = writeln!(s, "needlesim deliver: {} (seed {})", r.title, r.seed);
    let _ = writeln!(
        s,
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
    let _ = writeln!(
        s,
        "channels: {:.0}/cm², mean depth {:.0} µm, open radius {:.1} µm at the surface; barrier recovery {} h",
        c.density_per_cm2,
        c.mean_depth_um,
        c.surface_open_radius_um,
        fmt(r.closure.barrier_recovery_h)
    );
    let k = &r.coefficients;
    let _ = writeln!(
        s,
        "coefficients: r_h {:.2} nm, D free {:.1} / VE {:.1} / dermis {:.1} µm²/s, kp {:.3e} cm/h",
        k.r_h_nm, k.d_free_um2_s, k.d_viable_epidermis_um2_s, k.d_dermis_um2_s, k.kp_cm_h
    );
    let n = &r.numerics;
    let grid = match (n.geometry, n.patch_voxel_um) {
        (crate::delivery::run::GeometryKind::Patch { side_m }, Some(dx)) => format!(
            "3-D patch {:.1} mm at {dx:.1} µm lateral voxels",
            side_m * 1e3
        ),
        _ => "axisymmetric unit cell".to_string(),
    };
    let _ = writeln!(
        s,
        "numerics: {grid}, {} voxels, {} steps (needled arm)",
        n.voxels_needled, n.steps_needled
    );
    let t_end = r.series.last().map_or(0.0, |p| p.t_h);
    let _ = writeln!(
        s,
        "after {t_end:.2} h (per cm²):        needled      intact"
    );
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
        let _ = writeln!(s, "  {name:<26} {a:>11.4e} {b:>11.4e}");
    }
    let _ = writeln!(
        s,
        "  {:<26} {:>11} {:>11}",
        "lag time (h)",
        fmt(r.needled.lag_time_h),
        fmt(r.intact.lag_time_h)
    );
    if let Some(th) = r.effect_threshold_ug_cm2 {
        let _ = writeln!(
            s,
            "  {:<26} {:>11} {:>11}   (threshold {th:.3e} µg/cm² in VE + dermis)",
            "time to effect (min)",
            fmt(r.needled.time_to_effect_min),
            fmt(r.intact.time_to_effect_min)
        );
    }
    let _ = writeln!(
        s,
        "enhancement (needled / intact): blood + receptor {}, reached dermis {}",
        fmt(r.enhancement_receptor_blood),
        fmt(r.enhancement_reached_dermis)
    );
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    let _ = writeln!(
        s,
        "wrote {}/delivery.json, delivery_series.csv, delivery_profiles.csv, delivery_time.svg, delivery_profile.svg",
        out.display()
    );
    s
}
