//! Reads the date-time texts Azure answers carry (Log Analytics `datetime` cells, Sentinel
//! REST `*TimeUtc` properties) into UTC instants. No I/O.

use chrono::{DateTime, NaiveDate, Utc};

/// Reads a date-time as the services and their SDKs write it, into UTC. Accepted forms:
///
/// - RFC 3339 with `Z` or an offset (`+01:00`), what the Log Analytics query API and the
///   Microsoft.SecurityInsights REST API send: `2026-11-20T10:00:00Z`;
/// - any number of fractional second digits, in particular the 7 of .NET ticks (Kusto keeps
///   datetimes in 100 ns ticks): `2026-11-20T10:00:00.1234567Z`;
/// - no zone, read as UTC, because "a datetime value in Kusto is always in the UTC time zone":
///   `2026-11-20T10:00:00.1234567`;
/// - a space instead of `T`, and minutes without seconds: `2026-11-20 10:00:00`,
///   `2026-11-20 10:00`, `2026-11-20T10:00Z`;
/// - a date alone, as midnight UTC: `2026-11-20`.
///
/// Source: the ISO 8601 forms Kusto reads (`datetime()` literals and `todatetime()`), in
/// "The datetime data type", learn.microsoft.com/kusto/query/scalar-data-types/datetime.
/// Offsets without a colon (`+0100`) and RFC 822 forms (`Sat, 8 Nov 14 15:05:02 GMT`) are
/// not accepted: neither service writes them. Surrounding whitespace is ignored; `None`
/// for anything else, including empty text.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    // The services' own form first: it is nearly every value, and needs no copy.
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    if rest.is_empty() {
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    let rest = rest
        .strip_prefix(['T', 't', ' '])
        .filter(|rest| rest.len() >= 5)?;
    let (clock, zone) = split_zone(rest);
    // Minutes without seconds get them; the clock is otherwise left to the RFC 3339 reader.
    let seconds = if clock.len() == 5 { ":00" } else { "" };
    let zone = if zone.is_empty() { "Z" } else { zone };
    DateTime::parse_from_rfc3339(&format!("{date}T{clock}{seconds}{zone}"))
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Splits `10:00:00.5+01:00` into the clock and its zone (`Z`, `+01:00`, or empty).
fn split_zone(time: &str) -> (&str, &str) {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return (clock, "Z");
    }
    match time.rfind(['+', '-']) {
        Some(at) => time.split_at(at),
        None => (time, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(h: u32, m: u32, s: u32, nanos: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, h, m, s)
            .single()
            .expect("valid")
            + chrono::Duration::nanoseconds(i64::from(nanos))
    }

    #[test]
    fn every_documented_form_reads_as_the_same_utc_instant() {
        let cases = [
            ("2026-11-20T10:00:00Z", utc(10, 0, 0, 0)),
            ("2026-11-20T10:00:00.1Z", utc(10, 0, 0, 100_000_000)),
            ("2026-11-20T10:00:00.123Z", utc(10, 0, 0, 123_000_000)),
            ("2026-11-20T10:00:00.1234567Z", utc(10, 0, 0, 123_456_700)),
            ("2026-11-20T11:30:00+01:30", utc(10, 0, 0, 0)),
            ("2026-11-20T05:00:00.5-05:00", utc(10, 0, 0, 500_000_000)),
            ("2026-11-20T10:00:00", utc(10, 0, 0, 0)),
            ("2026-11-20T10:00:00.1234567", utc(10, 0, 0, 123_456_700)),
            ("2026-11-20 10:00:00", utc(10, 0, 0, 0)),
            ("2026-11-20 10:00:00.25Z", utc(10, 0, 0, 250_000_000)),
            ("2026-11-20 11:00:00+01:00", utc(10, 0, 0, 0)),
            ("2026-11-20T10:00", utc(10, 0, 0, 0)),
            ("2026-11-20 10:00Z", utc(10, 0, 0, 0)),
            ("2026-11-20t10:00:00z", utc(10, 0, 0, 0)),
            (" 2026-11-20T10:00:00Z ", utc(10, 0, 0, 0)),
            ("2026-11-20", utc(0, 0, 0, 0)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn other_texts_are_unreadable() {
        for text in [
            "",
            "   ",
            "not a time",
            "20/11/2026 10:00",
            "2026-11-20T25:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-11-20T10",
            "2026-11-20T10:00:00+0100",
            "2026-11-20X10:00:00Z",
            "Fri, 20 Nov 26 10:00:00 GMT",
            "2026-11-20T10:00:00Zjunk",
            "2026-11-2",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }
}
