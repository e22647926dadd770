//! The layering rules of docs/architecture.md, checked on the source of both crates:
//! only `http/` knows axum, folders import only folders below them, and no module
//! imports one that imports it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folders of `idp/src` from the bottom up: a folder may import folders of a
/// lower rank (and itself), never one of the same or a higher rank. `ui::pages` (the
/// page contexts, which show account data) is a layer of its own above `account`;
/// the rest of `ui` (templates, texts) is a leaf.
const RANKS: &[(&str, u8)] = &[
    ("db", 0),
    ("ui", 0),
    ("crypto", 1),
    ("outbox", 2),
    ("policy", 2),
    ("account", 3),
    ("ui::pages", 4),
    ("oauth", 4),
    ("http", 5),
    ("cli", 5),
    ("testing", 5),
];

/// Modules every folder may import: the wiring (`state` is the request context,
/// `config` and `clock` are leaves) and `crypto`'s own helpers (random ids, hashes,
/// constant-time comparison), which import nothing of the crate.
fn is_leaf(path: &[String]) -> bool {
    match path.first().map(String::as_str) {
        Some("state" | "config" | "clock") => true,
        Some("crypto") => !matches!(
            path.get(1).map(String::as_str),
            Some("keys" | "kek" | "password_hash")
        ),
        _ => false,
    }
}

/// Crates of the HTTP layer: only `http/` (and `lib.rs`, which serves the router)
/// may name them.
const HTTP_CRATES: &[&str] = &["axum", "tower_http", "tower_cookies", "hyper", "hyper_util"];

struct Module {
    /// Its path in the crate, e.g. `["http", "pages", "login"]`.
    path: Vec<String>,
    /// The source without line comments.
    code: String,
}

fn modules(src: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p: PathBuf = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap();
            let mut path: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if path
                .last()
                .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
            {
                path.pop();
            }
            let code = std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .map(|l| match l.find("//") {
                    Some(i) => &l[..i],
                    None => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
            out.push(Module { path, code });
        }
    }
    out
}

/// Every `crate::a::b…` path in `code`, as segments.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if code[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        let mut segs = Vec::new();
        let mut s = rest;
        loop {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            if end == 0 {
                break;
            }
            segs.push(s[..end].to_owned());
            if s[end..].starts_with("::") {
                s = &s[end + 2..];
            } else {
                break;
            }
        }
        // `crate::x::{a, b}`: each of a and b.
        if s.starts_with('{') {
            let group = &s[1..s.find('}').unwrap_or(s.len())];
            for item in group.split(',') {
                let item = item.trim();
                let head = item.split("::").next().unwrap_or("").trim();
                if head.is_empty() || head == "self" {
                    out.push(segs.clone());
                } else {
                    let mut p = segs.clone();
                    p.push(head.to_owned());
                    out.push(p);
                }
            }
        } else {
            out.push(segs);
        }
    }
    out
}

/// The layer a module path belongs to: its folder, or `ui::pages`.
fn layer(path: &[String]) -> Option<String> {
    let first = path.first()?;
    if first == "ui" && path.get(1).is_some_and(|p| p == "pages") {
        return Some("ui::pages".to_owned());
    }
    Some(first.clone())
}

fn rank(folder: &str) -> Option<u8> {
    RANKS.iter().find(|(f, _)| *f == folder).map(|(_, r)| *r)
}

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

#[test]
fn only_the_http_layer_knows_axum() {
    let mut broken = Vec::new();
    for m in modules(&src("idp")) {
        let top = m.path.first().map(String::as_str).unwrap_or("lib");
        if top == "http" || m.path.is_empty() {
            continue;
        }
        for krate in HTTP_CRATES {
            let used = m.code.match_indices(krate).any(|(i, _)| {
                let before = m.code[..i].chars().last();
                let after = &m.code[i + krate.len()..];
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after.starts_with("::")
            });
            if used {
                broken.push(format!("{}: {krate}", m.path.join("/")));
            }
        }
        if crate_paths(&m.code)
            .iter()
            .any(|p| p.first().is_some_and(|s| s == "http"))
        {
            broken.push(format!("{}: crate::http", m.path.join("/")));
        }
    }
    assert!(broken.is_empty(), "HTTP outside http/: {broken:#?}");
}

#[test]
fn folders_import_only_folders_below_them() {
    let mut broken = Vec::new();
    for m in modules(&src("idp")) {
        let Some(folder) = layer(&m.path) else {
            continue;
        };
        let Some(own) = rank(&folder) else { continue };
        for p in crate_paths(&m.code) {
            let Some(target) = layer(&p) else { continue };
            if target == folder || is_leaf(&p) {
                continue;
            }
            match rank(&target) {
                Some(r) if r < own => {}
                // Crate-root items (`crate::serve`, macros) are wiring.
                None => {}
                Some(_) => broken.push(format!("{} -> {}", m.path.join("/"), p.join("::"))),
            }
        }
    }
    broken.sort();
    broken.dedup();
    assert!(
        broken.is_empty(),
        "imports against the direction: {broken:#?}"
    );
}

/// The module graph of a crate: which module files each module file names.
fn graph(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(&src(krate));
    let known: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
    let mut g = BTreeMap::new();
    for m in &mods {
        let mut edges = BTreeSet::new();
        for p in crate_paths(&m.code) {
            // The longest prefix that is a module file.
            let target = (1..=p.len())
                .rev()
                .map(|n| p[..n].to_vec())
                .find(|prefix| known.contains(prefix));
            if let Some(t) = target {
                // A parent module (`mod.rs`) re-exporting its children is not a use.
                if t != m.path && !m.path.starts_with(&t) && !t.starts_with(&m.path) {
                    edges.insert(t.join("::"));
                }
            }
        }
        g.insert(m.path.join("::"), edges);
    }
    g
}

fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for start in g.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in g.get(&node).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    found.push(cycle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for krate in ["idp", "relying-party-demo"] {
        let g = graph(krate);
        assert!(g.len() > 10, "{krate}: the scan found the modules");
        let found = cycles(&g);
        assert!(found.is_empty(), "{krate}: import cycles: {found:#?}");
    }
}

#[test]
fn the_checks_see_a_back_arrow() {
    // The scanner itself: a made-up db module naming http and account is caught.
    let code = "use crate::http::error::PageError;\nuse crate::account::{users, support};";
    let paths = crate_paths(code);
    assert!(paths.contains(&vec!["http".into(), "error".into(), "PageError".into()]));
    assert!(paths.contains(&vec!["account".into(), "users".into()]));
    assert!(paths.contains(&vec!["account".into(), "support".into()]));
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert!(!cycles(&g).is_empty());
}
