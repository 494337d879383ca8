//! Every link between the repository's Markdown files resolves: relative links to files and
//! folders that exist, and `#anchors` to a heading of the target file (GitHub's heading slugs, or
//! an explicit `{#id}` / `<a id="...">`). Paths named in code spans that start with one of the
//! repository's top-level folders (`docs/MODEL.md`, `validation/README.md`) must exist too, so
//! a renamed or missing file cited in the text is caught. No network: web links are not
//! followed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Top-level folders whose paths, named in code spans, must exist.
const ROOTS: &[&str] = &[
    "benches/",
    "crates/",
    "data/",
    "docs/",
    "examples/",
    "literature/",
    "python/",
    "scripts/",
    "tests/",
    "validation/",
];

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        let p = e.path();
        if p.is_dir() {
            if name.starts_with('.') || name == "target" || name == "node_modules" || name == "out"
            {
                continue;
            }
            markdown_files(&p, out);
        } else if name.ends_with(".md") {
            out.push(p);
        }
    }
}

/// The text outside fenced code blocks, with inline code spans replaced by spaces; and the
/// code spans themselves, with their line.
fn prose(md: &str) -> (Vec<(usize, String)>, Vec<(usize, String)>) {
    let mut lines = Vec::new();
    let mut spans = Vec::new();
    let mut fenced = false;
    for (i, l) in md.lines().enumerate() {
        if l.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut text = String::new();
        let mut rest = l;
        while let Some(a) = rest.find('`') {
            text.push_str(&rest[..a]);
            let ticks = rest[a..].chars().take_while(|&c| c == '`').count();
            let fence = "`".repeat(ticks);
            let after = &rest[a + ticks..];
            match after.find(&fence) {
                Some(b) => {
                    spans.push((i + 1, after[..b].to_string()));
                    text.push(' ');
                    rest = &after[b + ticks..];
                }
                None => {
                    text.push_str(&rest[a..]);
                    rest = "";
                }
            }
        }
        text.push_str(rest);
        lines.push((i + 1, text));
    }
    (lines, spans)
}

/// GitHub's anchor for a heading text.
fn slug(heading: &str) -> String {
    let mut s = String::new();
    for c in heading.trim().to_lowercase().chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            s.push(c);
        } else if c == ' ' {
            s.push('-');
        }
    }
    s
}

/// Every anchor a Markdown file defines.
fn anchors(md: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fenced = false;
    for l in md.lines() {
        if l.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for (i, _) in l.match_indices("id=\"") {
            if let Some(end) = l[i + 4..].find('"') {
                out.insert(l[i + 4..i + 4 + end].to_string());
            }
        }
        let t = l.trim_start();
        if !t.starts_with('#') {
            continue;
        }
        let mut text = t.trim_start_matches('#').trim().to_string();
        if let Some(a) = text.rfind("{#")
            && text.ends_with('}')
        {
            out.insert(text[a + 2..text.len() - 1].to_string());
            text = text[..a].trim().to_string();
        }
        // GitHub drops markup characters (backticks, asterisks) but keeps the words.
        let base = slug(&text.replace(['`', '*'], ""));
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// Inline link and image targets `](target)` of a line of prose.
fn targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let mut depth = 0usize;
        let mut end = None;
        for (k, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(k);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let t = after[..end]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches(['<', '>']);
        out.push(t.to_string());
        rest = &after[end..];
    }
    out
}

fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

fn check_repo(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    markdown_files(root, &mut files);
    files.sort();
    let mut anchor_cache: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut anchors_of = |p: &Path| -> BTreeSet<String> {
        anchor_cache
            .entry(p.to_path_buf())
            .or_insert_with(|| anchors(&std::fs::read_to_string(p).unwrap_or_default()))
            .clone()
    };
    let mut bad = Vec::new();
    for f in &files {
        let md = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        let (lines, spans) = prose(&md);
        for (n, line) in &lines {
            for t in targets(line) {
                if t.is_empty() || t.contains("://") || t.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = match t.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (t.as_str(), None),
                };
                let target = if path.is_empty() {
                    f.clone()
                } else {
                    normalise(&f.parent().unwrap().join(path))
                };
                if !target.starts_with(root) || !target.exists() {
                    bad.push(format!(
                        "{rel}:{n}: link to `{t}`: {} does not exist",
                        target.display()
                    ));
                    continue;
                }
                if let Some(a) = anchor
                    && target.extension().is_some_and(|e| e == "md")
                    && !anchors_of(&target).contains(a)
                {
                    bad.push(format!(
                        "{rel}:{n}: link to `{t}`: no heading with anchor #{a}"
                    ));
                }
            }
        }
        for (n, span) in spans {
            let s = span.trim();
            if !ROOTS.iter().any(|r| s.starts_with(r))
                || s.contains(['<', '*', '{', ' ', '$', '|'])
                || s.ends_with("...")
            {
                continue;
            }
            let (path, anchor) = match s.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (s, None),
            };
            let target = root.join(path.trim_end_matches([',', '.', ':', ';']));
            if !target.exists() {
                bad.push(format!(
                    "{rel}:{n}: `{s}` names a path the repository does not have"
                ));
            } else if let Some(a) = anchor
                && target.extension().is_some_and(|e| e == "md")
                && !anchors_of(&target).contains(a)
            {
                bad.push(format!("{rel}:{n}: `{s}`: no heading with anchor #{a}"));
            }
        }
    }
    bad
}

#[test]
fn every_markdown_link_resolves() {
    let root = repo();
    let bad = check_repo(&root);
    assert!(
        bad.is_empty(),
        "{} broken link(s):\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_checker_finds_broken_links_and_anchors() {
    assert_eq!(slug("Goals and limits"), "goals-and-limits");
    assert_eq!(
        slug(
            "`needlesim cohort` → Parquet results, summary"
                .replace('`', "")
                .as_str()
        ),
        "needlesim-cohort--parquet-results-summary"
    );
    let a = anchors(
        "# A b\n## A b\n### Known limitations\n## Files {#files}\n```\n# not a heading\n```\n",
    );
    assert!(
        a.contains("a-b")
            && a.contains("a-b-1")
            && a.contains("known-limitations")
            && a.contains("files")
    );
    assert!(!a.contains("not-a-heading"));
    assert_eq!(
        targets("see [x](a.md#b) and ![y](img/y.png) [z](<c d.md>)"),
        ["a.md#b", "img/y.png", "c"]
    );
    let (lines, spans) = prose("a `docs/X.md` b\n```\n[no](link.md)\n```\n");
    assert_eq!(spans, [(1, "docs/X.md".to_string())]);
    assert_eq!(lines.len(), 1);
    // A small repository with one good and three bad references.
    let d = std::env::temp_dir().join(format!("needlesim-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("docs")).unwrap();
    std::fs::write(
        d.join("docs/A.md"),
        "# Title\n## Part one\n[ok](B.md#b) [gone](C.md) [anchor](B.md#nope)\n`docs/Z.md`\n",
    )
    .unwrap();
    std::fs::write(d.join("docs/B.md"), "# B\n").unwrap();
    let bad = check_repo(&d.canonicalize().unwrap());
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(bad.len(), 3, "{bad:?}");
}

#[test]
fn error_hints_point_at_headings_of_the_book() {
    let root = repo();
    for (kind, path) in needlesim::input::BOOK_SECTIONS {
        let section = needlesim::input::book_section(kind, path)
            .unwrap_or_else(|| panic!("{kind} {path}: no section"));
        let (file, anchor) = section.split_once('#').expect("file#anchor");
        let md =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{section}: {e}"));
        assert!(
            anchors(&md).contains(anchor),
            "{kind} `{path}` -> {section}: no such heading"
        );
    }
    assert_eq!(needlesim::input::book_section("case", "inputs.site"), None);
}
