//! The five log types and what each records.

/// A Gong log type: the generated enum of the spec's closed `logType` list.
pub use crate::generated::types::ListLogsLogType as LogType;

/// What a log type records and how long Gong keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogTypeInfo {
    /// The type.
    pub log_type: LogType,
    /// What one entry records.
    pub records: &'static str,
    /// Gong's retention for this type.
    pub retention: &'static str,
    /// Whether entries carry the `userId`/`userEmailAddress`/`userFullName` fields.
    pub has_user: bool,
}

impl LogTypeInfo {
    /// All five types, in the order of Gong's documentation.
    pub const ALL: [LogTypeInfo; 5] = [
        LogTypeInfo {
            log_type: LogType::AccessLog,
            records: "HTTP requests made to Gong by users: method, URL, status, headers, timing",
            retention: "14 days",
            has_user: true,
        },
        LogTypeInfo {
            log_type: LogType::UserActivityLog,
            records: "user actions that changed data or settings, with before/after values and impersonation",
            retention: "since March 2021",
            has_user: true,
        },
        LogTypeInfo {
            log_type: LogType::UserCallPlay,
            records: "users playing call recordings: call, speed, device, time played",
            retention: "since the company started using Gong",
            has_user: true,
        },
        LogTypeInfo {
            log_type: LogType::ExternallySharedCallAccess,
            records: "outside viewers opening a call shared externally: call, share id, viewer IP",
            retention: "since the company started using Gong",
            has_user: false,
        },
        LogTypeInfo {
            log_type: LogType::ExternallySharedCallPlay,
            records: "outside viewers playing a call shared externally",
            retention: "since the company started using Gong",
            has_user: false,
        },
    ];

    /// The info for one type. An exhaustive match: when the spec gains a
    /// log type, this stops compiling until the type is described here.
    pub fn of(log_type: LogType) -> &'static LogTypeInfo {
        let index = match log_type {
            LogType::AccessLog => 0,
            LogType::UserActivityLog => 1,
            LogType::UserCallPlay => 2,
            LogType::ExternallySharedCallAccess => 3,
            LogType::ExternallySharedCallPlay => 4,
        };
        &Self::ALL[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_finds_each_type() {
        for info in &LogTypeInfo::ALL {
            assert_eq!(LogTypeInfo::of(info.log_type), info);
        }
    }
}
