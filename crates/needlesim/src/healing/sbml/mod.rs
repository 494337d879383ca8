//! SBML export of the lumped healing model (`needlesim export sbml`): the independent
//! cross-check of the healing ODE solver.
//!
//! The export writes one zone's lumped model ([`super::lumped`]: the papillary block with the
//! epidermis above it, and the reticular block) as SBML Level 3 Version 2 core with units:
//!
//! * the model's constants as `parameter`s with the values of the run (the healing group of the
//!   parameter registry with the file's `[params.healing]` overrides, the skin column's layer
//!   properties, the person), each with its unit;
//! * everything the model derives from them (rate constants from half-lives, the person's
//!   matrix-output and resealing factors, the resting state) as `initialAssignment`s, so that a
//!   tool that changes a half-life sees every rate follow (the `value` attributes hold the
//!   evaluated numbers too, for tools that ignore initial assignments);
//! * the cells and molecules as `species` (concentrations per m³ of layer; cells in `item`), the
//!   fractions, the relative collagenase activity and the epidermal thickness as non-constant
//!   `parameter`s; every state variable has a `rateRule` written term by term from
//!   [`super::model::Block`]'s right-hand side, with the clamps (`max(x, 0)`, `clamp`) as
//!   `piecewise` and the shared sub-expressions (Hill terms, fibroblast fluxes) as
//!   `assignmentRule`s;
//! * each session as an `event` at its time whose assignments are
//!   [`super::model::Block::apply_injury`], from that session's channel statistics.
//!
//! Units: SI, cells as `item` ([`units`]). The barrier resealing and closure terms are written in
//! one place, [`barrier`], so that a change to how resealing is parameterised is one edit there.
//! How to load the file and what the cross-check measured: `docs/SBML.md`.

pub mod math;
pub mod units;
mod xml;

use std::collections::BTreeMap;

use self::math::{Ex, clamp, dl, gt, id, ifelse, ln, num, pos};
use self::units::Unit;
use super::lumped::{LumpedModel, SessionInput, Trajectory};
use super::model::{NDERM, NPAP};
use super::params::HealingParams;
use crate::skin::{LayerKind, SkinColumn};

/// SBML symbols of the state variables, in [`super::model`]'s index order.
pub const SYMBOLS: [&str; NPAP] = [
    "D", "P", "S", "N", "M", "T", "Fq", "Fa", "Fm", "C3", "C1", "E", "MMP", "Vb", "W", "De", "Bo",
    "He",
];

/// What the export needs: one zone's model inputs, as the run builds them.
#[derive(Clone, Copy, Debug)]
pub struct SbmlInput<'a> {
    /// The scenario's title (model name).
    pub title: &'a str,
    /// The zone exported.
    pub zone: &'a str,
    /// Free text naming the source (scenario file, seed), written into the notes.
    pub provenance: &'a str,
    pub column: &'a SkinColumn,
    pub age_years: f64,
    pub phototype: u8,
    pub params: &'a HealingParams,
    pub sessions: &'a [SessionInput],
    /// End of the protocol (follow-up), s from the first session.
    pub t_end_s: f64,
    /// Resealing rate of the opened surface, 1/s, from the program's one channel-closure law
    /// ([`crate::healing::outcomes::reseal_rate_per_s`]), as the run uses it.
    pub reseal_rate_per_s: f64,
}

/// How an identifier is declared.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A constant parameter with a value from the run.
    Constant,
    /// A constant computed from others (`initialAssignment`).
    Derived(Ex),
    /// A non-constant parameter computed at every instant (`assignmentRule`).
    Rule(Ex),
    /// A state variable (`rateRule`); `init` is its initial assignment, if any.
    State { rate: Ex, init: Option<Ex> },
}

/// One parameter or species.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    pub id: String,
    pub name: String,
    /// The value at t = 0 (evaluated for derived quantities; `NaN` for rules until evaluated).
    pub value: f64,
    /// Unit of the value (a species: of its concentration).
    pub unit: Unit,
    /// `Some(compartment)`: a species of that compartment (concentration).
    pub compartment: Option<String>,
    pub kind: Kind,
}

/// One session's event.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionEvent {
    pub id: String,
    pub name: String,
    pub t_s: f64,
    /// (variable, new value from the values just before the session).
    pub assignments: Vec<(String, Ex)>,
}

/// The model, ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct SbmlModel {
    pub id: String,
    pub name: String,
    pub notes: Vec<String>,
    /// (id, name, size in m³).
    pub compartments: Vec<(String, String, f64)>,
    /// Parameters and species, in declaration order (every quantity is declared after those it
    /// reads, so initial assignments and rules evaluate in this order).
    pub quantities: Vec<Quantity>,
    pub events: Vec<SessionEvent>,
}

/// The SBML id of state variable `var` ([`super::model`] index) of block `kind`.
pub fn state_id(kind: LayerKind, var: usize) -> String {
    if var >= NDERM {
        SYMBOLS[var].to_string()
    } else {
        format!("{}_{}", SYMBOLS[var], suffix(kind))
    }
}

fn suffix(kind: LayerKind) -> &'static str {
    match kind {
        LayerKind::PapillaryDermis => "pap",
        _ => "ret",
    }
}

/// The two blocks of [`LumpedModel`] and the number of variables of each.
pub const BLOCKS: [(LayerKind, usize); 2] = [
    (LayerKind::PapillaryDermis, NPAP),
    (LayerKind::ReticularDermis, NDERM),
];

/// The healing parameters the lumped model reads, with their SBML units (cells as `item`).
/// Resealing's own parameters are declared by [`barrier`].
pub const HEALING_PARAMS: &[(&str, Unit)] = &[
    ("damage_halo_factor", Unit::Dimensionless),
    ("pdgf_per_blood", Unit::KgPerM3),
    ("tgfb_per_blood", Unit::KgPerM3),
    ("cytokine_half_life", Unit::Second),
    ("cytokine_from_damage", Unit::KgPerM3PerS),
    ("cytokine_per_neutrophil", Unit::KgPerItemPerS),
    ("cytokine_per_macrophage", Unit::KgPerItemPerS),
    ("tgfb_antiinflammatory_k", Unit::KgPerM3),
    ("cytokine_half_effect", Unit::KgPerM3),
    ("neutrophil_influx", Unit::ItemPerM3PerS),
    ("neutrophil_half_macrophage_recruit", Unit::ItemPerM3),
    ("neutrophil_lifetime", Unit::Second),
    ("macrophage_influx", Unit::ItemPerM3PerS),
    ("macrophage_removal_rate", Unit::PerSecond),
    ("resident_macrophage_ratio", Unit::Dimensionless),
    ("debris_clearance_macrophage", Unit::M3PerItemPerS),
    ("debris_clearance_neutrophil", Unit::M3PerItemPerS),
    ("debris_half_activation", Unit::Dimensionless),
    ("pdgf_half_life", Unit::Second),
    ("pdgf_per_macrophage", Unit::KgPerItemPerS),
    ("pdgf_half_effect", Unit::KgPerM3),
    ("tgfb_per_macrophage", Unit::KgPerItemPerS),
    ("tgfb_per_fibroblast", Unit::KgPerItemPerS),
    ("tgfb_half_life", Unit::Second),
    ("tgfb_half_effect", Unit::KgPerM3),
    ("fibroblast_activation_rate", Unit::PerSecond),
    ("fibroblast_doubling_time", Unit::Second),
    ("fibroblast_max_ratio", Unit::Dimensionless),
    ("myofibroblast_rate", Unit::PerSecond),
    ("fibroblast_reversion_rate", Unit::PerSecond),
    ("fibroblast_apoptosis_rate", Unit::PerSecond),
    ("collagen_half_life", Unit::Second),
    ("collagen_output_activated", Unit::Dimensionless),
    ("collagen3_share_early", Unit::Dimensionless),
    ("collagen3_remodel_half_life", Unit::Second),
    ("collagen3_share_remodelled", Unit::Dimensionless),
    ("mmp_half_life", Unit::Second),
    ("mmp_induction_cytokine", Unit::Dimensionless),
    ("mmp_induction_fibroblast", Unit::Dimensionless),
    ("elastin_residence_time", Unit::Second),
    ("elastin_output_activated", Unit::Dimensionless),
    ("elastase_per_neutrophil", Unit::M3PerItemPerS),
    ("vasodilation_max", Unit::Dimensionless),
    ("vascular_time_constant", Unit::Second),
    ("oedema_max", Unit::Dimensionless),
    ("oedema_half_life", Unit::Second),
    ("epidermal_repair_time_95", Unit::Second),
    ("epidermal_turnover_time", Unit::Second),
    ("epidermis_fibroblast_drive", Unit::Dimensionless),
    ("epidermis_matrix_coupling", Unit::Dimensionless),
    ("age_output_ratio", Unit::Dimensionless),
    ("age_young", Unit::Year),
    ("age_old", Unit::Year),
];

/// Resealing's own constants: none since the program has one channel-closure law
/// ([`crate::params::closure`]); its rate enters as the constant `k_seal` ([`barrier`]).
pub const BARRIER_PARAMS: &[(&str, Unit)] = &[];

/// Builds the model while evaluating every derived value (so the `value` attributes are the
/// numbers the formulas give).
struct Builder {
    q: Vec<Quantity>,
    env: BTreeMap<String, f64>,
}

impl Builder {
    fn value(&self, e: &Ex) -> f64 {
        e.eval(&|n| self.env.get(n).copied(), 0.0)
            .unwrap_or(f64::NAN)
    }

    fn push(
        &mut self,
        id: &str,
        name: &str,
        value: f64,
        unit: Unit,
        comp: Option<&str>,
        kind: Kind,
    ) {
        self.env.insert(id.to_string(), value);
        self.q.push(Quantity {
            id: id.to_string(),
            name: name.to_string(),
            value,
            unit,
            compartment: comp.map(str::to_string),
            kind,
        });
    }

    /// A constant with a value from the run.
    fn constant(&mut self, id: &str, name: &str, value: f64, unit: Unit) -> Ex {
        self.push(id, name, value, unit, None, Kind::Constant);
        math::id(id)
    }

    /// A constant derived from others.
    fn derived(&mut self, id: &str, name: &str, unit: Unit, e: Ex) -> Ex {
        let v = self.value(&e);
        self.push(id, name, v, unit, None, Kind::Derived(e));
        math::id(id)
    }

    /// A quantity computed at every instant.
    fn rule(&mut self, id: &str, name: &str, unit: Unit, e: Ex) -> Ex {
        let v = self.value(&e);
        self.push(id, name, v, unit, None, Kind::Rule(e));
        math::id(id)
    }

    /// A state variable; its rate is set later by [`Builder::rate`] (rates read rules declared
    /// after the states).
    fn state(&mut self, id: &str, name: &str, unit: Unit, comp: Option<&str>, init: Ex) -> Ex {
        let v = self.value(&init);
        let init = match init {
            Ex::Num(..) => None,
            e => Some(e),
        };
        self.push(
            id,
            name,
            v,
            unit,
            comp,
            Kind::State {
                rate: dl(0.0),
                init,
            },
        );
        math::id(id)
    }

    fn rate(&mut self, state: &str, e: Ex) {
        if let Some(q) = self.q.iter_mut().find(|q| q.id == state)
            && let Kind::State { rate, .. } = &mut q.kind
        {
            *rate = e;
        }
    }
}

/// `ln 2`, dimensionless.
fn ln2() -> Ex {
    ln(dl(2.0))
}

/// Identifiers of one block's quantities.
struct B {
    kind: LayerKind,
}

impl B {
    fn v(&self, name: &str) -> String {
        format!("{name}_{}", suffix(self.kind))
    }
    fn x(&self, name: &str) -> Ex {
        id(&self.v(name))
    }
    fn s(&self, var: usize) -> Ex {
        id(&state_id(self.kind, var))
    }
}

// ---------------------------------------------------------------------------------------------
// Barrier resealing and closure: every term of the open surface fraction `Bo` lives here.
// (Parameters, the person's resealing factor, the rate constant, the rate rule and the session
// impulse.) A change to how resealing is parameterised (e.g. by the delivery model's channel
// closure) is an edit of this function and of `Block::rhs` / `Block::apply_injury` /
// `PersonFactors::new`, which the tests compare it with.
// ---------------------------------------------------------------------------------------------

/// The barrier's parts of the model.
struct Barrier {
    /// Resealing rate constant, 1/s.
    k_seal: Ex,
}

/// Declares the resealing rate constant: the program's one channel-closure law
/// (`params::closure`: depth, age, phototype, site; unoccluded, in vivo) evaluated for the run's
/// first-session mean channel depth, this person and this site. The law's own constants are not
/// exported, so a change to them is made in needlesim and exported again.
fn barrier_constants(b: &mut Builder, reseal_rate_per_s: f64) -> Barrier {
    let k_seal = b.constant(
        "k_seal",
        "resealing rate constant of the opened surface (needlesim's channel-closure law)",
        reseal_rate_per_s,
        Unit::PerSecond,
    );
    Barrier { k_seal }
}

/// `Bo`: the open surface fraction (state, its rate rule).
fn barrier_state(b: &mut Builder, bar: &Barrier) {
    let bo = b.state(
        "Bo",
        "open (unsealed) fraction of the skin surface",
        Unit::Dimensionless,
        None,
        dl(0.0),
    );
    b.rate("Bo", -(bar.k_seal.clone() * bo));
}

/// The session's impulse on `Bo`: `Bo += clamp(open, 0, 1) (1 - Bo)`.
fn barrier_impulse(open_surface_fraction: Ex) -> (String, Ex) {
    (
        "Bo".into(),
        id("Bo") + clamp(open_surface_fraction, 0.0, 1.0) * (dl(1.0) - id("Bo")),
    )
}

// ---------------------------------------------------------------------------------------------

/// Builds the SBML model of one zone.
pub fn build(input: &SbmlInput<'_>) -> SbmlModel {
    let p = input.params;
    let mut b = Builder {
        q: Vec::new(),
        env: BTreeMap::new(),
    };
    // The person.
    b.constant("age_years", "age", input.age_years, Unit::Year);
    b.constant(
        "phototype",
        "Fitzpatrick phototype",
        f64::from(input.phototype),
        Unit::Dimensionless,
    );
    // The healing group (registry values with the file's overrides).
    for &(name, unit) in HEALING_PARAMS {
        b.constant(name, name, p.get(name).unwrap_or(f64::NAN), unit);
    }
    // PersonFactors::new: fibroblast output falls linearly from age_young to age_old.
    let frac = b.derived(
        "age_fraction",
        "position of the age between age_young and age_old, clamped to [0, 1]",
        Unit::Dimensionless,
        clamp(
            (id("age_years") - id("age_young")) / (id("age_old") - id("age_young")),
            0.0,
            1.0,
        ),
    );
    b.derived(
        "person_output",
        "fibroblast collagen/elastin output relative to a young adult",
        Unit::Dimensionless,
        dl(1.0) - (dl(1.0) - id("age_output_ratio")) * frac,
    );
    let bar = barrier_constants(&mut b, input.reseal_rate_per_s);
    // Rates::new.
    let half = |name: &str| ln2() / id(name);
    for (k, name, e) in [
        ("k_s", "cytokine decay rate", half("cytokine_half_life")),
        (
            "k_n",
            "neutrophil death rate",
            dl(1.0) / id("neutrophil_lifetime"),
        ),
        ("k_p", "PDGF decay rate", half("pdgf_half_life")),
        ("k_t", "TGF-beta decay rate", half("tgfb_half_life")),
        (
            "rho_f",
            "fibroblast proliferation rate",
            half("fibroblast_doubling_time"),
        ),
        (
            "k_mmp",
            "collagenase relaxation rate",
            half("mmp_half_life"),
        ),
        (
            "k_c",
            "collagen turnover at rest for this person",
            id("person_output") * ln2() / id("collagen_half_life"),
        ),
        (
            "k_e",
            "elastin turnover for this person",
            id("person_output") / id("elastin_residence_time"),
        ),
        (
            "k_x",
            "collagen III to I remodelling rate",
            half("collagen3_remodel_half_life"),
        ),
        ("k_w", "oedema resolution rate", half("oedema_half_life")),
        (
            "k_de",
            "epidermal repair rate",
            dl(3.0) / id("epidermal_repair_time_95"),
        ),
        (
            "k_he",
            "epidermal turnover rate",
            dl(1.0) / id("epidermal_turnover_time"),
        ),
    ] {
        b.derived(k, name, Unit::PerSecond, e);
    }
    // The skin column: per-block resting values (Block::new).
    let ve = input.column.layer(LayerKind::ViableEpidermis).thickness_m;
    let pd = input.column.layer(LayerKind::PapillaryDermis).thickness_m;
    b.constant(
        "thickness_ve",
        "viable epidermis thickness",
        ve,
        Unit::Metre,
    );
    b.constant(
        "thickness_pd",
        "papillary dermis thickness",
        pd,
        Unit::Metre,
    );
    b.derived(
        "he0",
        "resting viable epidermal thickness",
        Unit::Metre,
        id("thickness_ve"),
    );
    b.derived(
        "ve_over_pd",
        "epidermis / papillary dermis thickness (dilution of epidermal cytokines)",
        Unit::Dimensionless,
        id("thickness_ve") / id("thickness_pd"),
    );
    for (kind, _) in BLOCKS {
        block_constants(&mut b, input.column, kind);
    }
    // State variables, then the rules and rates of each block.
    for (kind, _) in BLOCKS {
        block_states(&mut b, kind);
    }
    barrier_state(&mut b, &bar);
    for (kind, _) in BLOCKS {
        block_rates(&mut b, kind);
    }
    // Sessions.
    let mut events = Vec::new();
    for (k, s) in input.sessions.iter().enumerate() {
        events.push(session_event(&mut b, k, s));
    }
    let name = format!(
        "{} - zone {} (needlesim lumped healing)",
        input.title, input.zone
    );
    SbmlModel {
        id: "needlesim_lumped_healing".into(),
        name,
        notes: notes(input),
        compartments: BLOCKS
            .iter()
            .map(|&(kind, _)| {
                (
                    kind.name().to_string(),
                    format!(
                        "{} (1 m3 reference volume: states are layer averages)",
                        kind.name()
                    ),
                    1.0,
                )
            })
            .collect(),
        quantities: b.q,
        events,
    }
}

/// Block::new: the layer's resting values, from the column and the healing parameters.
fn block_constants(b: &mut Builder, column: &SkinColumn, kind: LayerKind) {
    let bl = B { kind };
    let props = &column.layer(kind).properties;
    let layer = kind.name();
    let f0 = b.constant(
        &bl.v("f0"),
        &format!("{layer}: resting fibroblast density"),
        props.cell_density_per_m3,
        Unit::ItemPerM3,
    );
    let c0 = b.constant(
        &bl.v("collagen0"),
        &format!("{layer}: resting collagen"),
        props.collagen_kg_m3,
        Unit::KgPerM3,
    );
    let ci = b.constant(
        &bl.v("collagen_i_fraction"),
        &format!("{layer}: type I share of collagen"),
        props.collagen_i_fraction,
        Unit::Dimensionless,
    );
    b.constant(
        &bl.v("e0"),
        &format!("{layer}: resting elastin"),
        props.elastin_kg_m3,
        Unit::KgPerM3,
    );
    b.constant(
        &bl.v("v0"),
        &format!("{layer}: resting blood volume fraction"),
        props.vascular_fraction,
        Unit::Dimensionless,
    );
    let m0 = b.derived(
        &bl.v("m0"),
        &format!("{layer}: resting macrophage density"),
        Unit::ItemPerM3,
        id("resident_macrophage_ratio") * f0.clone(),
    );
    let c1_0 = b.derived(
        &bl.v("c1_0"),
        &format!("{layer}: resting collagen I"),
        Unit::KgPerM3,
        c0.clone() * ci,
    );
    let c3_0 = b.derived(
        &bl.v("c3_0"),
        &format!("{layer}: resting collagen III"),
        Unit::KgPerM3,
        c0.clone() - c1_0.clone(),
    );
    b.derived(
        &bl.v("t0"),
        &format!("{layer}: resting TGF-beta (not split into latent and active; steady state of its production)"),
        Unit::KgPerM3,
        (id("tgfb_per_macrophage") * m0 + id("tgfb_per_fibroblast") * f0.clone())
            / (ln2() / id("tgfb_half_life")),
    );
    b.derived(
        &bl.v("theta0"),
        &format!("{layer}: resting collagen III share"),
        Unit::Dimensionless,
        ifelse(
            gt(c0.clone(), num(0.0, Unit::KgPerM3)),
            c3_0.clone() / c0,
            dl(0.0),
        ),
    );
    let c_rest = b.derived(
        &bl.v("c_rest"),
        &format!("{layer}: resting collagen I + III"),
        Unit::KgPerM3,
        c1_0 + c3_0,
    );
    let has_f0 = || gt(f0.clone(), num(0.0, Unit::ItemPerM3));
    b.derived(
        &bl.v("sigma"),
        &format!("{layer}: collagen output per quiescent fibroblast"),
        Unit::KgPerItemPerS,
        ifelse(
            has_f0(),
            id("k_c") * c_rest / f0.clone(),
            num(0.0, Unit::KgPerItemPerS),
        ),
    );
    b.derived(
        &bl.v("se"),
        &format!("{layer}: elastin output per quiescent fibroblast"),
        Unit::KgPerItemPerS,
        ifelse(
            has_f0(),
            id("k_e") * bl.x("e0") / f0.clone(),
            num(0.0, Unit::KgPerItemPerS),
        ),
    );
    b.derived(
        &bl.v("fmax"),
        &format!("{layer}: fibroblast carrying capacity"),
        Unit::ItemPerM3,
        id("fibroblast_max_ratio") * f0,
    );
}

/// The block's state variables with their resting values (Block::rest).
fn block_states(b: &mut Builder, kind: LayerKind) {
    use super::model::*;
    let bl = B { kind };
    let layer = kind.name();
    let comp = Some(kind.name());
    let zero_kg = || num(0.0, Unit::KgPerM3);
    let zero_n = || num(0.0, Unit::ItemPerM3);
    let vars: [(usize, &str, Unit, Option<&str>, Ex); NDERM] = [
        (
            D,
            "damaged (necrotic) tissue volume fraction",
            Unit::Dimensionless,
            None,
            dl(0.0),
        ),
        (P, "PDGF-like growth factor", Unit::KgPerM3, comp, zero_kg()),
        (
            S,
            "pro-inflammatory cytokine signal",
            Unit::KgPerM3,
            comp,
            zero_kg(),
        ),
        (N, "neutrophils", Unit::ItemPerM3, comp, zero_n()),
        (M, "macrophages", Unit::ItemPerM3, comp, bl.x("m0")),
        (
            T,
            "TGF-beta1 (latent and active)",
            Unit::KgPerM3,
            comp,
            bl.x("t0"),
        ),
        (
            FQ,
            "quiescent fibroblasts",
            Unit::ItemPerM3,
            comp,
            bl.x("f0"),
        ),
        (FA, "activated fibroblasts", Unit::ItemPerM3, comp, zero_n()),
        (
            FM,
            "matrix-synthesising fibroblasts",
            Unit::ItemPerM3,
            comp,
            zero_n(),
        ),
        (C3, "collagen III", Unit::KgPerM3, comp, bl.x("c3_0")),
        (C1, "collagen I", Unit::KgPerM3, comp, bl.x("c1_0")),
        (E, "elastin", Unit::KgPerM3, comp, bl.x("e0")),
        (
            MMP,
            "collagenase activity relative to rest",
            Unit::Dimensionless,
            None,
            dl(1.0),
        ),
        (
            VB,
            "excess blood volume fraction",
            Unit::Dimensionless,
            None,
            dl(0.0),
        ),
        (
            W,
            "excess interstitial water volume fraction",
            Unit::Dimensionless,
            None,
            dl(0.0),
        ),
    ];
    for (var, name, unit, comp, init) in vars {
        b.state(
            &state_id(kind, var),
            &format!("{layer}: {name}"),
            unit,
            comp,
            init,
        );
    }
    if kind == LayerKind::PapillaryDermis {
        b.state(
            "De",
            "damaged fraction of the viable epidermis",
            Unit::Dimensionless,
            None,
            dl(0.0),
        );
        b.state(
            "He",
            "viable epidermal thickness",
            Unit::Metre,
            None,
            id("he0"),
        );
    }
}

/// The block's right-hand side (Block::rhs), term by term.
fn block_rates(b: &mut Builder, kind: LayerKind) {
    use super::model::*;
    let bl = B { kind };
    let epi = kind == LayerKind::PapillaryDermis;
    let layer = kind.name();
    let n = |s: &str| format!("{layer}: {s}");
    let dlu = Unit::Dimensionless;
    // Clamped states.
    let d = b.rule(&bl.v("d_pos"), &n("max(D, 0)"), dlu, pos(bl.s(D), dlu));
    let nn = b.rule(
        &bl.v("n_pos"),
        &n("max(N, 0)"),
        Unit::ItemPerM3,
        pos(bl.s(N), Unit::ItemPerM3),
    );
    let m = b.rule(
        &bl.v("m_pos"),
        &n("max(M, 0)"),
        Unit::ItemPerM3,
        pos(bl.s(M), Unit::ItemPerM3),
    );
    let fq = b.rule(
        &bl.v("fq_pos"),
        &n("max(Fq, 0)"),
        Unit::ItemPerM3,
        pos(bl.s(FQ), Unit::ItemPerM3),
    );
    let fa = b.rule(
        &bl.v("fa_pos"),
        &n("max(Fa, 0)"),
        Unit::ItemPerM3,
        pos(bl.s(FA), Unit::ItemPerM3),
    );
    let fm = b.rule(
        &bl.v("fm_pos"),
        &n("max(Fm, 0)"),
        Unit::ItemPerM3,
        pos(bl.s(FM), Unit::ItemPerM3),
    );
    let f_act = b.rule(
        &bl.v("f_act"),
        &n("activated + synthesising fibroblasts"),
        Unit::ItemPerM3,
        fa.clone() + fm.clone(),
    );
    let ft = b.rule(
        &bl.v("f_total"),
        &n("all fibroblasts"),
        Unit::ItemPerM3,
        fq.clone() + f_act.clone(),
    );
    // Signals (hill(x, k) = max(x, 0) / (max(x, 0) + k)).
    let hill = |x: Ex, k: Ex| x.clone() / (x + k);
    let h_d = b.rule(
        &bl.v("h_d"),
        &n("debris activation of macrophages"),
        dlu,
        hill(d.clone(), id("debris_half_activation")),
    );
    let s_pos = b.rule(
        &bl.v("s_pos"),
        &n("max(S, 0)"),
        Unit::KgPerM3,
        pos(bl.s(S), Unit::KgPerM3),
    );
    let s_sig = b.rule(
        &bl.v("s_sig"),
        &n("cytokine signal"),
        dlu,
        hill(s_pos, id("cytokine_half_effect")),
    );
    let p_pos = b.rule(
        &bl.v("p_pos"),
        &n("max(P, 0)"),
        Unit::KgPerM3,
        pos(bl.s(P), Unit::KgPerM3),
    );
    let sig_p = b.rule(
        &bl.v("sig_p"),
        &n("PDGF signal"),
        dlu,
        hill(p_pos, id("pdgf_half_effect")),
    );
    let dt_ex = b.rule(
        &bl.v("dt_ex"),
        &n("TGF-beta above rest"),
        Unit::KgPerM3,
        pos(bl.s(T) - bl.x("t0"), Unit::KgPerM3),
    );
    let sig_t = b.rule(
        &bl.v("sig_t"),
        &n("TGF-beta signal"),
        dlu,
        hill(dt_ex.clone(), id("tgfb_half_effect")),
    );
    let drive = b.rule(
        &bl.v("drive"),
        &n("fibroblast activation drive"),
        dlu,
        dl(1.0) - (dl(1.0) - sig_p) * (dl(1.0) - sig_t.clone()),
    );
    let blood = b.rule(
        &bl.v("blood"),
        &n("perfused blood volume fraction"),
        dlu,
        bl.x("v0") + pos(bl.s(VB), dlu),
    );
    // Debris and its clearance by phagocytes.
    b.rate(
        &state_id(kind, D),
        -((id("debris_clearance_neutrophil") * nn.clone()
            + id("debris_clearance_macrophage") * m.clone())
            * d.clone()),
    );
    // Growth factors.
    b.rate(
        &state_id(kind, P),
        id("pdgf_per_macrophage") * m.clone() * h_d.clone() - id("k_p") * bl.s(P),
    );
    let antiinf = b.rule(
        &bl.v("antiinf"),
        &n("anti-inflammatory factor of excess TGF-beta"),
        dlu,
        dl(1.0) / (dl(1.0) + dt_ex / id("tgfb_antiinflammatory_k")),
    );
    let damage = if epi {
        let ed = b.rule(
            "epi_damage",
            "epidermal damage as seen by the papillary dermis",
            dlu,
            pos(id("De"), dlu) * id("ve_over_pd"),
        );
        d.clone() + ed
    } else {
        d.clone()
    };
    b.rate(
        &state_id(kind, S),
        id("cytokine_from_damage") * damage
            + (id("cytokine_per_neutrophil") * nn.clone()
                + id("cytokine_per_macrophage") * m.clone() * h_d.clone())
                * antiinf
            - id("k_s") * bl.s(S),
    );
    // Leukocytes.
    b.rate(
        &state_id(kind, N),
        id("neutrophil_influx") * blood.clone() * s_sig.clone() - id("k_n") * nn.clone(),
    );
    let h_n = b.rule(
        &bl.v("h_n"),
        &n("neutrophil-driven monocyte recruitment"),
        dlu,
        hill(nn.clone(), id("neutrophil_half_macrophage_recruit")),
    );
    b.rate(
        &state_id(kind, M),
        id("macrophage_influx") * blood * h_n
            - id("macrophage_removal_rate") * (bl.s(M) - bl.x("m0")),
    );
    b.rate(
        &state_id(kind, T),
        id("tgfb_per_macrophage") * m * (dl(1.0) - h_d) + id("tgfb_per_fibroblast") * bl.x("f0")
            - id("k_t") * bl.s(T),
    );
    // Fibroblasts.
    let growth = b.rule(
        &bl.v("growth_room"),
        &n("room to proliferate, max(1 - F/Fmax, 0)"),
        dlu,
        pos(dl(1.0) - ft.clone() / bl.x("fmax"), dlu),
    );
    let apop = b.rule(
        &bl.v("apop"),
        &n("apoptosis rate of excess fibroblasts"),
        Unit::PerSecond,
        ifelse(
            gt(ft.clone(), bl.x("f0")),
            id("fibroblast_apoptosis_rate") * (ft.clone() - bl.x("f0")) / ft,
            num(0.0, Unit::PerSecond),
        ),
    );
    let f = Unit::ItemPerM3PerS;
    let act = b.rule(
        &bl.v("act"),
        &n("activation flux"),
        f,
        id("fibroblast_activation_rate") * drive.clone() * fq.clone(),
    );
    let prolif = b.rule(
        &bl.v("prolif"),
        &n("proliferation flux"),
        f,
        id("rho_f") * drive.clone() * fa.clone() * growth,
    );
    let diff = b.rule(
        &bl.v("diff"),
        &n("differentiation flux"),
        f,
        id("myofibroblast_rate") * sig_t.clone() * fa.clone(),
    );
    let rev_a = b.rule(
        &bl.v("rev_a"),
        &n("reversion flux of activated cells"),
        f,
        id("fibroblast_reversion_rate") * (dl(1.0) - drive) * fa.clone(),
    );
    let rev_m = b.rule(
        &bl.v("rev_m"),
        &n("reversion flux of synthesising cells"),
        f,
        id("fibroblast_reversion_rate") * (dl(1.0) - sig_t) * fm.clone(),
    );
    b.rate(
        &state_id(kind, FQ),
        -act.clone() + rev_a.clone() + rev_m.clone() - apop.clone() * fq.clone(),
    );
    b.rate(
        &state_id(kind, FA),
        act + prolif - diff.clone() - rev_a - apop.clone() * fa.clone(),
    );
    b.rate(&state_id(kind, FM), diff - rev_m - apop * fm.clone());
    // Collagen.
    let (th0, tha, ka) = (
        bl.x("theta0"),
        id("collagen3_share_early"),
        id("collagen_output_activated"),
    );
    let syn3 = b.rule(
        &bl.v("syn3"),
        &n("collagen III synthesis"),
        Unit::KgPerM3PerS,
        bl.x("sigma")
            * (th0.clone() * fq.clone()
                + ka.clone() * (tha.clone() * fa.clone() + th0.clone() * fm.clone())),
    );
    let syn1 = b.rule(
        &bl.v("syn1"),
        &n("collagen I synthesis"),
        Unit::KgPerM3PerS,
        bl.x("sigma")
            * ((dl(1.0) - th0.clone()) * fq.clone()
                + ka * ((dl(1.0) - tha) * fa + (dl(1.0) - th0.clone()) * fm)),
    );
    let mmp = b.rule(
        &bl.v("mmp_pos"),
        &n("max(MMP, 0)"),
        dlu,
        pos(bl.s(MMP), dlu),
    );
    let c3 = b.rule(
        &bl.v("c3_pos"),
        &n("max(C3, 0)"),
        Unit::KgPerM3,
        pos(bl.s(C3), Unit::KgPerM3),
    );
    let c1 = b.rule(
        &bl.v("c1_pos"),
        &n("max(C1, 0)"),
        Unit::KgPerM3,
        pos(bl.s(C1), Unit::KgPerM3),
    );
    let x = b.rule(
        &bl.v("remodel"),
        &n("collagen III remodelled into I"),
        Unit::KgPerM3PerS,
        id("k_x")
            * mmp.clone()
            * pos(
                c3.clone()
                    - ifelse(
                        gt(c3.clone() + c1.clone(), bl.x("c_rest")),
                        th0.clone() * bl.x("c_rest")
                            + id("collagen3_share_remodelled")
                                * (c3.clone() + c1.clone() - bl.x("c_rest")),
                        th0 * (c3.clone() + c1.clone()),
                    ),
                Unit::KgPerM3,
            ),
    );
    b.rate(
        &state_id(kind, C3),
        syn3 - id("k_c") * mmp.clone() * c3.clone() - x.clone(),
    );
    b.rate(&state_id(kind, C1), syn1 - id("k_c") * mmp * c1.clone() + x);
    // Elastin.
    b.rate(
        &state_id(kind, E),
        bl.x("se") * (fq + id("elastin_output_activated") * f_act.clone())
            - (id("k_e") + id("elastase_per_neutrophil") * nn) * pos(bl.s(E), Unit::KgPerM3),
    );
    // Collagenase activity relative to rest.
    let f_rel = b.rule(
        &bl.v("f_rel"),
        &n("activated fibroblasts relative to the resting density"),
        dlu,
        ifelse(
            gt(bl.x("f0"), num(0.0, Unit::ItemPerM3)),
            f_act / bl.x("f0"),
            dl(0.0),
        ),
    );
    b.rate(
        &state_id(kind, MMP),
        id("k_mmp")
            * (dl(1.0)
                + id("mmp_induction_cytokine") * s_sig.clone()
                + id("mmp_induction_fibroblast") * f_rel.clone()
                - bl.s(MMP)),
    );
    // Vascular response.
    b.rate(
        &state_id(kind, VB),
        (bl.x("v0") * (id("vasodilation_max") - dl(1.0)) * s_sig.clone() - bl.s(VB))
            / id("vascular_time_constant"),
    );
    b.rate(
        &state_id(kind, W),
        id("k_w") * (id("oedema_max") * s_sig - bl.s(W)),
    );
    if epi {
        b.rate("De", -(id("k_de") * id("De")));
        let c_rest = bl.x("c_rest");
        let floor = num(1e-30, Unit::KgPerM3);
        let c_gain = b.rule(
            "c_gain",
            "papillary collagen gain relative to rest",
            dlu,
            (c1 + c3) / ifelse(gt(c_rest.clone(), floor.clone()), c_rest, floor) - dl(1.0),
        );
        let inner = dl(1.0)
            + id("epidermis_fibroblast_drive") * f_rel
            + id("epidermis_matrix_coupling") * c_gain;
        let target = b.rule(
            "he_target",
            "target viable epidermal thickness",
            Unit::Metre,
            id("he0") * ifelse(gt(inner.clone(), dl(0.2)), inner, dl(0.2)),
        );
        b.rate("He", id("k_he") * (target - id("He")));
    }
}

/// Session `k`'s inputs (from the channels) and its event (Block::apply_injury on both blocks).
fn session_event(b: &mut Builder, k: usize, s: &SessionInput) -> SessionEvent {
    use super::model::*;
    let inj = &s.injury;
    let sx = |name: &str| format!("{name}_s{}", k + 1);
    let day = s.t_s / crate::units::DAY;
    let what = |w: &str| format!("session {} (day {day}): {w}", k + 1);
    let ivf = |l: LayerKind| inj.injured_volume_fraction[l.index()];
    let ivf_ve = b.constant(
        &sx("ivf_ve"),
        &what("needle-displaced volume fraction of the viable epidermis"),
        ivf(LayerKind::ViableEpidermis),
        Unit::Dimensionless,
    );
    let ivf_pd = b.constant(
        &sx("ivf_pd"),
        &what("needle-displaced volume fraction of the papillary dermis"),
        ivf(LayerKind::PapillaryDermis),
        Unit::Dimensionless,
    );
    let ivf_rd = b.constant(
        &sx("ivf_rd"),
        &what("needle-displaced volume fraction of the reticular dermis"),
        ivf(LayerKind::ReticularDermis),
        Unit::Dimensionless,
    );
    let bleeding = b.constant(
        &sx("bleeding_fraction"),
        &what("fraction of channels that bleed"),
        inj.bleeding_fraction,
        Unit::Dimensionless,
    );
    let recoil = b.constant(
        &sx("recoil"),
        &what("open/needle radius ratio after withdrawal"),
        inj.recoil,
        Unit::Dimensionless,
    );
    let open = b.constant(
        &sx("open_surface_fraction"),
        &what("surface fraction opened"),
        inj.open_surface_fraction,
        Unit::Dimensionless,
    );
    // InjuryInput::block: blood fills the open lumen (recoil² × displaced volume) of bleeding
    // channels in the papillary dermis, of every channel in the reticular dermis.
    let blood_pd = b.derived(
        &sx("blood_pap"),
        &what("clotting blood volume fraction of the papillary dermis"),
        Unit::Dimensionless,
        bleeding * (recoil.clone() * recoil.clone() * ivf_pd.clone()),
    );
    let blood_rd = b.derived(
        &sx("blood_ret"),
        &what("clotting blood volume fraction of the reticular dermis"),
        Unit::Dimensionless,
        recoil.clone() * recoil * ivf_rd.clone(),
    );
    let mut assignments = Vec::new();
    for (kind, ivf, blood) in [
        (LayerKind::PapillaryDermis, ivf_pd, blood_pd),
        (LayerKind::ReticularDermis, ivf_rd, blood_rd),
    ] {
        let bl = B { kind };
        let phi = clamp(ivf * id("damage_halo_factor"), 0.0, 0.95);
        assignments.push((
            state_id(kind, D),
            bl.s(D) + phi.clone() * (dl(1.0) - bl.s(D)),
        ));
        // Resident cells in the damaged volume die.
        for v in [M, FQ, FA, FM] {
            assignments.push((state_id(kind, v), bl.s(v) * (dl(1.0) - phi.clone())));
        }
        let blood = clamp(blood, 0.0, 1.0);
        assignments.push((
            state_id(kind, P),
            bl.s(P) + blood.clone() * id("pdgf_per_blood"),
        ));
        assignments.push((state_id(kind, T), bl.s(T) + blood * id("tgfb_per_blood")));
        if kind == LayerKind::PapillaryDermis {
            let pe = clamp(ivf_ve.clone() * id("damage_halo_factor"), 0.0, 0.95);
            assignments.push(("De".into(), id("De") + pe * (dl(1.0) - id("De"))));
            assignments.push(barrier_impulse(open.clone()));
        }
    }
    SessionEvent {
        id: format!("session_{}", k + 1),
        name: format!("session {} at day {day}", k + 1),
        t_s: s.t_s,
        assignments,
    }
}

fn notes(input: &SbmlInput<'_>) -> Vec<String> {
    vec![
        format!(
            "Lumped healing model of needlesim {} for zone `{}` of `{}`: the papillary dermis with the epidermis above it, and the reticular dermis, each a well-mixed compartment; {} session(s) as events; follow-up to t = {} s.",
            env!("CARGO_PKG_VERSION"),
            input.zone,
            input.title,
            input.sessions.len(),
            input.t_end_s
        ),
        format!("Source: {}.", input.provenance),
        "Units: SI (time in s); cells are counted in item; ages in years of 365.25 days. Species are concentrations per m3 of layer (compartments of 1 m3: the states are layer averages and the size does not enter the dynamics). Fractions, the relative collagenase activity and the epidermal thickness are parameters with rate rules.".into(),
        "Clamps of the model (max(x, 0), clamp) are piecewise expressions; shared sub-expressions are assignment rules; rate constants and the resting state are initial assignments of the parameters they come from.".into(),
        "Simulate to the follow-up with tight tolerances (e.g. relative 1e-10, absolute about 1e-12 of each variable's typical size); see docs/SBML.md of needlesim for the cross-check with libroadrunner and scipy.".into(),
    ]
}

impl SbmlModel {
    /// The SBML document (UTF-8 XML). Deterministic: the same input gives the same bytes.
    pub fn to_xml(&self) -> String {
        xml::write(self)
    }

    /// Every value at state `y` (values by SBML id): constants, states and assignment rules.
    /// `None`: a state is missing from `y` or a formula reads an unknown identifier.
    pub fn values_at(&self, y: &BTreeMap<String, f64>) -> Option<BTreeMap<String, f64>> {
        let mut env: BTreeMap<String, f64> = BTreeMap::new();
        for q in &self.quantities {
            let v = match &q.kind {
                Kind::Constant | Kind::Derived(_) => q.value,
                Kind::State { .. } => *y.get(&q.id)?,
                Kind::Rule(_) => continue,
            };
            env.insert(q.id.clone(), v);
        }
        for q in &self.quantities {
            if let Kind::Rule(e) = &q.kind {
                let v = e.eval(&|n| env.get(n).copied(), 0.0)?;
                env.insert(q.id.clone(), v);
            }
        }
        Some(env)
    }

    /// The rate rules at state `y`: the right-hand side as the SBML file states it.
    pub fn eval_rates(&self, y: &BTreeMap<String, f64>) -> Option<BTreeMap<String, f64>> {
        let env = self.values_at(y)?;
        let mut out = BTreeMap::new();
        for q in &self.quantities {
            if let Kind::State { rate, .. } = &q.kind {
                out.insert(q.id.clone(), rate.eval(&|n| env.get(n).copied(), 0.0)?);
            }
        }
        Some(out)
    }

    /// The state after event `k` fires at state `y` (the session's impulse as the file states
    /// it).
    pub fn apply_event(
        &self,
        k: usize,
        y: &BTreeMap<String, f64>,
    ) -> Option<BTreeMap<String, f64>> {
        let env = self.values_at(y)?;
        let mut out = y.clone();
        for (var, e) in &self.events.get(k)?.assignments {
            out.insert(var.clone(), e.eval(&|n| env.get(n).copied(), 0.0)?);
        }
        Some(out)
    }

    /// The state variables' ids, in declaration order.
    pub fn state_ids(&self) -> Vec<&str> {
        self.quantities
            .iter()
            .filter(|q| matches!(q.kind, Kind::State { .. }))
            .map(|q| q.id.as_str())
            .collect()
    }
}

/// Times of the trajectory written with the export (`--trajectory`): after each session at
/// 1 h, 6 h, 1, 3, 7, 14 and 28 days (those before the next session or the end), and the end
/// of the follow-up. No time falls on a session (where the state jumps).
pub fn trajectory_times(sessions: &[SessionInput], t_end_s: f64) -> Vec<f64> {
    use crate::units::{DAY, HOUR};
    let offsets = [
        HOUR,
        6.0 * HOUR,
        DAY,
        3.0 * DAY,
        7.0 * DAY,
        14.0 * DAY,
        28.0 * DAY,
    ];
    let mut t = Vec::new();
    for (k, s) in sessions.iter().enumerate() {
        let next = sessions.get(k + 1).map_or(t_end_s, |n| n.t_s);
        t.extend(
            offsets
                .iter()
                .map(|o| s.t_s + o)
                .filter(|&x| x < next && x < t_end_s),
        );
    }
    if sessions.iter().all(|s| s.t_s != t_end_s) {
        t.push(t_end_s);
    }
    t
}

/// The trajectory as CSV: `time_s` and one column per state variable (SBML ids), every value
/// with the digits that read back exactly.
pub fn trajectory_csv(tr: &Trajectory) -> String {
    let mut s = String::from("time_s");
    for (kind, n) in BLOCKS {
        for var in 0..n {
            s.push(',');
            s.push_str(&state_id(kind, var));
        }
    }
    s.push('\n');
    for (i, t) in tr.times_s.iter().enumerate() {
        s.push_str(&format!("{t:e}"));
        for (bi, (_, n)) in BLOCKS.iter().enumerate() {
            for v in &tr.values[bi][i][..*n] {
                s.push_str(&format!(",{v:e}"));
            }
        }
        s.push('\n');
    }
    s
}

/// The lumped model the export describes (for [`super::lumped::simulate`]).
pub fn lumped_model(input: &SbmlInput<'_>) -> LumpedModel {
    LumpedModel::new(input.column, input.age_years, input.phototype, input.params)
        .with_reseal_rate(input.reseal_rate_per_s)
}

#[cfg(test)]
mod tests;
