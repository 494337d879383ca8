//! The results table: the fixed Arrow schema of the Parquet files, rows to record batches, and
//! reading back the columns the summary needs.
//!
//! The schema is listed once, in [`schema`]; `docs/OUTPUTS.md` (cohort) documents each column
//! and a test keeps the two in step.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::evaluate::Row;
use crate::plan::predict::Estimate;

/// The columns: name, type, nullable. Keep in step with `docs/OUTPUTS.md`.
pub const COLUMNS: &[(&str, &str, bool)] = &[
    ("patient", "uint32", false),
    ("patient_seed", "uint64", false),
    ("zone", "string", false),
    ("site", "string", false),
    ("draw", "uint32", false),
    ("age_years", "float64", false),
    ("sex", "string", false),
    ("phototype", "int32", false),
    ("concern", "string", false),
    ("grade", "int32", true),
    ("scar_types", "string", false),
    ("pih_history", "bool", false),
    ("keloid_tendency", "bool", false),
    ("isotretinoin", "bool", false),
    ("topical_retinoid", "bool", false),
    ("anticoagulant", "bool", false),
    ("inflamed_acne", "bool", false),
    ("pregnant", "bool", false),
    ("thickness_z_sc", "float64", false),
    ("thickness_z_ve", "float64", false),
    ("thickness_z_dermis", "float64", false),
    ("epidermis_mm", "float64", true),
    ("dermis_mm", "float64", true),
    ("chart_column", "string", true),
    ("device", "string", false),
    ("setting_mm", "float64", true),
    ("passes", "int32", true),
    ("sessions", "int32", true),
    ("interval_days", "int32", true),
    ("within_dermis", "bool", true),
    ("verdict", "string", true),
    ("verdict_rules", "string", true),
    ("treated", "bool", true),
    ("metric", "string", true),
    ("improvement_pct_mean", "float64", true),
    ("improvement_pct_lo", "float64", true),
    ("improvement_pct_hi", "float64", true),
    ("collagen_change_pct_mean", "float64", true),
    ("collagen_change_pct_lo", "float64", true),
    ("collagen_change_pct_hi", "float64", true),
    ("downtime_days_mean", "float64", true),
    ("downtime_days_lo", "float64", true),
    ("downtime_days_hi", "float64", true),
    ("pih_risk_pct_mean", "float64", true),
    ("pih_risk_pct_lo", "float64", true),
    ("pih_risk_pct_hi", "float64", true),
    ("horizon_days", "float64", true),
    ("responder", "bool", true),
    ("error", "string", true),
];

fn data_type(t: &str) -> DataType {
    match t {
        "uint32" => DataType::UInt32,
        "uint64" => DataType::UInt64,
        "int32" => DataType::Int32,
        "float64" => DataType::Float64,
        "bool" => DataType::Boolean,
        _ => DataType::Utf8,
    }
}

/// The Arrow schema of every results file (the `protocol` partition is in the path).
pub fn schema() -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|(n, t, null)| Field::new(*n, data_type(t), *null))
        .collect();
    let meta: std::collections::HashMap<String, String> = [(
        "needlesim.cohort_schema".to_string(),
        super::SCHEMA_VERSION.to_string(),
    )]
    .into_iter()
    .collect();
    Arc::new(Schema::new_with_metadata(fields, meta))
}

fn est(rows: &[&Row], f: impl Fn(&Row) -> Option<Estimate>, part: usize) -> ArrayRef {
    Arc::new(Float64Array::from(
        rows.iter()
            .map(|r| {
                f(r).map(|e| match part {
                    0 => e.mean,
                    1 => e.lo,
                    _ => e.hi,
                })
            })
            .collect::<Vec<_>>(),
    ))
}

/// The rows as one record batch of [`schema`].
pub fn batch(rows: &[&Row]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let s = |f: fn(&Row) -> &str| -> ArrayRef {
        Arc::new(StringArray::from(
            rows.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let os = |f: fn(&Row) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from(
            rows.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let b = |f: fn(&Row) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let ob = |f: fn(&Row) -> Option<bool>| -> ArrayRef {
        Arc::new(BooleanArray::from(
            rows.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let fl = |f: fn(&Row) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let ofl = |f: fn(&Row) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from(
            rows.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let oi = |f: fn(&Row) -> Option<i32>| -> ArrayRef {
        Arc::new(Int32Array::from(
            rows.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(
            rows.iter().map(|r| r.patient).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            rows.iter().map(|r| r.patient_seed).collect::<Vec<_>>(),
        )),
        s(|r| &r.zone),
        s(|r| &r.site),
        Arc::new(UInt32Array::from(
            rows.iter().map(|r| r.draw).collect::<Vec<_>>(),
        )),
        fl(|r| r.age_years),
        s(|r| &r.sex),
        Arc::new(Int32Array::from(
            rows.iter().map(|r| r.phototype).collect::<Vec<_>>(),
        )),
        s(|r| &r.concern),
        oi(|r| r.grade),
        s(|r| &r.scar_types),
        b(|r| r.pih_history),
        b(|r| r.keloid_tendency),
        b(|r| r.isotretinoin),
        b(|r| r.topical_retinoid),
        b(|r| r.anticoagulant),
        b(|r| r.inflamed_acne),
        b(|r| r.pregnant),
        fl(|r| r.thickness_z_sc),
        fl(|r| r.thickness_z_ve),
        fl(|r| r.thickness_z_dermis),
        ofl(|r| r.epidermis_mm),
        ofl(|r| r.dermis_mm),
        os(|r| r.chart_column.as_deref()),
        s(|r| &r.device),
        ofl(|r| r.setting_mm),
        oi(|r| r.passes),
        oi(|r| r.sessions),
        oi(|r| r.interval_days),
        ob(|r| r.within_dermis),
        os(|r| r.verdict.as_deref()),
        os(|r| r.verdict_rules.as_deref()),
        ob(|r| r.treated),
        os(|r| r.metric.as_deref()),
        est(rows, |r| r.improvement_pct, 0),
        est(rows, |r| r.improvement_pct, 1),
        est(rows, |r| r.improvement_pct, 2),
        est(rows, |r| r.collagen_change_pct, 0),
        est(rows, |r| r.collagen_change_pct, 1),
        est(rows, |r| r.collagen_change_pct, 2),
        est(rows, |r| r.downtime_days, 0),
        est(rows, |r| r.downtime_days, 1),
        est(rows, |r| r.downtime_days, 2),
        est(rows, |r| r.pih_risk_pct, 0),
        est(rows, |r| r.pih_risk_pct, 1),
        est(rows, |r| r.pih_risk_pct, 2),
        ofl(|r| r.horizon_days),
        ob(|r| r.responder),
        os(|r| r.error.as_deref()),
    ];
    RecordBatch::try_new(schema(), columns)
}

/// The rows as the bytes of a Parquet file (Snappy; one row group).
pub fn parquet_bytes(rows: &[&Row]) -> Result<Vec<u8>, String> {
    let batch = batch(rows).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("needlesim {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema(), Some(props)).map_err(|e| e.to_string())?;
    w.write(&batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(buf)
}

/// The columns of a results row that the summary reads.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    pub age_years: f64,
    pub phototype: i32,
    pub concern: String,
    pub metric: Option<String>,
    pub treated: Option<bool>,
    pub improvement_pct: Option<f64>,
    pub downtime_days: Option<f64>,
    pub pih_risk_pct: Option<f64>,
    pub responder: Option<bool>,
    pub failed: bool,
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Result<&'a T, String> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| format!("column `{name}` is missing or of another type"))
}

/// Reads the summary's columns of a results file, batch by batch, into `each`.
pub fn read_summary_rows(
    path: &std::path::Path,
    mut each: impl FnMut(SummaryRow),
) -> Result<usize, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .and_then(|b| b.with_batch_size(8192).build())
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    for batch in reader {
        let b = batch.map_err(|e| e.to_string())?;
        let age = col::<Float64Array>(&b, "age_years")?;
        let pt = col::<Int32Array>(&b, "phototype")?;
        let concern = col::<StringArray>(&b, "concern")?;
        let metric = col::<StringArray>(&b, "metric")?;
        let treated = col::<BooleanArray>(&b, "treated")?;
        let imp = col::<Float64Array>(&b, "improvement_pct_mean")?;
        let dt = col::<Float64Array>(&b, "downtime_days_mean")?;
        let pih = col::<Float64Array>(&b, "pih_risk_pct_mean")?;
        let resp = col::<BooleanArray>(&b, "responder")?;
        let err = col::<StringArray>(&b, "error")?;
        let ofl = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
        let obo = |a: &BooleanArray, i: usize| (!a.is_null(i)).then(|| a.value(i));
        for i in 0..b.num_rows() {
            each(SummaryRow {
                age_years: age.value(i),
                phototype: pt.value(i),
                concern: concern.value(i).to_string(),
                metric: (!metric.is_null(i)).then(|| metric.value(i).to_string()),
                treated: obo(treated, i),
                improvement_pct: ofl(imp, i),
                downtime_days: ofl(dt, i),
                pih_risk_pct: ofl(pih, i),
                responder: obo(resp, i),
                failed: !err.is_null(i),
            });
            n += 1;
        }
    }
    Ok(n)
}
