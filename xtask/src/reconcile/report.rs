//! What changed on one operation's surface between two upstream specs:
//! parameters, responses and their headers, and every schema the operation
//! reaches through `$ref`s, named like `logEntry.eventTime: string -> integer`.
//!
//! Every key of every compared object is looked at: the ones people care
//! about get a specific line (a parameter became required, an enum value was
//! added), the rest get a generic `key old -> new` line, so a change cannot
//! slip through unreported. Keys that the patch file strips as noise are
//! ignored.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::pointer::preview;
use super::walk;

/// Where a line of the report goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Document,
    Operation,
    Parameters,
    Responses,
    Schemas,
    Descriptions,
    Examples,
}

const SECTIONS: &[(Section, &str)] = &[
    (Section::Document, "Document (info, servers, tags)"),
    (Section::Operation, "Operation"),
    (Section::Parameters, "Parameters"),
    (Section::Responses, "Responses"),
    (Section::Schemas, "Schemas (reached through $ref)"),
    (Section::Descriptions, "Descriptions changed"),
    (Section::Examples, "Examples changed"),
];

/// The changes found on one operation's surface.
#[derive(Debug, Clone, Default)]
pub struct Report {
    operation: String,
    lines: Vec<(Section, String)>,
}

impl Report {
    /// True when nothing changed on the surface.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Number of changes found.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Every change line, without section headings.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|(_, line)| line.as_str())
    }

    /// The report for people: `old` and `new` name the two files.
    pub fn render(&self, old: &str, new: &str) -> String {
        let mut out = String::new();
        if self.is_empty() {
            let _ = writeln!(
                out,
                "No changes on the {} surface between {old} and {new}.",
                self.operation
            );
            return out;
        }
        let _ = writeln!(out, "Changes on the {} surface", self.operation);
        let _ = writeln!(out, "  from {old}");
        let _ = writeln!(out, "  to   {new}");
        for (section, title) in SECTIONS {
            let lines: Vec<&str> = self
                .lines
                .iter()
                .filter(|(s, _)| s == section)
                .map(|(_, l)| l.as_str())
                .collect();
            if lines.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title}:");
            for line in lines {
                let _ = writeln!(out, "  {line}");
            }
        }
        let n = self.len();
        let _ = writeln!(out, "\n{n} change{}.", if n == 1 { "" } else { "s" });
        out
    }
}

/// Compares `method path` in two whole upstream documents, ignoring `noise`
/// keys.
pub fn surface_report(
    old: &Value,
    new: &Value,
    method: &str,
    path: &str,
    noise: &[&str],
) -> Report {
    let old = without_noise(old, noise);
    let new = without_noise(new, noise);
    let mut differ = Differ {
        old: &old,
        new: &new,
        report: Report {
            operation: format!("{} {path}", method.to_uppercase()),
            lines: Vec::new(),
        },
    };
    differ.run(method, path);
    differ.report
}

fn without_noise(doc: &Value, noise: &[&str]) -> Value {
    let mut doc = doc.clone();
    let _ = walk::keyword_objects_mut(&mut doc, &mut |map| {
        for key in noise {
            map.shift_remove(*key);
        }
        Ok::<(), ()>(())
    });
    doc
}

struct Differ<'a> {
    old: &'a Value,
    new: &'a Value,
    report: Report,
}

static EMPTY: Value = Value::Null;

/// A JSON object.
type Object = Map<String, Value>;

impl<'a> Differ<'a> {
    fn push(&mut self, section: Section, line: String) {
        self.report.lines.push((section, line));
    }

    fn run(&mut self, method: &str, path: &str) {
        let (old_doc, new_doc) = (self.old, self.new);
        let old_item = old_doc.get("paths").and_then(|p| p.get(path));
        let new_item = new_doc.get("paths").and_then(|p| p.get(path));
        let old_op = old_item
            .and_then(|i| i.get(method))
            .and_then(Value::as_object);
        let new_op = new_item
            .and_then(|i| i.get(method))
            .and_then(Value::as_object);
        let op_name = self.report.operation.clone();
        let (old_op, new_op) = match (old_op, new_op) {
            (Some(o), Some(n)) => (o, n),
            (Some(_), None) => {
                return self.push(
                    Section::Operation,
                    format!("- {op_name} is gone from the new spec"),
                );
            }
            (None, Some(_)) => {
                return self.push(
                    Section::Operation,
                    format!("+ {op_name} appears in the new spec (it was missing)"),
                );
            }
            (None, None) => {
                return self.push(Section::Operation, format!("{op_name} is in neither spec"));
            }
        };

        self.document(old_op, new_op);
        for key in union(old_op, new_op) {
            let (o, n) = (old_op.get(key), new_op.get(key));
            if o == n {
                continue;
            }
            match key {
                "parameters" => {}
                "responses" => self.responses(o.unwrap_or(&EMPTY), n.unwrap_or(&EMPTY)),
                "description" => self.description("operation", o, n),
                _ => self.generic(Section::Operation, "operation", key, o, n),
            }
        }
        let old_params = parameters(old_doc, old_item, old_op);
        let new_params = parameters(new_doc, new_item, new_op);
        self.parameters(&old_params, &new_params);
        self.schemas(old_op, new_op);
    }

    /// info, servers, security and the tags the operation uses: they flow
    /// into the reconciled spec too.
    fn document(&mut self, old_op: &Map<String, Value>, new_op: &Map<String, Value>) {
        let (old_doc, new_doc) = (self.old, self.new);
        for key in ["openapi", "servers", "security"] {
            let (o, n) = (old_doc.get(key), new_doc.get(key));
            if o != n {
                self.generic(Section::Document, "document", key, o, n);
            }
        }
        let empty = Map::new();
        let old_info = old_doc
            .get("info")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let new_info = new_doc
            .get("info")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for key in union(old_info, new_info) {
            let (o, n) = (old_info.get(key), new_info.get(key));
            if o == n {
                continue;
            }
            if key == "description" {
                self.description("info", o, n);
            } else {
                self.generic(Section::Document, "info", key, o, n);
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for op in [old_op, new_op] {
            for name in op
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        for name in names {
            let find = |doc: &Value| {
                doc.get("tags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            let (o, n) = (find(old_doc), find(new_doc));
            let label = format!("tag `{name}`");
            for key in union(&o, &n) {
                let (ov, nv) = (o.get(key), n.get(key));
                if ov == nv {
                    continue;
                }
                if key == "description" {
                    self.description(&label, ov, nv);
                } else {
                    self.generic(Section::Document, &label, key, ov, nv);
                }
            }
        }
    }

    fn parameters(
        &mut self,
        old: &[(String, Map<String, Value>)],
        new: &[(String, Map<String, Value>)],
    ) {
        let find = |list: &[(String, Map<String, Value>)], key: &str| {
            list.iter().find(|(k, _)| k == key).map(|(_, p)| p.clone())
        };
        let old_common: Vec<&str> = old
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| find(new, k).is_some())
            .collect();
        let new_common: Vec<&str> = new
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| find(old, k).is_some())
            .collect();
        if old_common != new_common {
            let names = |keys: &[&str]| {
                keys.iter()
                    .map(|k| k.rsplit(' ').next().unwrap_or(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.push(
                Section::Parameters,
                format!(
                    "~ parameter order changed: {} -> {}",
                    names(&old_common),
                    names(&new_common)
                ),
            );
        }
        for (key, o) in old {
            match find(new, key) {
                None => self.push(
                    Section::Parameters,
                    format!("- {key}: {}", parameter_summary(o)),
                ),
                Some(n) => self.parameter(key, o, &n),
            }
        }
        for (key, n) in new {
            if find(old, key).is_none() {
                self.push(
                    Section::Parameters,
                    format!("+ {key}: {}", parameter_summary(n)),
                );
            }
        }
    }

    fn parameter(&mut self, label: &str, o: &Map<String, Value>, n: &Map<String, Value>) {
        for key in union(o, n) {
            let (ov, nv) = (o.get(key), n.get(key));
            if ov == nv {
                continue;
            }
            match key {
                "required" => {
                    let now = nv.and_then(Value::as_bool).unwrap_or(false);
                    self.push(
                        Section::Parameters,
                        format!(
                            "~ {label}: now {}",
                            if now { "required" } else { "optional" }
                        ),
                    );
                }
                "schema" => self.schema(
                    Section::Parameters,
                    label,
                    ov.unwrap_or(&EMPTY),
                    nv.unwrap_or(&EMPTY),
                ),
                "description" => self.description(label, ov, nv),
                "example" | "examples" => self.example(label, ov, nv),
                _ => self.generic(Section::Parameters, label, key, ov, nv),
            }
        }
    }

    fn responses(&mut self, old: &Value, new: &Value) {
        let empty = Map::new();
        let old = old.as_object().unwrap_or(&empty);
        let new = new.as_object().unwrap_or(&empty);
        for status in union(old, new) {
            let label = format!("response {status}");
            if let Some((o, n)) =
                self.added_or_removed(&label, old.get(status), new.get(status), response_summary)
            {
                self.response(&label, o, n);
            }
        }
    }

    /// Resolves a named response or header on both sides; reports it as
    /// added or removed when only one side has it, and returns both when
    /// both have it and they differ.
    fn added_or_removed<'v>(
        &mut self,
        label: &str,
        old: Option<&'v Value>,
        new: Option<&'v Value>,
        summary: fn(&Map<String, Value>) -> String,
    ) -> Option<(&'v Object, &'v Object)>
    where
        'a: 'v,
    {
        let o = old.map(|v| deref(self.old, v)).and_then(Value::as_object);
        let n = new.map(|v| deref(self.new, v)).and_then(Value::as_object);
        match (o, n) {
            (Some(o), None) => {
                self.push(
                    Section::Responses,
                    format!("- {label} removed ({})", summary(o)),
                );
                None
            }
            (None, Some(n)) => {
                self.push(
                    Section::Responses,
                    format!("+ {label} added ({})", summary(n)),
                );
                None
            }
            (Some(o), Some(n)) if o != n => Some((o, n)),
            _ => None,
        }
    }

    fn response(&mut self, label: &str, o: &Map<String, Value>, n: &Map<String, Value>) {
        let empty = Map::new();
        for key in union(o, n) {
            let (ov, nv) = (o.get(key), n.get(key));
            if ov == nv {
                continue;
            }
            match key {
                "description" => self.description(label, ov, nv),
                "headers" => {
                    let oh = ov.and_then(Value::as_object).unwrap_or(&empty);
                    let nh = nv.and_then(Value::as_object).unwrap_or(&empty);
                    for name in union(oh, nh) {
                        let header = format!("{label} header `{name}`");
                        if let Some((ho, hn)) = self.added_or_removed(
                            &header,
                            oh.get(name),
                            nh.get(name),
                            header_summary,
                        ) {
                            self.parameter_like_header(&header, ho, hn);
                        }
                    }
                }
                "content" => {
                    let oc = ov.and_then(Value::as_object).unwrap_or(&empty);
                    let nc = nv.and_then(Value::as_object).unwrap_or(&empty);
                    for media in union(oc, nc) {
                        let body = format!("{label} body ({media})");
                        match (oc.get(media), nc.get(media)) {
                            (Some(m), None) => self.push(
                                Section::Responses,
                                format!(
                                    "- {body} removed: {}",
                                    full_type(m.get("schema").unwrap_or(&EMPTY))
                                ),
                            ),
                            (None, Some(m)) => self.push(
                                Section::Responses,
                                format!(
                                    "+ {body} added: {}",
                                    full_type(m.get("schema").unwrap_or(&EMPTY))
                                ),
                            ),
                            (Some(mo), Some(mn)) if mo != mn => self.media_type(&body, mo, mn),
                            _ => {}
                        }
                    }
                }
                _ => self.generic(Section::Responses, label, key, ov, nv),
            }
        }
    }

    fn parameter_like_header(
        &mut self,
        label: &str,
        o: &Map<String, Value>,
        n: &Map<String, Value>,
    ) {
        for key in union(o, n) {
            let (ov, nv) = (o.get(key), n.get(key));
            if ov == nv {
                continue;
            }
            match key {
                "schema" => self.schema(
                    Section::Responses,
                    label,
                    ov.unwrap_or(&EMPTY),
                    nv.unwrap_or(&EMPTY),
                ),
                "description" => self.description(label, ov, nv),
                "example" | "examples" => self.example(label, ov, nv),
                _ => self.generic(Section::Responses, label, key, ov, nv),
            }
        }
    }

    fn media_type(&mut self, label: &str, o: &Value, n: &Value) {
        let empty = Map::new();
        let o = o.as_object().unwrap_or(&empty);
        let n = n.as_object().unwrap_or(&empty);
        for key in union(o, n) {
            let (ov, nv) = (o.get(key), n.get(key));
            if ov == nv {
                continue;
            }
            match key {
                "schema" => self.schema(
                    Section::Responses,
                    label,
                    ov.unwrap_or(&EMPTY),
                    nv.unwrap_or(&EMPTY),
                ),
                "example" | "examples" => self.example(label, ov, nv),
                _ => self.generic(Section::Responses, label, key, ov, nv),
            }
        }
    }

    /// Component schemas reached from the operation, compared by name.
    fn schemas(&mut self, old_op: &Map<String, Value>, new_op: &Map<String, Value>) {
        let old_names = reachable_schemas(self.old, old_op);
        let new_names = reachable_schemas(self.new, new_op);
        let schema = |doc: &Value, name: &str| {
            doc.pointer(&format!(
                "/components/schemas/{}",
                super::pointer::escape(name)
            ))
            .cloned()
        };
        for name in &old_names {
            let o = schema(self.old, name).unwrap_or_default();
            if !new_names.contains(name) {
                self.push(
                    Section::Schemas,
                    format!("- schema `{name}` no longer referenced ({})", full_type(&o)),
                );
                continue;
            }
            let n = schema(self.new, name).unwrap_or_default();
            if o != n {
                self.schema(Section::Schemas, name, &o, &n);
            }
        }
        for name in new_names.iter().filter(|n| !old_names.contains(n)) {
            let n = schema(self.new, name).unwrap_or_default();
            self.push(
                Section::Schemas,
                format!("+ schema `{name}` now referenced: {}", with_fields(&n)),
            );
        }
    }

    /// Compares two schemas; `label` names the place (`logEntry.eventTime`).
    fn schema(&mut self, section: Section, label: &str, o: &Value, n: &Value) {
        let (ot, nt) = (shallow_type(o), shallow_type(n));
        if ot != nt {
            self.push(section, format!("~ {label}: {ot} -> {nt}"));
        }
        if o.get("$ref").is_some() || n.get("$ref").is_some() {
            // A reference's target is compared under its own name.
            return;
        }
        let empty = Map::new();
        let om = o.as_object().unwrap_or(&empty);
        let nm = n.as_object().unwrap_or(&empty);
        for key in union(om, nm) {
            let (ov, nv) = (om.get(key), nm.get(key));
            if ov == nv {
                continue;
            }
            match key {
                "type" | "format" => {}
                "enum" => self.enumeration(section, label, ov, nv),
                "properties" => self.properties(section, label, ov, nv),
                "required" => self.required(section, label, ov, nv),
                "items" => match (ov, nv) {
                    (Some(io), Some(inn)) => self.schema(section, &format!("{label}[]"), io, inn),
                    _ => self.generic(section, label, key, ov, nv),
                },
                "additionalProperties" => match (ov, nv) {
                    (Some(ao @ Value::Object(_)), Some(an @ Value::Object(_))) => {
                        self.schema(section, &format!("{label}.*"), ao, an)
                    }
                    _ => self.generic(section, label, key, ov, nv),
                },
                "description" => self.description(label, ov, nv),
                "example" => self.example(label, ov, nv),
                _ => self.generic(section, label, key, ov, nv),
            }
        }
    }

    fn properties(&mut self, section: Section, label: &str, o: Option<&Value>, n: Option<&Value>) {
        let empty = Map::new();
        let o = o.and_then(Value::as_object).unwrap_or(&empty);
        let n = n.and_then(Value::as_object).unwrap_or(&empty);
        for name in union(o, n) {
            let field = format!("{label}.{name}");
            match (o.get(name), n.get(name)) {
                (Some(po), None) => self.push(
                    section,
                    format!("- {field}: {} (field removed)", full_type(po)),
                ),
                (None, Some(pn)) => self.push(
                    section,
                    format!("+ {field}: {} (field added)", with_fields(pn)),
                ),
                (Some(po), Some(pn)) if po != pn => self.schema(section, &field, po, pn),
                _ => {}
            }
        }
    }

    fn enumeration(&mut self, section: Section, label: &str, o: Option<&Value>, n: Option<&Value>) {
        match (o.and_then(Value::as_array), n.and_then(Value::as_array)) {
            (Some(o), Some(n)) => {
                for value in n.iter().filter(|v| !o.contains(v)) {
                    self.push(section, format!("~ {label}: enum value {value} added"));
                }
                for value in o.iter().filter(|v| !n.contains(v)) {
                    self.push(section, format!("~ {label}: enum value {value} removed"));
                }
                let kept_o: Vec<_> = o.iter().filter(|v| n.contains(v)).collect();
                let kept_n: Vec<_> = n.iter().filter(|v| o.contains(v)).collect();
                if kept_o != kept_n {
                    self.push(section, format!("~ {label}: enum values reordered"));
                }
            }
            (None, Some(n)) => self.push(
                section,
                format!(
                    "~ {label}: now an enum of {}",
                    preview(&Value::Array(n.clone()))
                ),
            ),
            (Some(o), None) => self.push(
                section,
                format!(
                    "~ {label}: no longer an enum (was {})",
                    preview(&Value::Array(o.clone()))
                ),
            ),
            (None, None) => self.generic(section, label, "enum", o, n),
        }
    }

    fn required(&mut self, section: Section, label: &str, o: Option<&Value>, n: Option<&Value>) {
        let names = |v: Option<&Value>| -> BTreeSet<String> {
            v.and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let (o, n) = (names(o), names(n));
        for name in n.difference(&o) {
            self.push(section, format!("~ {label}.{name}: now required"));
        }
        for name in o.difference(&n) {
            self.push(section, format!("~ {label}.{name}: no longer required"));
        }
    }

    fn description(&mut self, label: &str, o: Option<&Value>, n: Option<&Value>) {
        let text = |v: Option<&Value>| {
            v.map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
        };
        let line = match (text(o), text(n)) {
            (None, Some(n)) => format!("+ {label}: description added: {}", snippet(&n)),
            (Some(o), None) => format!(
                "- {label}: description removed (was {} chars)",
                o.chars().count()
            ),
            (Some(o), Some(n)) => {
                format!("~ {label}: description changed: {}", word_changes(&o, &n))
            }
            (None, None) => return,
        };
        self.push(Section::Descriptions, line);
    }

    fn example(&mut self, label: &str, o: Option<&Value>, n: Option<&Value>) {
        self.push(
            Section::Examples,
            format!("~ {label}: {} -> {}", opt_preview(o), opt_preview(n)),
        );
    }

    fn generic(
        &mut self,
        section: Section,
        label: &str,
        key: &str,
        o: Option<&Value>,
        n: Option<&Value>,
    ) {
        let line = match (o, n) {
            (None, Some(n)) => format!("+ {label}: {key} added: {}", preview(n)),
            (Some(o), None) => format!("- {label}: {key} removed (was {})", preview(o)),
            _ => format!("~ {label}: {key} {} -> {}", opt_preview(o), opt_preview(n)),
        };
        self.push(section, line);
    }
}

/// The keys of both maps: `a`'s order, then what only `b` has.
fn union<'m>(a: &'m Map<String, Value>, b: &'m Map<String, Value>) -> Vec<&'m str> {
    let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
    keys.extend(b.keys().map(String::as_str).filter(|k| !a.contains_key(*k)));
    keys
}

/// Follows a non-schema component `$ref` (parameters, responses, headers).
fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..8 {
        match current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| doc.pointer(p))
        {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

/// Path-level then operation-level parameters (the latter win), keyed
/// `query parameter `name``.
fn parameters(
    doc: &Value,
    item: Option<&Value>,
    op: &Map<String, Value>,
) -> Vec<(String, Map<String, Value>)> {
    let mut out: Vec<(String, Map<String, Value>)> = Vec::new();
    let lists = [item.and_then(|i| i.get("parameters")), op.get("parameters")];
    for param in lists
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
    {
        let Some(param) = deref(doc, param).as_object() else {
            continue;
        };
        let location = param.get("in").and_then(Value::as_str).unwrap_or("?");
        let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
        let key = format!("{location} parameter `{name}`");
        out.retain(|(k, _)| *k != key);
        out.push((key, param.clone()));
    }
    out
}

fn reachable_schemas(doc: &Value, op: &Map<String, Value>) -> Vec<String> {
    fn visit(doc: &Value, value: &Value, out: &mut Vec<String>) {
        for target in walk::refs(value) {
            let Some(rest) = target.strip_prefix("#/") else {
                continue;
            };
            let Some(found) = doc.pointer(&format!("/{rest}")) else {
                continue;
            };
            let name = rest.strip_prefix("components/schemas/").map(|n| {
                n.split('/')
                    .next()
                    .unwrap_or(n)
                    .replace("~1", "/")
                    .replace("~0", "~")
            });
            match name {
                Some(name) if !out.contains(&name) => {
                    out.push(name);
                    visit(doc, found, out);
                }
                Some(_) => {}
                None if !rest.starts_with("components/schemas/") => visit(doc, found, out),
                None => {}
            }
        }
    }
    let mut out = Vec::new();
    visit(doc, &Value::Object(op.clone()), &mut out);
    out
}

/// `string`, `integer(int32)`, `array`, `object`, `logEntry` (a `$ref`), `any`.
fn shallow_type(schema: &Value) -> String {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return target.rsplit('/').next().unwrap_or(target).to_owned();
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
        None if schema.get("properties").is_some()
            || schema.get("additionalProperties").is_some() =>
        {
            "object".to_owned()
        }
        None => ["allOf", "oneOf", "anyOf", "not"]
            .iter()
            .find(|k| schema.get(**k).is_some())
            .map_or_else(|| "any".to_owned(), |k| (*k).to_owned()),
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{ty}({format})"),
        None => ty,
    }
}

/// Like [`shallow_type`] but spells out arrays, maps and enums.
fn full_type(schema: &Value) -> String {
    let mut ty = shallow_type(schema);
    if schema.get("$ref").is_some() {
        return ty;
    }
    if let Some(items) = schema.get("items") {
        ty = format!("array<{}>", full_type(items));
    } else if let (Some(ap @ Value::Object(_)), None) =
        (schema.get("additionalProperties"), schema.get("properties"))
    {
        ty = format!("map<{}>", full_type(ap));
    }
    if let Some(values) = schema.get("enum") {
        ty = format!("{ty} enum {}", preview(values));
    }
    ty
}

/// `object {a: string, b: array<string>}`: a schema with its fields' types.
fn with_fields(schema: &Value) -> String {
    let ty = full_type(schema);
    match schema.get("properties").and_then(Value::as_object) {
        Some(props) if !props.is_empty() => {
            let fields: Vec<String> = props
                .iter()
                .map(|(name, p)| format!("{name}: {}", full_type(p)))
                .collect();
            format!("{ty} {{{}}}", fields.join(", "))
        }
        _ => ty,
    }
}

fn parameter_summary(param: &Map<String, Value>) -> String {
    let required = if param
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        "required"
    } else {
        "optional"
    };
    let mut out = format!(
        "{required}, {}",
        full_type(param.get("schema").unwrap_or(&EMPTY))
    );
    if let Some(style) = param.get("style").and_then(Value::as_str) {
        let _ = write!(out, ", style {style}");
    }
    out
}

fn header_summary(header: &Map<String, Value>) -> String {
    full_type(header.get("schema").unwrap_or(&EMPTY))
}

fn response_summary(response: &Map<String, Value>) -> String {
    let description = response
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    let bodies: Vec<String> = response
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(media, m)| format!("{media}: {}", full_type(m.get("schema").unwrap_or(&EMPTY))))
        .collect();
    if bodies.is_empty() {
        format!("{description:?}")
    } else {
        format!("{description:?}, {}", bodies.join(", "))
    }
}

fn opt_preview(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), preview)
}

/// The changed words of a text, as `"old" -> "new"` hunks (at most three).
fn word_changes(old: &str, new: &str) -> String {
    const HUNKS: usize = 3;
    let diff = similar::TextDiff::from_words(old, new);
    let mut hunks = Vec::new();
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        let removed: String = diff
            .iter_changes(op)
            .filter(|c| c.tag() == similar::ChangeTag::Delete)
            .map(|c| c.value())
            .collect();
        let added: String = diff
            .iter_changes(op)
            .filter(|c| c.tag() == similar::ChangeTag::Insert)
            .map(|c| c.value())
            .collect();
        hunks.push(match (removed.trim(), added.trim()) {
            ("", a) => format!("added {}", snippet(a)),
            (r, "") => format!("removed {}", snippet(r)),
            (r, a) => format!("{} -> {}", snippet(r), snippet(a)),
        });
    }
    let more = hunks.len().saturating_sub(HUNKS);
    hunks.truncate(HUNKS);
    let mut out = hunks.join("; ");
    if more > 0 {
        let _ = write!(out, "; and {more} more");
    }
    if out.is_empty() {
        "whitespace only".to_owned()
    } else {
        out
    }
}

fn snippet(text: &str) -> String {
    const MAX: usize = 80;
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX {
        format!("{flat:?}")
    } else {
        let cut: String = flat.chars().take(MAX).collect();
        format!("\"{}…\"", cut.escape_debug())
    }
}
