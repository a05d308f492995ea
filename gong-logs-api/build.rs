//! Compiles the reconciled OpenAPI spec into a Rust client with progenitor.
//!
//! The output goes to `$OUT_DIR/codegen.rs` and is included by
//! `src/generated.rs`; no hand-written code shares that file.

use std::{env, fs, path::PathBuf};

const SPEC: &str = "../openapi/gong-logs-v2.json";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");

    let file = fs::File::open(SPEC).unwrap_or_else(|e| panic!("cannot open {SPEC}: {e}"));
    let spec: openapiv3::OpenAPI = serde_json::from_reader(file)
        .unwrap_or_else(|e| panic!("{SPEC} is not a valid OpenAPI 3.0 document: {e}"));

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        // Every generated type describes itself as JSON Schema: a test
        // compares that with the spec's own schemas (drift fails), and the
        // schemas drive the generator of valid responses in tests.
        .with_derive("schemars::JsonSchema")
        // progenitor drops fields a struct does not name; an audit entry must
        // survive byte for byte, so the hand-written lossless type replaces it.
        .with_replacement("LogEntry", "crate::LogEntry", std::iter::empty());
    let mut generator = progenitor::Generator::new(&settings);

    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor failed on {SPEC}: {e}"));
    let ast: syn::File = syn::parse2(tokens).expect("progenitor emitted invalid Rust");
    let code = prettyplease::unparse(&ast);

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    fs::write(out.join("codegen.rs"), code).expect("cannot write codegen.rs");
}
