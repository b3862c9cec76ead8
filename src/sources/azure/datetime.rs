//! Reads the date-time texts Azure answers carry (Log Analytics `datetime` cells, Sentinel
//! REST `*TimeUtc` properties) into UTC instants. No I/O.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

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
    if let Some(time) = utc_clock(text.as_bytes()) {
        return Some(time);
    }
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

/// `2026-11-20T10:00:00Z` or `2026-11-20T10:00:00.1234567Z` read digit by digit: the form
/// of nearly every value, which chrono's general RFC 3339 reader took a tenth of the row
/// reading's time for. `None` for anything else (other forms, leap seconds, more than nine
/// fractional digits), which `parse` hands on to chrono.
fn utc_clock(text: &[u8]) -> Option<DateTime<Utc>> {
    let (clock, fraction) = match text {
        [clock @ .., b'Z'] if clock.len() == 19 => (clock, &[][..]),
        [clock @ .., b'Z'] if clock.len() > 20 && clock[19] == b'.' => clock.split_at(19),
        _ => return None,
    };
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        clock[range].iter().try_fold(0u32, |value, &byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, byte)| clock[at] != byte) {
        return None;
    }
    let fraction = fraction.get(1..).unwrap_or_default();
    if fraction.len() > 9 {
        return None;
    }
    let mut nanos = 0u32;
    for &byte in fraction {
        if !byte.is_ascii_digit() {
            return None;
        }
        nanos = nanos * 10 + u32::from(byte - b'0');
    }
    nanos *= 10u32.pow(9 - fraction.len() as u32);
    let second = digits(17..19).filter(|second| *second < 60)?;
    let date = NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)?;
    let time = NaiveTime::from_hms_nano_opt(digits(11..13)?, digits(14..16)?, second, nanos)?;
    Some(date.and_time(time).and_utc())
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
    fn the_digit_reader_agrees_with_chrono_or_hands_on() {
        for text in [
            "2026-11-20T10:00:00Z",
            "2024-02-29T23:59:59.999999999Z",
            "2026-11-20T10:00:00.1234567Z",
            "2026-11-20T10:00:00.1234567891Z",
            "2026-11-20T10:00:60Z",
            "2026-11-20T24:00:00Z",
            "2026-02-29T10:00:00Z",
            "2026-11-20T10:00:00.Z",
            "2026-11-20T10:00:00.12a4Z",
            "2026-11-20T10:0a:00Z",
            "2026-11-20X10:00:00Z",
            "+026-11-20T10:00:00Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|time| time.with_timezone(&Utc));
            if let Some(read) = utc_clock(text.as_bytes()) {
                assert_eq!(Some(read), chrono, "{text}");
            }
            assert_eq!(parse(text), chrono, "{text}");
        }
        assert!(utc_clock(b"2026-11-20T10:00:00.1234567Z").is_some());
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
