//! `gong-logs man [COMMAND]`: the roff manual pages, one per command
//! (`gong-logs(1)`, `gong-logs-fetch(1)`, `gong-logs-auth-check(1)`, …),
//! rendered by `clap_mangen` from the same definitions as `--help`. The
//! after-help text (examples, notes) and the exit codes ([`exit::MEANINGS`])
//! become sections of their own.

use clap::CommandFactory as _;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::Cli;
use crate::exit;

/// One manual page.
#[derive(Debug)]
pub struct Page {
    /// The page's name: `gong-logs`, `gong-logs-fetch`, `gong-logs-config-path`.
    pub name: String,
    /// The roff source.
    pub roff: String,
}

impl Page {
    /// Its file name in section 1: `gong-logs-fetch.1`.
    pub fn file_name(&self) -> String {
        format!("{}.1", self.name)
    }
}

/// Every page, `gong-logs(1)` first, then each command's before its
/// subcommands'.
pub fn pages() -> Vec<Page> {
    let root = root();
    let mut commands = Vec::new();
    walk(&root, &mut commands);
    commands.into_iter().map(render).collect()
}

/// The page of the command named by `words` (`[]`: `gong-logs`;
/// `["config", "path"]`: `gong-logs-config-path`); `None` when there is no
/// such command.
pub fn page(words: &[String]) -> Option<Page> {
    let root = root();
    let found = words.iter().try_fold(&root, |cmd, word| {
        cmd.get_subcommands()
            .find(|c| c.get_name() == word && !c.is_hide_set())
    })?;
    Some(render(found))
}

/// The parser's definitions, built (so each subcommand knows its full name),
/// without the `help` subcommand (it has no page).
fn root() -> clap::Command {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    root
}

fn walk<'a>(cmd: &'a clap::Command, out: &mut Vec<&'a clap::Command>) {
    out.push(cmd);
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        walk(sub, out);
    }
}

fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned()
}

/// NAME, SYNOPSIS, DESCRIPTION, the options by heading and the commands
/// from clap_mangen; then EXIT STATUS, NOTES, EXAMPLES and SEE ALSO.
fn render(cmd: &clap::Command) -> Page {
    let name = page_name(cmd);
    // The after-help text is split into our sections below; the version is
    // in the footer (.TH's source).
    let standard = cmd
        .clone()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>)
        .version(None::<&str>)
        .long_version(None::<&str>);
    let mut out = Vec::new();
    clap_mangen::Man::new(standard)
        .render(&mut out)
        .expect("writing to a Vec");
    let mut out = finish(&String::from_utf8_lossy(&out), &name).into_bytes();
    let mut roff = Roff::new();
    exit_status(&mut roff);
    let after_help = cmd.get_after_help().map(ToString::to_string);
    let (notes, examples) = split_after_help(after_help.as_deref().unwrap_or_default());
    section(&mut roff, "NOTES", &notes);
    section(&mut roff, "EXAMPLES", &examples);
    see_also(&mut roff, cmd);
    // Without the preamble of its own (the page's first two lines).
    let extra = roff.render();
    let extra = extra.splitn(3, '\n').nth(2).unwrap_or_default();
    out.extend_from_slice(extra.as_bytes());
    Page {
        name,
        roff: String::from_utf8(out).expect("roff of UTF-8 text is UTF-8"),
    }
}

/// Replaces clap_mangen's `.TH` line, whose empty date is no argument at
/// all (the source then shows as the date), with one that quotes each:
/// title, section, date (none: the page is the same for every build),
/// source (the footer), manual (the header). Non-ASCII characters become
/// `\[uXXXX]` escapes, which every formatter reads (groff without preconv
/// does not read UTF-8).
fn finish(roff: &str, name: &str) -> String {
    let title = format!(
        ".TH \"{}\" 1 \"\" \"gong\\-logs {}\" \"User Commands\"",
        name.to_uppercase().replace('-', "\\-"),
        env!("CARGO_PKG_VERSION")
    );
    roff.lines()
        .map(|line| {
            if line.starts_with(".TH ") {
                &title
            } else {
                line
            }
        })
        .fold(String::with_capacity(roff.len() + 64), |mut text, line| {
            text.push_str(&ascii(line));
            text.push('\n');
            text
        })
}

fn ascii(line: &str) -> std::borrow::Cow<'_, str> {
    if line.is_ascii() {
        return line.into();
    }
    line.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                format!("\\[u{:04X}]", u32::from(c))
            }
        })
        .collect::<String>()
        .into()
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in exit::MEANINGS {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(*meaning)]);
    }
}

/// A paragraph of the after-help text, its lines as written.
type Block<'a> = Vec<&'a str>;

/// The after-help text as (notes, examples): paragraphs after the line
/// `Examples:` whose lines are all indented are examples; every other
/// paragraph is a note, except the one on exit codes (EXIT STATUS says it).
fn split_after_help(text: &str) -> (Vec<Block<'_>>, Vec<Block<'_>>) {
    let (mut notes, mut examples) = (Vec::new(), Vec::new());
    let mut in_examples = false;
    for paragraph in text.split("\n\n") {
        let mut lines: Block<'_> = paragraph.lines().collect();
        if lines.first() == Some(&"Examples:") {
            in_examples = true;
            lines.remove(0);
        }
        if lines.is_empty() || lines[0].starts_with("Exit codes:") {
            continue;
        }
        if in_examples && lines.iter().all(|l| l.starts_with(' ')) {
            examples.push(lines);
        } else {
            notes.push(lines);
        }
    }
    (notes, examples)
}

/// A section of paragraphs: plain lines filled, indented lines kept as
/// they are (commands, file samples), indented by 4.
fn section(roff: &mut Roff, title: &str, blocks: &[Block<'_>]) {
    if blocks.is_empty() {
        return;
    }
    roff.control("SH", [title]);
    for block in blocks {
        roff.control("PP", []);
        let indent = block
            .iter()
            .filter(|l| l.starts_with(' '))
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let mut verbatim = false;
        for line in block {
            let indented = line.starts_with(' ');
            if indented != verbatim {
                if indented {
                    roff.control("RS", ["4"]).control("nf", []);
                } else {
                    roff.control("fi", []).control("RE", []);
                }
                verbatim = indented;
            }
            roff.text([roman(if indented { &line[indent..] } else { line })]);
        }
        if verbatim {
            roff.control("fi", []).control("RE", []);
        }
    }
}

/// The parent's page and the subcommands' pages.
fn see_also(roff: &mut Roff, cmd: &clap::Command) {
    let name = page_name(cmd);
    let mut related: Vec<String> = Vec::new();
    if let Some((parent, _)) = name.rsplit_once('-').filter(|_| name != "gong-logs") {
        related.push(parent.to_owned());
    }
    related.extend(
        cmd.get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(page_name),
    );
    if related.is_empty() {
        return;
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut line = Vec::new();
    for (i, page) in related.into_iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(page));
        line.push(roman("(1)"));
    }
    roff.text(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_named_after_it() {
        let names: Vec<String> = pages().into_iter().map(|p| p.name).collect();
        for expected in [
            "gong-logs",
            "gong-logs-fetch",
            "gong-logs-config-path",
            "gong-logs-auth-check",
            "gong-logs-man",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
        }
        assert!(!names.iter().any(|n| n.ends_with("-help")), "{names:?}");
    }

    #[test]
    fn after_help_splits_into_notes_and_examples() {
        let text = "Intro line\nsecond\n\n  [sample]\n\nExamples:\n  # one\n  cmd one\n\nTIME: a note\n\nExit codes: 0 ok";
        let (notes, examples) = split_after_help(text);
        assert_eq!(
            notes,
            vec![
                vec!["Intro line", "second"],
                vec!["  [sample]"],
                vec!["TIME: a note"]
            ]
        );
        assert_eq!(examples, vec![vec!["  # one", "  cmd one"]]);
    }

    #[test]
    fn the_help_names_every_exit_code_of_the_man_pages() {
        let help = Cli::command().get_after_help().unwrap().to_string();
        let line = help
            .split("\n\n")
            .find(|p| p.starts_with("Exit codes:"))
            .unwrap()
            .replace('\n', " ");
        for (code, _) in exit::MEANINGS {
            assert!(line.contains(&format!(" {code} ")), "{code}: {line}");
        }
    }

    #[test]
    fn pages_are_ascii_with_a_quoted_title() {
        for page in pages() {
            assert!(page.roff.is_ascii(), "{}", page.name);
            let th = page.roff.lines().find(|l| l.starts_with(".TH ")).unwrap();
            let tail = format!(
                " 1 \"\" \"gong\\-logs {}\" \"User Commands\"",
                env!("CARGO_PKG_VERSION")
            );
            assert!(th.ends_with(&tail), "{th}");
            assert_eq!(page.roff.matches(".ds Aq").count(), 2, "{}", page.roff);
        }
        assert!(ascii("N\u{2212}1").contains("N\\[u2212]1"));
    }

    #[test]
    fn the_parent_and_the_subcommands_are_seen_also() {
        let roff = page(&["config".into()]).unwrap().roff;
        let see_also = roff.split(".SH \"SEE ALSO\"").nth(1).unwrap();
        assert!(see_also.contains("\\fBgong\\-logs\\fR(1)"), "{see_also}");
        assert!(
            see_also.contains("\\fBgong\\-logs\\-config\\-path\\fR(1)"),
            "{see_also}"
        );
        assert!(page(&["nope".into()]).is_none());
    }
}
