//! The pipeline that ties the stages together.
