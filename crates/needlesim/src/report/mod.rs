//! Output writers: atomic files, SVG plots.
