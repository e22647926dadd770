//! The layering rules of docs/architecture.md, checked on the source of both crates.
//!
//! Every file is parsed with `syn` ([`modules`]): the modules are the ones `mod`
//! declarations reach from `lib.rs` (inline `mod tests { … }` included), plus
//! `main.rs`. A module names whatever its `use` trees (nested groups, `self`, renames,
//! globs), its types, expressions, patterns, attributes and macro arguments name;
//! `crate::`, `self::`, `super::` and names brought in by `use` are resolved against
//! the module they are written in, and `pub use` re-exports are followed to the module
//! that defines the item. Comments and string literals are never read as code.
//!
//! The rules, for `idp` (a file's *folder* is the first component of its path under
//! `src/`, except `ui/pages/`, which is a layer of its own):
//!
//! 1. **HTTP stays in `http/`.** Only modules under `http/` name the HTTP crates
//!    ([`HTTP_CRATES`]); `lib.rs` serves through `http::server` and names none.
//! 2. **Folders import only folders below them** ([`RANKS`]); within a folder anything
//!    goes. `crate::http` is therefore named only by `lib.rs`, which serves the router.
//! 3. **Leaves** ([`LEAVES`]: `clock.rs`, `error.rs` (the macro plumbing of the error
//!    enums) and `crypto/mod.rs` (random ids, hashes, constant-time comparison)) may
//!    be imported by every module and import nothing of the crate but each other.
//! 4. **`config/`** may be imported by every module. It imports leaves and exactly the
//!    plain types of [`CONFIG_MAY_NAME`], which settings are parsed into.
//! 5. **`state.rs`**, the wiring of the request context, imports any folder except
//!    `http`, `cli` and `testing` (which sit above it) and the crate root's items. It
//!    is imported by the folders above `crypto` (what it is made of: `db`, `ui`,
//!    `crypto` may not import it).
//! 6. **`lib.rs`** (the crate root: `serve` and the workers) imports any folder except
//!    `cli` and `testing`; its own items are named only by `cli`, `testing` and
//!    `main.rs`. **`main.rs`** hands over to `cli`: it names `cli`, `config`, `state`,
//!    the leaves and the crate root's items (`serve`, `shutdown_signal`), never `http`
//!    or a domain folder. Every file has a place in these rules.
//! 7. **No import cycles** between modules, in either crate. There is an edge from A
//!    to B when A's own code or private `use`s name an item B defines; a `pub use`
//!    alone is no edge (whoever names a re-exported item depends on its definer), nor
//!    is a `mod` declaration. Every cycle of that graph is reported, with a single
//!    exception: a module and a submodule it declares with `mod` using each other
//!    (`cli/mod.rs` dispatching to `cli/users.rs`, which uses a helper of
//!    `cli/mod.rs`) are one unit split over two files. A longer cycle through such a
//!    pair is reported, and so are siblings using each other and a grandchild using
//!    its grandparent while that one reaches it.
//!
//! For `relying-party-demo` the same scan checks rules 1 (with `lib.rs`, whose
//! `serve` calls `axum::serve`, allowed the HTTP crates), 2 with [`DEMO_RANKS`] (files
//! instead of folders; `lib.rs` and `main.rs` are wiring above them, and only
//! `lib.rs` names `http`), and 7.
//!
//! [`synthetic`] feeds the checks a made-up crate with one violation of each kind and
//! asserts that each is reported and nothing else.

mod modules;
mod synthetic;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::Path;

use modules::{Crate, Kind, ModPath, Module, Target};

/// The folders of `idp/src` from the bottom up: a folder may import folders of a
/// lower rank (and itself), never one of the same or a higher rank. `ui::pages` (the
/// page contexts, which show account data) is a layer of its own above `account`; the
/// rest of `ui` (templates, texts) is at the bottom.
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

/// Files every module may import; they import nothing of the crate but each other.
const LEAVES: &[&str] = &["clock.rs", "error.rs", "crypto/mod.rs"];

/// The items outside the leaves that `config/` may name (module, item): the signing
/// algorithm, the support levels and the role names that settings are parsed into,
/// plain data defined next to the code that uses them most.
const CONFIG_MAY_NAME: &[(&str, &str)] = &[
    ("crypto::keys", "SigningAlg"),
    ("db::companies", "SupportLevel"),
    ("db::companies", "LEVELS"),
    ("db::users", "Role"),
];

/// Crates of the HTTP layer. `bytes` is not one: a body of bytes is plain data.
const HTTP_CRATES: &[&str] = &[
    "axum",
    "http",
    "hyper",
    "hyper_util",
    "tower",
    "tower_cookies",
    "tower_http",
];

/// The files of `relying-party-demo/src` from the bottom up, as [`RANKS`].
const DEMO_RANKS: &[(&str, u8)] = &[
    ("claims", 0),
    ("clock", 0),
    ("config", 0),
    ("pages", 0),
    ("random", 0),
    ("jwks", 1),
    ("logout_token", 2),
    ("oidc", 2),
    ("store", 3),
    ("portal", 4),
    ("http", 5),
];

/// One broken rule: where, what it names, and which rule.
#[derive(Debug)]
struct Violation {
    file: String,
    line: usize,
    /// The path as written.
    named: String,
    /// The module it leads to (or the crate).
    target: String,
    rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: `{}` -> {}: {}",
            self.file, self.line, self.named, self.target, self.rule
        )
    }
}

/// The layer of a file: its folder (`ui::pages` for `ui/pages/`), or for a root file
/// its name (`lib`, `main`, `state`, `clock`, `error`).
fn layer(file: &str) -> &str {
    if file.starts_with("ui/pages/") {
        return "ui::pages";
    }
    let first = file.split('/').next().unwrap_or(file);
    first.strip_suffix(".rs").unwrap_or(first)
}

fn rank(ranks: &[(&str, u8)], layer: &str) -> Option<u8> {
    ranks.iter().find(|(l, _)| *l == layer).map(|(_, r)| *r)
}

/// Whether `idp` allows module `from` to name `item` of module `to` (rules 2–6).
fn idp_allows(from: &Module, to: &Module, item: Option<&str>) -> Result<(), String> {
    let (f, t) = (layer(&from.file), layer(&to.file));
    if LEAVES.contains(&from.file.as_str()) {
        return if LEAVES.contains(&to.file.as_str()) {
            Ok(())
        } else {
            Err("a leaf imports only leaves".into())
        };
    }
    if LEAVES.contains(&to.file.as_str()) || f == t {
        return Ok(());
    }
    let rule = match (f, t) {
        ("config", _) => {
            let to = to.name();
            if CONFIG_MAY_NAME
                .iter()
                .any(|(m, i)| *m == to && Some(*i) == item)
            {
                return Ok(());
            }
            "config imports only leaves and CONFIG_MAY_NAME"
        }
        (_, "config") => return Ok(()),
        ("state", "http" | "cli" | "testing" | "lib") => {
            "state is wiring below http, cli and testing, and does not serve"
        }
        ("state", _) => return Ok(()),
        ("lib" | "main", "state") => return Ok(()),
        (f, "state") if rank(RANKS, f).is_some_and(|r| r >= 2) => return Ok(()),
        (_, "state") => "db, ui and crypto are what state is made of: they do not import it",
        ("lib", "cli" | "testing") => "lib.rs serves; cli and testing call it, not it them",
        ("lib", _) => return Ok(()),
        ("cli" | "testing" | "main", "lib") => return Ok(()),
        // A re-export at the root (`crate::AppState`) is a path, not an item of lib.rs.
        (_, "lib") if item.is_none() => return Ok(()),
        (_, "lib") => "only cli, testing and main.rs use the crate root's items",
        ("main", "cli") => return Ok(()),
        ("main", _) => "main.rs hands over to cli",
        (f, t) => match (rank(RANKS, f), rank(RANKS, t)) {
            (Some(a), Some(b)) if b < a => return Ok(()),
            (Some(_), Some(_)) => "a folder imports only folders below it",
            _ => "a module outside the rules",
        },
    };
    Err(rule.into())
}

/// Whether the demo allows `from` to name anything of `to` (rule 2 on its files).
fn demo_allows(from: &Module, to: &Module, item: Option<&str>) -> Result<(), String> {
    let (f, t) = (layer(&from.file), layer(&to.file));
    if f == t {
        return Ok(());
    }
    let rule = match (f, t) {
        ("main", "lib") => return Ok(()),
        ("lib" | "main", "main" | "lib") => "nothing imports the binary",
        (_, "lib") if item.is_none() => return Ok(()),
        (_, "lib" | "main") => "only main.rs uses the crate root's items",
        ("main", "http") => "main.rs serves through lib.rs",
        ("lib" | "main", _) => return Ok(()),
        (f, t) => match (rank(DEMO_RANKS, f), rank(DEMO_RANKS, t)) {
            (Some(a), Some(b)) if b < a => return Ok(()),
            (Some(_), Some(_)) => "a file imports only files below it",
            _ => "a module outside the rules",
        },
    };
    Err(rule.into())
}

/// Every path of `c` that leads into the crate, with the modules it leads to (the
/// re-exporting ones, then the defining one; never the module it is written in).
/// A single name in code that leads to a module is a local variable of the same
/// name (a module is no value), so it is left out.
fn local_refs(c: &Crate) -> Vec<(&Module, &modules::Ref, Vec<&Module>, Option<String>)> {
    let mut out = Vec::new();
    for m in c.modules.values() {
        for r in &m.refs {
            if let Target::Local(via, item) = c.resolve(&m.path, &r.segs) {
                if r.kind == Kind::Code && r.segs.len() == 1 && item.is_none() {
                    continue;
                }
                let targets: Vec<&Module> = via
                    .iter()
                    .filter(|t| **t != m.path)
                    .filter_map(|t| c.modules.get(t))
                    .collect();
                if !targets.is_empty() {
                    out.push((m, r, targets, item));
                }
            }
        }
    }
    out
}

/// Rules 2–6 (or the demo's rule 2): each path into the crate that `allows` refuses.
fn against_the_direction(
    c: &Crate,
    allows: fn(&Module, &Module, Option<&str>) -> Result<(), String>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for (m, r, targets, item) in local_refs(c) {
        // A single name in code was brought in by a `use`, which is checked.
        if r.kind == Kind::Code && r.segs.len() == 1 {
            continue;
        }
        let last = targets.len() - 1;
        for (i, to) in targets.iter().enumerate() {
            // A re-exporting module is named for its namespace, not for an item of it
            // (`allows` sees `None`).
            let item = if i == last { item.as_deref() } else { None };
            if let Err(rule) = allows(m, to, item) {
                out.push(Violation {
                    file: m.file.clone(),
                    line: r.line,
                    named: r.segs.join("::"),
                    target: to.name(),
                    rule,
                });
            }
        }
    }
    dedup(out)
}

/// Rule 1: paths into an HTTP crate from a file for which `may` is false.
fn http_outside_http(c: &Crate, may: fn(&str) -> bool) -> Vec<Violation> {
    let mut out = Vec::new();
    for m in c.modules.values().filter(|m| !may(&m.file)) {
        for r in &m.refs {
            // A single name in code (`http` as a variable) is not a crate.
            if r.kind == Kind::Code && r.segs.len() < 2 {
                continue;
            }
            if let Target::Extern(krate) = c.resolve(&m.path, &r.segs) {
                if HTTP_CRATES.contains(&krate.as_str()) {
                    out.push(Violation {
                        file: m.file.clone(),
                        line: r.line,
                        named: r.segs.join("::"),
                        target: krate,
                        rule: "only http/ names the HTTP crates".into(),
                    });
                }
            }
        }
    }
    dedup(out)
}

fn dedup(mut v: Vec<Violation>) -> Vec<Violation> {
    v.sort_by(|a, b| (&a.file, a.line, &a.named).cmp(&(&b.file, b.line, &b.named)));
    v.dedup_by(|a, b| {
        (&a.file, a.line, &a.named, &a.target) == (&b.file, b.line, &b.named, &b.target)
    });
    v
}

type Graph = BTreeMap<ModPath, BTreeSet<ModPath>>;

/// Rule 7's graph: A → B when A's code or private `use`s name an item B defines.
fn graph(c: &Crate) -> Graph {
    let mut g: Graph = c
        .modules
        .keys()
        .map(|k| (k.clone(), BTreeSet::new()))
        .collect();
    for (m, r, targets, _) in local_refs(c) {
        if r.kind == Kind::ReExport {
            continue;
        }
        if let Some(definer) = targets.last() {
            if definer.path != m.path {
                g.entry(m.path.clone())
                    .or_default()
                    .insert(definer.path.clone());
            }
        }
    }
    g
}

/// The shortest path from `from` to `to` that avoids `avoid`.
fn path_avoiding(g: &Graph, from: &ModPath, to: &ModPath, avoid: &ModPath) -> Option<Vec<ModPath>> {
    let mut prev: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![node.clone()];
            let mut cur = node;
            while let Some(p) = prev.get(cur) {
                path.push((*p).clone());
                cur = p;
            }
            path.reverse();
            return Some(path);
        }
        for next in g.get(node).into_iter().flatten() {
            if next != avoid && seen.insert(next) {
                prev.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

/// Rule 7: the cycles of `g`, each as `a -> b -> … -> a` from its smallest module,
/// shortest first (the edge that closes a big cycle is usually on a short one). For
/// every edge on a cycle one cycle through it is reported; a two-module cycle of a
/// module and its own submodule is allowed.
fn cycles(g: &Graph) -> Vec<String> {
    let name = |p: &ModPath| {
        if p.is_empty() {
            "crate".to_owned()
        } else {
            p.join("::")
        }
    };
    let is_child = |p: &ModPath, c: &ModPath| c.len() == p.len() + 1 && c.starts_with(p);
    let mut found = BTreeSet::new();
    for (u, vs) in g {
        for v in vs {
            let mut cycle = None;
            if g[v].contains(u) && !is_child(u, v) && !is_child(v, u) {
                cycle = Some(vec![u.clone(), v.clone()]);
            }
            for w in g[v].iter().filter(|w| *w != u && *w != v) {
                if cycle.is_some() {
                    break;
                }
                if let Some(back) = path_avoiding(g, w, u, v) {
                    let mut c = vec![u.clone(), v.clone()];
                    c.extend(back.into_iter().take_while(|n| n != u));
                    cycle = Some(c);
                }
            }
            if let Some(mut c) = cycle {
                let start = c
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, n)| *n)
                    .map_or(0, |(i, _)| i);
                c.rotate_left(start);
                c.push(c[0].clone());
                found.insert((c.len(), c.iter().map(name).collect::<Vec<_>>().join(" -> ")));
            }
        }
    }
    found.into_iter().map(|(_, c)| c).collect()
}

/// Modules whose layer `placed` does not know: a new root file or folder needs a
/// place in the rules before it can be checked.
fn unplaced(c: &Crate, placed: fn(&str) -> bool) -> Vec<String> {
    c.modules
        .values()
        .filter(|m| !placed(layer(&m.file)))
        .map(|m| format!("{} ({})", m.file, m.name()))
        .collect()
}

fn idp_placed(layer: &str) -> bool {
    rank(RANKS, layer).is_some()
        || ["lib", "main", "state", "config", "clock", "error"].contains(&layer)
}

fn demo_placed(layer: &str) -> bool {
    rank(DEMO_RANKS, layer).is_some() || ["lib", "main"].contains(&layer)
}

fn load(krate: &str, name: &str) -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src");
    Crate::load(name, &|file| std::fs::read_to_string(src.join(file)).ok())
}

fn show(v: &[Violation]) -> String {
    v.iter().map(|v| format!("\n  {v}")).collect()
}

/// The first dozen cycles (and how many more).
fn show_cycles(found: &[String]) -> String {
    let mut out: String = found.iter().take(12).map(|c| format!("\n  {c}")).collect();
    if found.len() > 12 {
        out.push_str(&format!("\n  … and {} more", found.len() - 12));
    }
    out
}

fn idp_http_may(file: &str) -> bool {
    layer(file) == "http"
}

fn demo_http_may(file: &str) -> bool {
    matches!(layer(file), "http" | "lib")
}

#[test]
fn only_the_http_layer_knows_axum() {
    let idp = http_outside_http(&load("idp", "idp"), idp_http_may);
    assert!(idp.is_empty(), "HTTP outside idp's http/:{}", show(&idp));
    let demo = http_outside_http(
        &load("relying-party-demo", "relying_party_demo"),
        demo_http_may,
    );
    assert!(
        demo.is_empty(),
        "HTTP outside the demo's http/ and lib.rs:{}",
        show(&demo)
    );
}

type Allows = fn(&Module, &Module, Option<&str>) -> Result<(), String>;
/// A crate to check: directory, crate name, fewest modules the scan must find,
/// which files have a place, which imports are allowed.
type Rules = (&'static str, &'static str, usize, fn(&str) -> bool, Allows);

#[test]
fn folders_import_only_folders_below_them() {
    let crates: [Rules; 2] = [
        ("idp", "idp", 50, idp_placed, idp_allows),
        (
            "relying-party-demo",
            "relying_party_demo",
            10,
            demo_placed,
            demo_allows,
        ),
    ];
    for (krate, name, at_least, placed, allows) in crates {
        let c = load(krate, name);
        assert!(
            c.modules.len() > at_least,
            "the scan found {krate}'s modules"
        );
        let outside = unplaced(&c, placed);
        assert!(
            outside.is_empty(),
            "{krate} files without a place in the rules: {outside:#?}"
        );
        let found = against_the_direction(&c, allows);
        assert!(
            found.is_empty(),
            "{krate} imports against the direction:{}",
            show(&found)
        );
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for (krate, name) in [("idp", "idp"), ("relying-party-demo", "relying_party_demo")] {
        let found = cycles(&graph(&load(krate, name)));
        assert!(
            found.is_empty(),
            "{krate}: import cycles:{}",
            show_cycles(&found)
        );
    }
}

/// Where domain code (`account/`, `oauth/`, `policy/`) names `anyhow`: every path
/// starting with it and every `anyhow!`/`bail!`/`ensure!` (a use of `anyhow::Context`
/// shows up as its `use`), except inside `internal_from!(…)`, whose lists fold the
/// adapters' errors into the flows' `Internal` variants. Infrastructure failures
/// travel as `idp::error::Internal` instead (docs/architecture.md, "Errors").
fn anyhow_in(code: &str) -> Vec<(usize, String)> {
    use syn::visit::Visit;
    struct Finder(Vec<(usize, String)>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_path(&mut self, p: &'ast syn::Path) {
            let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            if segs.first().is_some_and(|s| s == "anyhow") {
                let line = p
                    .segments
                    .first()
                    .map_or(0, |s| s.ident.span().start().line);
                self.0.push((line, segs.join("::")));
            }
            syn::visit::visit_path(self, p);
        }
        fn visit_use_tree(&mut self, t: &'ast syn::UseTree) {
            if let syn::UseTree::Path(p) = t {
                if p.ident == "anyhow" {
                    self.0
                        .push((p.ident.span().start().line, "use anyhow::…".into()));
                }
            }
            syn::visit::visit_use_tree(self, t);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            let name = m.path.segments.last().map(|s| s.ident.to_string());
            match name.as_deref() {
                Some("internal_from") => return,
                Some("anyhow" | "bail" | "ensure") => {
                    let line = m
                        .path
                        .segments
                        .first()
                        .map_or(0, |s| s.ident.span().start().line);
                    self.0
                        .push((line, format!("{}!", name.unwrap_or_default())));
                }
                _ => {}
            }
            // Paths inside other macros' arguments (`format!`, `json!`, …).
            if let Ok(args) = m.parse_body_with(
                syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
            ) {
                for arg in &args {
                    self.visit_expr(arg);
                }
            }
        }
    }
    let file = syn::parse_file(code).expect("the file parses");
    let mut finder = Finder(Vec::new());
    finder.visit_file(&file);
    finder.0
}

#[test]
fn domain_code_carries_no_anyhow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut files = 0;
    let mut stack: Vec<_> = ["account", "oauth", "policy"]
        .iter()
        .map(|d| src.join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files += 1;
                let code = std::fs::read_to_string(&p).unwrap();
                for (line, named) in anyhow_in(&code) {
                    let file = p.strip_prefix(&src).unwrap().display().to_string();
                    found.push(format!("{file}:{line}: {named}"));
                }
            }
        }
    }
    assert!(files > 20, "the scan found the domain's files");
    assert!(
        found.is_empty(),
        "anyhow in domain code (use idp::error::Internal or a typed error):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_anyhow_check_can_fail() {
    let code = r#"
        use anyhow::Context as _;
        fn a() -> anyhow::Result<()> { bail!("no") }
        fn b() -> Result<(), Internal> { Err(anyhow::anyhow!("x").into()) }
        fn c() { let _ = format!("{}", anyhow::Error::msg("y")); }
        internal_from!(E: sqlx::Error, anyhow::Error);
        // anyhow::Result in a comment
        const S: &str = "anyhow::Result";
    "#;
    let lines: Vec<usize> = anyhow_in(code).iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![2, 3, 3, 4, 5], "{:?}", anyhow_in(code));
}
