//! The app's store: saved patients and their plans in one SQLite file inside the data folder.
//!
//! The schema carries its version in `schema_version`; [`MIGRATIONS`] lists every step from an
//! empty file to the current schema, and [`Db::open`] applies the missing ones in one
//! transaction each. A file written by a newer needlesim (a version this build does not know)
//! is refused rather than guessed at. SQLite keeps its temporary data in memory
//! (`temp_store = MEMORY`), so nothing is written outside the data folder.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

/// The database file's name inside the data folder.
pub const DB_FILE: &str = "needlesim.sqlite";

/// The schema steps, in order: `(version, SQL)`. Version `n` is reached by applying step `n`
/// to a database at version `n - 1`. Never edit a released step: add a new one.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE patients (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            toml TEXT NOT NULL,
            created TEXT NOT NULL DEFAULT (datetime('now')),
            updated TEXT NOT NULL DEFAULT (datetime('now'))
        );
        CREATE TABLE plans (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
            created TEXT NOT NULL DEFAULT (datetime('now')),
            verdict TEXT NOT NULL,
            summary TEXT NOT NULL,
            patient_toml TEXT NOT NULL,
            plan_json TEXT NOT NULL,
            report_html TEXT NOT NULL
        );",
    ),
    (2, "CREATE INDEX plans_by_patient ON plans(patient_id, id);"),
];

/// The schema version this build writes.
pub fn current_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database `{}`: {source}", .path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the database `{}` has schema version {found}, newer than this needlesim knows ({known})\n  hint: use a newer needlesim, or another --data folder",
        .path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot create the data folder `{}`: {source}", .path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A saved patient, as listed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PatientRow {
    pub id: i64,
    pub title: String,
    pub toml: String,
    pub created: String,
    pub updated: String,
}

/// A saved plan.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlanRow {
    pub id: i64,
    pub patient_id: i64,
    pub created: String,
    pub verdict: String,
    pub summary: String,
    pub patient_toml: String,
    pub plan_json: String,
    pub report_html: String,
}

/// A plan to store.
pub struct NewPlan<'a> {
    pub verdict: &'a str,
    pub summary: &'a str,
    pub patient_toml: &'a str,
    pub plan_json: &'a str,
    pub report_html: &'a str,
}

/// The open store (one connection, used by one request at a time).
pub struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (creating when missing) the database in `data_dir` and migrates it to
    /// [`current_version`].
    pub fn open(data_dir: &Path) -> Result<Db, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::Folder {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(DB_FILE);
        let sql = |source| DbError::Sql {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000;",
        )
        .map_err(sql)?;
        migrate(&mut conn, &path)?;
        Ok(Db {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        // A panic while the lock was held leaves the connection usable (SQLite rolls back an
        // unfinished statement), so a poisoned lock is taken over rather than propagated.
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|source| DbError::Sql {
            path: self.path.clone(),
            source,
        })
    }

    /// The schema version stored in the file.
    pub fn version(&self) -> Result<i64, DbError> {
        self.with(|c| stored_version(c))
    }

    /// Saves a new patient; returns its id.
    pub fn insert_patient(&self, title: &str, toml: &str) -> Result<i64, DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO patients (title, toml) VALUES (?1, ?2)",
                params![title, toml],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Replaces a saved patient's file; false when there is no such patient.
    pub fn update_patient(&self, id: i64, title: &str, toml: &str) -> Result<bool, DbError> {
        self.with(|c| {
            let n = c.execute(
                "UPDATE patients SET title = ?2, toml = ?3, updated = datetime('now') WHERE id = ?1",
                params![id, title, toml],
            )?;
            Ok(n == 1)
        })
    }

    pub fn patient(&self, id: i64) -> Result<Option<PatientRow>, DbError> {
        self.with(|c| {
            c.query_row(
                "SELECT id, title, toml, created, updated FROM patients WHERE id = ?1",
                [id],
                patient_row,
            )
            .optional()
        })
    }

    /// Every saved patient, most recently changed first, with its latest plan's verdict.
    pub fn patients(&self) -> Result<Vec<(PatientRow, Option<(i64, String)>)>, DbError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT p.id, p.title, p.toml, p.created, p.updated,
                        (SELECT id FROM plans WHERE patient_id = p.id ORDER BY id DESC LIMIT 1),
                        (SELECT verdict FROM plans WHERE patient_id = p.id ORDER BY id DESC LIMIT 1)
                 FROM patients p ORDER BY p.updated DESC, p.id DESC",
            )?;
            let rows = st.query_map([], |r| {
                let plan: Option<i64> = r.get(5)?;
                let verdict: Option<String> = r.get(6)?;
                Ok((patient_row(r)?, plan.zip(verdict)))
            })?;
            rows.collect()
        })
    }

    /// Saves a plan of a patient; returns its id.
    pub fn insert_plan(&self, patient_id: i64, p: &NewPlan<'_>) -> Result<i64, DbError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO plans (patient_id, verdict, summary, patient_toml, plan_json, report_html)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    patient_id,
                    p.verdict,
                    p.summary,
                    p.patient_toml,
                    p.plan_json,
                    p.report_html
                ],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    pub fn plan(&self, id: i64) -> Result<Option<PlanRow>, DbError> {
        self.with(|c| {
            c.query_row(
                "SELECT id, patient_id, created, verdict, summary, patient_toml, plan_json, report_html
                 FROM plans WHERE id = ?1",
                [id],
                |r| {
                    Ok(PlanRow {
                        id: r.get(0)?,
                        patient_id: r.get(1)?,
                        created: r.get(2)?,
                        verdict: r.get(3)?,
                        summary: r.get(4)?,
                        patient_toml: r.get(5)?,
                        plan_json: r.get(6)?,
                        report_html: r.get(7)?,
                    })
                },
            )
            .optional()
        })
    }

    /// The plans of a patient, newest first: `(id, created, verdict, summary)`.
    pub fn plans_of(&self, patient_id: i64) -> Result<Vec<(i64, String, String, String)>, DbError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, created, verdict, summary FROM plans WHERE patient_id = ?1 ORDER BY id DESC",
            )?;
            let rows = st.query_map([patient_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect()
        })
    }
}

fn patient_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PatientRow> {
    Ok(PatientRow {
        id: r.get(0)?,
        title: r.get(1)?,
        toml: r.get(2)?,
        created: r.get(3)?,
        updated: r.get(4)?,
    })
}

fn stored_version(c: &Connection) -> rusqlite::Result<i64> {
    c.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let v: Option<i64> = c
        .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(v.unwrap_or(0))
}

/// Brings the database to [`current_version`], one transaction per step.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), DbError> {
    let sql = |source| DbError::Sql {
        path: path.to_path_buf(),
        source,
    };
    let found = stored_version(conn).map_err(sql)?;
    let known = current_version();
    if found > known {
        return Err(DbError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (version, step) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        let tx = conn.transaction().map_err(sql)?;
        tx.execute_batch(step).map_err(sql)?;
        tx.execute("DELETE FROM schema_version", []).map_err(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("needlesim-web-db-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn new_database_is_at_the_current_version_and_round_trips() {
        let d = tmp("new");
        let db = Db::open(&d).expect("open");
        assert_eq!(db.version().expect("version"), current_version());
        let id = db
            .insert_patient("t", "date = \"2026-01-01\"")
            .expect("insert");
        assert!(db.update_patient(id, "t2", "x").expect("update"));
        assert!(
            !db.update_patient(id + 100, "t2", "x")
                .expect("update missing")
        );
        let p = db.patient(id).expect("get").expect("present");
        assert_eq!((p.title.as_str(), p.toml.as_str()), ("t2", "x"));
        let plan = NewPlan {
            verdict: "treat",
            summary: "s",
            patient_toml: "x",
            plan_json: "{}",
            report_html: "<html>",
        };
        let pid = db.insert_plan(id, &plan).expect("plan");
        assert_eq!(db.plan(pid).expect("plan").expect("some").verdict, "treat");
        assert_eq!(db.plans_of(id).expect("list").len(), 1);
        let all = db.patients().expect("all");
        assert_eq!(all[0].1, Some((pid, "treat".to_string())));
        // Only the database (and SQLite's own journal) is in the data folder.
        for e in std::fs::read_dir(&d).expect("dir") {
            let name = e.expect("entry").file_name().to_string_lossy().to_string();
            assert!(name.starts_with(DB_FILE), "unexpected file {name}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_version_1_database_is_migrated_and_keeps_its_rows() {
        let d = tmp("v1");
        std::fs::create_dir_all(&d).expect("dir");
        {
            let c = Connection::open(d.join(DB_FILE)).expect("raw");
            c.execute_batch(MIGRATIONS[0].1).expect("v1");
            c.execute_batch(
                "CREATE TABLE schema_version (version INTEGER NOT NULL);
                 INSERT INTO schema_version VALUES (1);
                 INSERT INTO patients (title, toml) VALUES ('old', 'a = 1');",
            )
            .expect("seed");
        }
        let db = Db::open(&d).expect("open migrates");
        assert_eq!(db.version().expect("v"), current_version());
        assert_eq!(db.patients().expect("rows")[0].0.title, "old");
        let has_index: i64 = db
            .with(|c| {
                c.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'plans_by_patient'",
                    [],
                    |r| r.get(0),
                )
            })
            .expect("index");
        assert_eq!(has_index, 1);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let d = tmp("newer");
        std::fs::create_dir_all(&d).expect("dir");
        {
            let c = Connection::open(d.join(DB_FILE)).expect("raw");
            c.execute_batch(
                "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (999);",
            )
            .expect("seed");
        }
        let e = Db::open(&d).err().expect("refused");
        assert!(e.to_string().contains("schema version 999"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
