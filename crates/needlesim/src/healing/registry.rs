//! The parameter registry: one row per model constant (name, module, value, unit, kind, source,
//! note), exported to `docs/parameters.csv`.
//!
//! Any module can contribute rows: implement a function returning `Vec<ParamRow>` and add it to
//! [`all_rows`]. A test checks that `docs/parameters.csv` is exactly [`to_csv`]`(&all_rows())`.

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

/// One exported parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamRow {
    pub name: String,
    pub module: String,
    /// Value in `unit` (SI).
    pub value: f64,
    pub unit: String,
    pub kind: ParamKind,
    /// Citation (with evidence grade) or calibration case.
    pub source: String,
    pub note: String,
}

/// Every registered parameter, in a stable order.
pub fn all_rows() -> Vec<ParamRow> {
    let mut rows = Vec::new();
    rows.extend(super::params::rows());
    rows
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The registry as CSV (header + one line per row). Values are printed with 6 significant
/// digits.
pub fn to_csv(rows: &[ParamRow]) -> String {
    let mut s = String::from("name,module,value,unit,kind,source,note\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            csv_field(&r.name),
            csv_field(&r.module),
            format_sig(r.value),
            csv_field(&r.unit),
            r.kind.name(),
            csv_field(&r.source),
            csv_field(&r.note)
        ));
    }
    s
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas() {
        let r = ParamRow {
            name: "a".into(),
            module: "m".into(),
            value: 1.5,
            unit: "1".into(),
            kind: ParamKind::Assumed,
            source: "x, y".into(),
            note: "say \"hi\"".into(),
        };
        let s = to_csv(&[r]);
        assert!(s.contains("\"x, y\""));
        assert!(s.contains("\"say \"\"hi\"\"\""));
    }

    #[test]
    fn significant_digits() {
        assert_eq!(format_sig(0.125), "0.125");
        assert_eq!(format_sig(247.5), "247.5");
        assert_eq!(format_sig(1.5e13), "1.50000e13");
        assert_eq!(format_sig(2.0), "2");
    }
}
