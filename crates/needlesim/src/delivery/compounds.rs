//! The compound library: physicochemical data of topical actives, read from a data file.
//!
//! The built-in library is `data/compounds.toml` (embedded at build time, so the binary needs no
//! data folder); scenario files add or override entries with the same keys. Every value carries
//! a provenance string `"<grade>:<reference key>"` (grades P, S, D, U, E, A as explained at the
//! top of the data file). This module only parses, checks and looks up; the physics that turns
//! these numbers into transport parameters is in [`super::physchem`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::DeliveryError;

/// The text of the built-in library.
pub const BUILTIN_TOML: &str = include_str!("../../../../data/compounds.toml");

/// Size/chemistry class; it selects the radius-from-MW relation when no radius is listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompoundClass {
    Small,
    Peptide,
    Protein,
    Dextran,
    Polysaccharide,
}

/// Dominant charge state at skin pH.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Charge {
    Neutral,
    Cationic,
    Anionic,
    Zwitterionic,
}

/// One compound as written in a library file (human units).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompoundEntry {
    /// Unique snake_case key.
    pub name: String,
    /// Other accepted names.
    #[serde(default)]
    pub aliases: Vec<String>,
    pub class: CompoundClass,
    /// Molecular weight, g/mol (18-10,000,000).
    pub mw_g_mol: f64,
    /// log10 octanol/water partition coefficient of the neutral form (-8 to 10).
    pub log_p: f64,
    /// log10 distribution coefficient at pH 7.4; used instead of `log_p` for intact-skin
    /// permeability when given.
    #[serde(default)]
    pub log_d_7_4: Option<f64>,
    /// Aqueous solubility, mg/mL (> 0).
    pub solubility_mg_ml: f64,
    pub charge: Charge,
    /// Hydrodynamic (Stokes) radius, nm; estimated from MW when absent.
    #[serde(default)]
    pub r_h_nm: Option<f64>,
    /// Local anaesthetics: steady-state concentration that blocks conduction in half of the
    /// small sensory axons (EC50), µM (1-100000). The numbing criterion uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nerve_block_ec50_um: Option<f64>,
    /// Free-text remarks (derivations, caveats).
    #[serde(default)]
    pub note: Option<String>,
    /// Provenance of each value: field name -> "<grade>:<reference key>".
    #[serde(default)]
    pub provenance: BTreeMap<String, String>,
}

/// A formulation: a compound at a concentration in a vehicle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductEntry {
    pub name: String,
    /// Name of the active compound.
    pub compound: String,
    /// Active per vehicle mass, mg/g (vehicle density taken as 1 g/cm³).
    pub concentration_mg_g: f64,
    /// "solution", "serum", "gel", "cream" or "patch" (descriptive).
    pub vehicle: String,
    /// Usual amount of product applied, mg/cm².
    pub default_dose_mg_cm2: f64,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub provenance: BTreeMap<String, String>,
}

/// A library file: references, compounds and products.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LibraryFile {
    #[serde(default)]
    pub references: BTreeMap<String, String>,
    #[serde(default)]
    pub compound: Vec<CompoundEntry>,
    #[serde(default)]
    pub product: Vec<ProductEntry>,
}

/// A validated compound in SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Compound {
    pub name: String,
    pub aliases: Vec<String>,
    pub class: CompoundClass,
    /// Molecular weight, g/mol.
    pub mw_g_mol: f64,
    pub log_p: f64,
    pub log_d_7_4: Option<f64>,
    /// Aqueous solubility, kg/m³ (numerically equal to mg/mL).
    pub solubility_kg_m3: f64,
    pub charge: Charge,
    /// Listed hydrodynamic radius, m.
    pub r_h_m: Option<f64>,
    /// Local anaesthetics: conduction-block EC50 of small sensory axons, kg/m³ (from
    /// `nerve_block_ec50_um` and the MW).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nerve_block_ec50_kg_m3: Option<f64>,
    pub note: Option<String>,
    pub provenance: BTreeMap<String, String>,
}

impl Compound {
    /// The log10 partition coefficient used for intact-skin permeability: log D at 7.4 when
    /// listed (ionisable drugs), otherwise log P.
    pub fn log_k_for_permeability(&self) -> f64 {
        self.log_d_7_4.unwrap_or(self.log_p)
    }
}

/// A validated product in SI units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Product {
    pub name: String,
    pub compound: String,
    /// Active per vehicle mass, kg/kg.
    pub mass_fraction: f64,
    pub vehicle: String,
    /// Usual product amount, kg/m².
    pub default_dose_kg_m2: f64,
}

/// The compound library.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Library {
    pub references: BTreeMap<String, String>,
    pub compounds: Vec<Compound>,
    pub products: Vec<Product>,
}

/// Ranges a compound entry must respect, shared with the scenario layer.
pub mod limits {
    /// Molecular weight, g/mol.
    pub const MW: (f64, f64) = (18.0, 1.0e7);
    /// log P / log D.
    pub const LOG_P: (f64, f64) = (-8.0, 10.0);
    /// Solubility, mg/mL.
    pub const SOLUBILITY: (f64, f64) = (1e-6, 2000.0);
    /// Hydrodynamic radius, nm (0.1 nm to 10 µm; beyond that it is a particle, not a solute).
    pub const R_H_NM: (f64, f64) = (0.1, 10_000.0);
    /// Nerve-block EC50, µM.
    pub const EC50_UM: (f64, f64) = (1.0, 1.0e5);
    /// Product concentration, mg/g.
    pub const CONC_MG_G: (f64, f64) = (0.0, 1000.0);
}

fn check(errors: &mut Vec<String>, what: &str, v: f64, (lo, hi): (f64, f64), unit: &str) {
    if !(v.is_finite() && v >= lo && v <= hi) {
        errors.push(format!(
            "{what} = {v}: must be a finite number within {lo}-{hi} {unit}"
        ));
    }
}

impl CompoundEntry {
    /// Checks ranges and converts to SI. `errors` gets one line per problem, prefixed by `at`.
    pub fn to_compound(&self, at: &str, errors: &mut Vec<String>) -> Option<Compound> {
        let before = errors.len();
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            errors.push(format!(
                "{at}.name = {:?}: must be non-empty and use only letters, digits, `_`, `-`",
                self.name
            ));
        }
        check(
            errors,
            &format!("{at}.mw_g_mol"),
            self.mw_g_mol,
            limits::MW,
            "g/mol",
        );
        check(
            errors,
            &format!("{at}.log_p"),
            self.log_p,
            limits::LOG_P,
            "",
        );
        if let Some(d) = self.log_d_7_4 {
            check(errors, &format!("{at}.log_d_7_4"), d, limits::LOG_P, "");
        }
        check(
            errors,
            &format!("{at}.solubility_mg_ml"),
            self.solubility_mg_ml,
            limits::SOLUBILITY,
            "mg/mL",
        );
        if let Some(r) = self.r_h_nm {
            check(errors, &format!("{at}.r_h_nm"), r, limits::R_H_NM, "nm");
        }
        if let Some(c) = self.nerve_block_ec50_um {
            check(
                errors,
                &format!("{at}.nerve_block_ec50_um"),
                c,
                limits::EC50_UM,
                "µM",
            );
        }
        if errors.len() > before {
            return None;
        }
        Some(Compound {
            name: self.name.clone(),
            aliases: self.aliases.clone(),
            class: self.class,
            mw_g_mol: self.mw_g_mol,
            log_p: self.log_p,
            log_d_7_4: self.log_d_7_4,
            solubility_kg_m3: self.solubility_mg_ml,
            charge: self.charge,
            r_h_m: self.r_h_nm.map(|r| r * 1e-9),
            // µM -> mol/m³ (1e-3) times kg/mol (MW 1e-3).
            nerve_block_ec50_kg_m3: self
                .nerve_block_ec50_um
                .map(|c| c * 1e-3 * self.mw_g_mol * 1e-3),
            note: self.note.clone(),
            provenance: self.provenance.clone(),
        })
    }
}

impl ProductEntry {
    /// Checks ranges and converts to SI.
    pub fn to_product(&self, at: &str, errors: &mut Vec<String>) -> Option<Product> {
        let before = errors.len();
        check(
            errors,
            &format!("{at}.concentration_mg_g"),
            self.concentration_mg_g,
            limits::CONC_MG_G,
            "mg/g",
        );
        check(
            errors,
            &format!("{at}.default_dose_mg_cm2"),
            self.default_dose_mg_cm2,
            (0.01, 1000.0),
            "mg/cm²",
        );
        if errors.len() > before {
            return None;
        }
        Some(Product {
            name: self.name.clone(),
            compound: self.compound.clone(),
            mass_fraction: self.concentration_mg_g / 1000.0,
            vehicle: self.vehicle.clone(),
            // mg/cm² -> kg/m²: 1e-6 kg/mg / 1e-4 m²/cm².
            default_dose_kg_m2: self.default_dose_mg_cm2 * 1e-2,
        })
    }
}

impl Library {
    /// The built-in library (`data/compounds.toml`), parsed once.
    pub fn builtin() -> &'static Library {
        static LIB: OnceLock<Library> = OnceLock::new();
        LIB.get_or_init(|| {
            // The built-in file is checked by a unit test; a broken one is a build defect.
            Library::parse(BUILTIN_TOML, "data/compounds.toml")
                .unwrap_or_else(|e| panic!("built-in compound library is invalid: {e}"))
        })
    }

    /// Parses and validates a library file.
    pub fn parse(text: &str, file: &str) -> Result<Library, DeliveryError> {
        let raw: LibraryFile = toml::from_str(text).map_err(|e| DeliveryError::Library {
            file: file.to_string(),
            problems: vec![e.message().trim().to_string()],
        })?;
        let mut lib = Library {
            references: raw.references.clone(),
            ..Library::default()
        };
        let mut errors = Vec::new();
        for (i, c) in raw.compound.iter().enumerate() {
            if let Some(c) = c.to_compound(&format!("compound[{i}]"), &mut errors) {
                lib.add_compound(c, &mut errors);
            }
        }
        for (i, p) in raw.product.iter().enumerate() {
            if let Some(p) = p.to_product(&format!("product[{i}]"), &mut errors) {
                lib.products.push(p);
            }
        }
        for (i, p) in lib.products.iter().enumerate() {
            if lib.find_compound(&p.compound).is_none() {
                errors.push(format!(
                    "product[{i}].compound = {:?}: no such compound in the library",
                    p.compound
                ));
            }
        }
        for c in &lib.compounds {
            for (field, prov) in &c.provenance {
                let key = prov.split_once(':').map(|(_, k)| k);
                let grade_ok = prov
                    .split_once(':')
                    .is_some_and(|(g, _)| ["P", "S", "D", "U", "E", "A"].contains(&g));
                if !grade_ok || key.is_none_or(|k| !lib.references.contains_key(k)) {
                    errors.push(format!(
                        "compound {:?} provenance.{field} = {prov:?}: must be \"<P|S|D|U|E|A>:<key of [references]>\"",
                        c.name
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(lib)
        } else {
            Err(DeliveryError::Library {
                file: file.to_string(),
                problems: errors,
            })
        }
    }

    /// Adds a compound, replacing an entry of the same name (user overrides).
    pub fn add_compound(&mut self, c: Compound, errors: &mut Vec<String>) {
        let clash = self.compounds.iter().position(|o| o.name == c.name);
        for a in &c.aliases {
            if let Some(o) = self
                .compounds
                .iter()
                .find(|o| o.name != c.name && (o.name == *a || o.aliases.contains(a)))
            {
                errors.push(format!(
                    "compound {:?}: alias {a:?} is already used by {:?}",
                    c.name, o.name
                ));
            }
        }
        match clash {
            Some(i) => self.compounds[i] = c,
            None => self.compounds.push(c),
        }
    }

    fn find_compound(&self, name: &str) -> Option<&Compound> {
        let key = normalise(name);
        self.compounds
            .iter()
            .find(|c| normalise(&c.name) == key || c.aliases.iter().any(|a| normalise(a) == key))
    }

    /// Looks a compound up by name or alias (case, spaces and dashes ignored).
    pub fn compound(&self, name: &str) -> Result<&Compound, DeliveryError> {
        self.find_compound(name)
            .ok_or_else(|| DeliveryError::UnknownCompound {
                name: name.to_string(),
                close: self.close_names(name, self.compound_names()),
            })
    }

    /// Looks a product up by name.
    pub fn product(&self, name: &str) -> Result<&Product, DeliveryError> {
        let key = normalise(name);
        self.products
            .iter()
            .find(|p| normalise(&p.name) == key)
            .ok_or_else(|| DeliveryError::UnknownProduct {
                name: name.to_string(),
                close: self
                    .close_names(name, self.products.iter().map(|p| p.name.clone()).collect()),
            })
    }

    /// All compound names and aliases.
    pub fn compound_names(&self) -> Vec<String> {
        self.compounds
            .iter()
            .flat_map(|c| std::iter::once(c.name.clone()).chain(c.aliases.iter().cloned()))
            .collect()
    }

    /// Up to five names closest to `name` (edit distance, then substring matches).
    pub fn close_names(&self, name: &str, names: Vec<String>) -> Vec<String> {
        let key = normalise(name);
        let mut scored: Vec<(usize, String)> = names
            .into_iter()
            .map(|n| {
                let nk = normalise(&n);
                let mut d = levenshtein(&key, &nk);
                if !key.is_empty() && (nk.contains(&key) || key.contains(&nk)) {
                    d = d.min(1);
                }
                (d, n)
            })
            .collect();
        scored.sort();
        let limit = (key.len() / 2).max(3);
        scored
            .into_iter()
            .filter(|(d, _)| *d <= limit)
            .take(5)
            .map(|(_, n)| n)
            .collect()
    }
}

fn normalise(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_library_parses_and_holds_the_required_compounds() {
        let lib = Library::parse(BUILTIN_TOML, "data/compounds.toml").expect("valid");
        for name in [
            "caffeine",
            "lidocaine",
            "ascorbic_acid",
            "niacinamide",
            "tranexamic_acid",
            "minoxidil",
            "hyaluronic_acid_low",
            "hyaluronic_acid_high",
            "growth_factor_25kda",
            "naltrexone",
            "calcein",
            "fitc_dextran_4k",
            "fitc_dextran_70k",
            "fitc_dextran_150k",
        ] {
            let c = lib.compound(name).expect(name);
            assert!(c.provenance.contains_key("mw_g_mol"), "{name}");
            assert!(c.provenance.contains_key("log_p"), "{name}");
        }
        assert!(lib.product("lidocaine_4_cream").is_ok());
        // Macromolecules carry a radius or a class relation.
        assert!(lib.compound("ha_high").expect("alias").r_h_m.is_some());
    }

    #[test]
    fn lookup_is_forgiving_about_case_and_dashes_and_suggests_close_names() {
        let lib = Library::builtin();
        assert_eq!(
            lib.compound("Vitamin-C").expect("alias").name,
            "ascorbic_acid"
        );
        match lib.compound("lidocane") {
            Err(DeliveryError::UnknownCompound { close, .. }) => {
                assert!(close.iter().any(|n| n == "lidocaine"), "{close:?}")
            }
            other => panic!("expected unknown compound, got {other:?}"),
        }
    }

    #[test]
    fn bad_entries_are_reported_with_field_and_range() {
        let text = r#"
[references]
x = "A: test"
[[compound]]
name = "bad"
class = "small"
mw_g_mol = -5
log_p = 1
solubility_mg_ml = 1
charge = "neutral"
provenance = { mw_g_mol = "Q:x" }
"#;
        let e = Library::parse(text, "t.toml").expect_err("invalid");
        let msg = e.to_string();
        assert!(msg.contains("compound[0].mw_g_mol = -5"), "{msg}");
    }
}
