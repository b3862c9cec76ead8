//! The weekly report job: exactly once per channel and week.
