//! The units of the SBML export: SI, with cells counted as SBML `item`.
//!
//! The model's own tables write cell counts as pure numbers ("1/m3"); SBML has a base unit for
//! them (`item`), so a density is `item/m³` and a per-cell rate `kg/(item·s)`. Years (age, the
//! resealing slowdown per year of age) are a unit definition: 365.25 days of seconds.

/// A unit of the export: an SBML base unit or one of the unit definitions written into the
/// model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    Dimensionless,
    Second,
    Metre,
    Item,
    Kilogram,
    CubicMetre,
    Year,
    PerSecond,
    PerYear,
    KgPerM3,
    KgPerM3PerS,
    KgPerItemPerS,
    ItemPerM3,
    ItemPerM3PerS,
    M3PerItemPerS,
}

/// One `<unit>` of a definition: (kind, exponent, multiplier).
pub type Part = (&'static str, i32, f64);

impl Unit {
    /// Every unit, in the order the definitions are written.
    pub const ALL: [Unit; 15] = [
        Unit::Dimensionless,
        Unit::Second,
        Unit::Metre,
        Unit::Item,
        Unit::Kilogram,
        Unit::CubicMetre,
        Unit::Year,
        Unit::PerSecond,
        Unit::PerYear,
        Unit::KgPerM3,
        Unit::KgPerM3PerS,
        Unit::KgPerItemPerS,
        Unit::ItemPerM3,
        Unit::ItemPerM3PerS,
        Unit::M3PerItemPerS,
    ];

    /// The identifier used in `units` attributes: a base unit's SBML name or the definition's
    /// id.
    pub fn id(self) -> &'static str {
        match self {
            Unit::Dimensionless => "dimensionless",
            Unit::Second => "second",
            Unit::Metre => "metre",
            Unit::Item => "item",
            Unit::Kilogram => "kilogram",
            Unit::CubicMetre => "m3",
            Unit::Year => "year",
            Unit::PerSecond => "per_s",
            Unit::PerYear => "per_year",
            Unit::KgPerM3 => "kg_per_m3",
            Unit::KgPerM3PerS => "kg_per_m3_per_s",
            Unit::KgPerItemPerS => "kg_per_item_per_s",
            Unit::ItemPerM3 => "item_per_m3",
            Unit::ItemPerM3PerS => "item_per_m3_per_s",
            Unit::M3PerItemPerS => "m3_per_item_per_s",
        }
    }

    /// The definition's parts; `None` for SBML base units (no definition written).
    pub fn parts(self) -> Option<&'static [Part]> {
        const Y: f64 = crate::units::YEAR;
        Some(match self {
            Unit::Dimensionless | Unit::Second | Unit::Metre | Unit::Item | Unit::Kilogram => {
                return None;
            }
            Unit::CubicMetre => &[("metre", 3, 1.0)],
            Unit::Year => &[("second", 1, Y)],
            Unit::PerSecond => &[("second", -1, 1.0)],
            Unit::PerYear => &[("second", -1, Y)],
            Unit::KgPerM3 => &[("kilogram", 1, 1.0), ("metre", -3, 1.0)],
            Unit::KgPerM3PerS => &[
                ("kilogram", 1, 1.0),
                ("metre", -3, 1.0),
                ("second", -1, 1.0),
            ],
            Unit::KgPerItemPerS => &[("kilogram", 1, 1.0), ("item", -1, 1.0), ("second", -1, 1.0)],
            Unit::ItemPerM3 => &[("item", 1, 1.0), ("metre", -3, 1.0)],
            Unit::ItemPerM3PerS => &[("item", 1, 1.0), ("metre", -3, 1.0), ("second", -1, 1.0)],
            Unit::M3PerItemPerS => &[("metre", 3, 1.0), ("item", -1, 1.0), ("second", -1, 1.0)],
        })
    }

    /// Human-readable form (notes and docs).
    pub fn text(self) -> &'static str {
        match self {
            Unit::Dimensionless => "1",
            Unit::Second => "s",
            Unit::Metre => "m",
            Unit::Item => "item",
            Unit::Kilogram => "kg",
            Unit::CubicMetre => "m3",
            Unit::Year => "year (365.25 d)",
            Unit::PerSecond => "1/s",
            Unit::PerYear => "1/year",
            Unit::KgPerM3 => "kg/m3",
            Unit::KgPerM3PerS => "kg/(m3 s)",
            Unit::KgPerItemPerS => "kg/(item s)",
            Unit::ItemPerM3 => "item/m3",
            Unit::ItemPerM3PerS => "item/(m3 s)",
            Unit::M3PerItemPerS => "m3/(item s)",
        }
    }

    /// Exponents of (metre, kilogram, second, item) and the factor to SI (years).
    pub fn dims(self) -> ([i32; 4], f64) {
        let mut d = [0; 4];
        let mut f = 1.0;
        match self {
            Unit::Dimensionless => {}
            Unit::Second => d[2] = 1,
            Unit::Metre => d[0] = 1,
            Unit::Item => d[3] = 1,
            Unit::Kilogram => d[1] = 1,
            _ => {
                for &(kind, e, m) in self.parts().unwrap_or(&[]) {
                    let k = match kind {
                        "metre" => 0,
                        "kilogram" => 1,
                        "second" => 2,
                        _ => 3,
                    };
                    d[k] += e;
                    f *= m.powi(e);
                }
            }
        }
        (d, f)
    }
}
