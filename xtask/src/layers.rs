//! `cargo xtask check-layers`: each crate's modules stay in layers.
//!
//! For every crate of [`CRATES`], the modules are the files under its
//! `src/` (`a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`; `lib.rs` /
//! `main.rs` the root). An edge `m → n` is a path in `m` (see
//! [`parse`]) that names module `n` or an item of it: the longest prefix
//! of the path that is a module, after following re-exports
//! (`crate::Credentials` is `auth` when the root says
//! `pub use auth::Credentials`).
//!
//! **The rule.** For every module `p` (the root included), its children
//! taken each with its whole subtree must not form a cycle: an edge from
//! anywhere under child `a` to anywhere under another child `b` is an edge
//! `a → b`, and no chain of such edges may lead back to `a`. Edges between
//! a module and its own ancestors or descendants are not counted: a parent
//! uses its parts, and a part uses what its parent declares (`super::`);
//! that is one concern laid out in files, not two concerns calling each
//! other. So `export::chain → export::coordinator → export::chain` fails
//! (siblings under `export`), `retry → export::stats` together with
//! `export::coordinator → retry` fails (siblings `retry` and `export` at
//! the root), and `export::chain → export` (its parent) does not.
//!
//! Also checked: no `.rs` file over [`MAX_FILE_LINES`] lines (test modules
//! count), no function over [`MAX_FN_LINES`] lines outside test code. How
//! strict each check is per crate is the table [`CRATES`].

pub mod parse;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The most lines of a hand-written `.rs` file.
pub const MAX_FILE_LINES: usize = 600;
/// The most lines of a function that is not test code.
pub const MAX_FN_LINES: usize = 80;

/// What a finding does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fails the check.
    Fail,
    /// Printed as a warning.
    Warn,
    /// Not checked.
    Off,
}

/// One crate and how strictly each rule holds in it.
#[derive(Debug, Clone, Copy)]
pub struct CrateRule {
    /// Its `src/`, relative to the workspace root.
    pub src: &'static str,
    /// Import cycles between modules.
    pub cycles: Level,
    /// Files over [`MAX_FILE_LINES`].
    pub long_files: Level,
    /// Functions over [`MAX_FN_LINES`].
    pub long_fns: Level,
}

use Level::{Fail, Warn};

/// The table: the api crate and the CLI hold every rule; the simulator,
/// the test harness and xtask hold the layering, and their long files and
/// functions are reported.
pub const CRATES: &[CrateRule] = &[
    CrateRule {
        src: "gong-logs-api/src",
        cycles: Fail,
        long_files: Fail,
        long_fns: Fail,
    },
    CrateRule {
        src: "gong-logs-cli/src",
        cycles: Fail,
        long_files: Fail,
        long_fns: Fail,
    },
    CrateRule {
        src: "gong-logs-sim/src",
        cycles: Fail,
        long_files: Warn,
        long_fns: Warn,
    },
    CrateRule {
        src: "tests/src",
        cycles: Fail,
        long_files: Warn,
        long_fns: Warn,
    },
    CrateRule {
        src: "xtask/src",
        cycles: Fail,
        long_files: Warn,
        long_fns: Warn,
    },
];

/// Arguments of `cargo xtask check-layers`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Workspace root (default: this workspace).
    #[arg(long, value_name = "DIR", default_value_os_t = crate::reconcile::default_root())]
    pub root: PathBuf,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether it fails the check.
    pub level: Level,
    /// What, where.
    pub what: String,
}

/// Runs the check over [`CRATES`]; fails when any finding is [`Level::Fail`].
pub fn run(args: &Args) -> Result<std::process::ExitCode> {
    let mut failures = 0;
    for rule in CRATES {
        let src = args.root.join(rule.src);
        let findings =
            check_crate(&src, rule).with_context(|| format!("reading {}", src.display()))?;
        for f in &findings {
            let tag = if f.level == Fail { "error" } else { "warning" };
            eprintln!("{tag}: {}: {}", rule.src, f.what);
        }
        failures += findings.iter().filter(|f| f.level == Fail).count();
    }
    if failures > 0 {
        bail!("{failures} layering problem(s); see above");
    }
    eprintln!(
        "check-layers: no cycle between modules, no file over {MAX_FILE_LINES} lines, no function over {MAX_FN_LINES} where it fails"
    );
    Ok(std::process::ExitCode::SUCCESS)
}

/// Module path → (file, its source).
pub type Sources = BTreeMap<Vec<String>, (String, String)>;

/// Reads every `.rs` file under `src`.
pub fn read_sources(src: &Path) -> Result<Sources> {
    let mut out = Sources::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src)?.to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path)?;
                out.insert(module_of(&rel), (rel, text));
            }
        }
    }
    Ok(out)
}

/// The module path of a file relative to `src/`.
pub fn module_of(rel: &str) -> Vec<String> {
    let stem = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Every finding of one crate.
pub fn check_crate(src: &Path, rule: &CrateRule) -> Result<Vec<Finding>> {
    let sources = read_sources(src)?;
    let mut findings = Vec::new();
    let facts: BTreeMap<Vec<String>, parse::FileFacts> = sources
        .iter()
        .map(|(m, (_, text))| (m.clone(), parse::scan(&parse::tokens(text), m)))
        .collect();
    if rule.cycles != Level::Off {
        let edges = edges(&facts);
        for cycle in cycles(&edges) {
            findings.push(Finding {
                level: rule.cycles,
                what: format!("import cycle: {cycle}"),
            });
        }
    }
    for (module, (file, text)) in &sources {
        let lines = text.lines().count();
        if rule.long_files != Level::Off && lines > MAX_FILE_LINES {
            findings.push(Finding {
                level: rule.long_files,
                what: format!("{file}: {lines} lines (at most {MAX_FILE_LINES})"),
            });
        }
        // A module named `tests` (`#[cfg(test)] mod tests;` in its own
        // file) is test code as a whole, like an inline one.
        let test_file = module.last().map(String::as_str) == Some("tests");
        for f in facts[module]
            .functions
            .iter()
            .filter(|f| !f.test && !test_file)
        {
            if rule.long_fns != Level::Off && f.lines() > MAX_FN_LINES {
                findings.push(Finding {
                    level: rule.long_fns,
                    what: format!(
                        "{file}:{}: fn {} is {} lines (at most {MAX_FN_LINES})",
                        f.first,
                        f.name,
                        f.lines()
                    ),
                });
            }
        }
    }
    Ok(findings)
}

/// The module → module edges (each module a file; resolved as the module
/// docs say), self-edges left out.
pub fn edges(
    facts: &BTreeMap<Vec<String>, parse::FileFacts>,
) -> BTreeSet<(Vec<String>, Vec<String>)> {
    let modules: BTreeSet<Vec<String>> = facts.keys().cloned().collect();
    let reexports: BTreeMap<(Vec<String>, String), Vec<String>> = facts
        .iter()
        .flat_map(|(m, f)| {
            f.reexports
                .iter()
                .map(move |(name, path)| ((m.clone(), name.clone()), path.clone()))
        })
        .collect();
    let mut out = BTreeSet::new();
    for (from, f) in facts {
        for path in &f.paths {
            let to = resolve(path, &modules, &reexports, 0);
            if &to != from {
                out.insert((from.clone(), to));
            }
        }
    }
    out
}

/// The module a path names: its longest prefix that is a module, or,
/// when the next segment is a name that module re-exports, the module of
/// what it re-exports (followed a few levels at most).
fn resolve(
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
    reexports: &BTreeMap<(Vec<String>, String), Vec<String>>,
    depth: usize,
) -> Vec<String> {
    let mut module = Vec::new();
    for (k, segment) in path.iter().enumerate() {
        let mut longer = module.clone();
        longer.push(segment.clone());
        if modules.contains(&longer) {
            module = longer;
            continue;
        }
        if depth < 4
            && let Some(target) = reexports.get(&(module.clone(), segment.clone()))
        {
            let mut full = target.clone();
            full.extend(path[k + 1..].iter().cloned());
            return resolve(&full, modules, reexports, depth + 1);
        }
        break;
    }
    module
}

/// Whether `a` is `b` or an ancestor of it.
fn is_prefix(a: &[String], b: &[String]) -> bool {
    b.starts_with(a)
}

/// Every cycle among the children of some module (each child with its
/// subtree), as `a -> b -> a` (paths from the crate root, `crate` for it).
pub fn cycles(edges: &BTreeSet<(Vec<String>, Vec<String>)>) -> Vec<String> {
    // Sibling edges: for the common parent p of `from` and `to` (neither
    // an ancestor of the other), the children of p they lie under.
    let mut by_parent: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (from, to) in edges {
        if is_prefix(from, to) || is_prefix(to, from) {
            continue;
        }
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        by_parent
            .entry(from[..common].to_vec())
            .or_default()
            .insert((from[common].clone(), to[common].clone()));
    }
    let mut out = Vec::new();
    for (parent, sibling_edges) in by_parent {
        for cycle in find_cycles(&sibling_edges) {
            let names: Vec<String> = cycle.iter().map(|c| display(&parent, c)).collect();
            out.push(names.join(" -> "));
        }
    }
    out
}

fn display(parent: &[String], child: &str) -> String {
    let mut path = vec!["crate".to_owned()];
    path.extend(parent.iter().cloned());
    path.push(child.to_owned());
    path.join("::")
}

/// The cycles of a small directed graph: for each strongly connected set
/// of nodes (more than one), one cycle through its smallest node, closed
/// (`[a, b, a]`).
fn find_cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let reach = |from: &str| -> BTreeMap<String, String> {
        // Breadth-first: node -> the node it was reached from.
        let mut seen = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([from.to_owned()]);
        while let Some(n) = queue.pop_front() {
            for (_, to) in edges.iter().filter(|(f, _)| *f == n) {
                if !seen.contains_key(to) {
                    seen.insert(to.clone(), n.clone());
                    queue.push_back(to.clone());
                }
            }
        }
        seen
    };
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    let mut reported: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for node in nodes {
        if reported.contains(node) {
            continue;
        }
        let seen = reach(node);
        if !seen.contains_key(node) {
            continue;
        }
        // Walk the predecessors back from `node` to itself.
        let mut cycle = vec![node.clone()];
        let mut at = seen[node].clone();
        while &at != node && cycle.len() <= seen.len() {
            cycle.push(at.clone());
            at = seen[&at].clone();
        }
        cycle.push(node.clone());
        cycle.reverse();
        // Every node on a cycle through `node` is in its set: report once.
        reported.extend(seen.keys().filter(|n| reach(n).contains_key(node)).cloned());
        out.push(cycle);
    }
    out
}

#[cfg(test)]
mod tests;
