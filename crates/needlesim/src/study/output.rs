//! Writing a run's outputs as one set.
//!
//! Every file of the set is written first into a temporary folder next to the output folder
//! (`.<name>.needlesim-tmp-<pid>`, on the same file system), and only once all of them are
//! written is the set moved into place: the temporary folder is renamed to the output folder
//! when that does not exist yet (one atomic rename), otherwise each file is renamed over its old
//! version, and if any rename fails the ones already made are rolled back. A failure therefore
//! leaves the output folder as it was, never a mix of old and new files; other files in the
//! folder (other commands' outputs, checkpoints) are kept. Temporary folders left behind by a
//! killed run are removed at the start of the next write into the same folder.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One output file: its name in the output folder and its content.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl OutputFile {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> OutputFile {
        OutputFile {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

const TMP_TAG: &str = ".needlesim-tmp-";

/// The prefix of the temporary folders of `dir`: `.<name>.needlesim-tmp-`.
fn tmp_prefix(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}{TMP_TAG}")
}

fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether the process that made a temporary folder is gone (its folder is then stale).
fn owner_is_gone(pid: u32, path: &Path) -> bool {
    if pid == std::process::id() {
        return false;
    }
    if cfg!(target_os = "linux") {
        return !Path::new("/proc").join(pid.to_string()).exists();
    }
    // Elsewhere: stale when untouched for a day.
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 86_400)
}

/// Removes the temporary folders a killed run left next to `dir`; returns how many.
pub fn clean_stale(dir: &Path) -> usize {
    let prefix = tmp_prefix(dir);
    let Ok(entries) = std::fs::read_dir(parent_of(dir)) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if owner_is_gone(pid, &e.path()) && std::fs::remove_dir_all(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// Writes `files` into `dir` as one set (see the module documentation). File names are plain
/// names (no folders).
pub fn write_set(dir: &Path, files: &[OutputFile]) -> Result<()> {
    clean_stale(dir);
    let parent = parent_of(dir);
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::io("creating output folder", &parent, e))?;
    let tmp = parent.join(format!("{}{}", tmp_prefix(dir), std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let staged = stage(&tmp, dir, files);
    let done = staged.and_then(|()| commit(&tmp, dir, files));
    let _ = std::fs::remove_dir_all(&tmp);
    done
}

fn stage(tmp: &Path, dir: &Path, files: &[OutputFile]) -> Result<()> {
    std::fs::create_dir(tmp).map_err(|e| Error::io("creating output folder", tmp, e))?;
    for f in files {
        if f.name.contains(['/', '\\']) || f.name.is_empty() || f.name.starts_with('.') {
            return Err(Error::io(
                "writing",
                dir.join(&f.name),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a plain file name"),
            ));
        }
        std::fs::write(tmp.join(&f.name), &f.bytes)
            .map_err(|e| Error::io("writing", dir.join(&f.name), e))?;
    }
    Ok(())
}

fn commit(tmp: &Path, dir: &Path, files: &[OutputFile]) -> Result<()> {
    if !dir.exists() {
        return std::fs::rename(tmp, dir).map_err(|e| Error::io("moving the outputs into", dir, e));
    }
    let old = tmp.join(".old");
    std::fs::create_dir(&old).map_err(|e| Error::io("creating output folder", &old, e))?;
    // (name, had an old version)
    let mut moved: Vec<(&str, bool)> = Vec::new();
    let mut failure = None;
    for f in files {
        let target = dir.join(&f.name);
        let had_old = target.exists();
        if had_old && let Err(e) = std::fs::rename(&target, old.join(&f.name)) {
            failure = Some(Error::io("replacing", &target, e));
            break;
        }
        if let Err(e) = std::fs::rename(tmp.join(&f.name), &target) {
            if had_old {
                let _ = std::fs::rename(old.join(&f.name), &target);
            }
            failure = Some(Error::io("replacing", &target, e));
            break;
        }
        moved.push((&f.name, had_old));
    }
    let Some(err) = failure else {
        return Ok(());
    };
    // Roll back: every file as it was before.
    for (name, had_old) in moved.into_iter().rev() {
        let target = dir.join(name);
        let _ = std::fs::remove_file(&target);
        if had_old {
            let _ = std::fs::rename(old.join(name), &target);
        }
    }
    Err(err)
}

/// Writes one file atomically: into a temporary file next to it, then renamed over it.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(|e| Error::io("creating folder", d, e))?;
    }
    crate::report::write_atomic(path, bytes).map_err(|e| Error::io("writing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("needlesim-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn a_set_replaces_its_files_and_keeps_others() {
        let base = tmp("replace");
        let out = base.join("out");
        write_set(
            &out,
            &[
                OutputFile::new("a.json", "1"),
                OutputFile::new("b.csv", "1"),
            ],
        )
        .unwrap();
        std::fs::write(out.join("other.txt"), "mine").unwrap();
        write_set(
            &out,
            &[
                OutputFile::new("a.json", "2"),
                OutputFile::new("b.csv", "2"),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(out.join("a.json")).unwrap(), "2");
        assert_eq!(std::fs::read_to_string(out.join("b.csv")).unwrap(), "2");
        assert_eq!(
            std::fs::read_to_string(out.join("other.txt")).unwrap(),
            "mine"
        );
        assert_eq!(listing(&base), vec!["out"], "no temporary folder left");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_failed_write_leaves_the_old_set_and_no_temporary_folder() {
        let base = tmp("fail");
        let out = base.join("out");
        write_set(
            &out,
            &[
                OutputFile::new("a.json", "1"),
                OutputFile::new("b.csv", "1"),
            ],
        )
        .unwrap();
        // The second file cannot be written: nothing of the new set may appear.
        let too_long = format!("{}.csv", "z".repeat(300));
        let r = write_set(
            &out,
            &[
                OutputFile::new("a.json", "2"),
                OutputFile::new(too_long, "2"),
            ],
        );
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(out.join("a.json")).unwrap(), "1");
        assert_eq!(listing(&out), vec!["a.json", "b.csv"]);
        assert_eq!(listing(&base), vec!["out"]);
        // Into a new folder: the folder is not even created.
        let fresh = base.join("fresh");
        assert!(
            write_set(
                &fresh,
                &[OutputFile::new(format!("{}.x", "y".repeat(300)), "")]
            )
            .is_err()
        );
        assert!(!fresh.exists());
        assert_eq!(listing(&base), vec!["out"]);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn stale_temporary_folders_are_removed() {
        let base = tmp("stale");
        let out = base.join("out");
        // A folder of a run that no longer exists (no such pid), and one of this process.
        let stale = base.join(format!(".out{TMP_TAG}4194999"));
        std::fs::create_dir_all(stale.join("x")).unwrap();
        std::fs::write(stale.join("punctures.json"), "partial").unwrap();
        let other = base.join(format!(".other{TMP_TAG}4194999"));
        std::fs::create_dir_all(&other).unwrap();
        write_set(&out, &[OutputFile::new("a.json", "1")]).unwrap();
        assert!(!stale.exists(), "stale temporary folder removed");
        assert!(
            other.exists(),
            "another folder's temporary folder is not ours to remove"
        );
        let _ = std::fs::remove_dir_all(&base);
    }
}
