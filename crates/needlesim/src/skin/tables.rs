//! PROVISIONAL: replaced by the cited thickness tables (skin helper owns this file).

use super::*;

/// Builds the column for a site and person, applying user overrides.
pub fn column(
    site: Site,
    person: &Person,
    overrides: &ThicknessOverrides,
) -> Result<SkinColumn, SkinError> {
    let base = [15e-6, 70e-6, 100e-6, 1600e-6, 1000e-6];
    let mut top = 0.0;
    let mut layers = Vec::new();
    for (i, kind) in LayerKind::ALL.into_iter().enumerate() {
        let t = overrides.get(kind).unwrap_or(base[i]);
        layers.push(Layer {
            kind,
            top_m: top,
            thickness_m: t,
            thickness_sd_m: 0.0,
            properties: LayerProperties {
                vascular_fraction: 0.0,
                collagen_kg_m3: 0.0,
                collagen_i_fraction: 0.0,
                elastin_kg_m3: 0.0,
                cell_density_per_m3: 0.0,
            },
            source: "provisional".into(),
        });
        top += t;
    }
    Ok(SkinColumn {
        site,
        person: person.clone(),
        layers,
    })
}
