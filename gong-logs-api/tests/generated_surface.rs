//! Guards the generated surface: a spec change or a progenitor upgrade shows
//! up here as a reviewable snapshot diff.

use quote::ToTokens;

/// Token text without the spaces `quote` puts everywhere.
fn tidy(tokens: impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    let mut out = text
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& '", "&'")
        .replace("& ", "&")
        .replace(" : ", ": ")
        .replace(",>", ">")
        .replace(",::", ", ")
        .replace("derive (", "derive(");
    if out.starts_with("::") {
        out.drain(..2);
    }
    out.replace("<::", "<").replace("(::", "(")
}

fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| {
        if !attr.path().is_ident("serde") {
            return None;
        }
        let text = attr.meta.to_token_stream().to_string();
        let start = text.find("rename = \"")? + "rename = \"".len();
        let end = text[start..].find('"')? + start;
        Some(text[start..end].to_owned())
    })
}

fn list_items(items: &[syn::Item], module: &str, out: &mut Vec<String>) {
    for item in items {
        match item {
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let name = format!("{module}{}::", m.ident);
                    list_items(inner, &name, out);
                }
            }
            syn::Item::Struct(s) => {
                let derives: Vec<String> = s
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("derive"))
                    .map(|a| tidy(&a.meta))
                    .collect();
                out.push(format!("struct {module}{} {}", s.ident, derives.join(" ")));
                for field in &s.fields {
                    let name = field
                        .ident
                        .as_ref()
                        .map(|i| i.to_string())
                        .unwrap_or_default();
                    let wire = serde_rename(&field.attrs)
                        .map(|r| format!(" (wire: {r})"))
                        .unwrap_or_default();
                    out.push(format!("    {name}: {}{wire}", tidy(&field.ty)));
                }
            }
            syn::Item::Enum(e) => {
                out.push(format!("enum {module}{}", e.ident));
                for v in &e.variants {
                    out.push(format!("    {}", v.ident));
                }
            }
            syn::Item::Impl(i) => {
                let target = tidy(&i.self_ty);
                for impl_item in &i.items {
                    if let syn::ImplItem::Fn(f) = impl_item
                        && matches!(f.vis, syn::Visibility::Public(_))
                    {
                        let args: Vec<String> = f.sig.inputs.iter().map(tidy).collect();
                        let ret = match &f.sig.output {
                            syn::ReturnType::Default => String::new(),
                            syn::ReturnType::Type(_, ty) => format!(" -> {}", tidy(ty)),
                        };
                        let asyncness = if f.sig.asyncness.is_some() {
                            "async "
                        } else {
                            ""
                        };
                        out.push(
                            format!(
                                "fn {module}{target}::{}({}){ret} {asyncness}",
                                f.sig.ident,
                                args.join(", ")
                            )
                            .trim_end()
                            .to_owned(),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// The generated code itself, whole.
#[test]
fn generated_code() {
    insta::assert_snapshot!("generated_code", gong_logs_api::GENERATED_SOURCE);
}

/// A compact listing: the operation, its parameters and their Rust types, the
/// response and error types, and every generated type with its fields.
#[test]
fn generated_surface_listing() {
    let file = syn::parse_file(gong_logs_api::GENERATED_SOURCE).expect("generated code parses");
    let mut lines = Vec::new();
    list_items(&file.items, "", &mut lines);
    // The builder-side conversion impls are noise for a surface listing.
    lines.retain(|l| !l.contains("fn types::builder::") || l.contains("ListLogs"));
    insta::assert_snapshot!("generated_surface", lines.join("\n"));
}

/// The client sends the `api-version` header and uses builder style; the
/// replaced entry type is ours.
#[test]
fn generated_client_uses_lossless_entries() {
    let source = gong_logs_api::GENERATED_SOURCE;
    assert!(source.contains("::std::vec::Vec<crate::LogEntry>"));
    assert!(!source.contains("pub struct LogEntry"));
    assert!(source.contains("pub fn list_logs(&self) -> builder::ListLogs<'_>"));
}
