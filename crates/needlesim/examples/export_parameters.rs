//! Writes docs/parameters.csv from the parameter registry.
fn main() -> std::io::Result<()> {
    let csv = needlesim::healing::registry::to_csv(&needlesim::healing::registry::all_rows());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/parameters.csv");
    needlesim::report::write_atomic(&path, csv.as_bytes())?;
    println!("wrote {}", path.display());
    Ok(())
}
