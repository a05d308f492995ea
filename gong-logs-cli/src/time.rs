//! TIME and DURATION arguments.
//!
//! A TIME is one of:
//! - an instant in ISO-8601 / RFC 3339 with `Z` or an offset
//!   (`2024-03-01T10:00:00Z`, `2024-03-01T10:00:00.5+02:00`);
//! - a bare date, meaning midnight UTC (`2024-03-01`);
//! - `now`, `today` (midnight UTC today), `yesterday` (midnight UTC yesterday);
//! - a span meaning that long ago: a number and a unit, repeated
//!   (`30s`, `90m`, `24h`, `7d`, `2w`, `1d12h`).
//!
//! A date and time without an offset is refused: it would silently depend on
//! the machine's time zone.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

const DAY: i64 = 86_400;

/// Why a TIME or DURATION did not parse. The message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}

/// The range a TIME must fall in (jiff's, rounded inwards to whole days).
const RANGE: &str = "dates must be between -9999-01-03 and 9999-12-30";

fn out_of_range(text: &str) -> TimeError {
    TimeError(format!("{text:?} is out of range: {RANGE}"))
}

const ACCEPTED: &str = "use an ISO-8601 time with Z or an offset (2024-03-01T10:00:00Z), \
     a date (2024-03-01, midnight UTC), now, today, yesterday, or a span ago (30m, 24h, 7d, 1d12h)";

/// Parses a TIME relative to `now`.
pub fn parse_time(input: &str, now: Timestamp) -> Result<Timestamp, TimeError> {
    let text = input.trim();
    match text.to_ascii_lowercase().as_str() {
        "" => return Err(TimeError(format!("empty time: {ACCEPTED}"))),
        "now" => return Ok(now),
        "today" => return Ok(midnight_utc(now, 0)),
        "yesterday" => return Ok(midnight_utc(now, 1)),
        _ => {}
    }
    if text.starts_with(|c: char| c.is_ascii_digit())
        && text.ends_with(|c: char| c.is_ascii_alphabetic())
        && let Ok(span) = parse_span(text)
    {
        return now.checked_sub(span).map_err(|_| {
            TimeError(format!(
                "{text:?} ago is before the earliest supported time: {RANGE}"
            ))
        });
    }
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    // An IANA zone without an offset (2024-03-01T10:00:00[Europe/Paris]):
    // say which offset to write, worked out from the zone.
    if let Some((civil, zone)) = text
        .strip_suffix(']')
        .and_then(|t| t.split_once('['))
        .filter(|(civil, _)| civil.parse::<DateTime>().is_ok())
    {
        return Err(match text.parse::<jiff::Zoned>() {
            Ok(zoned) => {
                let secs = zoned.offset().seconds();
                let sign = if secs < 0 { '-' } else { '+' };
                let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
                TimeError(format!(
                    "{text:?} has a time zone but no offset: write the offset instead, {civil}{sign}{h:02}:{m:02} (the offset in {zone} then)"
                ))
            }
            Err(_) => TimeError(format!(
                "{text:?} has no offset and {zone:?} is not a known time zone: write Z or an offset, e.g. {civil}Z or {civil}+02:00"
            )),
        });
    }
    // Well-formed, with Z or an offset, but beyond what can be represented
    // (9999-12-31T00:00:00Z).
    let has_offset =
        text.ends_with(['Z', 'z']) || text.get(10..).is_some_and(|rest| rest.contains(['+', '-']));
    if has_offset && looks_like_date(text) && date_of(text).is_some_and(|d| d.year() >= 9999) {
        return Err(out_of_range(text));
    }
    let bare_date = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if bare_date && let Ok(date) = text.parse::<Date>() {
        return date
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| out_of_range(text));
    }
    if text.parse::<DateTime>().is_ok() {
        return Err(TimeError(format!(
            "{text:?} has no time zone: add Z for UTC ({text}Z) or an offset ({text}+02:00)"
        )));
    }
    Err(TimeError(format!(
        "cannot read {text:?} as a time: {ACCEPTED}"
    )))
}

fn looks_like_date(text: &str) -> bool {
    text.len() >= 10
        && text.as_bytes()[4] == b'-'
        && text.as_bytes()[7] == b'-'
        && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
}

fn date_of(text: &str) -> Option<Date> {
    text.get(..10)?.parse::<Date>().ok()
}

fn midnight_utc(now: Timestamp, days_back: i64) -> Timestamp {
    let secs = now.as_second().div_euclid(DAY) * DAY - days_back * DAY;
    Timestamp::from_second(secs).unwrap_or(Timestamp::MIN)
}

/// Parses a span: one or more `<number><unit>` with units `w`, `d`, `h`, `m`,
/// `s`, in any order, repeats adding up (a day is 24 hours: times are UTC).
/// A bare number means seconds.
///
/// Not jiff's friendly `Span` parser: it refuses units out of order or
/// repeated (`30m1h`, which this takes and a property test pins) and takes
/// forms we do not (`1.5h`, `-3d`, `7 days`, `3d ago`, `P7D`), so it would
/// need this loop's checks around it anyway.
pub fn parse_span(input: &str) -> Result<SignedDuration, TimeError> {
    let text = input.trim();
    let bad = || {
        TimeError(format!(
            "cannot read {text:?} as a duration: use a number and a unit (s, m, h, d, w), e.g. 30s, 90m, 24h, 7d, 1d12h"
        ))
    };
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u32>() {
        return Ok(SignedDuration::from_secs(i64::from(secs)));
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => DAY,
            'w' => 7 * DAY,
            _ => return Err(bad()),
        };
        if digits.is_empty() {
            return Err(bad());
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .filter(|v| *v <= 1_000 * 366 * DAY)
            .ok_or_else(|| TimeError(format!("duration {text:?} is too long")))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(SignedDuration::from_secs(total))
}

/// Parses a polling interval: a span greater than zero.
pub fn parse_interval(input: &str) -> Result<std::time::Duration, TimeError> {
    let span = parse_span(input)?;
    if span.is_zero() {
        return Err(TimeError("the interval must be greater than zero".into()));
    }
    std::time::Duration::try_from(span).map_err(|e| TimeError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> Timestamp {
        "2024-03-10T15:30:45.25Z".parse().unwrap()
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn absolute_forms() {
        let n = now();
        assert_eq!(
            parse_time("2024-03-01T10:00:00Z", n),
            Ok(t("2024-03-01T10:00:00Z"))
        );
        assert_eq!(
            parse_time("2024-03-01T10:00:00.123456Z", n),
            Ok(t("2024-03-01T10:00:00.123456Z"))
        );
        assert_eq!(
            parse_time("2024-03-01T12:00:00+02:00", n),
            Ok(t("2024-03-01T10:00:00Z"))
        );
        assert_eq!(
            parse_time("2024-03-01T05:00:00-05:00", n),
            Ok(t("2024-03-01T10:00:00Z"))
        );
        assert_eq!(parse_time(" 2024-03-01 ", n), Ok(t("2024-03-01T00:00:00Z")));
        assert_eq!(parse_time("2024-02-29", n), Ok(t("2024-02-29T00:00:00Z")));
    }

    #[test]
    fn keywords() {
        let n = now();
        assert_eq!(parse_time("now", n), Ok(n));
        assert_eq!(parse_time("NOW", n), Ok(n));
        assert_eq!(parse_time("today", n), Ok(t("2024-03-10T00:00:00Z")));
        assert_eq!(parse_time("yesterday", n), Ok(t("2024-03-09T00:00:00Z")));
    }

    #[test]
    fn relative_spans() {
        let n = now();
        assert_eq!(parse_time("30s", n), Ok(t("2024-03-10T15:30:15.25Z")));
        assert_eq!(parse_time("90m", n), Ok(t("2024-03-10T14:00:45.25Z")));
        assert_eq!(parse_time("24h", n), Ok(t("2024-03-09T15:30:45.25Z")));
        assert_eq!(parse_time("7d", n), Ok(t("2024-03-03T15:30:45.25Z")));
        assert_eq!(parse_time("2w", n), Ok(t("2024-02-25T15:30:45.25Z")));
        assert_eq!(parse_time("1d12h", n), Ok(t("2024-03-09T03:30:45.25Z")));
        assert_eq!(parse_time("1h30m15s", n), Ok(t("2024-03-10T14:00:30.25Z")));
    }

    #[test]
    fn refusals() {
        let n = now();
        let err = parse_time("2024-03-01T10:00:00", n).unwrap_err();
        assert!(err.0.contains("add Z"), "{err}");
        let err = parse_time("2024-03-01T10:00:00[Europe/Paris]", n).unwrap_err();
        assert!(err.0.contains("2024-03-01T10:00:00+01:00"), "{err}");
        assert!(!err.0.contains("]Z"), "{err}");
        let err = parse_time("2024-07-01T10:00:00[Europe/Paris]", n).unwrap_err();
        assert!(err.0.contains("2024-07-01T10:00:00+02:00"), "{err}");
        for far in [
            "9999-12-31",
            "9999-12-31T00:00:00Z",
            "9999-12-31T12:00:00+02:00",
        ] {
            let err = parse_time(far, n).unwrap_err();
            assert!(
                err.0
                    .contains("dates must be between -9999-01-03 and 9999-12-30"),
                "{far}: {err}"
            );
        }
        let err = parse_time("9999-12-31T00:00:00", n).unwrap_err();
        assert!(err.0.contains("add Z"), "{err}");
        for bad in [
            "",
            "2024-13-01",
            "2024-02-30",
            "yesterdayish",
            "5x",
            "d",
            "7 d",
            "tomorrow",
            "1.5h",
            "-3d",
            "2024-03-01T25:00:00Z",
            "99999999999999999999d",
            "2024-03-01T10:00",
            "2024-3-1",
            "20240301",
        ] {
            assert!(parse_time(bad, n).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn spans_and_intervals() {
        assert_eq!(parse_span("60"), Ok(SignedDuration::from_secs(60)));
        assert_eq!(parse_span("2m"), Ok(SignedDuration::from_secs(120)));
        assert_eq!(
            parse_interval("1h30m"),
            Ok(std::time::Duration::from_secs(5400))
        );
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("m").is_err());
        assert!(parse_interval("10q").is_err());
        // Forms jiff's friendly grammar would take stay refused.
        for refused in [
            "1.5h", "-3d", "7 days", "3d ago", "P7D", "1H", "1h 30m", "m5",
        ] {
            let err = parse_span(refused).unwrap_err();
            assert!(err.0.starts_with("cannot read"), "{refused}: {err}");
        }
        assert_eq!(parse_span("30m1h"), Ok(SignedDuration::from_secs(5400)));
        assert_eq!(parse_span("1h1h"), Ok(SignedDuration::from_secs(7200)));
        assert!(parse_span("99999999999999999999d").is_err());
        let err = parse_span("400000d").unwrap_err();
        assert!(err.0.contains("too long"), "{err}");
        assert_eq!(
            parse_span("1w2d3h4m5s"),
            Ok(SignedDuration::from_secs(
                7 * DAY + 2 * DAY + 3 * 3600 + 4 * 60 + 5
            ))
        );
    }

    proptest! {
        /// Any instant, formatted as the CLI and Gong format it (RFC 3339
        /// UTC), reads back as the same instant; so does any offset form.
        #[test]
        fn format_parse_round_trip(
            secs in -2_000_000_000i64..5_000_000_000i64,
            nanos in 0i32..1_000_000_000,
            offset_minutes in -(14 * 60)..=(14 * 60i32),
        ) {
            let ts = Timestamp::new(secs, nanos).unwrap();
            let utc = gong_logs_api::export::format_time(ts);
            prop_assert_eq!(parse_time(&utc, now()), Ok(ts));
            let offset = jiff::tz::Offset::from_seconds(offset_minutes * 60).unwrap();
            let with_offset = ts.display_with_offset(offset).to_string();
            prop_assert_eq!(parse_time(&with_offset, now()), Ok(ts));
        }

        /// A span `N<unit>` means exactly N units before now.
        #[test]
        fn span_is_that_long_ago(n in 0i64..10_000, unit in prop::sample::select(vec![('s', 1i64), ('m', 60), ('h', 3600), ('d', 86_400), ('w', 604_800)])) {
            let text = format!("{n}{}", unit.0);
            let expected = now().checked_sub(SignedDuration::from_secs(n * unit.1)).unwrap();
            prop_assert_eq!(parse_time(&text, now()), Ok(expected));
        }
    }
}
