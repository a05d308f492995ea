//! Text that fits a terminal: widths in display columns (a CJK character
//! or an emoji takes two, a combining mark none), cut with an ellipsis.

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// The narrowest terminal lines are fitted to.
pub const MIN_WIDTH: usize = 20;

/// Display columns of `text`.
pub fn width(text: &str) -> usize {
    text.width()
}

/// `text` cut to at most `max` display columns, ending with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.width() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    // Not `-   …` when the cut falls in a column's padding.
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// `text` cut to `max` columns, then padded with spaces to exactly `max`.
pub fn pad(text: &str, max: usize) -> String {
    let mut out = cut(text, max);
    let w = out.width();
    out.extend(std::iter::repeat_n(' ', max.saturating_sub(w)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(width("日本語"), 6);
        assert_eq!(width("a😀b"), 4);
        assert_eq!(cut("日本語テキスト", 7), "日本語…");
        assert_eq!(width(&cut("日本語テキスト", 6)), 5);
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdefg", 6), "abcde…");
        assert_eq!(pad("日本", 6), "日本  ");
        assert_eq!(pad("日本語テキスト", 6), "日本… ");
        assert_eq!(cut("-      x", 5), "-…");
        assert_eq!(cut("abc", 0), "");
    }
}
