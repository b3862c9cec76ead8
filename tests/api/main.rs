//! Integration tests: one binary, one module per area, each against local fake servers.

mod azure;
