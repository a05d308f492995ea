//! Hostile or broken server behaviours (`--misbehave MODE`), one per way a
//! server, a proxy or a wrong base URL can mislead a client. Each mode
//! replaces or bends the answer to every authenticated, valid request.

use std::fmt;
use std::str::FromStr;

/// One hostile-server behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Misbehave {
    /// 500 whose body echoes the `Authorization` header, the decoded
    /// `key:secret` and the bearer token.
    EchoCredentials,
    /// 403 whose `errors` and `requestId` carry ESC/CSI/OSC sequences, BEL,
    /// C1 and bidi-override characters.
    EscapeSequences,
    /// 500 whose error message is 4 MB long.
    HugeErrorMessage,
    /// 200 whose body arrives one byte every 300 ms, forever.
    DripBytes,
    /// 200 with a chunked body that never ends.
    EndlessBody,
    /// 200 declaring a 2 GiB body.
    HugeBody,
    /// Every page hands back the same cursor (and the first page's entries).
    RepeatCursor,
    /// Every page hands a fresh cursor and the first page's entries again.
    FreshCursorSameEntries,
    /// The first page of a query starts with an entry before `fromDateTime`.
    OutOfRangeEntry,
    /// The first page of a query ends with an entry earlier than the one
    /// before it.
    BackwardsEntry,
    /// The first page of a query ends with an entry in the year 2999.
    FarFutureEntry,
    /// A 404 with Gong's body on every cursor page.
    NotFoundOnCursor,
    /// Every request: 404 with an HTML body (a proxy, a wrong host).
    Html404,
    /// Every request: 404 with another server's JSON (`{"message":...}`).
    OtherJson404,
    /// `totalRecords` is 2147483647 on every page.
    LyingTotal,
    /// Every request: 200 with an HTML body (a login page, a portal).
    Html200,
    /// Every page: no entry, a fresh cursor, `totalRecords: 1000000`.
    EmptyPages,
    /// The first page of a query starts with an entry whose `eventTime`
    /// has no offset (`2026-11-20T10:00:00`-like, inside the range).
    TimelessEntry,
    /// Every request: 200 whose body has no `logEntries` at all.
    NoLogEntries,
    /// Every page says one entry more in `currentPageSize` than it holds.
    WrongPageSize,
    /// The first page of a query starts with an entry carrying its own
    /// `"logType"` (another type's) and a `"gongLogType"` key.
    OwnLogType,
}

impl Misbehave {
    /// Every mode.
    pub const ALL: [Misbehave; 21] = [
        Misbehave::EchoCredentials,
        Misbehave::EscapeSequences,
        Misbehave::HugeErrorMessage,
        Misbehave::DripBytes,
        Misbehave::EndlessBody,
        Misbehave::HugeBody,
        Misbehave::RepeatCursor,
        Misbehave::FreshCursorSameEntries,
        Misbehave::OutOfRangeEntry,
        Misbehave::BackwardsEntry,
        Misbehave::FarFutureEntry,
        Misbehave::NotFoundOnCursor,
        Misbehave::Html404,
        Misbehave::OtherJson404,
        Misbehave::LyingTotal,
        Misbehave::Html200,
        Misbehave::EmptyPages,
        Misbehave::TimelessEntry,
        Misbehave::NoLogEntries,
        Misbehave::WrongPageSize,
        Misbehave::OwnLogType,
    ];

    /// The mode's name, as `--misbehave` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Misbehave::EchoCredentials => "echo-credentials",
            Misbehave::EscapeSequences => "escape-sequences",
            Misbehave::HugeErrorMessage => "huge-error-message",
            Misbehave::DripBytes => "drip-bytes",
            Misbehave::EndlessBody => "endless-body",
            Misbehave::HugeBody => "huge-body",
            Misbehave::RepeatCursor => "repeat-cursor",
            Misbehave::FreshCursorSameEntries => "fresh-cursor-same-entries",
            Misbehave::OutOfRangeEntry => "out-of-range-entry",
            Misbehave::BackwardsEntry => "backwards-entry",
            Misbehave::FarFutureEntry => "far-future-entry",
            Misbehave::NotFoundOnCursor => "404-on-cursor",
            Misbehave::Html404 => "html-404",
            Misbehave::OtherJson404 => "other-json-404",
            Misbehave::LyingTotal => "lying-total",
            Misbehave::Html200 => "html-200",
            Misbehave::EmptyPages => "empty-pages",
            Misbehave::TimelessEntry => "timeless-entry",
            Misbehave::NoLogEntries => "no-log-entries",
            Misbehave::WrongPageSize => "wrong-page-size",
            Misbehave::OwnLogType => "own-log-type",
        }
    }
}

/// The `eventTime` of [`Misbehave::TimelessEntry`]: `time` without its
/// offset (`2026-11-20T10:00:00`).
pub fn timeless_time(time: jiff::Timestamp) -> String {
    time.to_string().trim_end_matches('Z').to_owned()
}

/// The entry [`Misbehave::OwnLogType`] puts first on a query's first page.
pub fn own_log_type_entry(time: jiff::Timestamp) -> String {
    format!(
        r#"{{"logType":"UserCallPlay","gongLogType":"x","userId":"9999","eventTime":"{time}","logRecord":{{"misbehave":true}}}}"#
    )
}

impl fmt::Display for Misbehave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Misbehave {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Misbehave::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Misbehave::ALL.iter().map(|m| m.as_str()).collect();
                format!("unknown mode {s:?}; one of {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_round_trips_by_name() {
        let mut names = std::collections::HashSet::new();
        for mode in Misbehave::ALL {
            assert_eq!(mode.as_str().parse::<Misbehave>(), Ok(mode));
            assert!(names.insert(mode.as_str()), "{mode} twice");
        }
        let err = "nope".parse::<Misbehave>().unwrap_err();
        assert!(err.contains("drip-bytes"), "{err}");
    }
}
