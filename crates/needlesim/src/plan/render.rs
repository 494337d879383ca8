//! Renders a [`Plan`]: the terminal text, and a self-contained HTML report with inline SVG
//! (zone map, schedule, trajectory, trade-off curve). Nothing here computes model results.

use std::fmt::Write as _;

use super::recommend::ZoneStatus;
use super::rules::{Category, Deferral, roman};
use super::{Plan, PredictionSection, VerdictKind};
use crate::skin::Site;

pub use crate::report::html::esc;

fn status_label(s: &ZoneStatus) -> String {
    match s {
        ZoneStatus::Treat => "treat".into(),
        ZoneStatus::TreatWithPrecautions { rules } => {
            format!("treat with precautions ({})", rules.join(", "))
        }
        ZoneStatus::DeferredUntil { date, rules } => {
            format!("deferred until {date} ({})", rules.join(", "))
        }
        ZoneStatus::DeferredUntilCondition { conditions, rules } => {
            format!(
                "deferred until {} ({})",
                conditions.join("; "),
                rules.join(", ")
            )
        }
        ZoneStatus::Excluded { reconsider, rules } => {
            format!(
                "do not treat; reconsider when {} ({})",
                reconsider.join("; "),
                rules.join(", ")
            )
        }
        ZoneStatus::NotWithinLimits { reasons } => {
            format!("NOT RECOMMENDED: {}", reasons.join("; "))
        }
    }
}

fn status_color(s: &ZoneStatus) -> &'static str {
    match s {
        ZoneStatus::Treat => "#3a9d5d",
        ZoneStatus::TreatWithPrecautions { .. } => "#e0a030",
        ZoneStatus::DeferredUntil { .. } | ZoneStatus::DeferredUntilCondition { .. } => "#8d8d8d",
        ZoneStatus::Excluded { .. } | ZoneStatus::NotWithinLimits { .. } => "#c9302c",
    }
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    let cont: String = " ".repeat(indent.chars().count());
    let mut out = String::new();
    let mut line = String::new();
    let mut first = true;
    let flush = |line: &mut String, out: &mut String, first: &mut bool| {
        out.push_str(if *first { indent } else { &cont });
        out.push_str(line);
        out.push('\n');
        line.clear();
        *first = false;
    };
    for w in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + w.chars().count() > width {
            flush(&mut line, &mut out, &mut first);
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        flush(&mut line, &mut out, &mut first);
    }
    out
}

/// The plan as terminal text.
pub fn text(plan: &Plan) -> String {
    let mut s = String::new();
    let p = &plan.person;
    let _ = writeln!(
        s,
        "needlesim plan: {} (consultation {})",
        plan.title, plan.date
    );
    let _ = writeln!(
        s,
        "patient: {:.0} y, {}, Fitzpatrick {}",
        p.age_years,
        match p.sex {
            crate::skin::Sex::Female => "female",
            crate::skin::Sex::Male => "male",
        },
        roman(p.phototype)
    );
    s.push_str(&wrap(&format!("** {} **", plan.disclaimer), 96, ""));
    s.push('\n');
    let _ = writeln!(s, "VERDICT: {}", plan.verdict.summary);
    for r in &plan.verdict.reasons {
        s.push_str(&wrap(r, 92, "  - "));
    }
    s.push_str("\nSCREENING\n");
    if plan.findings.is_empty() {
        s.push_str("  nothing found\n");
    }
    for f in &plan.findings {
        let scope = f
            .zone
            .as_deref()
            .map(|z| format!(" [{z}]"))
            .unwrap_or_default();
        let defer = match (&f.defer, f.waived) {
            (Some(Deferral::Date { date }), false) => format!("; until {date}"),
            (Some(Deferral::Condition { condition }), false) => format!("; until {condition}"),
            (Some(_), true) => "; deferral waived by the practitioner".into(),
            (None, _) => String::new(),
        };
        let head = format!(
            "{}{scope}: {}{defer} (rule {}, grade {})",
            f.category.label().to_uppercase(),
            f.finding,
            f.rule,
            f.grade.label()
        );
        s.push_str(&wrap(&head, 92, "  - "));
        s.push_str(&wrap(&f.advice, 88, "      "));
    }
    s.push_str("\nZONES\n");
    for z in &plan.zones {
        let _ = writeln!(
            s,
            "  {} ({}, {:.0} cm²{}): {}",
            z.name,
            z.site.name(),
            z.area_cm2,
            if z.area_assumed { " assumed" } else { "" },
            status_label(&z.status)
        );
        if !z.findings.is_empty() {
            let _ = writeln!(s, "    findings that apply here: {}", z.findings.join(", "));
        }
        let _ = writeln!(
            s,
            "    modelled skin {:.2} mm (epidermis {:.2} + dermis {:.2}); chart column: {} skin",
            z.skin.skin_mm, z.skin.epidermis_mm, z.skin.dermis_mm, z.skin.chart_column
        );
        for c in &z.concerns {
            let extra = match (c.concern.grade, c.concern.scar_types.is_empty()) {
                (Some(g), true) => format!(" (grade {g})"),
                (Some(g), false) => format!(
                    " (grade {g}, {})",
                    c.concern
                        .scar_types
                        .iter()
                        .map(|t| t.name())
                        .collect::<Vec<_>>()
                        .join("/")
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "    {}{extra}: {} {:.2} mm (range {:.2}-{:.2}; cited {:.2}-{:.2}, {}, grade {})",
                c.concern.kind.label(),
                z.device,
                c.setting_mm,
                c.range_mm[0],
                c.range_mm[1],
                c.cited_mm[0],
                c.cited_mm[1],
                c.row.row,
                c.row.grade.label()
            );
            let _ = writeln!(
                s,
                "      depth check: mean channel {:.2} mm, deepest {:.2} mm, dermis ends at {:.2} mm -> {:.2} mm of dermis below the deepest channel ({})",
                c.check.mean_depth_mm,
                c.check.deep_end_mm,
                c.check.dermis_bottom_mm,
                c.check.dermis_below_mm,
                if c.check.within_dermis {
                    format!("margin {:.2} mm kept", c.check.margin_mm)
                } else {
                    format!("LESS THAN THE {:.2} MM MARGIN", c.check.margin_mm)
                }
            );
            for a in &c.adjustments {
                s.push_str(&wrap(a, 86, "      * "));
            }
            // When the plan replaced the chart protocol (it broke a stated limit), the chart's
            // sessions are labelled as such and the planned ones follow, so the two don't read
            // as one recommendation.
            let replaced = z.sessions != c.sessions || z.interval_days != c.interval_days;
            let _ = writeln!(
                s,
                "      {}{} sessions every {} days ({}; grade {})",
                if replaced { "chart: " } else { "" },
                c.sessions,
                c.interval_days,
                c.session_basis.basis,
                c.session_basis.grade.label()
            );
            if replaced {
                let _ = writeln!(
                    s,
                    "      planned instead: {} session(s) every {} days (the chart protocol breaks a stated limit; see PREDICTION AND OPTIMISATION)",
                    z.sessions, z.interval_days
                );
            }
        }
        let nm = z
            .needling_min
            .map_or("?".to_string(), |m| format!("{m:.0}"));
        let _ = writeln!(
            s,
            "    session: {:.2} mm, {} passes, needling about {nm} min; downtime about {:.0}-{:.0} days (manufacturer chart, grade C)",
            z.setting_mm, z.passes, z.downtime_days[0], z.downtime_days[1]
        );
        for n in &z.schedule_notes {
            s.push_str(&wrap(n, 86, "    note: "));
        }
    }
    s.push_str("\nNUMBING\n");
    s.push_str(&wrap(&plan.numbing.how, 90, "  "));
    s.push_str(&wrap(
        &format!(
            "basis: {} (grade {})",
            plan.numbing.basis,
            plan.numbing.grade.label()
        ),
        90,
        "  ",
    ));
    for z in &plan.numbing.zones {
        s.push_str(&wrap(
            &format!(
                "{} ({}): apply {:.0} min before; {}",
                z.zone,
                z.site.name(),
                z.apply_before_min,
                z.basis
            ),
            86,
            "  - ",
        ));
    }
    if let Some(c) = &plan.numbing.calibration {
        s.push_str(&wrap(
            &format!(
                "calibrated: the vehicle's factor x{:.2} on the stratum corneum's permeability, so that lidocaine blocks the nerve endings (viable epidermis + papillary dermis) at its published EC50 of {:.1} µg/mL at the label's {:.0} min on the {} (stratum corneum {:.1} µm, occlusion: {}); label kept as the minimum",
                c.vehicle_kp_factor,
                c.threshold_ug_ml,
                c.label_onset_min,
                c.reference_site.name().replace('_', " "),
                c.reference_stratum_corneum_um,
                c.occlusion
            ),
            90,
            "  ",
        ));
    }
    s.push_str("\nPRODUCTS\n");
    let mut seen = Vec::new();
    for z in &plan.zones {
        for c in &z.concerns {
            for pr in &c.products {
                let line = format!("{}: {} (grade {})", pr.when, pr.what, pr.grade.label());
                if !seen.contains(&line) {
                    s.push_str(&wrap(&line, 90, "  - "));
                    seen.push(line);
                }
            }
        }
    }
    s.push_str("\nSESSIONS\n");
    if plan.visits.is_empty() {
        s.push_str("  none planned\n");
    }
    for v in &plan.visits {
        let zs: Vec<String> = v
            .zones
            .iter()
            .map(|z| format!("{} #{} {:.2} mm", z.zone, z.session, z.setting_mm))
            .collect();
        let _ = writeln!(
            s,
            "  {:>2}. {}  {}  | numbing {:.0} + needling {:.0} + prep/aftercare {:.0} = {:.0} min; downtime ~{:.0}-{:.0} d",
            v.number,
            v.date,
            zs.join(", "),
            v.numbing_min,
            v.needling_min,
            v.total_min - v.numbing_min - v.needling_min,
            v.total_min,
            v.downtime_days[0],
            v.downtime_days[1]
        );
    }
    s.push_str(&wrap(&plan.maintenance, 90, "  "));
    if let Some(a) = plan.aftercare.first() {
        let _ = writeln!(
            s,
            "\nAFTERCARE (session 1, {}; every session has its own dated timeline in plan.json and report.html)",
            a.date
        );
        for st in &a.steps {
            let when = if st.from == st.to {
                st.from.to_string()
            } else {
                format!("{} to {}", st.from, st.to)
            };
            let _ = writeln!(s, "  {} ({when}):", st.phase);
            for i in &st.instructions {
                s.push_str(&wrap(i, 86, "    - "));
            }
        }
    }
    s.push_str("  call the clinic if:\n");
    for w in &plan.warning_signs {
        s.push_str(&wrap(w, 86, "    - "));
    }
    s.push_str("\nPREDICTION AND OPTIMISATION\n");
    match &plan.prediction {
        PredictionSection::NotAvailable { reason } => {
            s.push_str(&wrap(&format!("not available: {reason}"), 90, "  "))
        }
        PredictionSection::Done {
            predictor,
            zones,
            failures,
        } => {
            let _ = writeln!(s, "  predictor: {predictor}");
            for zp in zones {
                for (k, l) in prediction_lines(plan, zp).iter().enumerate() {
                    s.push_str(&wrap(l, 88, if k == 0 { "  " } else { "    " }));
                }
                let _ = writeln!(
                    s,
                    "    trade-off curve: {} points of {} protocols evaluated ({} with bands)",
                    zp.optimisation.tradeoff.len(),
                    zp.optimisation.evaluated,
                    zp.optimisation.banded
                );
                for l in limit_notes(plan, zp) {
                    s.push_str(&wrap(&l, 86, "    "));
                }
            }
            for f in failures {
                let _ = writeln!(s, "  could not predict: {f}");
            }
        }
    }
    s
}

fn band_pct(e: &super::predict::Estimate, scale: f64, digits: usize) -> String {
    format!(
        "{:.d$} (band {:.d$}-{:.d$})",
        e.mean * scale,
        e.lo * scale,
        e.hi * scale,
        d = digits
    )
}

/// The metric, its unit and its calibration, for a prediction.
pub fn metric_text(p: &super::predict::Prediction) -> String {
    metric_text_with(p, true)
}

/// As [`metric_text`]; `full`: with what the metric was calibrated on (or why not).
pub fn metric_text_with(p: &super::predict::Prediction, full: bool) -> String {
    let cal = match (p.calibrated, full) {
        (true, true) => format!("calibrated: {}", p.calibration),
        (true, false) => "calibrated".into(),
        (false, true) if p.calibration.starts_with("UNCALIBRATED") => p.calibration.clone(),
        (false, true) => format!("UNCALIBRATED: {}", p.calibration),
        (false, false) => "UNCALIBRATED".into(),
    };
    format!(
        "{} {} % [unit: {}; {cal}]",
        p.metric,
        band_pct(&p.improvement_pct, 1.0, 0),
        p.unit
    )
}

/// The PIH risk and downtime of a prediction with their bands, each next to its limit.
pub fn limits_text(p: &super::predict::Prediction, cons: &super::predict::Constraints) -> String {
    let mut parts = Vec::new();
    match p.pih_risk {
        Some(r) => parts.push(format!(
            "PIH risk {} %{}",
            band_pct(&r, 100.0, 0),
            cons.max_pih_risk
                .map_or(" (no PIH limit for this patient)".to_string(), |m| format!(
                    " - limit: upper band at most {:.0} % -> {}",
                    m * 100.0,
                    if r.hi <= m + 1e-12 { "met" } else { "BROKEN" }
                ))
        )),
        None => parts.push("PIH risk not modelled".into()),
    }
    let w = super::predict::worst_downtime(p);
    parts.push(format!(
        "downtime after the longest session {} d{}",
        band_pct(&w, 1.0, 1),
        cons.max_downtime_days
            .map_or(" (no downtime limit)".to_string(), |m| format!(
                " - limit: mean at most {m} d -> {}",
                if w.mean <= m + 1e-9 { "met" } else { "BROKEN" }
            ))
    ));
    parts.join("; ")
}

fn proto_text(pr: &super::predict::ZoneProtocol) -> String {
    format!(
        "{:.2} mm, {} passes, {} session{} every {} d",
        pr.setting_mm,
        pr.passes,
        pr.sessions,
        if pr.sessions == 1 { "" } else { "s" },
        pr.interval_days
    )
}

/// What the plan does with a zone and concern, with the planned protocol's metric, PIH risk
/// and downtime (bands, limits, `meets_limits`), the chart protocol it replaced, and the best
/// or gentlest protocol of the search.
pub fn prediction_lines(_plan: &Plan, zp: &super::ZonePrediction) -> Vec<String> {
    use super::Decision;
    let cons = &zp.optimisation.constraints;
    let mut v = Vec::new();
    let head = match zp.decision {
        Decision::ChartProtocol => "recommended: the chart protocol (it meets the stated limits)",
        Decision::Optimised => {
            "recommended: the optimiser's protocol (the chart protocol breaks a stated limit)"
        }
        Decision::NoneMeetsLimits => {
            "NO PROTOCOL MEETS THE STATED LIMITS: the plan recommends none for this zone"
        }
    };
    v.push(format!("{} / {}: {head}", zp.zone, zp.concern.label()));
    let label = if zp.decision == Decision::NoneMeetsLimits {
        "chart protocol (not recommended)"
    } else {
        "recommended protocol"
    };
    v.push(format!(
        "{label}: {} -> {}",
        proto_text(&zp.recommended),
        metric_text(&zp.prediction)
    ));
    v.push(format!(
        "{}; meets limits: {}{}",
        limits_text(&zp.prediction, cons),
        if zp.meets_limits { "yes" } else { "NO" },
        if zp.violations.is_empty() {
            String::new()
        } else {
            format!(" ({})", zp.violations.join("; "))
        }
    ));
    if let Some(c) = &zp.chart {
        v.push(format!(
            "replaced chart protocol: {} -> {}; {}; meets limits: no ({})",
            proto_text(&c.protocol),
            metric_text_with(&c.prediction, false),
            limits_text(&c.prediction, cons),
            c.violations.join("; ")
        ));
    }
    match (&zp.optimisation.best, &zp.optimisation.gentlest) {
        (Some(b), _)
            if b.protocol.setting_mm == zp.recommended.setting_mm
                && b.protocol.passes == zp.recommended.passes
                && b.protocol.sessions == zp.recommended.sessions
                && b.protocol.interval_days == zp.recommended.interval_days =>
        {
            v.push("best within the limits (bands checked): the recommended protocol".into())
        }
        (Some(b), _) => {
            let p = zp.best_prediction.as_ref();
            v.push(format!(
                "best within the limits (bands checked): {} -> {}{}",
                proto_text(&b.protocol),
                p.map_or_else(
                    || format!("{} %", band_pct(&b.improvement_pct, 1.0, 0)),
                    |p| metric_text_with(p, false)
                ),
                p.map_or_else(String::new, |p| format!("; {}", limits_text(p, cons)))
            ));
        }
        (None, Some(g)) => v.push(format!(
            "no searched protocol meets the limits; the gentlest ({}) gives PIH risk {} %, downtime {} d: {} (not recommended)",
            proto_text(&g.protocol),
            g.pih_risk.map_or("not modelled".into(), |r| band_pct(&r, 100.0, 0)),
            band_pct(&g.downtime_days, 1.0, 1),
            g.violations.join("; ")
        )),
        (None, None) => v.push("no searched protocol meets the limits".into()),
    }
    v
}

/// The optimiser's limits that need saying: where the PIH limit comes from, and what the
/// patient's dates did to the candidates and to the best protocol.
fn limit_notes(plan: &Plan, zp: &super::ZonePrediction) -> Vec<String> {
    let mut v = Vec::new();
    let o = &zp.optimisation;
    if let Some(m) = o.constraints.max_pih_risk {
        v.push(if plan.goals.max_pih_risk_pct.is_some() {
            format!(
                "PIH limit: upper band (95th percentile) of the modelled risk at most {:.0} % (patient file, goals.max_pih_risk_pct). Downtime limit, where set: the mean modelled downtime of the longest session (its band is shown, not limited).",
                m * 100.0
            )
        } else {
            format!(
                "PIH limit: upper band (95th percentile) of the modelled risk at most {:.0} % for phototype IV-VI or earlier PIH - a planner assumption (no source gives an acceptable risk; it sits just above the 5 of 30 patients, 17 %, with PIH after 5 roller sessions in phototypes IV-V, Dogra 2014). Set goals.max_pih_risk_pct to change it.",
                m * 100.0
            )
        });
    }
    if let Some(cal) = &o.constraints.calendar
        && (!cal.blackout.is_empty() || cal.finish_by.is_some())
    {
        v.push(format!(
            "Dates: candidates start on {} and are moved past the blackouts as the schedule is; {} of {} were moved (predicted on the moved dates), {} left out because they do not fit before the finish date.",
            cal.start, o.moved_for_blackouts, o.evaluated, o.dropped_for_dates
        ));
        if let Some(b) = &o.best
            && !b.dates.is_empty()
        {
            let ds: Vec<String> = b.dates.iter().map(|d| d.to_string()).collect();
            v.push(format!("Best protocol's dates: {}.", ds.join(", ")));
            for n in &b.schedule_notes {
                v.push(format!("Best protocol: {n}."));
            }
        }
    }
    v
}

// ----------------------------------------------------------------------------------------------
// SVG
// ----------------------------------------------------------------------------------------------

/// Where a site is drawn on the zone map: (cx, cy, rx, ry, mirrored pair).
fn site_shape(site: Site) -> (f64, f64, f64, f64, bool) {
    match site {
        Site::Scalp => (160.0, 52.0, 88.0, 22.0, false),
        Site::Forehead => (160.0, 100.0, 70.0, 24.0, false),
        Site::Periorbital => (122.0, 160.0, 24.0, 11.0, true),
        Site::Nose => (160.0, 192.0, 13.0, 28.0, false),
        Site::Cheek => (108.0, 222.0, 28.0, 34.0, true),
        Site::Perioral => (160.0, 258.0, 36.0, 12.0, false),
        Site::Chin => (160.0, 292.0, 28.0, 13.0, false),
        Site::Neck => (160.0, 360.0, 42.0, 26.0, false),
        Site::Chest => (470.0, 140.0, 48.0, 26.0, false),
        Site::Abdomen => (470.0, 205.0, 42.0, 32.0, false),
        Site::Back => (600.0, 170.0, 42.0, 50.0, false),
        Site::DorsalHand => (405.0, 262.0, 12.0, 16.0, true),
        Site::Thigh => (452.0, 300.0, 16.0, 40.0, true),
    }
}

fn narrow() -> bool {
    crate::report::plot_style::is_narrow()
}

/// A figure of the report drawn for wide screens and for phones.
fn phone_pair(plan: &Plan, draw: fn(&Plan) -> String) -> String {
    crate::report::html::figure_div_for_phone(
        &draw(plan),
        &crate::report::plot_style::narrow(|| draw(plan)),
    )
}

/// Lines of text, one below the other (16 px apart), from `(x, y)`.
fn text_lines(x: f64, y: f64, fill: &str, lines: &[String]) -> String {
    let mut s = String::new();
    for (i, l) in lines.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="{x:.0}" y="{:.0}" fill="{fill}">{}</text>"##,
            y + 16.0 * i as f64,
            esc(l)
        );
    }
    s
}

/// The zone map: a face and a body outline, each zone coloured by status and labelled with its
/// setting.
pub fn zone_map_svg(plan: &Plan) -> String {
    // The face panel (x < 330) and the body panel (x >= 370): side by side in one picture for
    // wide screens, one above the other for a phone.
    let mut face = String::from(
        r##"<ellipse cx="160" cy="195" rx="105" ry="135" fill="#f6e7dc" stroke="#b89"/>
<rect x="125" y="320" width="70" height="70" fill="#f6e7dc" stroke="#b89"/>
<text x="160" y="420" text-anchor="middle" fill="#555">face and neck</text>
"##,
    );
    let mut body = String::from(
        r##"<circle cx="470" cy="70" r="24" fill="#f6e7dc" stroke="#b89"/>
<rect x="420" y="100" width="100" height="150" rx="18" fill="#f6e7dc" stroke="#b89"/>
<rect x="395" y="105" width="22" height="150" rx="10" fill="#f6e7dc" stroke="#b89"/>
<rect x="523" y="105" width="22" height="150" rx="10" fill="#f6e7dc" stroke="#b89"/>
<rect x="432" y="250" width="36" height="140" rx="12" fill="#f6e7dc" stroke="#b89"/>
<rect x="472" y="250" width="36" height="140" rx="12" fill="#f6e7dc" stroke="#b89"/>
<text x="470" y="420" text-anchor="middle" fill="#555">body (front)</text>
<rect x="555" y="100" width="90" height="150" rx="18" fill="#f6e7dc" stroke="#b89"/>
<text x="600" y="270" text-anchor="middle" fill="#555">back</text>
"##,
    );
    let mut used: Vec<(Site, usize)> = Vec::new();
    for z in &plan.zones {
        let n = used.iter().filter(|(s, _)| *s == z.site).count();
        used.push((z.site, n));
        let (cx, cy, rx, ry, pair) = site_shape(z.site);
        let s = if cx < 300.0 { &mut face } else { &mut body };
        let color = status_color(&z.status);
        let mut draw = |x: f64| {
            let _ = writeln!(
                s,
                r#"<ellipse cx="{x:.0}" cy="{cy:.0}" rx="{rx:.0}" ry="{ry:.0}" fill="{color}" fill-opacity="0.55" stroke="{color}" stroke-width="2"><title>{}</title></ellipse>"#,
                esc(&format!("{}: {}", z.name, status_label(&z.status)))
            );
        };
        draw(cx);
        let mirror = if cx < 300.0 { 320.0 - cx } else { 940.0 - cx };
        if pair {
            draw(mirror);
        }
        let label = match z.status {
            ZoneStatus::Treat | ZoneStatus::TreatWithPrecautions { .. } => {
                format!("{} {:.2} mm", z.name, z.setting_mm)
            }
            ZoneStatus::DeferredUntil { date, .. } => {
                format!("{} {:.2} mm from {date}", z.name, z.setting_mm)
            }
            ZoneStatus::DeferredUntilCondition { .. } => format!("{} deferred", z.name),
            ZoneStatus::Excluded { .. } => format!("{} not treated", z.name),
            ZoneStatus::NotWithinLimits { .. } => format!("{} not recommended", z.name),
        };
        let ly = cy + 4.0 + 13.0 * n as f64;
        let mut lx = if pair { mirror } else { cx };
        // Keep the label inside its panel (bold 13 px: about 8 px a character).
        let half = 4.0 * label.chars().count() as f64;
        let (p0, p1) = if cx < 300.0 {
            (0.0, 330.0)
        } else {
            (370.0, 700.0)
        };
        lx = lx.max(p0 + half + 2.0).min(p1 - half - 2.0);
        let _ = writeln!(
            s,
            r##"<text x="{lx:.0}" y="{ly:.0}" text-anchor="middle" font-weight="bold" fill="#111" stroke="#fff" stroke-width="3" paint-order="stroke">{}</text>"##,
            esc(&label)
        );
    }
    let legend = [
        ("#3a9d5d", "treat"),
        ("#e0a030", "treat with precautions"),
        ("#8d8d8d", "deferred"),
        ("#c9302c", "do not treat"),
    ];
    for (i, (c, l)) in legend.iter().enumerate() {
        let y = 300.0 + 18.0 * i as f64;
        let _ = writeln!(
            body,
            r#"<rect x="520" y="{:.0}" width="12" height="12" fill="{c}" fill-opacity="0.6" stroke="{c}"/><text x="538" y="{:.0}">{l}</text>"#,
            y,
            y + 10.0
        );
    }
    let open = |x: u32, y: u32, w: u32, h: u32| {
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x} {y} {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="13">
<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#fff"/>
"##
        )
    };
    if narrow() {
        format!(
            "{}{face}</svg>\n{}{body}</svg>\n",
            open(0, 0, 330, 430),
            open(370, 40, 330, 390)
        )
    } else {
        format!("{}{face}{body}</svg>\n", open(0, 0, 700, 430))
    }
}

/// The schedule: one row per zone from the consultation to after the last session; sessions,
/// their downtime (chart), deferrals and blackouts.
pub fn schedule_svg(plan: &Plan) -> String {
    let start = plan.date;
    let mut end = start.add_days(60);
    for z in &plan.zones {
        if let Some(d) = z.dates.last() {
            end = end.max(d.add_days(21));
        }
        if let ZoneStatus::DeferredUntil { date, .. } = z.status {
            end = end.max(date.add_days(21));
        }
    }
    let days = start.days_until(end).max(1) as f64;
    let legend = "dots: sessions; red bars: expected downtime (manufacturer chart, grade C); grey: blackouts";
    let legend_lines = crate::report::plot_style::wrap(legend, if narrow() { 56 } else { 200 });
    let (w, left, right, row_h) = if narrow() {
        (440.0, 90.0, 12.0, 34.0)
    } else {
        (900.0, 150.0, 20.0, 34.0)
    };
    let top = 24.0 + 16.0 * legend_lines.len() as f64;
    let h = top + row_h * plan.zones.len().max(1) as f64 + 40.0;
    let x = |d: super::Date| left + (w - left - right) * (start.days_until(d) as f64 / days);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="13"><rect width="{w}" height="{h}" fill="#fff"/>"##
    );
    for b in &plan.goals.blackout {
        let (x0, x1) = (x(b.from.max(start)), x(b.to.min(end)));
        if x1 > x0 {
            let _ = writeln!(
                s,
                r##"<rect x="{x0:.1}" y="{:.0}" width="{:.1}" height="{:.0}" fill="#ddd"><title>{}</title></rect><text x="{x0:.1}" y="{:.0}" fill="#777">blackout</text>"##,
                top - 10.0,
                x1 - x0,
                h - top - 20.0,
                esc(b.reason.as_deref().unwrap_or("blackout")),
                top - 14.0
            );
        }
    }
    // Month ticks: the first of each month, and the start date when it leaves room for the
    // next label. A label ("2027-01", 13 px) takes about 56 px as browsers render it; a month is
    // narrower than that on a phone, so there a label is left out where it would touch the
    // previous one (its tick line stays): labels never overlap.
    const LABEL_PX: f64 = 56.0;
    let mut d = start;
    let month_px = (w - left - right) * 28.0 / days;
    let mut free_from = f64::NEG_INFINITY;
    while d <= end {
        let (_, _, dd) = d.ymd();
        let start_fits =
            d == start && dd != 1 && month_px * (31 - dd as i64).max(0) as f64 / 28.0 >= 70.0;
        let xx = x(d);
        if dd == 1 || start_fits {
            let _ = writeln!(
                s,
                r##"<line x1="{xx:.1}" y1="{:.0}" x2="{xx:.1}" y2="{:.0}" stroke="#eee"/>"##,
                top - 6.0,
                h - 22.0,
            );
            // A label that would run past the right edge, or touch the previous one, is left out.
            if xx + LABEL_PX <= w && xx >= free_from {
                let _ = writeln!(
                    s,
                    r##"<text x="{xx:.1}" y="{:.0}" fill="#555">{}</text>"##,
                    h - 8.0,
                    &d.to_string()[..7]
                );
                free_from = xx + LABEL_PX + 6.0;
            }
        }
        d = d.add_days(1);
    }
    for (i, z) in plan.zones.iter().enumerate() {
        let y = top + row_h * i as f64 + row_h / 2.0;
        let _ = writeln!(
            s,
            r#"<text x="8" y="{:.0}">{}</text>"#,
            y + 4.0,
            esc(&z.name)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{y:.0}" x2="{:.0}" y2="{y:.0}" stroke="#ccc"/>"##,
            w - right
        );
        let color = status_color(&z.status);
        match &z.status {
            ZoneStatus::DeferredUntil { date, .. } => {
                let _ = writeln!(
                    s,
                    r#"<rect x="{left}" y="{:.0}" width="{:.1}" height="8" fill="{color}" fill-opacity="0.35"/><text x="{:.1}" y="{:.0}" fill="{color}">held back until {date}</text>"#,
                    y - 4.0,
                    x(*date) - left,
                    left + 4.0,
                    y - 7.0
                );
            }
            ZoneStatus::DeferredUntilCondition { .. } | ZoneStatus::Excluded { .. } => {
                let _ = writeln!(
                    s,
                    r#"<text x="{:.0}" y="{:.0}" fill="{color}">{}</text>"#,
                    left + 4.0,
                    y + 4.0,
                    esc(&status_label(&z.status))
                );
            }
            _ => {}
        }
        for (k, d) in z.dates.iter().enumerate() {
            let xd = x(*d);
            let xe = x(d.add_days(z.downtime_days[1].ceil() as i64));
            let _ = writeln!(
                s,
                r##"<rect x="{xd:.1}" y="{:.0}" width="{:.1}" height="10" fill="#e57373" fill-opacity="0.5"><title>downtime about {:.0}-{:.0} days (chart)</title></rect><circle cx="{xd:.1}" cy="{y:.0}" r="6" fill="{color}"><title>{} session {}: {d}, {:.2} mm</title></circle>"##,
                y - 5.0,
                (xe - xd).max(1.0),
                z.downtime_days[0],
                z.downtime_days[1],
                esc(&z.name),
                k + 1,
                z.setting_mm
            );
        }
    }
    s.push_str(&text_lines(
        if narrow() { 8.0 } else { left },
        16.0,
        "#333",
        &legend_lines,
    ));
    s.push_str("</svg>\n");
    s
}

fn no_data_svg(msg: &str) -> String {
    let mut s = String::new();
    let (w, chars) = if narrow() { (440, 56) } else { (700, 100) };
    let h = (30 + 18 * wrap(msg, chars, "").lines().count()).max(90);
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="13"><rect width="{w}" height="{h}" fill="#f7f7f7" stroke="#ccc"/>"##
    );
    let words = wrap(msg, chars, "");
    for (i, l) in words.lines().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="12" y="{}" fill="#555">{}</text>"##,
            24 + 18 * i,
            esc(l)
        );
    }
    s.push_str("</svg>\n");
    s
}

struct Axes {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    w: f64,
    h: f64,
    l: f64,
    b: f64,
    /// Lines above the plot, with their colours: the key and the series' labels
    /// ([`Axes::with_header`]), drawn by [`Axes::frame`].
    header: Vec<(&'static str, String)>,
}

/// Height, px, of one line of a chart's header ([`Axes::with_header`]).
const HEADER_LINE: f64 = 16.0;

impl Axes {
    /// The planner's 700 × 360 px chart over `[0, x1] × [y0, y1]`.
    fn chart(x1: f64, y0: f64, y1: f64) -> Axes {
        Axes {
            x0: 0.0,
            x1,
            y0,
            y1,
            // Phone version (plot_style::narrow): narrower, so the text stays legible.
            w: if narrow() { 440.0 } else { 700.0 },
            h: if narrow() { 330.0 } else { 360.0 },
            l: 60.0,
            b: 40.0,
            header: Vec::new(),
        }
    }
    /// The same chart with a header above the plot: `key` in grey, then each `(colour, label)`,
    /// each wrapped to the figure's width (inside the plot they overlapped each other and the
    /// curves). The canvas grows by the header, so the plot keeps its height.
    fn with_header(
        mut self,
        key: &str,
        labels: impl IntoIterator<Item = (&'static str, String)>,
    ) -> Axes {
        // How many characters of 13 px text fit on a header line.
        let width = ((self.w - self.l) / 7.4).floor().max(20.0) as usize;
        let wrap = crate::report::plot_style::wrap;
        self.header = wrap(key, width).into_iter().map(|l| ("#555", l)).collect();
        for (c, label) in labels {
            self.header
                .extend(wrap(&label, width).into_iter().map(|l| (c, l)));
        }
        self.h += self.top() - 20.0;
        self
    }
    /// The plot's top edge, px: below the header.
    fn top(&self) -> f64 {
        let n = self.header.len();
        20.0 + HEADER_LINE * n as f64 + if n > 0 { 6.0 } else { 0.0 }
    }
    /// The opening `<svg>` tag and white background of a chart of this size.
    fn open_svg(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" font-size="13"><rect width="{w}" height="{h}" fill="#fff"/>"##,
            w = self.w,
            h = self.h
        );
        s
    }
    fn px(&self, x: f64) -> f64 {
        self.l + (self.w - self.l - 20.0) * (x - self.x0) / (self.x1 - self.x0).max(1e-12)
    }
    fn py(&self, y: f64) -> f64 {
        (self.h - self.b)
            - (self.h - self.b - self.top()) * (y - self.y0) / (self.y1 - self.y0).max(1e-12)
    }
    fn frame(&self, s: &mut String, xlabel: &str, ylabel: &str) {
        let _ = writeln!(
            s,
            r##"<line x1="{l}" y1="{yb}" x2="{xr}" y2="{yb}" stroke="#333"/><line x1="{l}" y1="{top}" x2="{l}" y2="{yb}" stroke="#333"/><text x="{cx}" y="{ty}" text-anchor="middle">{xlabel}</text><text x="14" y="{cy}" transform="rotate(-90 14 {cy})" text-anchor="middle">{ylabel}</text>"##,
            l = self.l,
            top = self.top(),
            yb = self.h - self.b,
            xr = self.w - 20.0,
            cx = (self.l + self.w) / 2.0,
            ty = self.h - 6.0,
            cy = (self.h - self.b + self.top()) / 2.0
        );
        let ticks = |a: f64, b: f64| -> Vec<f64> {
            let raw = ((b - a) / 4.0).max(1e-9);
            let mag = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag);
            let mut v = Vec::new();
            let mut t = (a / step).ceil() * step;
            while t <= b + 1e-9 && v.len() < 12 {
                v.push(t);
                t += step;
            }
            v
        };
        let fmt = |v: f64| {
            if v.fract().abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        };
        for fx in ticks(self.x0, self.x1) {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
                self.px(fx),
                self.h - self.b + 14.0,
                fmt(fx)
            );
        }
        for fy in ticks(self.y0, self.y1) {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
                self.l - 4.0,
                self.py(fy) + 4.0,
                fmt(fy)
            );
        }
        for (i, (c, l)) in self.header.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" fill="{c}">{}</text>"#,
                self.l + 4.0,
                18.0 + HEADER_LINE * i as f64,
                esc(l)
            );
        }
    }
}

const PALETTE: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
];

/// Predicted improvement over time with its band, one line per zone and concern.
pub fn trajectory_svg(plan: &Plan) -> String {
    let PredictionSection::Done { zones, .. } = &plan.prediction else {
        if let PredictionSection::NotAvailable { reason } = &plan.prediction {
            return no_data_svg(&format!("Trajectory not available: {reason}"));
        }
        return String::new();
    };
    let pts: Vec<_> = zones
        .iter()
        .flat_map(|z| z.prediction.trajectory.iter())
        .collect();
    if pts.is_empty() {
        return no_data_svg("No trajectory: no zone could be predicted.");
    }
    let xmax = pts.iter().map(|p| p.day).fold(1.0, f64::max);
    let ymax = pts
        .iter()
        .map(|p| p.improvement_pct.hi)
        .fold(10.0, f64::max);
    let ymin = pts.iter().map(|p| p.improvement_pct.lo).fold(0.0, f64::min);
    const KEY: &str = "lines: mean; bands: 5-95 %; ticks on the axis: sessions";
    // The key and each line's label sit in a header above the plot, one under the other and
    // wrapped to the figure's width, so that nothing overlaps or runs past the edge.
    let labels = zones
        .iter()
        .enumerate()
        .filter(|(_, z)| !z.prediction.trajectory.is_empty())
        .map(|(i, z)| {
            (
                PALETTE[i % PALETTE.len()],
                format!(
                    "{} / {}: {}{}",
                    z.zone,
                    z.concern.label(),
                    z.prediction.metric,
                    if z.prediction.calibrated {
                        ""
                    } else {
                        " (uncalibrated)"
                    }
                ),
            )
        });
    let ax = Axes::chart(xmax, ymin, ymax * 1.05).with_header(KEY, labels);
    let mut s = ax.open_svg();
    // The y title has to fit the plot's height (at 13 px, about 40 characters): the metric of
    // each line is in the header and in the table.
    ax.frame(
        &mut s,
        "days from the first session",
        "predicted result, % (see the key above)",
    );
    for (i, z) in zones.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let t = &z.prediction.trajectory;
        if t.is_empty() {
            continue;
        }
        let mut band = String::new();
        for p in t {
            let _ = write!(
                band,
                "{:.1},{:.1} ",
                ax.px(p.day),
                ax.py(p.improvement_pct.hi)
            );
        }
        for p in t.iter().rev() {
            let _ = write!(
                band,
                "{:.1},{:.1} ",
                ax.px(p.day),
                ax.py(p.improvement_pct.lo)
            );
        }
        let line: String = t
            .iter()
            .map(|p| format!("{:.1},{:.1} ", ax.px(p.day), ax.py(p.improvement_pct.mean)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polygon points="{band}" fill="{c}" fill-opacity="0.15"/><polyline points="{line}" fill="none" stroke="{c}" stroke-width="2"/>"#
        );
        for d in z.recommended.session_days() {
            let _ = writeln!(
                s,
                r#"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="{c}" stroke-width="2" stroke-dasharray="3,2"/>"#,
                ax.px(d),
                ax.py(ax.y0),
                ax.py(ax.y0) - 18.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Result against downtime: the trade-off curve of each zone and concern, with the chosen
/// protocol ringed and the downtime limit dashed.
pub fn tradeoff_svg(plan: &Plan) -> String {
    let PredictionSection::Done { zones, .. } = &plan.prediction else {
        if let PredictionSection::NotAvailable { reason } = &plan.prediction {
            return no_data_svg(&format!("Trade-off curve not available: {reason}"));
        }
        return String::new();
    };
    let pts: Vec<_> = zones
        .iter()
        .flat_map(|z| z.optimisation.tradeoff.iter())
        .collect();
    if pts.is_empty() {
        return no_data_svg("No trade-off curve: no protocol could be evaluated.");
    }
    let xmax = pts
        .iter()
        .map(|c| c.downtime_days.mean)
        .chain(plan.goals.max_downtime_days)
        .fold(1.0, f64::max)
        * 1.1;
    let ymax = pts
        .iter()
        .map(|c| c.improvement_pct.mean)
        .fold(10.0, f64::max)
        * 1.1;
    // The key and the zones' labels sit in a header above the plot (inside it they could
    // cover the points).
    let ax = Axes::chart(xmax, 0.0, ymax).with_header(
        "filled: within the limits; open: breaks a limit (downtime or PIH risk); ringed: chosen",
        zones.iter().enumerate().map(|(i, z)| {
            (
                PALETTE[i % PALETTE.len()],
                format!("{} / {}", z.zone, z.concern.label()),
            )
        }),
    );
    let mut s = ax.open_svg();
    ax.frame(
        &mut s,
        "downtime after the worst session, days",
        "predicted result, % (see table)",
    );
    if let Some(m) = plan.goals.max_downtime_days {
        let xx = ax.px(m.min(xmax));
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{:.0}" y2="{:.0}" stroke="#c9302c" stroke-dasharray="5,4"/><text x="{:.1}" y="{:.0}" text-anchor="end" fill="#c9302c">max downtime {m} d</text>"##,
            ax.top(),
            ax.h - ax.b,
            xx - 4.0,
            ax.top() + 12.0
        );
    }
    for (i, z) in zones.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let line: String = z
            .optimisation
            .tradeoff
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1} ",
                    ax.px(p.downtime_days.mean),
                    ax.py(p.improvement_pct.mean)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{line}" fill="none" stroke="{c}" stroke-width="2"/>"#
        );
        for p in &z.optimisation.tradeoff {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" stroke="{c}"><title>{:.2} mm, {} passes, {} x every {} d: {:.0} %, {:.1} d{}</title></circle>"#,
                ax.px(p.downtime_days.mean),
                ax.py(p.improvement_pct.mean),
                if p.feasible { c } else { "#fff" },
                p.protocol.setting_mm,
                p.protocol.passes,
                p.protocol.sessions,
                p.protocol.interval_days,
                p.improvement_pct.mean,
                p.downtime_days.mean,
                if p.feasible {
                    String::new()
                } else {
                    format!(" (outside the limits: {})", p.violations.join(", "))
                }
            );
        }
        if let Some(b) = &z.optimisation.best {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="8" fill="none" stroke="{c}" stroke-width="2"/>"#,
                ax.px(b.downtime_days.mean),
                ax.py(b.improvement_pct.mean)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

// ----------------------------------------------------------------------------------------------
// HTML
// ----------------------------------------------------------------------------------------------

/// The self-contained HTML report (inline CSS and SVG; no external assets), made through the
/// library; the command line adds its inputs and run information to [`page`].
pub fn html(plan: &Plan) -> String {
    page(plan).finish(&crate::report::html::RunInfo::library(None))
}

/// The plan as a report page (shared HTML builder, [`crate::report::html::Page`]).
pub fn page(plan: &Plan) -> crate::report::html::Page {
    let p = &plan.person;
    let mut page = crate::report::html::Page::new(
        &format!("Treatment plan: {}", plan.title),
        &format!(
            "Consultation {} · {:.0} years, {}, Fitzpatrick {} · plan schema {}",
            plan.date,
            p.age_years,
            match p.sex {
                crate::skin::Sex::Female => "female",
                crate::skin::Sex::Male => "male",
            },
            roman(p.phototype),
            plan.schema_version
        ),
    );
    let mut parts = vec![crate::validate::Part::Skin];
    if matches!(plan.prediction, PredictionSection::Done { .. }) {
        parts.extend([
            crate::validate::Part::Devices,
            crate::validate::Part::Injury,
            crate::validate::Part::Healing,
        ]);
    }
    page.validation_status(crate::validate::status_rows(&parts))
        .raw(&body(plan));
    page
}

/// The body of the plan report (HTML fragments, no document head).
pub fn body(plan: &Plan) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<div class=\"disclaimer\">{}</div>",
        esc(&plan.disclaimer)
    );
    let vk = match plan.verdict.kind {
        VerdictKind::Treat => "treat",
        VerdictKind::TreatWithPrecautions => "treat_with_precautions",
        VerdictKind::NotToday => "not_today",
    };
    let _ = writeln!(
        h,
        "<div class=\"verdict v-{vk}\">{}</div>",
        esc(&plan.verdict.summary)
    );
    if !plan.verdict.reasons.is_empty() {
        h.push_str("<ul>");
        for r in &plan.verdict.reasons {
            let _ = write!(h, "<li>{}</li>", esc(r));
        }
        h.push_str("</ul>\n");
    }
    if let Some(n) = &plan.goals.notes {
        let _ = writeln!(h, "<p><b>Patient's goals:</b> {}</p>", esc(n));
    }

    h.push_str("<h2>Zone map</h2>\n");
    h.push_str(&phone_pair(plan, zone_map_svg));

    h.push_str("<h2>Screening</h2>\n<table><tr><th>finding</th><th>outcome</th><th>advice</th><th>rule / evidence</th></tr>\n");
    if plan.findings.is_empty() {
        h.push_str("<tr><td colspan=\"4\">Nothing found in the patient file.</td></tr>\n");
    }
    for f in &plan.findings {
        let cat = match f.category {
            Category::DoNotTreat => "do_not_treat",
            Category::Precaution => "precaution",
            Category::Note => "note",
        };
        let defer = match (&f.defer, f.waived) {
            (Some(Deferral::Date { date }), false) => format!("<br>until {date}"),
            (Some(Deferral::Condition { condition }), false) => {
                format!("<br>until {}", esc(condition))
            }
            (Some(_), true) => "<br><i>deferral waived by the practitioner</i>".into(),
            _ => String::new(),
        };
        let scope = f
            .zone
            .as_deref()
            .map_or("whole person".to_string(), |z| format!("zone {}", esc(z)));
        let _ = writeln!(
            h,
            "<tr><td>{}<br><span class=\"small\">{scope}</span></td><td class=\"cat-{cat}\">{}{defer}</td><td>{}</td><td><code>{}</code><br><span class=\"grade\">grade {}</span><br><span class=\"small\">{}</span></td></tr>",
            esc(&f.finding),
            f.category.label(),
            esc(&f.advice),
            esc(&f.rule),
            f.grade.label(),
            esc(&f.sources.join(", "))
        );
    }
    h.push_str("</table>\n");

    h.push_str("<h2>Recommendations by zone</h2>\n");
    for z in &plan.zones {
        let _ = writeln!(
            h,
            "<div class=\"zone\"><h3 style=\"margin:4px 0;color:{}\">{} <span class=\"small\">({}, {:.0} cm²{})</span></h3><p><b>{}</b></p>",
            status_color(&z.status),
            esc(&z.name),
            z.site.name(),
            z.area_cm2,
            if z.area_assumed {
                ", typical area assumed"
            } else {
                ""
            },
            esc(&status_label(&z.status))
        );
        let _ = writeln!(
            h,
            "<p class=\"small\">Modelled skin: {:.2} mm (epidermis {:.2} mm + dermis {:.2} mm); a 35-year-old of the same sex: {:.2} mm, so the <b>{}-skin</b> column of the depth chart applies.</p>",
            z.skin.skin_mm,
            z.skin.epidermis_mm,
            z.skin.dermis_mm,
            z.skin.reference_skin_mm,
            z.skin.chart_column
        );
        h.push_str("<table><tr><th>concern</th><th>setting</th><th>range (cited)</th><th>in this skin</th><th>sessions</th><th>source</th></tr>\n");
        for c in &z.concerns {
            let mut adj = String::new();
            if !c.adjustments.is_empty() {
                adj.push_str("<ul class=\"small\">");
                for a in &c.adjustments {
                    let _ = write!(adj, "<li>{}</li>", esc(a));
                }
                adj.push_str("</ul>");
            }
            let extra = c
                .concern
                .grade
                .map(|g| {
                    format!(
                        " (G&amp;B grade {g}{})",
                        if c.concern.scar_types.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; {}",
                                c.concern
                                    .scar_types
                                    .iter()
                                    .map(|t| t.name())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        }
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<tr><td>{}{extra}</td><td><b>{:.2} mm</b> ({})</td><td>{:.2}-{:.2} mm<br><span class=\"small\">cited {:.2}-{:.2}: {}</span>{adj}</td><td>mean channel {:.2} mm, deepest {:.2} mm; dermis ends at {:.2} mm: <b>{}</b></td><td>{} &times; every {} days<br><span class=\"small\">{} (grade {})</span></td><td><span class=\"grade\">grade {}</span><br><span class=\"small\">{}{}</span></td></tr>",
                c.concern.kind.label(),
                c.setting_mm,
                esc(&z.device),
                c.range_mm[0],
                c.range_mm[1],
                c.cited_mm[0],
                c.cited_mm[1],
                esc(&c.row.row),
                c.check.mean_depth_mm,
                c.check.deep_end_mm,
                c.check.dermis_bottom_mm,
                if c.check.within_dermis {
                    format!(
                        "{:.2} mm of dermis left below (margin {:.2} mm kept)",
                        c.check.dermis_below_mm, c.check.margin_mm
                    )
                } else {
                    format!(
                        "{:.2} mm of dermis left below: LESS THAN THE {:.2} MM MARGIN",
                        c.check.dermis_below_mm, c.check.margin_mm
                    )
                },
                c.sessions,
                c.interval_days,
                esc(&c.session_basis.basis),
                c.session_basis.grade.label(),
                c.row.grade.label(),
                esc(&c.row.sources.join(", ")),
                if c.row.note.is_empty() {
                    String::new()
                } else {
                    format!("<br>{}", esc(&c.row.note))
                }
            );
        }
        h.push_str("</table>\n");
        let nm = z.needling_min.map_or("?".into(), |m| format!("{m:.0}"));
        let _ = writeln!(
            h,
            "<p>Each session: {} at {:.2} mm, {} passes, about {nm} min of needling; expected downtime about {:.0}-{:.0} days (manufacturer chart, grade C).</p>",
            esc(&z.device),
            z.setting_mm,
            z.passes,
            z.downtime_days[0],
            z.downtime_days[1]
        );
        for n in &z.schedule_notes {
            let _ = writeln!(h, "<p class=\"small\">Schedule: {}</p>", esc(n));
        }
        h.push_str("</div>\n");
    }

    h.push_str("<h2>Numbing and products</h2>\n");
    let _ = writeln!(
        h,
        "<p><b>Numbing:</b> {} <span class=\"small\">({}; grade {})</span></p><ul>",
        esc(&plan.numbing.how),
        esc(plan.numbing.basis.trim_end_matches('.')),
        plan.numbing.grade.label()
    );
    if plan
        .numbing
        .zones
        .iter()
        .any(|z| z.model_onset_min.is_some())
    {
        h.push_str("</ul><table><tr><th>zone</th><th>site</th><th>stratum corneum</th><th>model onset</th><th>label</th><th>apply before needling</th><th>basis</th></tr>\n");
        for z in &plan.numbing.zones {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0} min</td><td><b>{:.0} min</b></td><td class=\"small\">{}</td></tr>",
                esc(&z.zone),
                z.site.name(),
                z.stratum_corneum_um
                    .map_or("-".into(), |v| format!("{v:.1} µm")),
                z.model_onset_min
                    .map_or("not reached".into(), |v| format!("{v:.0} min")),
                z.label_min,
                z.apply_before_min,
                esc(&z.basis)
            );
        }
        h.push_str("</table>\n");
        if let Some(c) = &plan.numbing.calibration {
            let _ = writeln!(
                h,
                "<p class=\"small\">Calibrated: the vehicle's factor x{:.2} on the stratum corneum's permeability, so that lidocaine blocks the nerve endings (viable epidermis + papillary dermis) at its published EC50 of {:.1} µg/mL at the label's {:.0} min on the {} (stratum corneum {:.1} µm) of a {}; occlusion: {}. {}</p><ul>",
                c.vehicle_kp_factor,
                c.threshold_ug_ml,
                c.label_onset_min,
                c.reference_site.name().replace('_', " "),
                c.reference_stratum_corneum_um,
                esc(&c.reference_person),
                c.occlusion,
                esc(&c.method)
            );
        } else {
            h.push_str("<ul>");
        }
    }
    let mut seen = Vec::new();
    for z in &plan.zones {
        for c in &z.concerns {
            for pr in &c.products {
                let line = format!(
                    "<li><b>{}:</b> {} <span class=\"grade\">grade {}</span></li>",
                    esc(&pr.when),
                    esc(&pr.what),
                    pr.grade.label()
                );
                if !seen.contains(&line) {
                    h.push_str(&line);
                    seen.push(line);
                }
            }
        }
    }
    h.push_str("</ul>\n");

    h.push_str("<h2>Sessions</h2>\n");
    h.push_str(&phone_pair(plan, schedule_svg));
    h.push_str("<table><tr><th>#</th><th>date</th><th>zones (setting)</th><th>apply numbing</th><th>needling</th><th>visit</th><th>downtime</th></tr>\n");
    for v in &plan.visits {
        let zs: Vec<String> = v
            .zones
            .iter()
            .map(|z| {
                format!(
                    "{} #{} ({:.2} mm, {} passes)",
                    esc(&z.zone),
                    z.session,
                    z.setting_mm,
                    z.passes
                )
            })
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0} min before</td><td>{:.0} min</td><td>{:.0} min</td><td>about {:.0}-{:.0} days</td></tr>",
            v.number,
            v.date,
            zs.join("<br>"),
            v.numbing_min,
            v.needling_min,
            v.total_min,
            v.downtime_days[0],
            v.downtime_days[1]
        );
    }
    if plan.visits.is_empty() {
        h.push_str("<tr><td colspan=\"7\">No sessions planned.</td></tr>");
    }
    h.push_str("</table>\n");
    let _ = writeln!(h, "<p>{}</p>", esc(&plan.maintenance));

    h.push_str("<h2>Predicted result</h2>\n");
    h.push_str(&phone_pair(plan, trajectory_svg));
    h.push_str("<h3>Trade-off: result against downtime</h3>\n");
    h.push_str(&phone_pair(plan, tradeoff_svg));
    if let PredictionSection::Done {
        predictor,
        zones,
        failures,
    } = &plan.prediction
    {
        let _ = writeln!(
            h,
            "<p class=\"small\">Predictor: {}. Each row names its metric and unit, and whether it is calibrated; bands are the 5-95 % range over sampled model parameters; read 90 days after the last session. Limits: PIH risk on its upper band, downtime on the mean of the longest session.</p><table><tr><th>zone / concern</th><th>decision</th><th>protocol and prediction</th><th>PIH risk, downtime and limits</th></tr>",
            esc(predictor)
        );
        for zp in zones {
            let lines = prediction_lines(plan, zp);
            let decision = match zp.decision {
                super::Decision::ChartProtocol => {
                    "<b>recommended</b>: chart protocol, meets the limits".to_string()
                }
                super::Decision::Optimised => {
                    "<b>recommended</b>: optimiser's protocol (the chart protocol breaks a limit)"
                        .to_string()
                }
                super::Decision::NoneMeetsLimits => {
                    "<b class=\"bad\">NOT RECOMMENDED</b>: no protocol meets the stated limits"
                        .to_string()
                }
            };
            let _ = writeln!(
                h,
                "<tr><td>{} / {}</td><td>{decision}<br>meets_limits: <b>{}</b></td><td>{}</td><td>{}</td></tr>",
                esc(&zp.zone),
                zp.concern.label(),
                if zp.meets_limits { "true" } else { "false" },
                lines[1..]
                    .iter()
                    .filter(|l| !l.starts_with("PIH"))
                    .map(|l| esc(l))
                    .collect::<Vec<_>>()
                    .join("<br>"),
                esc(&limits_text(&zp.prediction, &zp.optimisation.constraints))
            );
        }
        h.push_str("</table>\n");
        for zp in zones {
            let notes = limit_notes(plan, zp);
            if !notes.is_empty() {
                let _ = writeln!(
                    h,
                    "<p class=\"small\"><b>{} / {}:</b> {}</p>",
                    esc(&zp.zone),
                    zp.concern.label(),
                    notes.iter().map(|n| esc(n)).collect::<Vec<_>>().join(" ")
                );
            }
        }
        for f in failures {
            let _ = writeln!(h, "<p class=\"small\">Could not predict: {}</p>", esc(f));
        }
    }

    h.push_str("<h2>Aftercare</h2>\n<p class=\"small\">From clinic aftercare pages (grade C); warning signs from the adverse events in a systematic review (grade B).</p>\n");
    for a in &plan.aftercare {
        let _ = writeln!(
            h,
            "<h3>Session {} &middot; {} &middot; {}</h3><table><tr><th>when</th><th>dates</th><th>what to do</th></tr>",
            a.session,
            a.date,
            esc(&a.zones.join(", "))
        );
        for st in &a.steps {
            let when = if st.from == st.to {
                st.from.to_string()
            } else {
                format!("{} &ndash; {}", st.from, st.to)
            };
            let items: String = st
                .instructions
                .iter()
                .map(|i| format!("<li>{}</li>", esc(i)))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{when}</td><td><ul>{items}</ul></td></tr>",
                esc(&st.phase)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h3>Call the clinic if</h3><ul>");
    for w in &plan.warning_signs {
        let _ = write!(h, "<li>{}</li>", esc(w));
    }
    h.push_str("</ul>\n");

    h.push_str("<h2>Sources</h2>\n<table><tr><th>key</th><th>grade</th><th>source</th></tr>\n");
    for s in &plan.sources {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}<br><span class=\"small\">{}</span></td></tr>",
            s.key,
            s.grade.label(),
            esc(&s.citation),
            esc(&s.url)
        );
    }
    h.push_str("</table>\n<p class=\"small\">Grades: A primary peer-reviewed study; B review, consensus or quoted study; C clinic or manufacturer page; planner default: a choice no source gives, stated as such.</p>\n");
    let _ = writeln!(
        h,
        "<div class=\"disclaimer\">{}</div>",
        esc(&plan.disclaimer)
    );
    h
}
