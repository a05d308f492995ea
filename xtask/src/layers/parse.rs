//! The reader behind `check-layers`: a small lexer for Rust source (it drops
//! comments, string, byte-string, raw-string and char literals, so a path
//! in a doc comment or a message is not an edge) and a scan of its tokens
//! for what the check needs:
//!
//! - every path starting with `crate::`, `super::` or `self::`, in `use`
//!   trees (braces expanded: `use crate::a::{b, c::d}` is `crate::a::b` and
//!   `crate::a::c::d`) and anywhere else (`crate::a::f(...)`), made
//!   absolute from the module the token is in (inline `mod x { ... }`
//!   blocks included, so `super::` inside `mod tests` is the file's module);
//! - the names a module re-exports (`pub use`, `pub(crate) use`), so that
//!   `crate::Name` resolves to the module `Name` comes from;
//! - every `fn` with a body, its first and last line, and whether it is
//!   test code (`#[test]`, or inside a `#[cfg(test)]` module).
//!
//! It is not a Rust parser: macros' bodies are read as tokens (a path in a
//! `format!` argument counts, one in its string does not), and `#[path]`
//! attributes are not followed. A bare path in a `use` (`use child::x`,
//! `pub use auth::Credentials`) is read from the module it is in (it may
//! name a child; one naming a dependency then resolves to the module
//! itself, no edge); bare paths outside `use` are not read (they can only
//! name a child, which is never a cycle).

/// One token: an identifier (or keyword), or one punctuation character
/// (`::` is one token), with its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text.
    pub text: String,
    /// The line it starts on.
    pub line: usize,
}

/// What one file says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// Absolute paths (module segments from the crate root, then the item)
    /// this file names.
    pub paths: Vec<Vec<String>>,
    /// Names re-exported by the file's module: (name, absolute path).
    pub reexports: Vec<(String, Vec<String>)>,
    /// Functions with a body.
    pub functions: Vec<Function>,
}

/// A function and its extent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// The line of `fn`.
    pub first: usize,
    /// The line of its closing brace.
    pub last: usize,
    /// `#[test]`, or inside a `#[cfg(test)]` module.
    pub test: bool,
}

impl Function {
    /// Lines from `fn` to the closing brace.
    pub fn lines(&self) -> usize {
        self.last + 1 - self.first
    }
}

/// Splits Rust source into tokens, dropping comments and literals.
pub fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i, &mut line);
        } else if let Some(end) = raw_string_end(&chars, i) {
            line += chars[i..end].iter().filter(|&&c| c == '\n').count();
            i = end;
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            i = skip_string(&chars, i + usize::from(c == 'b'), &mut line);
        } else if c == '\'' {
            i = skip_char_or_lifetime(&chars, i);
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token { text, line });
        } else if c == ':' && next == Some(':') {
            out.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    out
}

fn skip_block_comment(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1).copied()) {
            ('/', Some('*')) => {
                depth += 1;
                i += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            ('\n', _) => {
                *line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    i
}

/// The end of a raw string (`r"..."`, `r#"..."#`, `br#"..."#`) starting at
/// `i`, if one starts there.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None; // inside an identifier
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes;
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"'
            && chars[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(chars.len())
}

fn skip_string(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    i += 1; // the opening quote
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            '\n' => {
                *line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    i
}

/// A char literal (`'a'`, `'\n'`, `'\''`, `'\u{1F600}'`) or a lifetime
/// (`'a`, `'static`): skips the literal, or just the quote of a lifetime.
fn skip_char_or_lifetime(chars: &[char], i: usize) -> usize {
    if chars.get(i + 1) == Some(&'\\') {
        let mut j = i + 2;
        while j < chars.len() && chars[j] != '\'' {
            j += 1;
        }
        return j + 1;
    }
    if chars.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    i + 1
}

/// Reads one file's tokens; `module` is the file's module path from the
/// crate root (empty for the root).
pub fn scan(tokens: &[Token], module: &[String]) -> FileFacts {
    let mut facts = FileFacts::default();
    let mut scope = Scope {
        inline: Vec::new(),
        depth: 0,
    };
    let (mut cfg_test, mut test_attr, mut public) = (false, false, false);
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].text.as_str();
        match t {
            "{" => scope.depth += 1,
            "}" => {
                scope.depth = scope.depth.saturating_sub(1);
                if scope.inline.last().is_some_and(|m| m.depth == scope.depth) {
                    scope.inline.pop();
                }
            }
            "#" if is_attr(tokens, i, &["cfg", "(", "test", ")"]) => cfg_test = true,
            "#" if is_attr(tokens, i, &["test"]) => test_attr = true,
            "pub" => public = true,
            "mod" if text(tokens, i + 2) == "{" => {
                scope.inline.push(Inline {
                    name: text(tokens, i + 1).to_owned(),
                    depth: scope.depth,
                    test: cfg_test || scope.in_test(),
                });
                scope.depth += 1;
                i += 3;
                (cfg_test, test_attr, public) = (false, false, false);
                continue;
            }
            "use" => {
                let end = (i..tokens.len())
                    .find(|&j| tokens[j].text == ";")
                    .unwrap_or(tokens.len());
                let here = scope.module(module);
                for (path, name) in use_paths(&tokens[i + 1..end]) {
                    // A bare path may name a child (2018 paths): read it
                    // from here; one naming a dependency then resolves to
                    // this module itself, which is no edge.
                    let abs = absolute(&path, &here).or_else(|| {
                        let mut own = here.clone();
                        own.extend(path.iter().cloned());
                        Some(own)
                    });
                    if let Some(abs) = abs {
                        if public && name != "*" && name != "self" {
                            facts.reexports.push((name, abs.clone()));
                        }
                        facts.paths.push(abs);
                    }
                }
                i = end + 1;
                (cfg_test, test_attr, public) = (false, false, false);
                continue;
            }
            "crate" | "super" | "self" if text(tokens, i + 1) == "::" => {
                let (path, next) = linear_path(tokens, i);
                if let Some(abs) = absolute(&path, &scope.module(module)) {
                    facts.paths.push(abs);
                }
                i = next;
                continue;
            }
            "fn" if is_ident(text(tokens, i + 1)) => {
                if let Some(last) = body_end(tokens, i) {
                    facts.functions.push(Function {
                        name: text(tokens, i + 1).to_owned(),
                        first: tokens[i].line,
                        last,
                        test: test_attr || scope.in_test(),
                    });
                }
                (cfg_test, test_attr, public) = (false, false, false);
            }
            ";" | "struct" | "enum" | "impl" | "trait" | "const" | "static" | "type" => {
                (cfg_test, test_attr, public) = (false, false, false);
            }
            _ => {}
        }
        i += 1;
    }
    facts
}

struct Inline {
    name: String,
    depth: usize,
    test: bool,
}

struct Scope {
    inline: Vec<Inline>,
    depth: usize,
}

impl Scope {
    fn in_test(&self) -> bool {
        self.inline.iter().any(|m| m.test)
    }

    fn module(&self, file: &[String]) -> Vec<String> {
        let mut path = file.to_vec();
        path.extend(self.inline.iter().map(|m| m.name.clone()));
        path
    }
}

fn text(tokens: &[Token], i: usize) -> &str {
    tokens.get(i).map_or("", |t| t.text.as_str())
}

fn is_ident(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Whether tokens at `i` are `# [ words... ]`.
fn is_attr(tokens: &[Token], i: usize, words: &[&str]) -> bool {
    text(tokens, i + 1) == "["
        && words
            .iter()
            .enumerate()
            .all(|(k, w)| text(tokens, i + 2 + k) == *w)
        && text(tokens, i + 2 + words.len()) == "]"
}

/// `crate::a::b::c` from `i`: the segments and the index after them.
fn linear_path(tokens: &[Token], mut i: usize) -> (Vec<String>, usize) {
    let mut path = vec![tokens[i].text.clone()];
    while text(tokens, i + 1) == "::" && is_ident(text(tokens, i + 2)) {
        path.push(tokens[i + 2].text.clone());
        i += 2;
    }
    (path, i + 1)
}

/// The paths of a `use` tree (the tokens between `use` and `;`), each with
/// the name it binds (the last segment, or its `as` rename).
pub fn use_paths(tokens: &[Token]) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    use_tree(tokens, &mut i, &[], &mut out);
    out
}

fn use_tree(
    tokens: &[Token],
    i: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String)>,
) {
    let mut path = prefix.to_vec();
    while *i < tokens.len() {
        match text(tokens, *i) {
            "::" => *i += 1,
            "{" => {
                *i += 1;
                while *i < tokens.len() && text(tokens, *i) != "}" {
                    use_tree(tokens, i, &path, out);
                    if text(tokens, *i) == "," {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            "," | "}" => break,
            "as" => {
                let name = text(tokens, *i + 1).to_owned();
                *i += 2;
                out.push((path, name));
                return;
            }
            word => {
                path.push(word.to_owned());
                *i += 1;
            }
        }
    }
    if path.len() > prefix.len() {
        let name = path.last().cloned().unwrap_or_default();
        out.push((path, name));
    }
}

/// `path` made absolute from module `here`; `None` for a path outside the
/// crate (`std::`, a dependency, a 2018-style child path).
pub fn absolute(path: &[String], here: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (here.to_vec(), &path[1..]),
        "super" => (here.to_vec(), path),
        _ => return None,
    };
    let mut rest = rest;
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// The line of the closing brace of the `fn` at `i`; `None` for a
/// declaration without a body.
fn body_end(tokens: &[Token], i: usize) -> Option<usize> {
    let mut j = i + 2;
    let mut parens = 0i32;
    while j < tokens.len() {
        match text(tokens, j) {
            "(" | "[" => parens += 1,
            ")" | "]" => parens -= 1,
            ";" if parens == 0 => return None,
            "{" if parens == 0 => break,
            _ => {}
        }
        j += 1;
    }
    let mut depth = 0;
    while j < tokens.len() {
        match text(tokens, j) {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return Some(tokens[j].line);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}
