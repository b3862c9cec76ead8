//! Figures formatted by code for advice text and prompts, so the model never formats numbers.

use chrono::Duration;

/// A duration as analysts read it: `45m`, `3h 20m`, `2d 4h`.
pub fn duration(value: Duration) -> String {
    let minutes = value.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, _) => format!("{hours}h {mins}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// A 0..1 ratio as a percentage with one decimal, or "n/a".
pub fn percent(ratio: Option<f64>) -> String {
    ratio
        .map(|ratio| format!("{:.1}%", ratio * 100.0))
        .unwrap_or_else(|| "n/a".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_analysts_write_them() {
        assert_eq!(duration(Duration::minutes(45)), "45m");
        assert_eq!(duration(Duration::minutes(370)), "6h 10m");
        assert_eq!(duration(Duration::hours(52)), "2d 4h");
        assert_eq!(percent(Some(0.619)), "61.9%");
    }
}
