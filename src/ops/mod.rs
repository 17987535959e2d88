//! The operations, one module each: public function, reference, fast CPU path
//! and GPU host code.

pub mod palette;
