//! Durations as people read them, for messages (a leaf: no module of this
//! crate is imported).

use std::time::Duration;

/// A wait as people read it: `0s`, `1.5s`, `59s`, `2m 5s`, `2h 0m`, `1d 3h`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => {
            let text = format!("{:.3}", d.as_secs_f64());
            format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
        }
        60..3_600 => format!("{}m {}s", secs / 60, secs % 60),
        3_600..86_400 => format!("{}h {}m", secs / 3_600, secs % 3_600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_millis(1), "0.001s"),
            (Duration::from_secs(59), "59s"),
            (Duration::from_secs(125), "2m 5s"),
            (Duration::from_secs(7_200), "2h 0m"),
            (Duration::from_secs(86_400 + 3 * 3_600 + 5), "1d 3h"),
        ] {
            assert_eq!(human_duration(d), text);
        }
    }
}
