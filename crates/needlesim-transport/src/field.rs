//! Concentration fields of several species in one flat, contiguous array.
//!
//! Layout (species-major): value of species `s` at voxel `(i, j, k)` is
//! `data[s * n_voxels + (k * ny + j) * nx + i]`. Each species is a contiguous block, so the
//! implicit sweeps of one species stream through memory; x (r) varies fastest.

/// Fields of `n_species` species on a `[nx, ny, nz]` grid.
#[derive(Debug, PartialEq)]
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
            data: zeroed_large(n * n_species),
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

impl Clone for Fields {
    fn clone(&self) -> Self {
        let mut data = zeroed_large(self.data.len());
        data.copy_from_slice(&self.data);
        Fields {
            shape: self.shape,
            n_species: self.n_species,
            data,
        }
    }
}

/// Bytes of one transparent huge page (x86-64 and aarch64 Linux with 4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// A zeroed vector of `len` values. Large ones are asked to live on transparent huge pages
/// before they are first touched: the z sweep reads one row per xy plane (planes 128–512 KiB
/// apart at 128³–256³), so with 4 KiB pages nearly every row costs a TLB miss (a nested page walk
/// in a VM). The request is a hint (`madvise`); where it is refused nothing changes.
pub(crate) fn zeroed_large(len: usize) -> Vec<f64> {
    let v = vec![0.0; len];
    advise_huge(&v);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(v: &[f64]) {
    let bytes = std::mem::size_of_val(v);
    if bytes < 4 * HUGE_PAGE {
        return;
    }
    // The 2 MiB-aligned interior of the allocation (madvise needs a page-aligned start).
    let start = v.as_ptr() as usize;
    let lo = start.next_multiple_of(HUGE_PAGE);
    let hi = (start + bytes) / HUGE_PAGE * HUGE_PAGE;
    if hi > lo {
        // SAFETY: [lo, hi) lies inside the vector's allocation; MADV_HUGEPAGE only changes how
        // the kernel backs those pages (contents are preserved), and a failure is harmless.
        unsafe {
            libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_v: &[f64]) {}
