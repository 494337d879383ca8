//! The intake form: what the practitioner types, as text, and its two translations.
//!
//! - [`Form::from_pairs`] reads a submitted form (field names are the patient file's own field
//!   paths: `patient.age_years`, `zones[0].site`, `medications[1].stopped`);
//! - [`Form::to_toml`] writes the patient file the form stands for, which the library then
//!   validates exactly as `needlesim plan` would ([`needlesim::Study::patient_from_toml_str`]);
//! - [`Form::from_file`] fills the form from a saved patient file (edit and re-plan).
//!
//! Values stay text until the library reads them, so a wrong entry is shown back as typed, next
//! to the library's own message for that field ([`form_field`] maps a field path in an error to
//! the form control that holds it). The form does no range checks of its own.

use std::collections::BTreeMap;

use needlesim::plan::PatientFile;

/// Most rows of each list a form may hold (a request with more is refused with a message).
pub const MAX_ZONES: usize = 20;
pub const MAX_ROWS: usize = 30;
/// Longest text accepted in one field, characters.
pub const MAX_FIELD_CHARS: usize = 2_000;
/// Longest model-parameter block, characters.
pub const MAX_PARAMS_CHARS: usize = 20_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Medication {
    pub name: String,
    pub class: String,
    pub started: String,
    pub stopped: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Procedure {
    pub kind: String,
    pub date: String,
    /// Zone names, comma-separated.
    pub zones: String,
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Zone {
    pub name: String,
    pub site: String,
    pub area_cm2: String,
    pub concerns: Vec<String>,
    /// Acne-scar grade (Goodman & Baron 1-4), used when acne scars are ticked.
    pub grade: String,
    /// Thinning-hair grade (Hamilton-Norwood 1-7 for men, Ludwig 1-3 for women), used when
    /// thinning hair is ticked.
    pub hair_grade: String,
    pub scar_types: Vec<String>,
    pub skin_state: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Blackout {
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// Everything a patient file holds, as typed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    pub title: String,
    pub date: String,
    pub age_years: String,
    pub sex: String,
    pub phototype: String,
    /// Ticked history items (`pregnant`, `keloid_tendency`, ...).
    pub history: Vec<String>,
    pub diabetes: String,
    pub skin_state: Vec<String>,
    pub medications: Vec<Medication>,
    pub procedures: Vec<Procedure>,
    pub zones: Vec<Zone>,
    pub max_downtime_days: String,
    pub max_sessions: String,
    pub max_pih_risk_pct: String,
    pub earliest_start: String,
    pub finish_by: String,
    pub blackout: Vec<Blackout>,
    pub numbing: String,
    pub device: String,
    pub notes: String,
    pub waive: Vec<String>,
    /// `[params.<group>]` overrides as TOML text.
    pub params: String,
}

/// The yes/no history items, in form order.
pub const HISTORY_FLAGS: &[&str] = &[
    "pregnant",
    "breastfeeding",
    "keloid_tendency",
    "metal_allergy",
    "bleeding_disorder",
    "immunosuppressed",
    "cancer_treatment",
    "pih_history",
];

/// A form that cannot be read at all (too large, malformed names).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FormError {
    #[error("the form has more than {max} {what}; split the record or remove some")]
    TooMany { what: &'static str, max: usize },
    #[error("the field `{field}` is longer than {max} characters")]
    TooLong { field: String, max: usize },
}

/// `name[3].rest` -> (`name`, 3, `rest`).
fn indexed(key: &str) -> Option<(&str, usize, &str)> {
    let open = key.find('[')?;
    let close = key[open..].find(']')? + open;
    let idx: usize = key[open + 1..close].parse().ok()?;
    let rest = key[close + 1..]
        .strip_prefix('.')
        .unwrap_or(&key[close + 1..]);
    Some((&key[..open], idx, rest))
}

fn row<'a, T: Default>(
    rows: &'a mut BTreeMap<usize, T>,
    i: usize,
    max: usize,
    what: &'static str,
) -> Result<&'a mut T, FormError> {
    if i >= max {
        return Err(FormError::TooMany { what, max });
    }
    Ok(rows.entry(i).or_default())
}

impl Form {
    /// A new, empty form: today's date and one empty zone.
    pub fn blank(today: &str) -> Form {
        Form {
            date: today.to_string(),
            zones: vec![Zone::default()],
            ..Form::default()
        }
    }

    /// Reads submitted `(name, value)` pairs. Unknown names are ignored (the buttons, the
    /// record id); rows are kept in index order and empty rows are dropped.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Form, FormError> {
        let mut f = Form::default();
        let mut meds = BTreeMap::<usize, Medication>::new();
        let mut procs = BTreeMap::<usize, Procedure>::new();
        let mut zones = BTreeMap::<usize, Zone>::new();
        let mut blackout = BTreeMap::<usize, Blackout>::new();
        for (k, v) in pairs {
            let max = if k == "params" {
                MAX_PARAMS_CHARS
            } else {
                MAX_FIELD_CHARS
            };
            if v.chars().count() > max {
                return Err(FormError::TooLong {
                    field: k.chars().take(80).collect(),
                    max,
                });
            }
            let v = v.trim().to_string();
            match k.as_str() {
                "title" => f.title = v,
                "date" => f.date = v,
                "patient.age_years" => f.age_years = v,
                "patient.sex" => f.sex = v,
                "patient.phototype" => f.phototype = v,
                "history.diabetes" => f.diabetes = v,
                "skin_state" => f.skin_state.push(v),
                "goals.max_downtime_days" => f.max_downtime_days = v,
                "goals.max_sessions" => f.max_sessions = v,
                "goals.max_pih_risk_pct" => f.max_pih_risk_pct = v,
                "goals.earliest_start" => f.earliest_start = v,
                "goals.finish_by" => f.finish_by = v,
                "goals.numbing" => f.numbing = v,
                "goals.device" => f.device = v,
                "goals.notes" => f.notes = v,
                "practitioner.waive" => f.waive.push(v),
                "history" => {
                    if HISTORY_FLAGS.contains(&v.as_str()) && !f.history.contains(&v) {
                        f.history.push(v);
                    }
                }
                "params" => f.params = v,
                _ => {
                    let key = k.strip_prefix("goals.").unwrap_or(k);
                    let Some((list, i, field)) = indexed(key) else {
                        continue;
                    };
                    match list {
                        "medications" => {
                            let m = row(&mut meds, i, MAX_ROWS, "medicines")?;
                            match field {
                                "name" => m.name = v,
                                "class" => m.class = v,
                                "started" => m.started = v,
                                "stopped" => m.stopped = v,
                                _ => {}
                            }
                        }
                        "procedures" => {
                            let p = row(&mut procs, i, MAX_ROWS, "earlier treatments")?;
                            match field {
                                "kind" => p.kind = v,
                                "date" => p.date = v,
                                "zones" => p.zones = v,
                                "detail" => p.detail = v,
                                _ => {}
                            }
                        }
                        "zones" => {
                            let z = row(&mut zones, i, MAX_ZONES, "areas")?;
                            match field {
                                "name" => z.name = v,
                                "site" => z.site = v,
                                "area_cm2" => z.area_cm2 = v,
                                "concerns" => z.concerns.push(v),
                                "grade" => z.grade = v,
                                "hair_grade" => z.hair_grade = v,
                                "scar_types" => z.scar_types.push(v),
                                "skin_state" => z.skin_state.push(v),
                                _ => {}
                            }
                        }
                        "blackout" if k.starts_with("goals.") => {
                            let b = row(&mut blackout, i, MAX_ROWS, "blocked periods")?;
                            match field {
                                "from" => b.from = v,
                                "to" => b.to = v,
                                "reason" => b.reason = v,
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        // Rows the user added and left empty are not entries.
        f.medications = meds
            .into_values()
            .filter(|m| *m != Medication::default())
            .collect();
        f.procedures = procs
            .into_values()
            .filter(|p| *p != Procedure::default())
            .collect();
        f.zones = zones
            .into_values()
            .filter(|z| {
                z.name != ""
                    || z.site != ""
                    || z.area_cm2 != ""
                    || !z.concerns.is_empty()
                    || !z.skin_state.is_empty()
            })
            .collect();
        f.blackout = blackout
            .into_values()
            .filter(|b| *b != Blackout::default())
            .collect();
        Ok(f)
    }

    /// Fills the form from a patient file (as saved).
    pub fn from_file(p: &PatientFile) -> Form {
        let num = |v: Option<f64>| v.map_or(String::new(), fmt_num);
        let h = &p.history;
        let history = [
            h.pregnant,
            h.breastfeeding,
            h.keloid_tendency,
            h.metal_allergy,
            h.bleeding_disorder,
            h.immunosuppressed,
            h.cancer_treatment,
            h.pih_history,
        ]
        .iter()
        .zip(HISTORY_FLAGS)
        .filter(|(on, _)| **on)
        .map(|(_, n)| n.to_string())
        .collect();
        Form {
            title: p.title.clone().unwrap_or_default(),
            date: p.date.clone(),
            age_years: fmt_num(p.patient.age_years),
            sex: p.patient.sex.clone(),
            phototype: p.patient.phototype.to_string(),
            history,
            diabetes: h.diabetes.clone().unwrap_or_default(),
            skin_state: p.skin_state.clone(),
            medications: p
                .medications
                .iter()
                .map(|m| Medication {
                    name: m.name.clone(),
                    class: m.class.clone(),
                    started: m.started.clone().unwrap_or_default(),
                    stopped: m.stopped.clone().unwrap_or_default(),
                })
                .collect(),
            procedures: p
                .procedures
                .iter()
                .map(|r| Procedure {
                    kind: r.kind.clone(),
                    date: r.date.clone(),
                    zones: r.zones.join(", "),
                    detail: r.detail.clone().unwrap_or_default(),
                })
                .collect(),
            zones: p
                .zones
                .iter()
                .map(|z| {
                    let acne = z.concerns.iter().find(|c| c.kind == "acne_scars");
                    let hair = z.concerns.iter().find(|c| c.kind == "hair_thinning");
                    Zone {
                        name: z.name.clone(),
                        site: z.site.clone(),
                        area_cm2: num(z.area_cm2),
                        concerns: z.concerns.iter().map(|c| c.kind.clone()).collect(),
                        grade: acne
                            .and_then(|c| c.grade)
                            .map_or(String::new(), |g| g.to_string()),
                        hair_grade: hair
                            .and_then(|c| c.grade)
                            .map_or(String::new(), |g| g.to_string()),
                        scar_types: acne.map(|c| c.scar_types.clone()).unwrap_or_default(),
                        skin_state: z.skin_state.clone(),
                    }
                })
                .collect(),
            max_downtime_days: num(p.goals.max_downtime_days),
            max_sessions: p
                .goals
                .max_sessions
                .map_or(String::new(), |v| v.to_string()),
            max_pih_risk_pct: num(p.goals.max_pih_risk_pct),
            earliest_start: p.goals.earliest_start.clone().unwrap_or_default(),
            finish_by: p.goals.finish_by.clone().unwrap_or_default(),
            blackout: p
                .goals
                .blackout
                .iter()
                .map(|b| Blackout {
                    from: b.from.clone(),
                    to: b.to.clone(),
                    reason: b.reason.clone().unwrap_or_default(),
                })
                .collect(),
            numbing: p.goals.numbing.clone().unwrap_or_default(),
            device: p.goals.device.clone().unwrap_or_default(),
            notes: p.goals.notes.clone().unwrap_or_default(),
            waive: p.practitioner.waive.clone(),
            params: if p.params.is_empty() {
                String::new()
            } else {
                toml::to_string(&toml::Table::from_iter([(
                    "params".to_string(),
                    toml::Value::try_from(&p.params)
                        .unwrap_or(toml::Value::Table(toml::Table::new())),
                )]))
                .unwrap_or_default()
            },
        }
    }

    /// The form as submitted `(name, value)` pairs (the inverse of [`Form::from_pairs`]; used
    /// by benchmarks and tests to post a patient file as the browser would).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut put = |k: String, v: &str| p.push((k, v.to_string()));
        put("title".into(), &self.title);
        put("date".into(), &self.date);
        put("patient.age_years".into(), &self.age_years);
        put("patient.sex".into(), &self.sex);
        put("patient.phototype".into(), &self.phototype);
        for h in &self.history {
            put("history".into(), h);
        }
        put("history.diabetes".into(), &self.diabetes);
        for s in &self.skin_state {
            put("skin_state".into(), s);
        }
        for (i, m) in self.medications.iter().enumerate() {
            put(format!("medications[{i}].name"), &m.name);
            put(format!("medications[{i}].class"), &m.class);
            put(format!("medications[{i}].started"), &m.started);
            put(format!("medications[{i}].stopped"), &m.stopped);
        }
        for (i, r) in self.procedures.iter().enumerate() {
            put(format!("procedures[{i}].kind"), &r.kind);
            put(format!("procedures[{i}].date"), &r.date);
            put(format!("procedures[{i}].zones"), &r.zones);
            put(format!("procedures[{i}].detail"), &r.detail);
        }
        for (i, z) in self.zones.iter().enumerate() {
            put(format!("zones[{i}].name"), &z.name);
            put(format!("zones[{i}].site"), &z.site);
            put(format!("zones[{i}].area_cm2"), &z.area_cm2);
            for c in &z.concerns {
                put(format!("zones[{i}].concerns"), c);
            }
            put(format!("zones[{i}].grade"), &z.grade);
            put(format!("zones[{i}].hair_grade"), &z.hair_grade);
            for c in &z.scar_types {
                put(format!("zones[{i}].scar_types"), c);
            }
            for c in &z.skin_state {
                put(format!("zones[{i}].skin_state"), c);
            }
        }
        put("goals.max_downtime_days".into(), &self.max_downtime_days);
        put("goals.max_sessions".into(), &self.max_sessions);
        put("goals.max_pih_risk_pct".into(), &self.max_pih_risk_pct);
        put("goals.earliest_start".into(), &self.earliest_start);
        put("goals.finish_by".into(), &self.finish_by);
        for (i, b) in self.blackout.iter().enumerate() {
            put(format!("goals.blackout[{i}].from"), &b.from);
            put(format!("goals.blackout[{i}].to"), &b.to);
            put(format!("goals.blackout[{i}].reason"), &b.reason);
        }
        put("goals.numbing".into(), &self.numbing);
        put("goals.device".into(), &self.device);
        put("goals.notes".into(), &self.notes);
        for w in &self.waive {
            put("practitioner.waive".into(), w);
        }
        put("params".into(), &self.params);
        p
    }

    /// The record's title for lists (the form's title, else a placeholder).
    pub fn display_title(&self) -> String {
        if self.title.is_empty() {
            "(untitled patient)".to_string()
        } else {
            self.title.clone()
        }
    }

    /// The patient file this form stands for. Numbers that do not read as numbers are written
    /// as text, so that the library names the field and its type; empty optional fields are
    /// left out. Returns the TOML text, or the problem with the model-parameter block (as a
    /// field error on `params`).
    pub fn to_toml(&self) -> Result<String, needlesim::input::FieldError> {
        use toml::{Table, Value};
        let s = |v: &str| Value::String(v.to_string());
        let mut t = Table::new();
        let put = |t: &mut Table, k: &str, v: &str| {
            if !v.is_empty() {
                t.insert(k.into(), Value::String(v.into()));
            }
        };
        put(&mut t, "title", &self.title);
        put(&mut t, "date", &self.date);
        let mut p = Table::new();
        number(&mut p, "age_years", &self.age_years, false);
        put(&mut p, "sex", &self.sex);
        number(&mut p, "phototype", &self.phototype, true);
        t.insert("patient".into(), Value::Table(p));
        let mut h = Table::new();
        for flag in &self.history {
            h.insert(flag.clone(), Value::Boolean(true));
        }
        put(&mut h, "diabetes", &self.diabetes);
        if !h.is_empty() {
            t.insert("history".into(), Value::Table(h));
        }
        let list = |items: &[String]| Value::Array(items.iter().map(|x| s(x)).collect());
        if !self.skin_state.is_empty() {
            t.insert("skin_state".into(), list(&self.skin_state));
        }
        let meds: Vec<Value> = self
            .medications
            .iter()
            .map(|m| {
                let mut r = Table::new();
                r.insert("name".into(), s(&m.name));
                r.insert("class".into(), s(&m.class));
                put(&mut r, "started", &m.started);
                put(&mut r, "stopped", &m.stopped);
                Value::Table(r)
            })
            .collect();
        if !meds.is_empty() {
            t.insert("medications".into(), Value::Array(meds));
        }
        let procs: Vec<Value> = self
            .procedures
            .iter()
            .map(|pr| {
                let mut r = Table::new();
                r.insert("kind".into(), s(&pr.kind));
                r.insert("date".into(), s(&pr.date));
                let zones: Vec<String> = pr
                    .zones
                    .split(',')
                    .map(str::trim)
                    .filter(|z| !z.is_empty())
                    .map(String::from)
                    .collect();
                if !zones.is_empty() {
                    r.insert("zones".into(), list(&zones));
                }
                put(&mut r, "detail", &pr.detail);
                Value::Table(r)
            })
            .collect();
        if !procs.is_empty() {
            t.insert("procedures".into(), Value::Array(procs));
        }
        let zones: Vec<Value> = self
            .zones
            .iter()
            .map(|z| {
                let mut r = Table::new();
                r.insert("name".into(), s(&z.name));
                r.insert("site".into(), s(&z.site));
                number(&mut r, "area_cm2", &z.area_cm2, false);
                let concerns: Vec<Value> = z
                    .concerns
                    .iter()
                    .map(|k| {
                        let mut c = Table::new();
                        c.insert("kind".into(), s(k));
                        // Each concern with a grade has its own control: the acne-scar
                        // grade and the Norwood / Ludwig grade.
                        if k == "hair_thinning" {
                            number(&mut c, "grade", &z.hair_grade, true);
                        }
                        if k == "acne_scars" {
                            number(&mut c, "grade", &z.grade, true);
                            if !z.scar_types.is_empty() {
                                c.insert("scar_types".into(), list(&z.scar_types));
                            }
                        }
                        Value::Table(c)
                    })
                    .collect();
                r.insert("concerns".into(), Value::Array(concerns));
                if !z.skin_state.is_empty() {
                    r.insert("skin_state".into(), list(&z.skin_state));
                }
                Value::Table(r)
            })
            .collect();
        t.insert("zones".into(), Value::Array(zones));
        let mut g = Table::new();
        number(&mut g, "max_downtime_days", &self.max_downtime_days, false);
        number(&mut g, "max_sessions", &self.max_sessions, true);
        number(&mut g, "max_pih_risk_pct", &self.max_pih_risk_pct, false);
        put(&mut g, "earliest_start", &self.earliest_start);
        put(&mut g, "finish_by", &self.finish_by);
        let bl: Vec<Value> = self
            .blackout
            .iter()
            .map(|b| {
                let mut r = Table::new();
                r.insert("from".into(), s(&b.from));
                r.insert("to".into(), s(&b.to));
                put(&mut r, "reason", &b.reason);
                Value::Table(r)
            })
            .collect();
        if !bl.is_empty() {
            g.insert("blackout".into(), Value::Array(bl));
        }
        put(&mut g, "numbing", &self.numbing);
        put(&mut g, "device", &self.device);
        put(&mut g, "notes", &self.notes);
        if !g.is_empty() {
            t.insert("goals".into(), Value::Table(g));
        }
        if !self.waive.is_empty() {
            let mut pr = Table::new();
            pr.insert("waive".into(), list(&self.waive));
            t.insert("practitioner".into(), Value::Table(pr));
        }
        if !self.params.is_empty() {
            let parsed: Table = self.params.parse().map_err(|e: toml::de::Error| {
                needlesim::input::FieldError::new(
                    "params",
                    "(the text above)",
                    format!("is not valid TOML: {}", e.message()),
                    "write one `[params.<group>]` heading, then `name = value` lines; `needlesim params` lists them",
                )
            })?;
            // Accept the block with or without its `[params.…]` prefix.
            let inner = match parsed.get("params") {
                Some(Value::Table(p)) if parsed.len() == 1 => p.clone(),
                _ => parsed,
            };
            t.insert("params".into(), Value::Table(inner));
        }
        toml::to_string(&t).map_err(|e| {
            needlesim::input::FieldError::new(
                "(form)",
                "-",
                format!("cannot be written as a patient file: {e}"),
                "",
            )
        })
    }
}

/// Inserts a number field: an integer or a float when the text reads as one, else the text
/// itself (the library then reports the field's type); nothing when empty.
fn number(t: &mut toml::Table, key: &str, v: &str, integer: bool) {
    use toml::Value;
    if v.is_empty() {
        return;
    }
    let value = if integer {
        match v.parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Value::Float(x),
                _ => Value::String(v.into()),
            },
        }
    } else {
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => Value::Float(x),
            _ => Value::String(v.into()),
        }
    };
    t.insert(key.into(), value);
}

/// A number as typed back into the form (no trailing `.0`).
fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl Form {
    /// The form control that holds the field a library error names ([`form_field`]), with a
    /// concern's grade sent to the control of that concern: the thinning-hair grade has its
    /// own (`zones[0].concerns[1].grade` -> `zones[0].hair_grade` when the zone's second
    /// ticked concern is thinning hair).
    pub fn field_for(&self, path: &str, message: &str) -> String {
        let field = form_field(path, message);
        if let Some(zone) = field.strip_suffix(".grade")
            && let Some((z, c)) = zone_and_concern(path)
            && self
                .zones
                .get(z)
                .and_then(|zone| zone.concerns.get(c))
                .is_some_and(|k| k == "hair_thinning")
        {
            return format!("{zone}.hair_grade");
        }
        field
    }
}

/// The zone and concern positions of a path such as `zones[1].concerns[0].grade`.
fn zone_and_concern(path: &str) -> Option<(usize, usize)> {
    let rest = path.strip_prefix("zones[")?;
    let (z, rest) = rest.split_once(']')?;
    let rest = rest.strip_prefix(".concerns[")?;
    let (c, _) = rest.split_once(']')?;
    Some((z.parse().ok()?, c.parse().ok()?))
}

/// The form control that holds the field a library error names: the file's field path with
/// list positions within a control dropped (`skin_state[2]` -> `skin_state`), a concern's parts
/// moved to its zone (`zones[1].concerns[0].grade` -> `zones[1].grade`), a missing key named
/// under its table (`patient` + "missing field `sex`" -> `patient.sex`), and every model
/// parameter to the parameter block.
pub fn form_field(path: &str, message: &str) -> String {
    let mut path = path.to_string();
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(key) = rest.split('`').next()
    {
        path = if path == "(top level)" || path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
    }
    if path.starts_with("params") {
        return "params".into();
    }
    if let Some(flag) = path.strip_prefix("history.")
        && HISTORY_FLAGS.contains(&flag)
    {
        return "history".into();
    }
    if let Some(at) = path.find(".concerns[") {
        let zone = &path[..at];
        let part = if path.contains(".grade") {
            "grade"
        } else if path.contains(".scar_types") {
            "scar_types"
        } else {
            "concerns"
        };
        return format!("{zone}.{part}");
    }
    if path.ends_with(']')
        && let Some(open) = path.rfind('[')
    {
        path.truncate(open);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn every_example_patient_survives_the_form_round_trip() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/patients");
        let mut n = 0;
        for e in std::fs::read_dir(dir).expect("examples") {
            let path = e.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            let raw = needlesim::plan::patient::parse_raw(&text, "x").expect("parses");
            let form = Form::from_file(&raw);
            let toml = form.to_toml().expect("to toml");
            let a = needlesim::plan::patient::parse(&text, "x").expect("valid");
            let b = needlesim::plan::patient::parse(&toml, "x").expect("form's file is valid");
            assert_eq!(a, b, "{}", path.display());
            // And through the submitted pairs, as the browser sends them.
            let again = Form::from_pairs(&form.to_pairs()).expect("pairs");
            assert_eq!(again, form, "{}", path.display());
            n += 1;
        }
        assert!(n >= 6);
    }

    #[test]
    fn pairs_build_rows_in_order_and_drop_empty_ones() {
        let f = Form::from_pairs(&pairs(&[
            ("zones[1].name", "b"),
            ("zones[0].name", "a"),
            ("zones[0].concerns", "acne_scars"),
            ("zones[0].grade", "3"),
            ("zones[2].name", ""),
            ("medications[4].name", ""),
            ("history", "pregnant"),
            ("history", "nonsense"),
            ("action", "plan"),
        ]))
        .expect("reads");
        assert_eq!(f.zones.len(), 2);
        assert_eq!(f.zones[0].name, "a");
        assert_eq!(f.zones[1].name, "b");
        assert!(f.medications.is_empty());
        assert_eq!(f.history, vec!["pregnant"]);
        let toml = f.to_toml().expect("toml");
        assert!(toml.contains("grade = 3"), "{toml}");
    }

    #[test]
    fn too_many_rows_and_too_long_fields_are_refused() {
        let e = Form::from_pairs(&pairs(&[("zones[20].name", "x")])).unwrap_err();
        assert_eq!(
            e,
            FormError::TooMany {
                what: "areas",
                max: MAX_ZONES
            }
        );
        let long = "x".repeat(MAX_FIELD_CHARS + 1);
        let e = Form::from_pairs(&[("title".to_string(), long)]).unwrap_err();
        assert!(matches!(e, FormError::TooLong { .. }));
    }

    #[test]
    fn text_in_a_number_field_reaches_the_library_as_text() {
        let mut f = Form::blank("2026-11-21");
        f.age_years = "forty".into();
        f.phototype = "3".into();
        f.sex = "female".into();
        f.zones[0] = Zone {
            name: "c".into(),
            site: "cheek".into(),
            concerns: vec!["fine_lines".into()],
            ..Zone::default()
        };
        let toml = f.to_toml().expect("toml");
        let e = needlesim::Study::patient_from_toml_str(&toml, "form")
            .err()
            .expect("invalid");
        let needlesim::Error::Patient(p) = e else {
            panic!("not a patient error")
        };
        let errs = p.field_errors();
        assert_eq!(errs.len(), 1);
        assert_eq!(
            form_field(&errs[0].path, &errs[0].message),
            "patient.age_years"
        );
    }

    /// Norwood 5-7 could not be entered: the one grade menu offered the acne-scar grades 1-4.
    /// The thinning-hair grade now has its own control, kept apart from the acne-scar grade.
    #[test]
    fn every_thinning_hair_grade_can_be_entered_and_errors_land_on_its_control() {
        let scalp = |sex: &str, grade: &str| {
            let mut f = Form::blank("2026-11-21");
            f.age_years = "45".into();
            f.phototype = "3".into();
            f.sex = sex.into();
            f.zones[0] = Zone {
                name: "crown".into(),
                site: "scalp".into(),
                concerns: vec!["hair_thinning".into()],
                hair_grade: grade.into(),
                ..Zone::default()
            };
            f
        };
        for g in 1..=7 {
            let f = scalp("male", &g.to_string());
            let toml = f.to_toml().expect("toml");
            needlesim::Study::patient_from_toml_str(&toml, "form")
                .unwrap_or_else(|e| panic!("Norwood {g}: {e}\n{toml}"));
            let p = needlesim::plan::patient::parse(&toml, "form").expect("parses");
            assert_eq!(p.zones[0].concerns[0].grade, Some(g), "{toml}");
            // The page offers the grade, and the browser's pairs bring it back.
            let again = Form::from_pairs(&f.to_pairs()).expect("pairs");
            assert_eq!(again, f);
        }
        let page = crate::pages::intake(&scalp("male", "6"), None, &Default::default(), &[], &[]);
        assert!(
            page.contains("<option value=\"6\" selected>6: Norwood 6"),
            "the hair grade menu does not offer Norwood 6"
        );
        // Ludwig 5 for a woman is refused, and the message lands on the hair-grade control.
        let f = scalp("female", "5");
        let toml = f.to_toml().expect("toml");
        let needlesim::Error::Patient(p) =
            needlesim::Study::patient_from_toml_str(&toml, "form").expect_err("Ludwig 5")
        else {
            panic!("not a patient error")
        };
        let errs = p.field_errors();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            f.field_for(&errs[0].path, &errs[0].message),
            "zones[0].hair_grade"
        );
        // An acne-scar grade error still lands on the acne-scar control.
        let mut f = scalp("female", "");
        f.zones[0].site = "cheek".into();
        f.zones[0].concerns = vec!["hair_thinning".into(), "acne_scars".into()];
        assert_eq!(
            f.field_for("zones[0].concerns[1].grade", "out of range"),
            "zones[0].grade"
        );
        assert_eq!(
            f.field_for("zones[0].concerns[0].grade", "out of range"),
            "zones[0].hair_grade"
        );
    }

    #[test]
    fn field_paths_map_to_form_controls() {
        assert_eq!(
            form_field("zones[1].concerns[0].grade", ""),
            "zones[1].grade"
        );
        assert_eq!(
            form_field("zones[1].concerns[2].scar_types[0]", ""),
            "zones[1].scar_types"
        );
        assert_eq!(
            form_field("zones[0].concerns[1].kind", ""),
            "zones[0].concerns"
        );
        assert_eq!(
            form_field("zones[0].skin_state[3]", ""),
            "zones[0].skin_state"
        );
        assert_eq!(
            form_field("procedures[0].zones[1]", ""),
            "procedures[0].zones"
        );
        assert_eq!(form_field("patient", "missing field `sex`"), "patient.sex");
        assert_eq!(form_field("(top level)", "missing field `date`"), "date");
        assert_eq!(form_field("params.healing.x", ""), "params");
        assert_eq!(
            form_field("goals.blackout[0].from", ""),
            "goals.blackout[0].from"
        );
        assert_eq!(form_field("patient.age_years", ""), "patient.age_years");
        assert_eq!(form_field("history.pregnant", ""), "history");
        assert_eq!(form_field("history.diabetes", ""), "history.diabetes");
    }
}
