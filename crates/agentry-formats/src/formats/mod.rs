//! One module per format: schema selection, reader (document → record) and writer
//! (record → document).

pub mod a2a;
pub mod common;
pub mod mcp;
pub mod nanda;
pub mod oasf;
pub mod ossa;
pub mod simple;
