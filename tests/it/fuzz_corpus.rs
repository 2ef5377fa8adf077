//! The fuzz targets' corpora (fuzz/corpus/TARGET/), replayed on stable Rust through the same
//! entry points the targets call: every input, seeds and found crashes alike, returns without a
//! panic. The fuzzers themselves run with scripts/fuzz.sh (nightly).

use std::path::PathBuf;

use chatprobe::fuzzing;

/// A fuzz target's entry point.
type Entry = fn(&[u8]);

/// Each target and its entry point.
const TARGETS: &[(&str, Entry)] = &[
    ("scenario", fuzzing::scenario),
    ("load_spec", fuzzing::load_spec),
    ("bayeux", fuzzing::bayeux),
    ("response", fuzzing::response),
];

/// Fewest inputs a target's corpus holds: a missing or emptied corpus fails the test.
const AT_LEAST: usize = 5;

#[test]
fn every_corpus_input_of_every_fuzz_target_returns_without_a_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, entry) in TARGETS {
        let dir = root.join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(files.len() >= AT_LEAST, "{}: {} inputs", dir.display(), files.len());
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| entry(&data));
            assert!(outcome.is_ok(), "{target}: {} panicked", file.display());
        }
    }
}
