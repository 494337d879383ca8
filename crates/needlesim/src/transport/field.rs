//! Concentration fields of several species in one flat, contiguous array.
//!
//! Layout (species-major): value of species `s` at voxel `(i, j, k)` is
//! `data[s * n_voxels + (k * ny + j) * nx + i]`. Each species is a contiguous block, so the
//! implicit sweeps of one species stream through memory; x (r) varies fastest.

/// Fields of `n_species` species on a `[nx, ny, nz]` grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    shape: [usize; 3],
    n_species: usize,
    data: Vec<f64>,
}

impl Fields {
    /// Zero fields.
    pub fn zeros(shape: [usize; 3], n_species: usize) -> Self {
        let n = shape[0] * shape[1] * shape[2];
        Fields {
            shape,
            n_species,
            data: vec![0.0; n * n_species],
        }
    }

    /// Grid shape `[nx, ny, nz]`.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Number of species.
    pub fn n_species(&self) -> usize {
        self.n_species
    }

    /// Voxels per species.
    pub fn n_voxels(&self) -> usize {
        self.shape[0] * self.shape[1] * self.shape[2]
    }

    /// Flat index of species `s` at voxel `(i, j, k)`.
    pub fn index(&self, s: usize, i: usize, j: usize, k: usize) -> usize {
        s * self.n_voxels() + (k * self.shape[1] + j) * self.shape[0] + i
    }

    /// Value of species `s` at voxel `(i, j, k)`.
    pub fn get(&self, s: usize, i: usize, j: usize, k: usize) -> f64 {
        self.data[self.index(s, i, j, k)]
    }

    /// All values of species `s` (voxel order).
    pub fn species(&self, s: usize) -> &[f64] {
        let n = self.n_voxels();
        &self.data[s * n..(s + 1) * n]
    }

    /// Mutable values of species `s`.
    pub fn species_mut(&mut self, s: usize) -> &mut [f64] {
        let n = self.n_voxels();
        &mut self.data[s * n..(s + 1) * n]
    }

    /// The whole flat array.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The whole flat array, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// Memory held by the values, in bytes.
    pub fn bytes(&self) -> usize {
        self.data.len() * std::mem::size_of::<f64>()
    }
}
