//! The book (`docs/book/`) is tested like code: every chapter's code blocks run, in order, in a
//! fresh folder holding a copy of the repository's `examples/`, `validation/` and `data/`, and
//! the output must still say what the text claims. The conventions (also in
//! `docs/book/README.md`, "How the book is tested"):
//!
//! - A ```` ```console ```` (or `sh`, `shell`) block holds commands, each on a line starting
//!   with `$ ` (a trailing `\` continues it on the next line), run with `sh -c` in the chapter's
//!   folder with the tested `needlesim` binary first on `PATH`. The lines after a command are
//!   its output as shown to the reader; shown lines are not compared, except **check lines**,
//!   which start with `>> `: the text after `>> ` must appear in one line of the command's real
//!   output (stdout and stderr), with runs of spaces counting as one space, and `...` matching
//!   anything within that line. A command must exit with status 0, unless a check line
//!   `>> [exit N]` says which status it must exit with.
//! - A ```` ```toml file=NAME ```` block is written to NAME in the chapter's folder before the
//!   commands after it run; ```` ```toml append=NAME ```` appends to it. Every TOML block of the
//!   book must say one or the other (so every one is used by a command).
//! - ```` ```python ```` blocks of a chapter run after its commands, in order, in one
//!   namespace, in the chapter's folder, with `$NEEDLESIM_PYTHON` (the needlesim wheel installed); comment lines
//!   `#>> text` are check lines on what the blocks print. Without `NEEDLESIM_PYTHON`, or when
//!   it cannot import needlesim, they are skipped with a message.
//! - A figure is an HTML comment `<!-- figure: OUTPUT -> img/NAME.svg -->` followed by an image
//!   `![...](img/NAME.png)`: after the chapter's commands ran, the SVG file OUTPUT (relative to
//!   the chapter's folder; `report.html#3` is the third top-level `<svg>` of an HTML file) must
//!   equal the committed `docs/book/img/NAME.svg` text. `NEEDLESIM_BLESS=1` rewrites the
//!   committed SVGs instead (then render the PNGs with `scripts/book_png.sh`).
//! - Other blocks (```` ```text ````, ```` ```rust ````) are shown, not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn book() -> PathBuf {
    repo().join("docs/book")
}

/// The chapters, in the order of `docs/book/SUMMARY.md`.
fn chapters() -> Vec<String> {
    let summary = std::fs::read_to_string(book().join("SUMMARY.md")).expect("docs/book/SUMMARY.md");
    let mut out = Vec::new();
    for line in summary.lines() {
        if let Some(start) = line.find("](") {
            let rest = &line[start + 2..];
            if let Some(end) = rest.find(')') {
                let target = &rest[..end];
                if target.ends_with(".md") && !out.iter().any(|c| c == target) {
                    out.push(target.to_string());
                }
            }
        }
    }
    out
}

#[derive(Debug)]
enum Block {
    Commands {
        line: usize,
        text: String,
    },
    Toml {
        line: usize,
        attr: String,
        text: String,
    },
    Python {
        line: usize,
        text: String,
    },
    Other,
}

/// The fenced code blocks of a Markdown text, with the line of their opening fence.
fn blocks(md: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = md.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let info = info.trim().to_string();
        let mut body = String::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        let lang = info.split_whitespace().next().unwrap_or("");
        let attr = info[lang.len()..].trim().to_string();
        let line = i + 1;
        out.push(match lang {
            "console" | "sh" | "shell" if body.lines().any(|l| l.starts_with("$ ")) => {
                Block::Commands { line, text: body }
            }
            "toml" => Block::Toml {
                line,
                attr,
                text: body,
            },
            "python" => Block::Python { line, text: body },
            _ => Block::Other,
        });
    }
    out
}

/// One command of a console block: the command line and its check lines.
struct Cmd {
    line: usize,
    command: String,
    checks: Vec<String>,
    exit: i32,
}

fn commands(start: usize, text: &str) -> Vec<Cmd> {
    let mut out: Vec<Cmd> = Vec::new();
    let mut continued = false;
    for (k, l) in text.lines().enumerate() {
        if continued {
            let c = out.last_mut().unwrap();
            c.command.push('\n');
            c.command.push_str(l);
            continued = l.ends_with('\\');
        } else if let Some(cmd) = l.strip_prefix("$ ") {
            out.push(Cmd {
                line: start + 1 + k,
                command: cmd.to_string(),
                checks: vec![],
                exit: 0,
            });
            continued = cmd.ends_with('\\');
        } else if let Some(check) = l.strip_prefix(">> ") {
            let c = out.last_mut().expect("a check line follows a command");
            let t = check.trim();
            match t.strip_prefix("[exit ").and_then(|s| s.strip_suffix(']')) {
                Some(n) => c.exit = n.trim().parse().expect("[exit N]"),
                None => c.checks.push(t.to_string()),
            }
        }
    }
    out
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether one line of `output` holds `pattern` (`...` matches anything within the line).
fn holds(output: &str, pattern: &str) -> bool {
    let parts: Vec<String> = pattern.split("...").map(squash).collect();
    output.lines().any(|line| {
        let line = squash(line);
        let mut at = 0;
        parts.iter().all(|p| match line[at..].find(p.as_str()) {
            Some(i) => {
                at += i + p.len();
                true
            }
            None => false,
        })
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn workdir(chapter: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "needlesim-book-{}-{}",
        std::process::id(),
        chapter.trim_end_matches(".md")
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    for sub in ["examples", "validation", "data"] {
        copy_dir(&repo().join(sub), &d.join(sub));
    }
    d
}

fn path_env() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_needlesim"));
    let dir = bin.parent().unwrap().to_string_lossy().to_string();
    match std::env::var("PATH") {
        Ok(p) => format!("{dir}:{p}"),
        Err(_) => dir,
    }
}

/// The python interpreter the book's Python blocks run with, or why they are skipped.
fn python() -> Result<String, String> {
    let py = std::env::var("NEEDLESIM_PYTHON")
        .map_err(|_| "NEEDLESIM_PYTHON is not set (bash .ci/run sets it)".to_string())?;
    let ok = Command::new(&py)
        .args(["-c", "import needlesim"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Ok(py)
    } else {
        Err(format!(
            "{py} cannot import needlesim (bash .ci/run installs the wheel)"
        ))
    }
}

const PY_DRIVER: &str = r#"
import sys
ns = {"__name__": "book"}
for path in sys.argv[1:]:
    name = path.split("::", 1)
    code = open(name[0]).read()
    exec(compile(code, name[1], "exec"), ns)
"#;

/// Top-level `<svg>` number `n` (1-based) of an HTML text.
fn nth_svg(html: &str, n: usize) -> Option<String> {
    let mut depth = 0usize;
    let mut count = 0usize;
    let mut start = 0usize;
    let mut i = 0usize;
    while i < html.len() {
        let rest = &html[i..];
        if rest.starts_with("<svg") {
            if depth == 0 {
                count += 1;
                start = i;
            }
            depth += 1;
            i += 4;
        } else if rest.starts_with("</svg>") {
            depth = depth.saturating_sub(1);
            i += 6;
            if depth == 0 && count == n {
                return Some(format!("{}\n", &html[start..i]));
            }
        } else {
            i += rest.chars().next().map(char::len_utf8).unwrap_or(1);
        }
    }
    None
}

struct Figure {
    line: usize,
    output: String,
    svg: String,
}

fn figures(md: &str) -> (Vec<Figure>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.trim().strip_prefix("<!-- figure:") else {
            continue;
        };
        let rest = rest.trim_end_matches("-->").trim();
        let Some((output, svg)) = rest.split_once("->") else {
            problems.push(format!(
                "line {}: a figure comment is `<!-- figure: OUTPUT -> img/NAME.svg -->`",
                i + 1
            ));
            continue;
        };
        let (output, svg) = (output.trim().to_string(), svg.trim().to_string());
        let png = format!("({})", svg.replace(".svg", ".png"));
        if !lines
            .get(i + 1)
            .is_some_and(|n| n.contains("![") && n.contains(&png))
        {
            problems.push(format!(
                "line {}: the figure {svg} must be followed by an image `![...]{png}`",
                i + 1
            ));
        }
        out.push(Figure {
            line: i + 1,
            output,
            svg,
        });
    }
    (out, problems)
}

/// Runs one chapter; returns its failures and what it skipped.
fn run_chapter(chapter: &str, bless: bool) -> (Vec<String>, Vec<String>) {
    let md = std::fs::read_to_string(book().join(chapter)).unwrap();
    let dir = workdir(chapter);
    let path = path_env();
    let mut fails = Vec::new();
    let mut notes = Vec::new();
    let mut py_blocks: Vec<(usize, String)> = Vec::new();
    for b in blocks(&md) {
        match b {
            Block::Commands { line, text } => {
                for c in commands(line, &text) {
                    let o = Command::new("sh")
                        .arg("-c")
                        .arg(&c.command)
                        .current_dir(&dir)
                        .env("PATH", &path)
                        .env("RAYON_NUM_THREADS", "2")
                        .output()
                        .expect("sh runs");
                    let all = format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    );
                    let code = o.status.code().unwrap_or(-1);
                    let mut bad = Vec::new();
                    if code != c.exit {
                        bad.push(format!("exit status {code}, the book says {}", c.exit));
                    }
                    for p in &c.checks {
                        if !holds(&all, p) {
                            bad.push(format!("no output line holds the check line `>> {p}`"));
                        }
                    }
                    if !bad.is_empty() {
                        let tail: Vec<&str> = all.lines().rev().take(40).collect();
                        let tail: Vec<&str> = tail.into_iter().rev().collect();
                        fails.push(format!(
                            "docs/book/{chapter}:{}: `$ {}`:\n  - {}\n  output (last 40 lines):\n    {}",
                            c.line,
                            c.command,
                            bad.join("\n  - "),
                            tail.join("\n    ")
                        ));
                    }
                }
            }
            Block::Toml { line, attr, text } => {
                let (mode, name) = match attr.split_once('=') {
                    Some((m, n)) if m == "file" || m == "append" => {
                        (m.to_string(), n.trim().to_string())
                    }
                    _ => {
                        fails.push(format!(
                            "docs/book/{chapter}:{line}: a TOML block must say `toml file=NAME` or `toml append=NAME`"
                        ));
                        continue;
                    }
                };
                let target = dir.join(&name);
                if let Some(p) = target.parent() {
                    std::fs::create_dir_all(p).unwrap();
                }
                if mode == "file" {
                    std::fs::write(&target, &text).unwrap();
                } else {
                    match std::fs::read_to_string(&target) {
                        Ok(mut t) => {
                            if !t.ends_with('\n') {
                                t.push('\n');
                            }
                            t.push_str(&text);
                            std::fs::write(&target, t).unwrap();
                        }
                        Err(_) => fails.push(format!(
                            "docs/book/{chapter}:{line}: `append={name}`: no such file yet in the chapter's folder"
                        )),
                    }
                }
            }
            Block::Python { line, text } => py_blocks.push((line, text)),
            Block::Other => {}
        }
    }
    if !py_blocks.is_empty() {
        match python() {
            Err(why) => notes.push(format!(
                "docs/book/{chapter}: {} Python block(s) skipped: {why}",
                py_blocks.len()
            )),
            Ok(py) => {
                let mut args = vec!["-c".to_string(), PY_DRIVER.to_string()];
                let mut checks = Vec::new();
                for (k, (line, code)) in py_blocks.iter().enumerate() {
                    let f = dir.join(format!("book_block_{k}.py"));
                    std::fs::write(&f, code).unwrap();
                    args.push(format!("{}::docs/book/{chapter}:{line}", f.display()));
                    for l in code.lines() {
                        if let Some(i) = l.find("#>> ") {
                            checks.push((*line, l[i + 4..].trim().to_string()));
                        }
                    }
                }
                let o = Command::new(&py)
                    .args(&args)
                    .current_dir(&dir)
                    .env("PATH", &path)
                    .output()
                    .expect("python runs");
                let out = String::from_utf8_lossy(&o.stdout).to_string();
                let err = String::from_utf8_lossy(&o.stderr).to_string();
                if !o.status.success() {
                    fails.push(format!(
                        "docs/book/{chapter}: the Python blocks failed:\n{err}"
                    ));
                }
                for (line, p) in checks {
                    if !holds(&out, &p) {
                        fails.push(format!(
                            "docs/book/{chapter}:{line}: no printed line holds the check line `#>> {p}`; printed:\n{out}"
                        ));
                    }
                }
            }
        }
    }
    let (figs, problems) = figures(&md);
    fails.extend(
        problems
            .into_iter()
            .map(|p| format!("docs/book/{chapter}:{p}")),
    );
    for f in figs {
        let (file, nth) = match f.output.split_once('#') {
            Some((p, n)) => (p.to_string(), n.parse::<usize>().ok()),
            None => (f.output.clone(), None),
        };
        let text = match std::fs::read_to_string(dir.join(&file)) {
            Ok(t) => t,
            Err(e) => {
                fails.push(format!(
                    "docs/book/{chapter}:{}: figure source {file}: {e}",
                    f.line
                ));
                continue;
            }
        };
        let svg = match nth {
            Some(n) => match nth_svg(&text, n) {
                Some(s) => s,
                None => {
                    fails.push(format!(
                        "docs/book/{chapter}:{}: {file} has no top-level <svg> number {n}",
                        f.line
                    ));
                    continue;
                }
            },
            None => text,
        };
        let committed = book().join(&f.svg);
        if bless {
            std::fs::write(&committed, &svg).unwrap();
            notes.push(format!(
                "blessed docs/book/{} (render its PNG: scripts/book_png.sh)",
                f.svg
            ));
        } else {
            match std::fs::read_to_string(&committed) {
                Ok(c) if c == svg => {}
                Ok(_) => fails.push(format!(
                    "docs/book/{chapter}:{}: the figure {} differs from what `{}` now draws: look at the change, then \
                     NEEDLESIM_BLESS=1 cargo test -p needlesim-cli --test book and scripts/book_png.sh",
                    f.line, f.svg, f.output
                )),
                Err(_) => fails.push(format!(
                    "docs/book/{chapter}:{}: docs/book/{} is missing (NEEDLESIM_BLESS=1 writes it)",
                    f.line, f.svg
                )),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    (fails, notes)
}

#[test]
fn the_book_runs_and_says_what_the_commands_print() {
    let bless = std::env::var("NEEDLESIM_BLESS").is_ok_and(|v| v == "1");
    let chapters = chapters();
    assert!(
        chapters.len() >= 6,
        "SUMMARY.md lists the chapters: {chapters:?}"
    );
    let mut fails = Vec::new();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for ch in &chapters {
        let t0 = std::time::Instant::now();
        let (f, notes) = run_chapter(ch, bless);
        for n in notes {
            eprintln!("note: {n}");
        }
        eprintln!(
            "book: {ch}: {:.1} s, {} failure(s)",
            t0.elapsed().as_secs_f64(),
            f.len()
        );
        let md = std::fs::read_to_string(book().join(ch)).unwrap();
        let n_cmd = blocks(&md)
            .iter()
            .map(|b| match b {
                Block::Commands { line, text } => commands(*line, text).len(),
                _ => 0,
            })
            .sum();
        counts.insert(ch.clone(), (n_cmd, f.len()));
        fails.extend(f);
    }
    let mut msg = String::new();
    for f in &fails {
        let _ = writeln!(msg, "{f}\n");
    }
    assert!(
        fails.is_empty(),
        "{} book failure(s):\n\n{msg}",
        fails.len()
    );
    // Each of the user chapters runs commands (a chapter of prose alone would test nothing).
    for (ch, (n, _)) in counts {
        if ch != "README.md" {
            assert!(n > 0, "docs/book/{ch} runs no command");
        }
    }
}

#[test]
fn check_lines_match_as_documented() {
    let out = "zone cheek (cheek, 1.5 cm², pen)\n  punctures   2538   density 1692/cm²\n";
    assert!(holds(out, "punctures 2538 density"));
    assert!(holds(out, "punctures ... density .../cm²"));
    assert!(!holds(out, "density ... punctures"));
    assert!(
        !holds(out, "zone cheek ... density"),
        "a check line matches within one line"
    );
    let c = commands(
        10,
        "$ needlesim plan x.toml\nshown\n>> VERDICT: ...\n>> [exit 2]\n$ ls \\\n  -l\n",
    );
    assert_eq!(c.len(), 2);
    assert_eq!((c[0].line, c[0].exit, c[0].checks.len()), (11, 2, 1));
    assert_eq!(c[1].command, "ls \\\n  -l");
    let html = "<p><svg a><svg b></svg></svg><svg c></svg>";
    assert_eq!(nth_svg(html, 2).as_deref(), Some("<svg c></svg>\n"));
    assert_eq!(
        nth_svg(html, 1).as_deref(),
        Some("<svg a><svg b></svg></svg>\n")
    );
}
