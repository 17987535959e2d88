//! The operations, one module each: public function, reference, fast CPU path
//! and GPU host code.

pub mod diff;
pub mod filter;
pub mod kmeans;
pub mod label_mean;
pub mod label_sums;
pub mod median_cut;
pub mod palette;
pub mod quantize;
