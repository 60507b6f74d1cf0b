//! Shared test support. Test files use either `mod support;` (then `support::emulator::...`) or
//! `#[path = "support/emulator/mod.rs"] mod emulator;`.

pub mod emulator;
pub mod harness;
pub mod logs;
pub mod postgres;
pub mod serve;
