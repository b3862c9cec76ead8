//! API-level tests, one binary; each area lives in its own module.

mod schedule;
mod store;
