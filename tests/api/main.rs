//! Integration tests, one module per area, in one test binary.

mod render;
