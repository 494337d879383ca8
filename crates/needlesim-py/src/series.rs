//! A zone's healing time series as numpy arrays: the columns of `timeseries_<zone>.csv`
//! (`needlesim::healing::report::timeseries_csv`), same names, same units, full precision.

use needlesim::healing::outcomes::ZoneResult;
use needlesim::healing::params::{DAY, NG_ML, PG_ML};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyList;

fn scaled(v: &[f64], f: f64) -> Vec<f64> {
    v.iter().map(|x| x * f).collect()
}

/// Divided, as the CSV writer divides (bit for bit the same numbers before rounding).
fn per(v: &[f64], d: f64) -> Vec<f64> {
    v.iter().map(|x| x / d).collect()
}

/// `[(column, array)]` in the CSV's column order.
pub fn zone_columns<'py>(py: Python<'py>, z: &ZoneResult) -> PyResult<Bound<'py, PyList>> {
    let s = &z.nominal;
    let b = &z.bands;
    let cols: Vec<(&str, Vec<f64>)> = vec![
        ("day", per(&s.t_s, DAY)),
        ("collagen_i_pct", s.collagen_i_pct.clone()),
        ("collagen_i_pct_p5", b[0][0].clone()),
        ("collagen_i_pct_p95", b[0][1].clone()),
        ("collagen_iii_pct", s.collagen_iii_pct.clone()),
        ("collagen_iii_pct_p5", b[1][0].clone()),
        ("collagen_iii_pct_p95", b[1][1].clone()),
        ("elastin_pct", s.elastin_pct.clone()),
        ("elastin_pct_p5", b[2][0].clone()),
        ("elastin_pct_p95", b[2][1].clone()),
        ("papillary_collagen_pct", s.papillary_collagen_pct.clone()),
        ("epidermis_pct", s.epidermis_pct.clone()),
        ("epidermis_pct_p5", b[3][0].clone()),
        ("epidermis_pct_p95", b[3][1].clone()),
        ("dermis_pct", s.dermis_pct.clone()),
        ("redness_ratio", s.redness_ratio.clone()),
        ("redness_ratio_p5", b[4][0].clone()),
        ("redness_ratio_p95", b[4][1].clone()),
        ("swelling_pct", s.swelling_pct.clone()),
        ("open_surface_pct", scaled(&s.open_surface, 100.0)),
        ("damage_pct", scaled(&s.damage, 100.0)),
        ("cytokine_pg_ml", per(&s.cytokine, PG_ML)),
        ("pdgf_ng_ml", per(&s.pdgf, NG_ML)),
        ("tgfb_excess_ng_ml", per(&s.tgfb_excess, NG_ML)),
        ("neutrophils_per_mm3", scaled(&s.neutrophils, 1e-9)),
        ("macrophages_per_mm3", scaled(&s.macrophages, 1e-9)),
        (
            "fibroblasts_activated_per_mm3",
            scaled(&s.fibroblasts_active, 1e-9),
        ),
        ("mmp_relative", s.mmp.clone()),
    ];
    let list = PyList::empty(py);
    for (name, v) in cols {
        list.append((name, PyArray1::from_vec(py, v)))?;
    }
    Ok(list)
}
