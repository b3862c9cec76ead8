//! API-level tests: one test binary, one module per area.

mod advice;
