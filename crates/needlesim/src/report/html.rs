//! One self-contained HTML report for every command: inline CSS and SVG, no scripts, fonts or
//! other resources loaded from anywhere, readable on a phone (viewport meta, max-width, figures
//! scaled to the page width).
//!
//! A [`Page`] collects sections (summary, figures, tables); [`Page::finish`] adds what every
//! report carries: the inputs (file text and resolved parameters), the validation status of the
//! model parts the run used (given as data, [`StatusRow`]), and the version, seed and exact
//! command needed to repeat the run.

use std::fmt::Write as _;

/// The validation status of one model part, as shown: its label and the passing and open case
/// ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusRow {
    pub label: String,
    pub pass: Vec<String>,
    pub open: Vec<String>,
}

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(ch),
        }
    }
    o
}

/// The style sheet of every report.
pub const CSS: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:16px auto;padding:0 12px;color:#222;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.5em;margin-bottom:4px} h2{margin-top:28px;border-bottom:2px solid #eee;padding-bottom:4px;font-size:1.25em}
.disclaimer{background:#fff4d6;border:2px solid #e0a030;padding:12px 16px;border-radius:6px;font-weight:600}
.verdict{padding:14px 18px;border-radius:6px;font-size:1.15em;font-weight:700;margin:16px 0}
.v-treat{background:#e4f4ea;border-left:8px solid #3a9d5d}.v-treat_with_precautions{background:#fdf1dc;border-left:8px solid #e0a030}.v-not_today{background:#fbe3e2;border-left:8px solid #c9302c}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:.92em} th,td{border:1px solid #ddd;padding:5px 7px;text-align:left;vertical-align:top} th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cat-do_not_treat{color:#c9302c;font-weight:700}.cat-precaution{color:#a86b00;font-weight:700}.cat-note{color:#555}
.grade{display:inline-block;padding:0 6px;border-radius:8px;background:#eee;font-size:.85em}
.pass{color:#2e7d32;font-weight:600}.open{color:#a86b00;font-weight:600}.fail{color:#c9302c;font-weight:700}
.small{font-size:.88em;color:#555} ul{margin:4px 0} .zone{border:1px solid #ddd;border-radius:6px;padding:8px 14px;margin:10px 0}
.fig{margin:14px 0;max-width:100%} .fig svg{width:100%;max-width:100%;height:auto;display:block} figcaption{font-size:.9em;color:#444;margin-top:4px}
.fig .phone{display:none}
td,th{overflow-wrap:break-word} td code{word-break:break-all}
pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:8px;overflow-x:auto;font-size:.82em;white-space:pre}
details{margin:8px 0} summary{cursor:pointer;font-weight:600}
code{font-size:.92em}
@media (max-width:640px){body{font-size:15px;padding:0 10px;margin:10px auto} table{display:block;overflow-x:auto;max-width:100%} th,td{min-width:6.5em} .fig .wide{display:none} .fig .phone{display:block} .zone{padding:6px 10px} pre{max-width:100%}}
@media (max-width:480px){
table.stack,table.stack tbody,table.stack tr,table.stack th,table.stack td{display:block;width:auto;min-width:0;max-width:100%;overflow:visible}
table.stack tr.head{display:none}
table.stack tr{border:1px solid #ddd;border-radius:6px;margin:0 0 8px;padding:4px 8px}
table.stack th,table.stack td{border:0;padding:2px 0;background:none}
table.stack th{font-weight:700}
table.stack td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:#444}
table.stack td.num{text-align:left;white-space:normal}
.scroll{overflow-x:visible}
}
"#;

/// Marks every table of `html` (our own markup: a header row of `<th>` cells, then rows of
/// `<td>`) to stack at phone width: the table gets the class `stack`, its header row the class
/// `head`, and each body cell a `data-label` with its column's header text, which the style
/// sheet shows before the value when each row becomes a card (at most 480 px). Tables whose
/// first row is not a header (label/value rows) stack without labels.
pub fn stack_tables(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    while let Some(i) = rest.find("<table") {
        out.push_str(&rest[..i]);
        let t = &rest[i..];
        let Some(end) = t.find("</table>") else {
            out.push_str(t);
            return out;
        };
        let end = end + "</table>".len();
        out.push_str(&stack_one(&t[..end]));
        rest = &t[end..];
    }
    out.push_str(rest);
    out
}

/// Text of an HTML fragment without its tags (entities kept), for an attribute value.
fn label_text(cell: &str) -> String {
    let mut o = String::new();
    let mut in_tag = false;
    for ch in cell.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            '"' if !in_tag => o.push_str("&quot;"),
            _ if !in_tag => o.push(ch),
            _ => {}
        }
    }
    o.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Start of the next `tag` (`<td`, `<th`, `<tr`) as a whole tag name in `s`.
fn find_tag(s: &str, tag: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(tag) {
        let at = from + i;
        match s[at + tag.len()..].chars().next() {
            Some('>') | Some(' ') => return Some(at),
            _ => from = at + tag.len(),
        }
    }
    None
}

fn stack_one(table: &str) -> String {
    let Some(gt) = table.find('>') else {
        return table.to_string();
    };
    let open = &table[..=gt];
    if open.contains("stack") {
        return table.to_string();
    }
    let open = match open.find("class=\"") {
        Some(c) => format!("{}stack {}", &open[..c + 7], &open[c + 7..]),
        None => open.replacen("<table", "<table class=\"stack\"", 1),
    };
    let body = &table[gt + 1..];
    // The header row: the first row, when it holds only <th> cells.
    let mut labels: Vec<String> = Vec::new();
    let mut out = open;
    let mut rest = body;
    if let Some(r0) = find_tag(rest, "<tr")
        && let Some(r1) = rest[r0..].find("</tr>")
    {
        let row = &rest[r0..r0 + r1];
        if find_tag(row, "<th").is_some() && find_tag(row, "<td").is_none() {
            let mut cells = row;
            while let Some(a) = find_tag(cells, "<th") {
                let c = &cells[a..];
                let Some(b) = c.find('>') else { break };
                let e = c.find("</th>").unwrap_or(c.len());
                labels.push(label_text(&c[b + 1..e.max(b + 1)]));
                cells = &c[e.min(c.len())..];
            }
            out.push_str(&rest[..r0]);
            out.push_str("<tr class=\"head\"");
            rest = &rest[r0 + 3..];
        }
    }
    if labels.is_empty() {
        out.push_str(rest);
        return out;
    }
    // Body cells: a label by column (a cell spanning columns gets none).
    let mut col = 0usize;
    loop {
        let tr = find_tag(rest, "<tr");
        let td = find_tag(rest, "<td");
        let th = find_tag(rest, "<th");
        let next = [tr, td, th].into_iter().flatten().min();
        let Some(at) = next else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..at]);
        let tag_end = rest[at..].find('>').map_or(rest.len(), |e| at + e);
        let tag = &rest[at..tag_end];
        if Some(at) == tr {
            col = 0;
            out.push_str(tag);
        } else {
            let span = tag
                .split("colspan=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .and_then(|v| v.parse::<usize>().ok());
            if Some(at) == td && span.is_none() && !tag.contains("data-label") {
                match labels.get(col).filter(|l| !l.is_empty()) {
                    Some(l) => {
                        out.push_str("<td data-label=\"");
                        out.push_str(l);
                        out.push('"');
                        out.push_str(&tag[3..]);
                    }
                    None => out.push_str(tag),
                }
            } else {
                out.push_str(tag);
            }
            col += span.unwrap_or(1);
        }
        rest = &rest[tag_end..];
    }
    out
}

/// What is needed to repeat a run.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The exact command line.
    pub command_line: String,
    /// needlesim version (crate version, plus the git commit where the build knew it).
    pub version: String,
    /// Seed of all random streams, where the command uses one.
    pub seed: Option<u64>,
}

/// One input file: its name and text, shown verbatim.
#[derive(Clone, Debug)]
pub struct InputFile {
    pub name: String,
    pub text: String,
}

impl RunInfo {
    /// Run information for a report made through the library (no command line).
    pub fn library(seed: Option<u64>) -> RunInfo {
        RunInfo {
            command_line: "(made through the needlesim library, not the command line)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            seed,
        }
    }
}

/// A report page under construction.
#[derive(Clone, Debug, Default)]
pub struct Page {
    title: String,
    subtitle: String,
    body: String,
    inputs: Vec<InputFile>,
    resolved: Option<(String, String)>,
    status: Option<Vec<StatusRow>>,
}

impl Page {
    /// A page with a title and a one-line subtitle (plain text).
    pub fn new(title: &str, subtitle: &str) -> Page {
        Page {
            title: title.into(),
            subtitle: subtitle.into(),
            ..Page::default()
        }
    }

    /// Adds a section with a heading and trusted HTML content.
    pub fn section(&mut self, heading: &str, html: &str) -> &mut Page {
        let _ = write!(self.body, "<h2>{}</h2>\n{html}\n", esc(heading));
        self
    }

    /// Adds trusted HTML as it is (within the current section).
    pub fn raw(&mut self, html: &str) -> &mut Page {
        self.body.push_str(html);
        self.body.push('\n');
        self
    }

    /// Adds a figure: an inline SVG scaled to the page width, with its caption.
    pub fn figure(&mut self, caption: &str, svg: &str) -> &mut Page {
        let svg = svg.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        let _ = writeln!(
            self.body,
            "<figure class=\"fig\">{svg}<figcaption>{}</figcaption></figure>",
            esc(caption)
        );
        self
    }

    /// Adds a figure drawn twice: `wide` for screens wider than 640 px and print, `phone`
    /// (drawn inside [`crate::report::plot_style::narrow`]) for phones; both scaled to the page
    /// width.
    pub fn figure_for_phone(&mut self, caption: &str, wide: &str, phone: &str) -> &mut Page {
        let _ = writeln!(
            self.body,
            "<figure class=\"fig\">{}<figcaption>{}</figcaption></figure>",
            pair(wide, phone),
            esc(caption)
        );
        self
    }

    /// Adds an input file (shown verbatim in the Inputs section).
    pub fn input(&mut self, name: &str, text: &str) -> &mut Page {
        self.inputs.push(InputFile {
            name: name.into(),
            text: text.into(),
        });
        self
    }

    /// Sets the resolved parameters (e.g. JSON of the validated input in SI-derived units), with
    /// a one-line description.
    pub fn resolved(&mut self, what: &str, text: &str) -> &mut Page {
        self.resolved = Some((what.into(), text.into()));
        self
    }

    /// Sets the validation status of the model parts the run used (from the reviewed
    /// validation results built into this version).
    pub fn validation_status(&mut self, rows: Vec<StatusRow>) -> &mut Page {
        self.status = Some(rows);
        self
    }

    /// The finished HTML document, with the run information.
    pub fn finish(&self, info: &RunInfo) -> String {
        let mut h = String::with_capacity(self.body.len() + 8192);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>\n",
            esc(&self.title)
        );
        let _ = writeln!(h, "<h1>{}</h1>", esc(&self.title));
        let _ = writeln!(
            h,
            "<p class=\"small\">{} &middot; needlesim {}{}</p>",
            esc(&self.subtitle),
            esc(&info.version),
            info.seed
                .map_or(String::new(), |s| format!(" &middot; seed {s}"))
        );
        h.push_str(&self.body);
        if let Some(rows) = &self.status {
            h.push_str("<h2>Validation status of the model parts used</h2>\n");
            h.push_str(&validation_status_html(
                rows,
                "From the reviewed validation results (validation/baseline.json) built into this version; the cases and their reasons are in docs/VALIDATION.md.",
            ));
        }
        if !self.inputs.is_empty() || self.resolved.is_some() {
            h.push_str("<h2>Inputs</h2>\n");
            for i in &self.inputs {
                let _ = writeln!(
                    h,
                    "<details open><summary>{}</summary><pre>{}</pre></details>",
                    esc(&i.name),
                    esc(&i.text)
                );
            }
            if let Some((what, text)) = &self.resolved {
                let _ = writeln!(
                    h,
                    "<details><summary>{}</summary><pre>{}</pre></details>",
                    esc(what),
                    esc(text)
                );
            }
        }
        h.push_str("<h2>Repeat this run</h2>\n");
        let _ = writeln!(
            h,
            "<table><tr><th>command</th><td><code>{}</code></td></tr><tr><th>version</th><td>needlesim {}</td></tr><tr><th>seed</th><td>{}</td></tr></table>",
            esc(&info.command_line),
            esc(&info.version),
            info.seed
                .map_or("not used by this command".to_string(), |s| s.to_string())
        );
        h.push_str("<p class=\"small\">The same input, seed and version give the same numbers for any thread count.</p>\n</body></html>\n");
        stack_tables(&h)
    }
}

/// An inline SVG as a figure without caption, scaled to the page width.
pub fn figure_div(svg: &str) -> String {
    format!("<div class=\"fig\">{svg}</div>\n")
}

/// A figure without caption drawn twice, for wide screens and for phones (see
/// [`Page::figure_for_phone`]).
pub fn figure_div_for_phone(wide: &str, phone: &str) -> String {
    format!("<div class=\"fig\">{}</div>\n", pair(wide, phone))
}

fn pair(wide: &str, phone: &str) -> String {
    let strip = |s: &str| {
        s.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .to_string()
    };
    format!(
        "<div class=\"wide\">{}</div><div class=\"phone\">{}</div>",
        strip(wide),
        strip(phone)
    )
}

/// The validation status per model part: passing and open case ids; `source` says where the
/// results come from (plain text).
pub fn validation_status_html(parts: &[StatusRow], source: &str) -> String {
    let mut h = format!(
        "<p class=\"small\">{} Open cases are published measurements the model does not reach yet.</p>\n<div class=\"scroll\"><table><tr><th>model part</th><th>pass</th><th>open</th></tr>\n",
        esc(source)
    );
    for p in parts {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><span class=\"pass\">{}</span> <span class=\"small\">{}</span></td><td><span class=\"{}\">{}</span> <span class=\"small\">{}</span></td></tr>",
            esc(&p.label),
            p.pass.len(),
            esc(&p.pass.join(", ")),
            if p.open.is_empty() { "small" } else { "open" },
            p.open.len(),
            esc(&p.open.join(", "))
        );
    }
    h.push_str("</table></div>\n");
    h
}

/// A table from a header row and body rows of trusted HTML cells; cells starting with `#` are
/// right-aligned numbers (the `#` is dropped).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = String::from("<div class=\"scroll\"><table><tr>");
    for c in header {
        let _ = write!(h, "<th>{c}</th>");
    }
    h.push_str("</tr>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            match c.strip_prefix('#') {
                Some(n) => {
                    let _ = write!(h, "<td class=\"num\">{n}</td>");
                }
                None => {
                    let _ = write!(h, "<td>{c}</td>");
                }
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_marked_to_stack_with_their_column_labels() {
        let t = "<p>a</p><div class=\"scroll\"><table><tr><th>zone <b>x</b></th><th>dose</th><th>note</th></tr>\n<tr><td>cheek</td><td class=\"num\">2</td><td>ok</td></tr><tr><td colspan=\"3\">all</td></tr></table></div><table class=\"stack\"><tr><th>k</th></tr><tr><td data-label=\"k\">v</td></tr></table><table><tr><th>seed</th><td>3</td></tr></table>";
        let h = stack_tables(t);
        assert!(
            h.starts_with(
                "<p>a</p><div class=\"scroll\"><table class=\"stack\"><tr class=\"head\">"
            ),
            "{h}"
        );
        assert!(h.contains("<td data-label=\"zone x\">cheek</td><td data-label=\"dose\" class=\"num\">2</td><td data-label=\"note\">ok</td>"), "{h}");
        // A cell spanning columns gets no label; a table already stacked is left as it is.
        assert!(h.contains("<td colspan=\"3\">all</td>"), "{h}");
        assert!(
            h.contains("<table class=\"stack\"><tr><th>k</th></tr><tr><td data-label=\"k\">v</td>"),
            "{h}"
        );
        // A label/value table stacks without labels.
        assert!(
            h.ends_with("<table class=\"stack\"><tr><th>seed</th><td>3</td></tr></table>"),
            "{h}"
        );
        // Every report's page carries the marks, and the style sheet stacks them on a phone.
        let page = Page::new("T", "s").raw(t).finish(&RunInfo::library(None));
        assert!(page.contains("data-label=\"dose\""));
        assert!(CSS.contains("@media (max-width:480px)") && CSS.contains("attr(data-label)"));
    }

    #[test]
    fn a_page_is_self_contained_and_carries_the_run() {
        let mut p = Page::new("T <1>", "sub");
        p.section("Summary", "<p>x</p>")
            .figure("fig", "<svg viewBox=\"0 0 1 1\"></svg>")
            .input("a.toml", "seed = 3\nname = \"<b>\"")
            .validation_status(vec![StatusRow {
                label: "skin columns".into(),
                pass: vec!["V01".into()],
                open: Vec::new(),
            }]);
        let info = RunInfo {
            command_line: "needlesim punctures a.toml --seed 3".into(),
            version: "0.1.0".into(),
            seed: Some(3),
        };
        let h = p.finish(&info);
        assert!(h.contains("name=\"viewport\""));
        assert!(h.contains("T &lt;1&gt;"));
        assert!(h.contains("&quot;&lt;b&gt;&quot;"));
        assert!(h.contains("needlesim punctures a.toml --seed 3"));
        assert!(h.contains("<svg"));
        assert!(h.contains("skin columns"));
        for bad in [
            "src=\"http",
            "href=\"http",
            "url(http",
            "@import",
            "<script",
        ] {
            assert!(!h.contains(bad), "{bad}");
        }
    }
}
