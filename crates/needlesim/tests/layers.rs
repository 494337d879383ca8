//! The library's top-level modules form layers, and imports point down (docs/ARCHITECTURE.md,
//! "Layers"). This test reads `src/`, builds the graph of top-level modules from the paths that
//! name another module (`crate::x`, `use crate::{x, y}`, `super::x` reaching the crate root),
//! ignoring comments, string literals and `#[cfg(test)]` items, and checks that
//!
//! 1. every top-level module (`src/x.rs` or `src/x/`) is in [`LAYERS`] and every entry exists,
//! 2. the graph has no cycle (a cycle is printed arrow by arrow, each with a `file:line`),
//! 3. each import goes to a strictly lower layer (an upward or sideways import is named with
//!    its `file:line` and the line itself).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first: a module may import only modules of lower layers. Keep in step
/// with the table in docs/ARCHITECTURE.md. `transport` is the `needlesim-transport` crate,
/// re-exported at the crate root.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation",
        &[
            "transport",
            "units",
            "rng",
            "timings",
            "progress",
            "registry",
        ],
    ),
    ("anatomy", &["skin"]),
    ("devices", &["device"]),
    ("channels", &["injury"]),
    ("parameter registry", &["params"]),
    ("treatment protocol", &["protocol"]),
    ("validated scenario (SI)", &["scenario"]),
    ("report: plots, tables, HTML", &["report"]),
    ("models", &["delivery", "healing"]),
    ("pipeline stages", &["budget", "pipeline"]),
    ("hair model", &["hair"]),
    ("input: file types, checks, conversion to SI", &["input"]),
    ("validation cases", &["validate"]),
    ("planner", &["plan"]),
    ("seam error", &["error"]),
    ("front door", &["study"]),
    ("virtual cohorts", &["cohort"]),
];

/// Upward imports that remain, each with what removes it. The list may only shrink: an entry
/// whose import is gone fails the test until it is deleted here (and in docs/ARCHITECTURE.md).
const KNOWN_UPWARD: &[(&str, &str, &str)] = &[];

#[derive(Debug, Clone)]
struct Site {
    file: String,
    line: usize,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Replaces comments, string and char literals by spaces (newlines kept, so line numbers stay).
fn blank_non_code(src: &str) -> Vec<char> {
    let c: Vec<char> = src.chars().collect();
    let mut out = c.clone();
    let n = c.len();
    let blank = |out: &mut Vec<char>, a: usize, b: usize| {
        for ch in out.iter_mut().take(b.min(n)).skip(a) {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < n {
        if c[i] == '/' && i + 1 < n && c[i + 1] == '/' {
            let mut j = i;
            while j < n && c[j] != '\n' {
                j += 1;
            }
            blank(&mut out, i, j);
            i = j;
        } else if c[i] == '/' && i + 1 < n && c[i + 1] == '*' {
            let (mut j, mut depth) = (i + 2, 1);
            while j < n && depth > 0 {
                if c[j] == '/' && j + 1 < n && c[j + 1] == '*' {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && j + 1 < n && c[j + 1] == '/' {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if (c[i] == 'r' || (c[i] == 'b' && i + 1 < n && c[i + 1] == 'r'))
            && (i == 0 || !is_ident(c[i - 1]))
            && {
                let mut j = i + if c[i] == 'b' { 2 } else { 1 };
                while j < n && c[j] == '#' {
                    j += 1;
                }
                j < n && c[j] == '"'
            }
        {
            // Raw string: r"..", r#".."#, br"..".
            let mut j = i + if c[i] == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while c[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            while j < n {
                if c[j] == '"' && (0..hashes).all(|k| j + 1 + k < n && c[j + 1 + k] == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            blank(&mut out, i, j);
            i = j;
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < n && c[j] != '"' {
                if c[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if c[i] == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if i + 1 < n && c[i + 1] == '\\' {
                let mut j = i + 2;
                while j < n && c[j] != '\'' {
                    j += 1;
                }
                blank(&mut out, i, j + 1);
                i = j + 1;
            } else if i + 2 < n && c[i + 2] == '\'' {
                blank(&mut out, i, i + 3);
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

fn tokenize(src: &str) -> Vec<(Tok, usize)> {
    let c = blank_non_code(src);
    let mut toks = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let mut j = i;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            let word: String = c[i..j].iter().collect();
            let word = word.strip_prefix("r#").map(str::to_string).unwrap_or(word);
            toks.push((Tok::Ident(word), line));
            i = j;
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                i += 1;
            }
        } else if ch == ':' && i + 1 < c.len() && c[i + 1] == ':' {
            toks.push((Tok::PathSep, line));
            i += 2;
        } else {
            toks.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    toks
}

fn ident(t: Option<&(Tok, usize)>) -> Option<&str> {
    match t {
        Some((Tok::Ident(s), _)) => Some(s),
        _ => None,
    }
}

fn is(t: Option<&(Tok, usize)>, p: char) -> bool {
    matches!(t, Some((Tok::Punct(q), _)) if *q == p)
}

/// Index just past the item starting at `i` (up to a `;` at depth 0, or the `}` closing a
/// block opened at depth 0).
fn skip_item(toks: &[(Tok, usize)], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct('(') | Tok::Punct('[') | Tok::Punct('{') => depth += 1,
            Tok::Punct(')') | Tok::Punct(']') => depth -= 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            Tok::Punct(';') if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Is `#[cfg(test)]` at `i`? Returns the index past it.
fn cfg_test_at(toks: &[(Tok, usize)], i: usize) -> Option<usize> {
    let want = ["#", "[", "cfg", "(", "test", ")", "]"];
    for (k, w) in want.iter().enumerate() {
        let ok = match toks.get(i + k) {
            Some((Tok::Ident(s), _)) => s == w,
            Some((Tok::Punct(p), _)) => w.len() == 1 && w.starts_with(*p),
            _ => false,
        };
        if !ok {
            return None;
        }
    }
    Some(i + want.len())
}

/// First segments of the use tree in the `{...}` group at `i` (index of `{`).
fn group_heads(toks: &[(Tok, usize)], i: usize) -> Vec<(String, usize)> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect = true;
    let mut k = i;
    while k < toks.len() {
        match &toks[k].0 {
            Tok::Punct('{') => {
                depth += 1;
                if depth == 1 {
                    expect = true;
                }
            }
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Tok::Punct(',') if depth == 1 => expect = true,
            Tok::Ident(s) if depth == 1 && expect => {
                heads.push((s.clone(), toks[k].1));
                expect = false;
            }
            _ => {}
        }
        k += 1;
    }
    heads
}

/// The module path of a file: `src/a.rs` and `src/a/mod.rs` are `[a]`, `src/a/b.rs` is `[a, b]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Every path in `toks` that names a crate-root item: `(name, line)`, for a file at `module`.
fn root_refs(toks: &[(Tok, usize)], module: &[String]) -> Vec<(String, usize)> {
    let mut refs = Vec::new();
    // Inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, i32)> = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < toks.len() {
        if let Some(mut j) = cfg_test_at(toks, i) {
            // Further attributes of the same item.
            while is(toks.get(j), '#') {
                j = skip_item_attr(toks, j);
            }
            i = skip_item(toks, j);
            continue;
        }
        match &toks[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                if i >= 2 && ident(toks.get(i - 2)) == Some("mod") {
                    inline.push((ident(toks.get(i - 1)).unwrap_or("?").to_string(), depth));
                }
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super")
                    && !matches!(toks.get(i.wrapping_sub(1)), Some((Tok::PathSep, _)))
                    && matches!(toks.get(i + 1), Some((Tok::PathSep, _))) =>
            {
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                let mut k = i;
                if w == "crate" {
                    here.clear();
                    k += 2;
                } else {
                    while ident(toks.get(k)) == Some("super")
                        && matches!(toks.get(k + 1), Some((Tok::PathSep, _)))
                    {
                        here.pop();
                        k += 2;
                    }
                }
                if here.is_empty() {
                    if is(toks.get(k), '{') {
                        refs.extend(group_heads(toks, k));
                    } else if let Some(name) = ident(toks.get(k)) {
                        refs.push((name.to_string(), toks[k].1));
                    }
                }
                i = k;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    refs
}

fn skip_item_attr(toks: &[(Tok, usize)], i: usize) -> usize {
    // `#` `[` ... `]`
    let mut depth = 0;
    let mut k = i + 1;
    while k < toks.len() {
        match toks[k].0 {
            Tok::Punct('[') => depth += 1,
            Tok::Punct(']') => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
        k += 1;
    }
    k
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Crate-root names re-exported by `lib.rs` (`pub use error::{Error, Result}`) -> their module.
fn root_aliases(lib: &str) -> BTreeMap<String, String> {
    let toks = tokenize(lib);
    let mut map = BTreeMap::new();
    let mut i = 0;
    while i < toks.len() {
        if ident(toks.get(i)) == Some("use") {
            let end = skip_item(&toks, i);
            if let Some(first) = ident(toks.get(i + 1)) {
                let stmt = &toks[i + 1..end];
                // `use x as y;`
                if ident(stmt.get(1)) == Some("as") {
                    if let Some(alias) = ident(stmt.get(2)) {
                        map.insert(alias.to_string(), alias.to_string());
                    }
                } else {
                    for (k, t) in stmt.iter().enumerate() {
                        if let Tok::Ident(name) = &t.0 {
                            let next = stmt.get(k + 1).map(|t| &t.0);
                            if k > 0 && matches!(next, Some(Tok::Punct(',' | '}' | ';')) | None) {
                                map.insert(name.clone(), first.to_string());
                            }
                        }
                    }
                }
            }
            i = end;
        } else {
            i += 1;
        }
    }
    map
}

struct Graph {
    modules: BTreeSet<String>,
    edges: BTreeMap<(String, String), Vec<Site>>,
}

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let aliases = root_aliases(&lib);
    let mut modules: BTreeSet<String> = BTreeSet::new();
    for e in fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if p.is_dir() || (name != "lib" && p.extension().is_some_and(|e| e == "rs")) {
            modules.insert(name);
        }
    }
    // The transport crate, re-exported at the root.
    for (alias, target) in &aliases {
        if alias == target {
            modules.insert(alias.clone());
        }
    }
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<(String, String), Vec<Site>> = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let module = module_path(rel);
        let Some(from) = module.first().cloned() else {
            continue; // lib.rs: the root's own declarations and re-exports
        };
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (name, line) in root_refs(&tokenize(&text), &module) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(m) = aliases.get(&name) {
                m.clone()
            } else {
                continue; // a root item that is no module (e.g. SCHEMA_VERSION)
            };
            if to == from {
                continue;
            }
            let site = Site {
                file: format!("crates/needlesim/src/{}", rel.display()),
                line,
                text: lines.get(line - 1).unwrap_or(&"").trim().to_string(),
            };
            edges.entry((from.clone(), to)).or_default().push(site);
        }
    }
    Graph { modules, edges }
}

fn known(a: &str, b: &str) -> bool {
    KNOWN_UPWARD.iter().any(|(x, y, _)| *x == a && *y == b)
}

fn layer_of() -> BTreeMap<&'static str, (usize, &'static str)> {
    let mut m = BTreeMap::new();
    for (k, (name, mods)) in LAYERS.iter().enumerate() {
        for md in mods.iter() {
            assert!(
                m.insert(*md, (k, *name)).is_none(),
                "`{md}` is in two layers"
            );
        }
    }
    m
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    let nodes: Vec<&String> = g.modules.iter().collect();
    let idx: BTreeMap<&String, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut adj = vec![Vec::new(); nodes.len()];
    for (a, b) in g.edges.keys() {
        if let (Some(&i), Some(&j)) = (idx.get(a), idx.get(b)) {
            adj[i].push(j);
        }
    }
    struct T<'a> {
        adj: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        sccs: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in &t.adj[v].clone() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.sccs.push(comp);
            }
        }
    }
    let mut t = T {
        adj: &adj,
        index: vec![None; nodes.len()],
        low: vec![0; nodes.len()],
        on: vec![false; nodes.len()],
        stack: Vec::new(),
        next: 0,
        sccs: Vec::new(),
    };
    for v in 0..nodes.len() {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.sccs
        .iter()
        .map(|c| c.iter().map(|&i| nodes[i].clone()).collect())
        .collect()
}

/// One cycle through `start` inside `comp` (breadth-first, so a shortest one).
fn cycle_through(g: &Graph, comp: &[String], start: &str) -> Vec<String> {
    let inside: BTreeSet<&str> = comp.iter().map(String::as_str).collect();
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for (a, b) in g.edges.keys() {
            if a != v || !inside.contains(b.as_str()) {
                continue;
            }
            if b == start {
                let mut path = vec![v.to_string()];
                let mut cur = v;
                while cur != start {
                    cur = prev[cur];
                    path.push(cur.to_string());
                }
                path.reverse();
                return path;
            }
            if !prev.contains_key(b.as_str()) && b != start {
                prev.insert(b, v);
                queue.push_back(b);
            }
        }
    }
    vec![start.to_string()]
}

fn describe_edge(g: &Graph, a: &str, b: &str) -> String {
    let sites = &g.edges[&(a.to_string(), b.to_string())];
    let s = &sites[0];
    let more = if sites.len() > 1 {
        format!(" (+{} more)", sites.len() - 1)
    } else {
        String::new()
    };
    format!("{a} -> {b}   {}:{}: {}{more}", s.file, s.line, s.text)
}

/// The graph as text, one line per module (printed with `--nocapture`; handy in reviews).
fn dump(g: &Graph) -> String {
    let mut out = String::new();
    for m in &g.modules {
        let to: Vec<&str> = g
            .edges
            .keys()
            .filter(|(a, _)| a == m)
            .map(|(_, b)| b.as_str())
            .collect();
        out.push_str(&format!("  {m} -> {}\n", to.join(" ")));
    }
    out
}

#[test]
fn every_module_is_in_the_layer_table() {
    let g = graph();
    let layers = layer_of();
    let missing: Vec<&String> = g
        .modules
        .iter()
        .filter(|m| !layers.contains_key(m.as_str()))
        .collect();
    let stale: Vec<&&str> = layers.keys().filter(|m| !g.modules.contains(**m)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "top-level modules not in tests/layers.rs LAYERS (and docs/ARCHITECTURE.md): {missing:?}; \
         entries of LAYERS that are no module: {stale:?}"
    );
}

#[test]
fn top_level_modules_import_no_cycle() {
    let mut g = graph();
    println!("module graph:\n{}", dump(&g));
    for comp in cycles(&g) {
        println!(
            "cycle through the known upward imports: {}",
            comp.join(", ")
        );
    }
    // The known upward imports (KNOWN_UPWARD) are checked by imports_point_down_the_layers.
    g.edges.retain(|(a, b), _| !known(a, b));
    let sccs = cycles(&g);
    if sccs.is_empty() {
        return;
    }
    let mut msg = String::from("the top-level modules import each other in a circle:\n");
    for comp in &sccs {
        msg.push_str(&format!(
            "  modules {} form a cycle, e.g.:\n",
            comp.join(", ")
        ));
        let cyc = cycle_through(&g, comp, &comp[0]);
        for k in 0..cyc.len() {
            let (a, b) = (&cyc[k], &cyc[(k + 1) % cyc.len()]);
            msg.push_str(&format!("    {}\n", describe_edge(&g, a, b)));
        }
    }
    panic!("{msg}");
}

#[test]
fn imports_point_down_the_layers() {
    let g = graph();
    let layers = layer_of();
    let mut bad = Vec::new();
    for ((a, b), sites) in &g.edges {
        let (Some(&(la, na)), Some(&(lb, nb))) = (layers.get(a.as_str()), layers.get(b.as_str()))
        else {
            continue; // reported by every_module_is_in_the_layer_table
        };
        if lb >= la && !known(a, b) {
            for s in sites {
                bad.push(format!(
                    "  {}:{}: `{a}` (layer {la}, {na}) imports `{b}` (layer {lb}, {nb}): {}",
                    s.file, s.line, s.text
                ));
            }
        }
    }
    for (a, b, why) in KNOWN_UPWARD {
        let upward = matches!((layers.get(a), layers.get(b)), (Some(x), Some(y)) if y.0 >= x.0);
        if !g.edges.contains_key(&(a.to_string(), b.to_string())) || !upward {
            bad.push(format!(
                "  KNOWN_UPWARD lists `{a}` -> `{b}` ({why}), which is no longer an upward import: \
                 delete the entry (tests/layers.rs, docs/ARCHITECTURE.md)"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "imports must point down the layers (docs/ARCHITECTURE.md, \"Layers\"; lowest first: {}):\n{}\n\
         Move the item the lower module needs down, or the code that needs the higher module up.",
        LAYERS
            .iter()
            .map(|(_, m)| m.join(" "))
            .collect::<Vec<_>>()
            .join(" < "),
        bad.join("\n")
    );
}

/// The scanner itself: comments, strings, `#[cfg(test)]` modules and inline modules.
#[test]
fn the_scanner_reads_paths_as_rustc_does() {
    let src = r##"
//! crate::doc_comment_is_ignored
use crate::{alpha, beta::{x, y}, gamma::*};
use super::delta::Thing;
fn f() { let s = "crate::in_string"; let r = r#"crate::in_raw"#; let c = '"'; crate::eps::g(); }
/* crate::block /* nested */ crate::still_comment */
fn g<'a>(x: &'a str) -> &'a str { crate::zeta::h(x) }
pub mod inner { use super::Own; use super::super::eta; }
#[cfg(test)]
mod tests { use crate::theta; }
#[cfg(test)]
use crate::iota;
"##;
    let refs: Vec<String> = root_refs(&tokenize(src), &["m".to_string()])
        .into_iter()
        .map(|(n, l)| format!("{n}@{l}"))
        .collect();
    assert_eq!(
        refs,
        [
            "alpha@3", "beta@3", "gamma@3", "delta@4", "eps@5", "zeta@7", "eta@8"
        ]
    );
}
