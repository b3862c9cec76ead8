//! Reply -> Adaptive Card 1.5 JSON (with Teams chart elements as an option).
