//! API tests: one binary, one module per area, each with its own helpers.

mod slack;
