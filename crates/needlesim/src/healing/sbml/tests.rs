//! The export states the model's own equations: every formula is evaluated here and compared
//! with `Block::rhs`, `Block::rest`, `Block::apply_injury` and the rate constants.

use std::collections::BTreeMap;

use super::*;
use crate::healing::lumped::InjuryInput;
use crate::healing::ode::System;
use crate::skin::{self, Person, Site, ThicknessOverrides};

fn column() -> SkinColumn {
    skin::column(
        Site::Cheek,
        &Person::default(),
        &ThicknessOverrides::default(),
    )
    .expect("column")
}

fn sessions() -> Vec<SessionInput> {
    let inj = InjuryInput {
        injured_volume_fraction: [0.0, 0.04, 0.03, 0.01, 0.0],
        bleeding_fraction: 0.4,
        recoil: 0.6,
        open_surface_fraction: 0.02,
        density_m2: 2e6,
        mean_depth_m: 1.2e-3,
    };
    let mut later = inj;
    later.injured_volume_fraction[2] = 0.05;
    later.open_surface_fraction = 0.03;
    vec![
        SessionInput {
            t_s: 0.0,
            injury: inj,
        },
        SessionInput {
            t_s: 30.0 * crate::units::DAY,
            injury: later,
        },
    ]
}

/// Ages on both sides of every kink of the person factors (30, age_young, age_old), and
/// phototypes on both sides of 2.
const PEOPLE: [(f64, u8); 3] = [(28.0, 4), (55.0, 1), (90.0, 6)];

fn input<'a>(
    col: &'a SkinColumn,
    p: &'a HealingParams,
    s: &'a [SessionInput],
    person: (f64, u8),
) -> SbmlInput<'a> {
    SbmlInput {
        title: "test",
        zone: "cheek",
        provenance: "unit test",
        column: col,
        age_years: person.0,
        phototype: person.1,
        params: p,
        sessions: s,
        t_end_s: 90.0 * crate::units::DAY,
        reseal_rate_per_s: crate::healing::outcomes::reseal_rate_per_s(
            &crate::params::ClosureParams::default(),
            s,
            person.0,
            person.1,
            col.site,
        ),
    }
}

fn to_map(kind: LayerKind, y: &[f64], into: &mut BTreeMap<String, f64>) {
    for (var, v) in y.iter().enumerate() {
        into.insert(state_id(kind, var), *v);
    }
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-12 * (a.abs().max(b.abs()) + scale)
}

/// States along a protocol: rest, rest nudged off the clamps, right after each session, and
/// during healing (both blocks at once).
fn states(model: &LumpedModel, s: &[SessionInput]) -> Vec<[Vec<f64>; 2]> {
    let mut out = Vec::new();
    let blocks = model.blocks();
    let rest = [blocks[0].rest(), blocks[1].rest()];
    out.push(rest.clone());
    let mut nudged = rest.clone();
    for (bi, b) in blocks.iter().enumerate() {
        let sc = b.scales();
        for (i, v) in nudged[bi].iter_mut().enumerate() {
            // Down for some variables, so that negative values meet the clamps too.
            *v += if i % 3 == 0 { -0.01 } else { 0.02 } * sc[i];
        }
    }
    out.push(nudged);
    let days = [0.05, 0.5, 2.0, 6.0, 20.0, 29.0, 31.0, 45.0, 89.0];
    let times: Vec<f64> = days.iter().map(|d| d * crate::units::DAY).collect();
    let tr = crate::healing::lumped::simulate(
        model,
        s,
        90.0 * crate::units::DAY,
        &times,
        crate::healing::lumped::Accuracy::tol(1e-8, 1e-8),
    )
    .expect("simulate");
    for i in 0..times.len() {
        out.push([
            tr.values[0][i][..NPAP].to_vec(),
            tr.values[1][i][..NDERM].to_vec(),
        ]);
    }
    for sess in s {
        let mut y = rest.clone();
        for (bi, b) in blocks.iter().enumerate() {
            b.apply_injury(&mut y[bi], &sess.injury.block(b.base.kind));
        }
        out.push(y);
    }
    out
}

#[test]
fn rate_rules_are_the_models_right_hand_side() {
    let col = column();
    let s = sessions();
    let mut p = HealingParams::default();
    for person in PEOPLE {
        let inp = input(&col, &p, &s, person);
        let sbml = build(&inp);
        let model = lumped_model(&inp);
        let blocks = model.blocks();
        for y in states(&model, &s) {
            let mut map = BTreeMap::new();
            to_map(LayerKind::PapillaryDermis, &y[0], &mut map);
            to_map(LayerKind::ReticularDermis, &y[1], &mut map);
            let rates = sbml.eval_rates(&map).expect("every identifier is declared");
            for (bi, b) in blocks.iter().enumerate() {
                let mut dy = vec![0.0; b.dim()];
                b.rhs(0.0, &y[bi], &mut dy);
                let sc = b.scales();
                for (var, &want) in dy.iter().enumerate() {
                    let idv = state_id(b.base.kind, var);
                    let got = rates[&idv];
                    // Scale of the rate: the variable's typical size per day.
                    assert!(
                        close(got, want, sc[var] / crate::units::DAY),
                        "{person:?} d{idv}/dt: SBML {got:e}, model {want:e} at {:?}",
                        y[bi]
                    );
                }
            }
        }
        // An override reaches the export (and the comparison still holds).
        p.cytokine_half_life *= 1.7;
    }
}

#[test]
fn initial_values_and_rates_are_the_models() {
    let col = column();
    let s = sessions();
    let p = HealingParams::default();
    for person in PEOPLE {
        let inp = input(&col, &p, &s, person);
        let sbml = build(&inp);
        let model = lumped_model(&inp);
        let value = |id: &str| {
            sbml.quantities
                .iter()
                .find(|q| q.id == id)
                .map(|q| q.value)
                .unwrap_or_else(|| panic!("{id} not declared"))
        };
        for b in model.blocks() {
            for (var, want) in b.rest().iter().enumerate() {
                let id = state_id(b.base.kind, var);
                assert!(
                    close(value(&id), *want, 0.0),
                    "{id}: {} vs {want}",
                    value(&id)
                );
            }
        }
        assert!(close(value("k_seal"), model.papillary.reseal_rate(), 0.0));
        assert_eq!(value("Bo"), 0.0);
        // The exported constants are the parameters of the run.
        for &(name, _) in HEALING_PARAMS.iter().chain(BARRIER_PARAMS) {
            assert_eq!(Some(value(name)), p.get(name), "{name}");
        }
    }
}

#[test]
fn session_events_are_the_models_impulse() {
    let col = column();
    let s = sessions();
    let p = HealingParams::default();
    let inp = input(&col, &p, &s, PEOPLE[0]);
    let sbml = build(&inp);
    let model = lumped_model(&inp);
    assert_eq!(sbml.events.len(), s.len());
    for y in states(&model, &s) {
        for (k, sess) in s.iter().enumerate() {
            let mut map = BTreeMap::new();
            to_map(LayerKind::PapillaryDermis, &y[0], &mut map);
            to_map(LayerKind::ReticularDermis, &y[1], &mut map);
            let after = sbml.apply_event(k, &map).expect("event evaluates");
            for (bi, b) in model.blocks().iter().enumerate() {
                let mut z = y[bi].clone();
                b.apply_injury(&mut z, &sess.injury.block(b.base.kind));
                for (var, want) in z.iter().enumerate() {
                    let id = state_id(b.base.kind, var);
                    assert!(
                        close(after[&id], *want, b.scales()[var] * 1e-6),
                        "session {k} {id}: SBML {} vs model {want}",
                        after[&id]
                    );
                }
            }
        }
        assert_eq!(sbml.events[1].t_s, s[1].t_s);
    }
}

/// The SBML units are the registry's (with cells counted as `item`).
#[test]
fn units_are_the_registrys() {
    let si = |u: &str| -> ([i32; 4], f64) {
        // (m, kg, s, item) exponents of the registry's unit strings.
        match u {
            "1" => ([0, 0, 0, 0], 1.0),
            "s" => ([0, 0, 1, 0], 1.0),
            "m" => ([1, 0, 0, 0], 1.0),
            "kg/m3" => ([-3, 1, 0, 0], 1.0),
            "kg/m3/s" => ([-3, 1, -1, 0], 1.0),
            "kg/s" => ([0, 1, -1, 0], 1.0),
            "1/(m3 s)" => ([-3, 0, -1, 0], 1.0),
            "1/m3" => ([-3, 0, 0, 0], 1.0),
            "1/s" => ([0, 0, -1, 0], 1.0),
            "m3/s" => ([3, 0, -1, 0], 1.0),
            "year" => ([0, 0, 1, 0], crate::units::YEAR),
            "1/year" => ([0, 0, -1, 0], 1.0 / crate::units::YEAR),
            other => panic!("registry unit `{other}` has no SBML counterpart in this test"),
        }
    };
    for &(name, unit) in HEALING_PARAMS.iter().chain(BARRIER_PARAMS) {
        let entry = crate::params::healing::ENTRIES
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} is not a healing parameter"));
        let (mut d, f) = unit.dims();
        d[3] = 0; // cells: `item` in SBML, a pure number in the registry
        let (want, wf) = si(entry.unit);
        assert_eq!(
            d,
            want,
            "{name}: {} vs registry {}",
            unit.text(),
            entry.unit
        );
        assert!((f / wf - 1.0).abs() < 1e-15, "{name}: factor {f} vs {wf}");
    }
}

#[test]
fn xml_is_well_formed_and_deterministic() {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let col = column();
    let s = sessions();
    let p = HealingParams::default();
    let a = build(&input(&col, &p, &s, PEOPLE[1])).to_xml();
    let b = build(&input(&col, &p, &s, PEOPLE[1])).to_xml();
    assert_eq!(a, b, "the export is not byte-identical on rerun");
    let mut r = Reader::from_str(&a);
    let mut stack: Vec<String> = Vec::new();
    let (mut species, mut rate_rules, mut events) = (0, 0, 0);
    let mut ids = std::collections::BTreeSet::new();
    let mut refs = Vec::new();
    let mut in_ci = false;
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                match name.as_str() {
                    "rateRule" => rate_rules += 1,
                    "event" => events += 1,
                    _ => {}
                }
                in_ci = name == "ci";
                stack.push(name);
            }
            Event::Empty(e) => {
                let name = e.name();
                if matches!(name.as_ref(), "species" | "parameter" | "compartment") {
                    if name.as_ref() == "species" {
                        species += 1;
                    }
                    let id = e
                        .try_get_attribute("id")
                        .expect("attribute")
                        .expect("id")
                        .value
                        .to_string();
                    assert!(ids.insert(id.clone()), "{id} declared twice");
                }
            }
            Event::Text(t) if in_ci => {
                refs.push(t.xml10_content().trim().to_string());
            }
            Event::End(e) => {
                let open = stack.pop().expect("an end tag closes an open element");
                assert_eq!(open.as_str(), e.name().as_ref());
                in_ci = false;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty());
    assert_eq!(species, 2 * 11);
    assert_eq!(rate_rules, NPAP + NDERM);
    assert_eq!(events, s.len());
    for r in refs {
        assert!(ids.contains(&r), "`{r}` is used but not declared");
    }
    assert!(a.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sbml"));
}

#[test]
fn trajectory_times_avoid_sessions() {
    let s = sessions();
    let t = trajectory_times(&s, 90.0 * crate::units::DAY);
    assert!(t.windows(2).all(|w| w[0] < w[1]));
    assert!(t.iter().all(|x| s.iter().all(|ss| ss.t_s != *x)));
    assert_eq!(t.last(), Some(&(90.0 * crate::units::DAY)));
    assert_eq!(t.len(), 7 + 7 + 1);
}
