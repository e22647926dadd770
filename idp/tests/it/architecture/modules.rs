//! The module tree of a crate as rustc builds it, read with `syn`: the files reached
//! from `lib.rs` through `mod` declarations (inline modules included), plus `main.rs`;
//! what each module names, and which modules each name leads to.
//!
//! A name is every path in the code: `use` trees (nested groups, `self`, renames,
//! globs), paths in types, expressions, patterns and attributes, and paths inside
//! macro calls (scanned as tokens, so `format!("{}", crate::x::y())` counts, and string
//! literals such as `"https://…"` never do). `crate::`, `self::`, `super::` and names
//! brought in by `use` (`use crate::db; db::users::find()`) are resolved against the
//! module they are written in; `pub use` re-exports are followed to the module that
//! defines the item.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// A module path in the crate, e.g. `["http", "pages", "login"]`; `[]` is `lib.rs`.
pub type ModPath = Vec<String>;

/// The path of the binary's root (`main.rs`), which is a crate of its own that names
/// the library by its crate name.
pub fn bin_path() -> ModPath {
    vec!["main".to_owned()]
}

/// A path as written in a module, with the line it is on.
pub struct Ref {
    /// Its segments; a leading `::` is an empty first segment.
    pub segs: Vec<String>,
    pub line: usize,
    pub kind: Kind,
}

/// Where a path is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// In a private `use` (the module's own import).
    Use,
    /// In a `pub use`: a re-export, which others name through this module.
    ReExport,
    /// In code: types, expressions, patterns, attributes, macro arguments. Single
    /// names count too (`Db` after `use super::Db`), so a re-exported name the
    /// module's own code uses is an import of its own as well.
    Code,
}

/// One module: a file, or an inline `mod x { … }`.
#[derive(Default)]
pub struct Module {
    pub path: ModPath,
    /// The file it is in, relative to `src/`.
    pub file: String,
    /// The submodules it declares with `mod`.
    pub children: BTreeSet<String>,
    /// Names it defines (functions, types, constants, `macro_rules!`, …).
    items: BTreeSet<String>,
    /// Names `use` brings into it, each with the path it stands for (as written).
    bindings: BTreeMap<String, Vec<String>>,
    /// `use x::*` paths (as written).
    globs: Vec<Vec<String>>,
    /// Every path it names.
    pub refs: Vec<Ref>,
}

impl Module {
    /// `path` as written in Rust (`crate` for the root).
    pub fn name(&self) -> String {
        if self.path.is_empty() {
            "crate".to_owned()
        } else {
            self.path.join("::")
        }
    }
}

/// Where a path leads.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// Into this crate: the modules whose `use` bindings the path went through, then
    /// the module that defines the named item (the last entry), and that item (`None`
    /// when the path names the module itself).
    Local(Vec<ModPath>, Option<String>),
    /// Into another crate (or std, a prelude type, a generic parameter): its first
    /// segment.
    Extern(String),
}

impl Target {
    /// The module that defines what the path names.
    pub fn module(&self) -> Option<&ModPath> {
        match self {
            Target::Local(via, _) => via.last(),
            Target::Extern(_) => None,
        }
    }
}

pub struct Crate {
    /// The library's name as other crates write it (`idp`, `relying_party_demo`).
    pub name: String,
    pub modules: BTreeMap<ModPath, Module>,
}

impl Crate {
    /// Reads the crate whose files `read` returns (paths relative to `src/`).
    pub fn load(name: &str, read: &dyn Fn(&str) -> Option<String>) -> Crate {
        let mut modules = BTreeMap::new();
        load_file(Vec::new(), "lib.rs", "", read, &mut modules);
        assert!(
            !modules.contains_key(&bin_path()),
            "a module named `main` clashes with main.rs"
        );
        if read("main.rs").is_some() {
            load_file(bin_path(), "main.rs", "", read, &mut modules);
        }
        Crate {
            name: name.to_owned(),
            modules,
        }
    }

    /// Where `segs`, written in module `from`, leads.
    pub fn resolve(&self, from: &[String], segs: &[String]) -> Target {
        self.resolve_in(from, segs, 0)
    }

    fn resolve_in(&self, from: &[String], segs: &[String], depth: usize) -> Target {
        let Some(first) = segs.first() else {
            return Target::Local(vec![from.to_vec()], None);
        };
        if depth > 16 {
            // A `use` that names itself: rustc would refuse it.
            return Target::Local(vec![from.to_vec()], None);
        }
        let bin = from == bin_path().as_slice();
        match first.as_str() {
            "" => Target::Extern(segs.get(1).cloned().unwrap_or_default()),
            "crate" if bin => Target::Local(vec![from.to_vec()], None),
            "crate" => self.walk(Vec::new(), &segs[1..], depth),
            "self" => self.walk(from.to_vec(), &segs[1..], depth),
            "super" => {
                let mut base = from.to_vec();
                let supers = segs.iter().take_while(|s| *s == "super").count();
                for _ in 0..supers {
                    base.pop();
                }
                self.walk(base, &segs[supers..], depth)
            }
            name if bin && name == self.name => self.walk(Vec::new(), &segs[1..], depth),
            _ => self.lookup(from, segs, depth),
        }
    }

    /// A path whose first segment is a plain name: a submodule, an item or a `use` of
    /// `from`, or else another crate.
    fn lookup(&self, from: &[String], segs: &[String], depth: usize) -> Target {
        let Some(m) = self.modules.get(from) else {
            return Target::Extern(segs[0].clone());
        };
        let first = &segs[0];
        if m.children.contains(first) || m.items.contains(first) {
            return self.walk(from.to_vec(), segs, depth);
        }
        if let Some(target) = m.bindings.get(first) {
            let mut path = target.clone();
            path.extend_from_slice(&segs[1..]);
            return self.resolve_in(from, &path, depth + 1);
        }
        for glob in &m.globs {
            if let Some(target) = self.glob_target(from, glob, first, depth) {
                return self.walk(target, segs, depth + 1);
            }
        }
        Target::Extern(first.clone())
    }

    /// The module a glob import of `from` brings `name` from, if it has that name.
    fn glob_target(
        &self,
        from: &[String],
        glob: &[String],
        name: &str,
        depth: usize,
    ) -> Option<ModPath> {
        let module = self.resolve_in(from, glob, depth + 1).module()?.clone();
        self.has(&module, name, depth + 1).then_some(module)
    }

    /// Whether `module` has `name`: a submodule, an item, a `use`, or through a glob.
    fn has(&self, module: &[String], name: &str, depth: usize) -> bool {
        let Some(m) = self.modules.get(module) else {
            return false;
        };
        if m.children.contains(name) || m.items.contains(name) || m.bindings.contains_key(name) {
            return true;
        }
        depth <= 16
            && m.globs.iter().any(|glob| {
                self.resolve_in(module, glob, depth + 1)
                    .module()
                    .is_some_and(|g| g.as_slice() != module && self.has(g, name, depth + 1))
            })
    }

    /// `rest` from module `base` downwards.
    fn walk(&self, base: ModPath, rest: &[String], depth: usize) -> Target {
        let mut cur = base;
        for (i, seg) in rest.iter().enumerate() {
            let Some(m) = self.modules.get(&cur) else {
                break;
            };
            if m.children.contains(seg) {
                cur.push(seg.clone());
                continue;
            }
            if m.items.contains(seg) {
                return Target::Local(vec![cur], Some(seg.clone()));
            }
            if let Some(target) = m.bindings.get(seg) {
                // A re-export: the module that re-exports, then where it leads.
                let mut path = target.clone();
                path.extend_from_slice(&rest[i + 1..]);
                return match self.resolve_in(&cur, &path, depth + 1) {
                    Target::Local(mut via, item) => {
                        via.insert(0, cur);
                        Target::Local(via, item)
                    }
                    other => other,
                };
            }
            for glob in &m.globs {
                if let Some(target) = self.glob_target(&cur, glob, seg, depth) {
                    return match self.walk(target, &rest[i..], depth + 1) {
                        Target::Local(mut via, item) => {
                            via.insert(0, cur);
                            Target::Local(via, item)
                        }
                        other => other,
                    };
                }
            }
            // A name the scan does not see defined (made by a macro): the module's.
            return Target::Local(vec![cur], Some(seg.clone()));
        }
        Target::Local(vec![cur], None)
    }
}

fn load_file(
    path: ModPath,
    file: &str,
    child_dir: &str,
    read: &dyn Fn(&str) -> Option<String>,
    out: &mut BTreeMap<ModPath, Module>,
) {
    let code = read(file).unwrap_or_else(|| panic!("{file}: declared but not found"));
    let ast = syn::parse_file(&code).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut module = Module {
        path,
        file: file.to_owned(),
        ..Module::default()
    };
    let mut collector = Collector::default();
    collector.visit_attributes(&ast.attrs);
    scan_items(
        &mut module,
        &mut collector,
        &ast.items,
        child_dir,
        read,
        out,
    );
    finish(module, collector, out);
}

/// The directory that holds the files of the submodules of the module in `file`.
fn child_dir_of(file: &str) -> String {
    let (dir, name) = file.rsplit_once('/').unwrap_or(("", file));
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    match name {
        "lib.rs" | "main.rs" | "mod.rs" => prefix,
        _ => format!("{prefix}{}/", name.trim_end_matches(".rs")),
    }
}

fn scan_items(
    module: &mut Module,
    collector: &mut Collector,
    items: &[syn::Item],
    child_dir: &str,
    read: &dyn Fn(&str) -> Option<String>,
    out: &mut BTreeMap<ModPath, Module>,
) {
    for item in items {
        if let syn::Item::Mod(m) = item {
            let name = m.ident.to_string();
            assert!(
                !m.attrs.iter().any(|a| a.path().is_ident("path")),
                "{}: #[path] on `mod {name}` is not followed by the scan",
                module.file
            );
            collector.visit_attributes(&m.attrs);
            module.children.insert(name.clone());
            let mut path = module.path.clone();
            path.push(name.clone());
            match &m.content {
                Some((_, inner)) => {
                    let mut child = Module {
                        path,
                        file: module.file.clone(),
                        ..Module::default()
                    };
                    let mut child_collector = Collector::default();
                    let dir = format!("{child_dir}{name}/");
                    scan_items(&mut child, &mut child_collector, inner, &dir, read, out);
                    finish(child, child_collector, out);
                }
                None => {
                    let flat = format!("{child_dir}{name}.rs");
                    let nested = format!("{child_dir}{name}/mod.rs");
                    let file = if read(&flat).is_some() { flat } else { nested };
                    let dir = child_dir_of(&file);
                    load_file(path, &file, &dir, read, out);
                }
            }
            continue;
        }
        if let Some(name) = defined_name(item) {
            module.items.insert(name);
        }
        collector.visit_item(item);
    }
}

fn finish(mut module: Module, collector: Collector, out: &mut BTreeMap<ModPath, Module>) {
    module.refs = collector.refs;
    module.bindings = collector.bindings;
    module.globs = collector.globs;
    out.insert(module.path.clone(), module);
}

fn defined_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// Collects the paths of one module's items (and of `use`s in their bodies).
#[derive(Default)]
struct Collector {
    refs: Vec<Ref>,
    bindings: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
    /// The kind of the `use` being read.
    use_kind: Option<Kind>,
}

impl Collector {
    fn visit_attributes(&mut self, attrs: &[syn::Attribute]) {
        for a in attrs {
            self.visit_attribute(a);
        }
    }

    fn push(&mut self, segs: Vec<String>, line: usize) {
        let kind = self.use_kind.unwrap_or(Kind::Code);
        self.refs.push(Ref { segs, line, kind });
    }

    /// One `use` tree: each leaf is a path (and a name bound to it).
    fn use_tree(&mut self, tree: &syn::UseTree, mut prefix: Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
            }
            syn::UseTree::Name(n) => {
                let line = n.ident.span().start().line;
                let name = if n.ident == "self" {
                    prefix.last().cloned().unwrap_or_default()
                } else {
                    prefix.push(n.ident.to_string());
                    n.ident.to_string()
                };
                self.bind(name, prefix, line);
            }
            syn::UseTree::Rename(r) => {
                let line = r.ident.span().start().line;
                if r.ident != "self" {
                    prefix.push(r.ident.to_string());
                }
                self.bind(r.rename.to_string(), prefix, line);
            }
            syn::UseTree::Glob(g) => {
                self.push(prefix.clone(), g.star_token.spans[0].start().line);
                self.globs.push(prefix);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(tree, prefix.clone());
                }
            }
        }
    }

    fn bind(&mut self, name: String, path: Vec<String>, line: usize) {
        // `use foo;` of a crate binds nothing new; `use x as _` binds no name.
        if name != "_" && path.len() > 1 {
            self.bindings.insert(name, path.clone());
        }
        self.push(path, line);
    }

    /// Paths inside a macro call or an attribute's arguments, read from the tokens:
    /// `a::b::c`, `::a::b`, `$crate::a`, and single names.
    fn tokens(&mut self, tokens: &TokenStream) {
        let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
        let colon =
            |i: usize| matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':');
        let double_colon = |i: usize| colon(i) && colon(i + 1);
        let mut i = 0;
        while let Some(token) = tokens.get(i) {
            let TokenTree::Ident(ident) = token else {
                if let TokenTree::Group(g) = token {
                    self.tokens(&g.stream());
                }
                i += 1;
                continue;
            };
            let after_dollar =
                i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
            let after_colons = i >= 2 && double_colon(i - 2);
            // After `::`: a path from the extern root (`::serde::Serialize`), unless it
            // goes on after generics (`Vec::<u8>::new`).
            let continued = after_colons
                && i >= 3
                && match &tokens[i - 3] {
                    TokenTree::Ident(_) => true,
                    TokenTree::Punct(p) => p.as_char() == '>',
                    _ => false,
                };
            let mut segs = Vec::new();
            if after_colons && !continued {
                segs.push(String::new());
            }
            segs.push(ident.to_string());
            let mut j = i + 1;
            while double_colon(j) {
                let Some(TokenTree::Ident(next)) = tokens.get(j + 2) else {
                    break;
                };
                segs.push(next.to_string());
                j += 3;
            }
            // `$x::…` is a macro_rules metavariable; `$crate::…` is `crate::…`.
            let metavariable = after_dollar && segs[0] != "crate";
            if !continued && !metavariable {
                self.push(segs, ident.span().start().line);
            }
            i = j;
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.visit_attributes(&u.attrs);
        let prefix = if u.leading_colon.is_some() {
            vec![String::new()]
        } else {
            Vec::new()
        };
        self.use_kind = Some(match u.vis {
            syn::Visibility::Inherited => Kind::Use,
            _ => Kind::ReExport,
        });
        self.use_tree(&u.tree, prefix);
        self.use_kind = None;
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let mut segs = Vec::new();
        if p.leading_colon.is_some() {
            segs.push(String::new());
        }
        segs.extend(p.segments.iter().map(|s| s.ident.to_string()));
        let line = p
            .segments
            .first()
            .map_or(0, |s| s.ident.span().start().line);
        self.push(segs, line);
        syn::visit::visit_path(self, p);
    }

    /// `pub(crate)`, `pub(super)`: visibility, not a use.
    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.tokens(&m.tokens);
    }

    fn visit_meta_list(&mut self, m: &'ast syn::MetaList) {
        self.visit_path(&m.path);
        self.tokens(&m.tokens);
    }
}
