//! Integration tests: each area drives the real HTTP routes against local fakes.

mod teams;
