//! The `numerics` group of the parameter registry, turned into the healing solvers' settings.

use crate::params::NumericsParams;

impl NumericsParams {
    /// The lumped integrator's accuracy.
    pub fn accuracy(&self) -> crate::healing::lumped::Accuracy {
        crate::healing::lumped::Accuracy {
            rtol: self.lumped_rtol,
            atol_frac: self.lumped_atol_frac,
            lu_keep_ratio: self.lu_keep_ratio,
            lu_stale_tol: self.lu_stale_tol,
            ..crate::healing::lumped::Accuracy::default()
        }
    }
    /// The unit cell's stepping.
    pub fn cell_stepping(&self) -> crate::healing::spatial::Stepping {
        crate::healing::spatial::Stepping {
            dt_min: self.spatial_dt_min_s,
            dt_max: self.spatial_dt_max_s,
            growth: self.spatial_dt_growth,
            ros_substeps: self.ros_substeps as usize,
        }
    }
    /// The patch's stepping.
    pub fn patch_stepping(&self) -> crate::healing::spatial::Stepping {
        crate::healing::spatial::Stepping {
            dt_max: self.patch_dt_max_s,
            ..self.cell_stepping()
        }
    }
    /// The unit cell's grid.
    pub fn cell_grid(&self) -> crate::healing::spatial::CellGrid {
        crate::healing::spatial::CellGrid {
            nr: self.cell_nr as usize,
            nz_papillary: self.cell_nz_papillary as usize,
            nz_reticular: self.cell_nz_reticular as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::params::NumericsParams;

    /// The registry's defaults are the model's: the numerics reproduce the solvers' defaults.
    #[test]
    fn numerics_defaults_are_the_solvers() {
        let n = NumericsParams::default();
        assert_eq!(n.accuracy(), crate::healing::lumped::Accuracy::default());
        assert_eq!(
            n.cell_stepping(),
            crate::healing::spatial::Stepping::default()
        );
        assert_eq!(
            n.patch_stepping(),
            crate::healing::spatial::Stepping::patch()
        );
        assert_eq!(n.cell_grid(), crate::healing::spatial::CellGrid::default());
        let g = crate::healing::patch::PatchGrid::default();
        assert_eq!(n.patch_nz_papillary as usize, g.nz_papillary);
        assert_eq!(n.patch_nz_reticular as usize, g.nz_reticular);
        assert_eq!(n.patch_reticular_ratio, g.reticular_ratio);
    }
}
