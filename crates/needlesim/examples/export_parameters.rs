//! Writes docs/parameters.csv from the parameter registry (`needlesim::params`, every group).
fn main() -> std::io::Result<()> {
    let csv = needlesim::params::to_csv(&needlesim::params::all_rows());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/parameters.csv");
    needlesim::report::write_atomic(&path, csv.as_bytes())?;
    println!("wrote {}", path.display());
    Ok(())
}
