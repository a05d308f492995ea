use std::collections::BTreeMap;

use super::parse::{self, FileFacts};
use super::*;

fn m(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    path.split("::").map(str::to_owned).collect()
}

fn facts_of(files: &[(&str, &str)]) -> BTreeMap<Vec<String>, FileFacts> {
    files
        .iter()
        .map(|(module, text)| (m(module), parse::scan(&parse::tokens(text), &m(module))))
        .collect()
}

fn cycles_of(files: &[(&str, &str)]) -> Vec<String> {
    cycles(&edges(&facts_of(files)))
}

#[test]
fn comments_strings_and_chars_are_not_paths() {
    let text = r####"
        // use crate::a;
        /* use crate::b; /* nested */ use crate::c; */
        /// [`crate::d`]
        const S: &str = "crate::e";
        const R: &str = r#"use crate::f; "quoted""#;
        const C: char = '"';
        fn f<'a>(x: &'a str) -> char { let _ = b"crate::g"; '\'' }
        use crate::h;
    "####;
    let facts = parse::scan(&parse::tokens(text), &[]);
    assert_eq!(facts.paths, vec![m("h")]);
}

#[test]
fn use_trees_expand_and_paths_become_absolute() {
    let text = "use crate::a::{b, c::{d, e as f}, self};\nuse super::g;\nfn x() { super::super::h::i(); self::j::k(); }";
    let facts = parse::scan(&parse::tokens(text), &m("p::q"));
    assert_eq!(
        facts.paths,
        vec![
            m("a::b"),
            m("a::c::d"),
            m("a::c::e"),
            m("a"),
            m("p::g"),
            m("h::i"),
            m("p::q::j::k")
        ]
    );
}

#[test]
fn super_inside_an_inline_module_is_the_files_module() {
    let text = "#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::z;\n    #[test]\n    fn t() {}\n}\nfn after() {}";
    let facts = parse::scan(&parse::tokens(text), &m("a::b"));
    assert_eq!(facts.paths, vec![m("a::b::*"), m("a::z")]);
    let tests: Vec<bool> = facts.functions.iter().map(|f| f.test).collect();
    assert_eq!(tests, vec![true, false], "{:?}", facts.functions);
}

#[test]
fn function_extents_are_counted_and_declarations_skipped() {
    let text = "trait T { fn decl(&self); }\nfn long() {\n    let f: fn(u8) -> u8 = |x| x;\n    if true {\n    }\n}\n";
    let facts = parse::scan(&parse::tokens(text), &[]);
    assert_eq!(facts.functions.len(), 1);
    let f = &facts.functions[0];
    assert_eq!(
        (f.name.as_str(), f.first, f.last, f.lines()),
        ("long", 2, 6, 5)
    );
}

#[test]
fn a_cycle_between_siblings_is_found() {
    let found = cycles_of(&[
        ("", "mod a; mod b;"),
        ("a", "use crate::b::X;"),
        ("b", "fn f() { crate::a::g(); }"),
    ]);
    assert_eq!(found, vec!["crate::a -> crate::b -> crate::a"]);
}

#[test]
fn a_cycle_through_submodules_counts_for_their_parents() {
    // retry -> export::stats and export::coordinator -> retry: export and
    // retry, siblings at the root, call each other.
    let found = cycles_of(&[
        ("", ""),
        ("export", ""),
        ("export::stats", ""),
        ("export::coordinator", "use crate::retry::Requester;"),
        ("retry", "use crate::export::stats::Counters;"),
    ]);
    assert_eq!(
        found,
        vec!["crate::export -> crate::retry -> crate::export"]
    );
}

#[test]
fn parent_and_child_edges_are_not_cycles() {
    let found = cycles_of(&[
        ("", "pub use export::Exporter;"),
        (
            "export",
            "use chain::Chain; use crate::export::chain::Msg; use self::plan::x;",
        ),
        ("export::chain", "use super::Shared; use super::plan::y;"),
        ("export::plan", ""),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_name_the_root_re_exports_is_an_edge_to_its_module() {
    let facts = facts_of(&[
        (
            "",
            "mod auth; mod client; pub use auth::{Credentials, Secret};",
        ),
        ("auth", "use crate::client::Thing;"),
        ("client", "use crate::Credentials;"),
    ]);
    let edges = edges(&facts);
    assert!(edges.contains(&(m("client"), m("auth"))), "{edges:?}");
    assert_eq!(
        cycles(&edges),
        vec!["crate::auth -> crate::client -> crate::auth"]
    );
}

#[test]
fn files_map_to_modules() {
    assert_eq!(module_of("lib.rs"), m(""));
    assert_eq!(module_of("export/mod.rs"), m("export"));
    assert_eq!(module_of("export/plan.rs"), m("export::plan"));
    assert_eq!(module_of("retry.rs"), m("retry"));
}

#[test]
fn the_api_crate_has_no_cycle_and_fits_the_limits() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gong-logs-api/src");
    let findings = check_crate(&src, &CRATES[0]).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}
