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
            for c in t.clinical_scores() {
                if let Some(b) = c.band {
                    let name = match c.note {
                        Some(n) => format!("{} ({n})", c.name),
                        None => c.name.to_string(),
                    };
                    // A reduction, with its band in the same sign and order as the tissue
                    // changes: "-48 % [-72, -17]".
                    let _ = write!(
                        s,
                        ", {name} {} % [{}, {}]",
                        reduction(b.nominal),
                        reduction(b.p95),
                        reduction(b.p5)
                    );
                }
            }
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(s, "wrote {}", out.display());
    s
}

/// A score's reduction (a positive percentage) as a change: "-12"; one that rounds to nothing
/// is "0", not "-0".
fn reduction(pct: f64) -> String {
    if pct < 0.5 {
        "0".to_string()
    } else {
        format!("-{pct:.0}")
    }
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

/// A number with three significant digits and no exponent (`1230`, `12.3`, `0.0123`).
fn sig3(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        return "-".into();
    }
    if a == 0.0 {
        return "0".into();
    }
    let digits = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// A number in plain words: three significant digits, `1.2 × 10⁻⁶` style beyond 10⁻³ / 10⁶.
fn plain_num(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 || !x.is_finite() || (1e-3..1e6).contains(&a) {
        return sig3(x);
    }
    let e = a.log10().floor() as i32;
    let m = x / 10f64.powi(e);
    let sup: String = e
        .to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect();
    format!("{:.1} × 10{sup}", m)
}

/// An amount per cm² given in µg, in the unit that keeps it between 1 and 1000 (mg to fg).
fn amount_cm2(ug: f64) -> String {
    let a = ug.abs();
    let (v, u) = if a == 0.0 {
        (0.0, "µg")
    } else if a >= 1e3 {
        (ug * 1e-3, "mg")
    } else if a >= 1.0 {
        (ug, "µg")
    } else if a >= 1e-3 {
        (ug * 1e3, "ng")
    } else if a >= 1e-6 {
        (ug * 1e6, "pg")
    } else if a >= 1e-9 {
        (ug * 1e9, "fg")
    } else {
        return "none (below 1 fg)".into();
    };
    format!("{} {u}", sig3(v))
}

/// A fold ratio in words.
fn fold(r: Option<f64>) -> String {
    match r {
        None => "undefined (nothing crosses intact skin)".into(),
        Some(x) if x >= 1e6 => format!("{}-fold", plain_num(x)),
        Some(x) => format!("{}-fold", sig3(x)),
    }
}

/// A duration in hours in words (minutes below 1 h).
fn hours_words(h: f64) -> String {
    if h < 1.0 {
        format!("{} min", sig3(h * 60.0))
    } else {
        format!("{} h", sig3(h))
    }
}

/// A delivery run in plain words, shared by the terminal ([`summary`]) and the study page
/// (`page.rs`), so that both say the same thing in the same units.
pub(crate) struct DeliverySummary {
    /// Zone, experiment ("Franz diffusion cell (…)", "living skin (in vivo)"), product and
    /// compound.
    pub zone: String,
    /// Channels and closure.
    pub channels: String,
    /// Transport coefficients.
    pub coefficients: String,
    /// Grid and steps.
    pub numerics: String,
    /// "after 3.00 h".
    pub after: String,
    /// Amounts per cm² and the time to effect: (name, needled, intact, note).
    pub amounts: Vec<SummaryRow>,
    /// "OECD TG 428 style, steady window 1.50-3.00 h".
    pub permeation_head: String,
    /// The permeation report per arm.
    pub permeation: Vec<SummaryRow>,
    /// The study endpoint and its enhancement, one sentence.
    pub endpoint: String,
}

/// One row of a [`DeliverySummary`] table.
pub(crate) struct SummaryRow {
    pub name: String,
    pub needled: String,
    pub intact: String,
    /// Said after the row (the time to effect's criterion).
    pub note: Option<String>,
}

fn row(name: impl Into<String>, needled: String, intact: String) -> SummaryRow {
    SummaryRow {
        name: name.into(),
        needled,
        intact,
        note: None,
    }
}

pub(crate) fn delivery_summary(r: &DeliverReport) -> DeliverySummary {
    use crate::delivery::model::Setup;
    let setup = match r.setup {
        Setup::InVivo => "living skin (in vivo)",
        Setup::FranzCell => "Franz diffusion cell (excised skin on a receptor, in vitro)",
    };
    let zone = format!(
        "zone {} ({}, {}), {setup}; product {} ({}), compound {} (molecular weight {} g/mol, log P {})",
        r.zone,
        r.site.replace('_', " "),
        r.device,
        r.product.replace('_', " "),
        r.vehicle,
        r.compound.name.replace('_', " "),
        sig3(r.compound.mw_g_mol),
        sig3(r.coefficients.log_k_used)
    );
    let c = &r.channels;
    let channels = format!(
        "channels: {} per cm², mean depth {} µm, open radius {} µm at the surface; {}",
        sig3(c.density_per_cm2),
        sig3(c.mean_depth_um),
        sig3(c.surface_open_radius_um),
        match r.closure.barrier_recovery_h {
            Some(h) => format!("barrier closes again after about {}", hours_words(h)),
            None => "excised skin does not heal: the channels stay open".into(),
        }
    );
    let k = &r.coefficients;
    let coefficients = format!(
        "coefficients: molecule radius {} nm; diffusivity in water {}, epidermis {}, dermis {} µm²/s; intact-skin permeability {} cm/h",
        sig3(k.r_h_nm),
        sig3(k.d_free_um2_s),
        sig3(k.d_viable_epidermis_um2_s),
        sig3(k.d_dermis_um2_s),
        plain_num(k.kp_cm_h)
    );
    let n = &r.numerics;
    let grid = match (n.geometry, n.patch_voxel_um) {
        (crate::delivery::run::GeometryKind::Patch { side_m }, Some(dx)) => format!(
            "3-D patch {} mm at {} µm lateral voxels",
            sig3(side_m * 1e3),
            sig3(dx)
        ),
        _ => "axisymmetric unit cell".to_string(),
    };
    let numerics = format!(
        "numerics: {grid}, {} voxels, {} steps (needled arm)",
        n.voxels_needled, n.steps_needled
    );
    let t_end = r.series.last().map_or(0.0, |p| p.t_h);
    let absorbed = match r.setup {
        Setup::InVivo => "absorbed into the blood",
        Setup::FranzCell => "in the receptor",
    };
    let mut amounts: Vec<SummaryRow> = [
        (
            "entered the skin",
            r.needled.entered_ug_cm2,
            r.intact.entered_ug_cm2,
        ),
        (
            "reached the dermis",
            r.needled.reached_dermis_ug_cm2,
            r.intact.reached_dermis_ug_cm2,
        ),
        (
            absorbed,
            r.needled.receptor_blood_ug_cm2,
            r.intact.receptor_blood_ug_cm2,
        ),
        (
            "held in the skin",
            r.needled.held_in_skin_ug_cm2,
            r.intact.held_in_skin_ug_cm2,
        ),
    ]
    .into_iter()
    .map(|(name, a, b)| row(name, amount_cm2(a), amount_cm2(b)))
    .collect();
    amounts.push(row(
        "fastest flow out of the skin",
        format!("{} per h", amount_cm2(r.needled.peak_flux_out_ug_cm2_h)),
        format!("{} per h", amount_cm2(r.intact.peak_flux_out_ug_cm2_h)),
    ));
    if let Some(th) = r.effect_threshold_ug_cm2 {
        let t =
            |v: Option<f64>| v.map_or("not reached".to_string(), |m| format!("{} min", sig3(m)));
        let what = match (r.effect_threshold_nerve_ug_ml, &r.effect_threshold_basis) {
            (Some(c), Some(b)) if b.starts_with("nerve block") => {
                format!("nerve block: {} µg/mL at the nerve endings", sig3(c))
            }
            _ => format!("effect at {} in the living skin", amount_cm2(th)),
        };
        amounts.push(SummaryRow {
            note: Some(what),
            ..row(
                "time to effect",
                t(r.needled.time_to_effect_min),
                t(r.intact.time_to_effect_min),
            )
        });
    }
    // Permeation report (OECD TG 428 style).
    let p = &r.permeation;
    let permeation_head = format!(
        "OECD TG 428 style, steady window {}-{} h",
        sig3(p.window_h[0]),
        sig3(p.window_h[1])
    );
    let cell = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_string(), f);
    let flux = |x: f64| format!("{} per h", amount_cm2(x));
    let kp = |x: f64| format!("{} cm/h", plain_num(x));
    let mut permeation = vec![
        row(
            "steady flux Jss",
            cell(p.needled.jss_ug_cm2_h, &flux),
            cell(p.intact.jss_ug_cm2_h, &flux),
        ),
        row(
            "permeability kp = Jss / C",
            cell(p.needled.kp_cm_h, &kp),
            cell(p.intact.kp_cm_h, &kp),
        ),
        row(
            "lag time",
            cell(p.needled.lag_time_h, &hours_words),
            cell(p.intact.lag_time_h, &hours_words),
        ),
    ];
    for (i, c) in p.needled.compartments.iter().enumerate() {
        let ci = &p.intact.compartments[i];
        let name = match c.compartment.as_str() {
            "surface_wash" => "surface wash (left on the skin)",
            "stratum_corneum" => "stratum corneum (tape strips)",
            "viable_skin" => "living skin (epidermis + dermis)",
            "receptor" => "receptor",
            _ => "blood",
        };
        let f = |c: &crate::delivery::experiment::CompartmentOut| match c.percent_of_dose {
            Some(pc) => format!("{} ({} %)", amount_cm2(c.amount_ug_cm2), sig3(pc)),
            None => amount_cm2(c.amount_ug_cm2),
        };
        permeation.push(row(name, f(c), f(ci)));
    }
    if let (Some(a), Some(b)) = (p.needled.recovery_percent, p.intact.recovery_percent) {
        permeation.push(row(
            "total recovery of the dose",
            format!("{} %", sig3(a)),
            format!("{} %", sig3(b)),
        ));
    }
    let e = &r.experiment;
    let when = match e.window_h {
        Some(w) => format!("over {}-{} h", sig3(w[0]), sig3(w[1])),
        None if e.endpoint == crate::delivery::experiment::Endpoint::Plasma => {
            format!("up to {}", hours_words(e.at_h))
        }
        None => format!("at {}", hours_words(e.at_h)),
    };
    let val = |v: Option<f64>| match (v, e.unit.as_str()) {
        (None, _) => "-".to_string(),
        (Some(x), "µg/cm²") => format!("{}/cm²", amount_cm2(x)),
        (Some(x), "µg/(cm²·h)") => format!("{}/cm² per h", amount_cm2(x)),
        (Some(x), u) => format!("{} {u}", plain_num(x)),
    };
    let endpoint = format!(
        "study endpoint, {} {when}: needled {}, intact {}: {}",
        e.description,
        val(e.needled),
        val(e.intact),
        match e.enhancement {
            Some(_) => format!("{} with needling", fold(e.enhancement)),
            None => "enhancement undefined (nothing crosses intact skin)".into(),
        }
    );
    DeliverySummary {
        zone,
        channels,
        coefficients,
        numerics,
        after: format!("after {}", hours_words(t_end)),
        amounts,
        permeation_head,
        permeation,
        endpoint,
    }
}

fn delivery(r: &DeliverReport, out: &Path) -> String {
    let d = delivery_summary(r);
    let mut s = String::new();
    let _ = writeln!(s, "needlesim deliver: {} (seed {})", r.title, r.seed);
    for line in [&d.zone, &d.channels, &d.coefficients, &d.numerics] {
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(
        s,
        "{} (per cm² of skin):          needled              intact",
        d.after
    );
    let print = |s: &mut String, rows: &[SummaryRow]| {
        for r in rows {
            let _ = write!(s, "  {:<32} {:>20} {:>20}", r.name, r.needled, r.intact);
            if let Some(n) = &r.note {
                let _ = write!(s, "   ({n})");
            }
            let _ = writeln!(s);
        }
    };
    print(&mut s, &d.amounts);
    let _ = writeln!(s, "permeation ({}):", d.permeation_head);
    print(&mut s, &d.permeation);
    let _ = writeln!(s, "{}", d.endpoint);
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    let _ = writeln!(
        s,
        "wrote {}/delivery.json, delivery_series.csv, delivery_profiles.csv, permeation.csv, delivery_time.svg, delivery_profile.svg",
        out.display()
    );
    s
}
