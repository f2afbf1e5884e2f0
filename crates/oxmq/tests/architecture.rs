//! The layers of oxmq and oxmq-wire, as ARCHITECTURE.md writes them down, hold in the code.
//!
//! ARCHITECTURE.md has one fenced block per crate (```` ```layers oxmq ```` and
//! ```` ```layers oxmq-wire ````): one layer per line, lowest first. An entry names a module
//! (`pipe`) or a folder (`session`, which covers `session::attach` and the rest) unless a
//! module inside it has an entry of its own (`socket::mailbox` below `socket`). This test
//! reads every source file of both crates, takes every `crate::` path (in `use` lines and in
//! code, outside `#[cfg(test)] mod tests`), resolves it to the module it names (through the
//! crate root's `pub use` re-exports too), and fails when
//! - a module imports one of its own layer or above (other than inside its own folder entry),
//! - modules import each other in a cycle (folder entries included),
//! - a module has no entry, or an entry names no module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every module of the crate at `src`: its path (empty for the root) and its file.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The text of a source file without comments, string contents and its unit tests.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if text[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if text[i..].starts_with("/*") {
            i += text[i..].find("*/").map_or(b.len() - i, |n| n + 2);
        } else if b[i] == b'"' {
            out.push_str("\"\"");
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\n'); lifetimes pass through.
            i += text[i + 1..].find('\'').map_or(1, |n| n + 2);
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    match out.find("#[cfg(test)]\nmod tests") {
        Some(n) => out[..n].to_string(),
        None => out,
    }
}

fn ident_at(s: &str) -> usize {
    s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len())
}

/// The paths of a use tree at the start of `s` (after `crate::`), each as its segments.
fn use_tree(s: &str, prefix: &Module, out: &mut Vec<Module>) -> usize {
    let mut path = prefix.clone();
    let mut i = 0;
    loop {
        let rest = &s[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with('{') {
            i += 1;
            loop {
                let rest = &s[i..];
                let t = rest.trim_start();
                i += rest.len() - t.len();
                if t.starts_with('}') {
                    return i + 1;
                }
                if t.starts_with(',') {
                    i += 1;
                    continue;
                }
                i += use_tree(&s[i..], &path, out);
            }
        }
        let n = ident_at(trimmed);
        if n == 0 {
            // `*`, or the end of the tree
            out.push(path);
            return i + trimmed.len().min(1);
        }
        let name = &trimmed[..n];
        if name != "self" {
            path.push(name.to_string());
        }
        i += n;
        let after = &s[i..];
        if let Some(next) = after.strip_prefix("::") {
            let _ = next;
            i += 2;
            continue;
        }
        out.push(path);
        // skip an `as alias`
        let t = after.trim_start();
        if let Some(alias) = t.strip_prefix("as ") {
            i += after.len() - t.len() + 3;
            let a = alias.trim_start();
            i += alias.len() - a.len() + ident_at(a);
        }
        return i;
    }
}

/// Every `crate::` path in `code`.
fn crate_paths(code: &str) -> Vec<Module> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(n) = code[from..].find("crate::") {
        let at = from + n;
        from = at + 7;
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
            continue;
        }
        use_tree(&code[from..], &Vec::new(), &mut out);
    }
    out
}

/// The crate root's re-exports: a name at the root and the module path it comes from.
fn reexports(root_code: &str) -> BTreeMap<String, Module> {
    let mut out = BTreeMap::new();
    let mut from = 0;
    while let Some(n) = root_code[from..].find("pub use ") {
        let at = from + n + 8;
        from = at;
        let mut paths = Vec::new();
        use_tree(&root_code[at..], &Vec::new(), &mut paths);
        for p in paths {
            if let Some(last) = p.last() {
                out.insert(last.clone(), p.clone());
            }
        }
    }
    out
}

fn resolve(path: &Module, mods: &BTreeMap<Module, PathBuf>, reexports: &BTreeMap<String, Module>) -> Option<Module> {
    let path = match path.first().and_then(|h| reexports.get(h)) {
        Some(target) if !mods.contains_key(&path[..1].to_vec()) => target.clone(),
        _ => path.clone(),
    };
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| mods.contains_key(p))
}

/// The layers of `krate` as ARCHITECTURE.md lists them, lowest first.
fn layers(krate: &str) -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md at the repository root");
    let fence = format!("```layers {krate}\n");
    let start = doc.find(&fence).unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{fence}` block")) + fence.len();
    let end = start + doc[start..].find("```").expect("the layers block ends");
    doc[start..end]
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.is_empty())
        .collect()
}

fn name(m: &Module) -> String {
    if m.is_empty() { "(crate root)".into() } else { m.join("::") }
}

fn check(krate: &str, src: &str) -> Vec<String> {
    let src = root().join(src);
    let mods = modules(&src);
    let reexports = reexports(&code(&mods[&Vec::new()]));
    let layers = layers(krate);
    let mut errors = Vec::new();
    let mut rank: BTreeMap<Module, (usize, Module)> = BTreeMap::new();
    let entries: BTreeSet<Module> =
        layers.iter().flatten().map(|e| e.split("::").map(str::to_string).collect()).collect();
    for e in &entries {
        if !mods.contains_key(e) {
            errors.push(format!("{krate}: ARCHITECTURE.md lists `{}`, which is no module", name(e)));
        }
    }
    for m in mods.keys().filter(|m| !m.is_empty()) {
        let entry = (1..=m.len()).rev().map(|n| m[..n].to_vec()).find(|p| entries.contains(p));
        match entry {
            Some(e) => {
                let layer = layers.iter().position(|l| l.contains(&e.join("::"))).unwrap();
                rank.insert(m.clone(), (layer, e));
            }
            None => errors.push(format!("{krate}: module `{}` has no layer in ARCHITECTURE.md", name(m))),
        }
    }
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (m, file) in &mods {
        if m.is_empty() {
            continue;
        }
        let deps = graph.entry(m.clone()).or_default();
        for p in crate_paths(&code(file)) {
            if let Some(t) = resolve(&p, &mods, &reexports) {
                if &t != m && !t.is_empty() {
                    deps.insert(t);
                }
            }
        }
    }
    for (m, deps) in &graph {
        let Some((lm, em)) = rank.get(m) else { continue };
        for d in deps {
            let Some((ld, ed)) = rank.get(d) else { continue };
            if em != ed && ld >= lm {
                errors.push(format!(
                    "{krate}: `{}` (layer {}) imports `{}` (layer {}): a module may import only the layers below its own",
                    name(m),
                    lm + 1,
                    name(d),
                    ld + 1
                ));
            }
        }
    }
    for cycle in cycles(&graph) {
        errors.push(format!("{krate}: import cycle: {}", cycle.iter().map(name).collect::<Vec<_>>().join(" -> ")));
    }
    errors
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        out: Vec<Vec<Module>>,
    }
    fn strong<'a>(s: &mut State<'a>, v: &'a Module) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                strong(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            strong(&mut s, v);
        }
    }
    s.out
}

#[test]
fn oxmq_modules_import_only_the_layers_below_them() {
    let errors = check("oxmq", "crates/oxmq/src");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn oxmq_wire_modules_import_only_the_layers_below_them() {
    let errors = check("oxmq-wire", "crates/oxmq-wire/src");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The checker itself: paths in use trees, in code, through re-exports; an upward import and
/// a cycle are caught.
#[test]
fn the_checker_sees_every_kind_of_crate_path() {
    let c = code(&root().join(file!()));
    assert!(!c.contains("never_seen"), "comments are stripped"); // never_seen
    let paths = crate_paths("use crate::a::{b::C, d::{self, e}};\nfn f() { crate::g::h(); x::crate::no(); }");
    let paths: BTreeSet<String> = paths.iter().map(|p| p.join("::")).collect();
    let want: BTreeSet<String> = ["a::b::C", "a::d", "a::d::e", "g::h"].iter().map(|s| s.to_string()).collect();
    assert_eq!(paths, want);
    let rx = reexports("pub use pipe::{Pipe, Queue as Q};\npub use options::opt;");
    assert_eq!(rx["opt"], vec!["options".to_string(), "opt".to_string()]);
    let mut g: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    let (a, b) = (vec!["a".to_string()], vec!["b".to_string()]);
    g.entry(a.clone()).or_default().insert(b.clone());
    g.entry(b.clone()).or_default().insert(a.clone());
    assert_eq!(cycles(&g).len(), 1);
}
