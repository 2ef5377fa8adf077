//! What the command line writes: standard output that a closed pipe cannot crash (`chatprobe run
//! | head` must still tear down and write its reports), report files written whole or not at all,
//! and the signal handling that turns a first Ctrl-C into a graceful stop and a second into an
//! immediate exit that leaves no half-written file behind.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::runner::CancellationToken;

/// Set once standard output is gone (a closed pipe): nothing more is written to it.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Print to standard output; a closed pipe silences it instead of ending the process.
pub fn print(text: &str) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).and_then(|()| out.flush()).is_err() {
        STDOUT_GONE.store(true, Ordering::Relaxed);
    }
}

/// Temporary files being written, removed if a second signal ends the process mid-write.
static IN_PROGRESS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Distinguishes this process's temporary files from another's writing the same report.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// Write a report: `-` is standard output; a FIFO or character device is written as it is; a
/// symlink is followed to its file; a regular file is written to a unique temporary name beside
/// it, synced, then renamed over it, so the report is whole or absent, never half-written, and
/// no temporary file is left behind.
pub fn write_file(path: &Path, f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        f(&mut buf)?;
        print(&String::from_utf8_lossy(&buf));
        return Ok(());
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path)?,
        _ => path.to_owned(),
    };
    if let Ok(meta) = std::fs::metadata(&target)
        && !meta.is_file()
    {
        // A pipe or a device: no rename is possible, write straight into it.
        let mut file = std::fs::OpenOptions::new().write(true).open(&target)?;
        f(&mut file)?;
        return file.flush();
    }
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = target.file_name().map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.{}.partial", std::process::id(), NEXT_TEMP.fetch_add(1, Ordering::Relaxed)));
    IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner).insert(tmp.clone());
    let written = (|| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f(&mut file)?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner).remove(&tmp);
    written
}

/// Remove a report left by an earlier run, when this run writes none in its place; says so.
pub fn remove_stale(path: &Path) {
    if path.as_os_str() == "-" {
        return;
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file()) && std::fs::remove_file(path).is_ok() {
        eprintln!("chatprobe: removed {} (an earlier run's report)", path.display());
    }
}

/// Stop gracefully on the first SIGINT or SIGTERM (cancel `stop`); exit at once with 130 on the
/// second, after removing any report half-written.
pub fn on_signals(stop: CancellationToken, what: &'static str) {
    tokio::spawn(async move {
        if next_signal().await.is_err() {
            return;
        }
        eprintln!("\nchatprobe: interrupted; {what} (again to exit at once)");
        stop.cancel();
        if next_signal().await.is_err() {
            return;
        }
        for tmp in std::mem::take(&mut *IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner)) {
            let _ = std::fs::remove_file(tmp);
        }
        eprintln!("chatprobe: interrupted again; exiting");
        std::process::exit(crate::runner::Outcome::Interrupted.code());
    });
}

/// The next SIGINT or SIGTERM.
async fn next_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            _ = int.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_replaces_the_old_one_whole_and_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("chatprobe-output-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.json");
        std::fs::write(&path, "old").unwrap();
        let failed = write_file(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old", "a failed write keeps the old report");
        write_file(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        // Through a symlink, the file it points at is written and the link stays.
        let link = dir.join("link.json");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&path, &link).unwrap();
        write_file(&link, |w| w.write_all(b"linked")).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "linked");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
        remove_stale(&path);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
