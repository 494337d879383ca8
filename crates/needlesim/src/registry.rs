//! The vocabulary of the parameter registry: what an entry is ([`Entry`]: name, unit, kind,
//! range, source), a group of entries backed by a struct ([`Group`]) and the common ranges.
//!
//! It sits below every model, so each model describes its own constants with it (the healing
//! model's `params!` table); [`crate::params`] gathers the groups into `ModelParams`, the
//! overrides and the listings, and re-exports these names.

/// What a value rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Read in a cited source (grade in the source text).
    Literature,
    /// Fitted to a validation case (named in `source`).
    Calibrated,
    /// No number found; a reasoned assumption (reason in `note`).
    Assumed,
}

impl ParamKind {
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Literature => "literature",
            ParamKind::Calibrated => "calibrated",
            ParamKind::Assumed => "assumed",
        }
    }
}

/// How the plausible range of an entry is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// `[default / f, default * f]`.
    Factor(f64),
    /// `[min, max]`.
    Between(f64, f64),
}

/// The plausible range of an entry and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub bound: Bound,
    /// The value must be a whole number (grid sizes, counts).
    pub integer: bool,
    /// Why this range: literature spread, calibration search interval, a factor around an
    /// assumed value, a physical limit.
    pub why: &'static str,
}

impl Range {
    /// `[default / f, default * f]`.
    pub const fn factor(f: f64, why: &'static str) -> Range {
        Range {
            bound: Bound::Factor(f),
            integer: false,
            why,
        }
    }
    /// `[min, max]`.
    pub const fn between(min: f64, max: f64, why: &'static str) -> Range {
        Range {
            bound: Bound::Between(min, max),
            integer: false,
            why,
        }
    }
    /// Whole numbers in `[min, max]`.
    pub const fn whole(min: f64, max: f64, why: &'static str) -> Range {
        Range {
            bound: Bound::Between(min, max),
            integer: true,
            why,
        }
    }
    /// `(min, max)` for an entry whose default is `default`.
    pub fn bounds(&self, default: f64) -> (f64, f64) {
        match self.bound {
            Bound::Factor(f) => (default / f, default * f),
            Bound::Between(a, b) => (a, b),
        }
    }
}

/// Common ranges.
pub mod ranges {
    use super::Range;
    /// An assumed value with no number read: an order of magnitude either way.
    pub const ASSUMED: Range = Range::factor(
        10.0,
        "assumed value, no number read: an order of magnitude either way",
    );
    /// A literature value from compiled tables or single studies.
    pub const LIT: Range = Range::factor(
        3.0,
        "literature value: a factor 3 either way covers the spread between sources and models",
    );
    /// A fraction.
    pub const FRACTION: Range = Range::between(0.0, 1.0, "a fraction");
}

/// Static description of one entry (its value lives in the group's struct).
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub unit: &'static str,
    pub kind: ParamKind,
    /// σ of ln(value) for the healing uncertainty bands; 0 = held fixed.
    pub spread: f64,
    pub range: Range,
    /// Citation (with evidence grade) or calibration case.
    pub source: &'static str,
    pub note: &'static str,
    /// False: read when the crate is compiled; listed, but an override is refused.
    pub settable: bool,
}

/// A group of entries backed by a struct of `f64` fields.
pub trait Group: Clone + Default {
    /// The group's name in files and listings.
    const NAME: &'static str;
    /// The entries, in listing order.
    fn entries() -> &'static [Entry];
    /// Value by name.
    fn get(&self, name: &str) -> Option<f64>;
    /// Mutable value by name.
    fn get_mut(&mut self, name: &str) -> Option<&mut f64>;
}

/// 6 significant digits, plain for moderate magnitudes, scientific otherwise.
pub fn format_sig(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e6).contains(&a) {
        let digits = (5 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.5e}")
    }
}

// The group macros: each group of constants (skin, device, injury, ...) declares its struct and
// registry entries with them, in its own module, so the models never import `params`.

/// Registers fields of an existing struct.
macro_rules! fields {
    (@entries $ty:ty, $group:literal, $entries:ident;
     $( $field:ident, $unit:literal, $kind:ident, $range:expr, $settable:literal, $source:literal,
        $note:literal; )*) => {
        /// The registry entries of this group.
        pub const $entries: &[$crate::registry::Entry] = &[
            $( $crate::registry::Entry {
                name: stringify!($field),
                unit: $unit,
                kind: $crate::registry::ParamKind::$kind,
                spread: 0.0,
                range: $range,
                source: $source,
                note: $note,
                settable: $settable,
            }, )*
        ];
        impl $crate::registry::Group for $ty {
            const NAME: &'static str = $group;
            fn entries() -> &'static [$crate::registry::Entry] {
                $entries
            }
            fn get(&self, name: &str) -> Option<f64> {
                match name {
                    $( stringify!($field) => Some(self.$field), )*
                    _ => None,
                }
            }
            fn get_mut(&mut self, name: &str) -> Option<&mut f64> {
                match name {
                    $( stringify!($field) => Some(&mut self.$field), )*
                    _ => None,
                }
            }
        }
    };
    ($ty:ty, $group:literal, $entries:ident;
     $( $field:ident, $unit:literal, $kind:ident, $range:expr, $source:literal, $note:literal; )*) => {
        $crate::registry::fields!(@entries $ty, $group, $entries;
            $( $field, $unit, $kind, $range, true, $source, $note; )*);
    };
}

/// Declares a group struct of `f64` fields with its defaults and entries.
macro_rules! group {
    ($(#[$sdoc:meta])* $ty:ident, $group:literal, $entries:ident;
     $( $(#[$doc:meta])* $field:ident = $value:expr, $unit:literal, $kind:ident, $range:expr,
        $settable:literal, $source:literal, $note:literal; )*) => {
        $(#[$sdoc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $ty {
            $( $(#[$doc])* pub $field: f64, )*
        }
        impl Default for $ty {
            fn default() -> Self {
                $ty { $( $field: $value, )* }
            }
        }
        $crate::registry::fields!(@entries $ty, $group, $entries;
            $( $field, $unit, $kind, $range, $settable, $source, $note; )*);
    };
}
pub(crate) use fields;
pub(crate) use group;
