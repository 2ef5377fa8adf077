//! The README's command lines parse with the current command line, and the ones that only read
//! files run as written with exit 0: a renamed flag or subcommand breaks this test, not a
//! newcomer's first try.

use std::path::PathBuf;
use std::process::Command;

use clap::Parser;

use chatprobe::cli::Cli;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Shell words of a command line: spaces split, single and double quotes group.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Every `chatprobe …` line of the README's shell blocks, without its comment, with its line
/// number.
fn commands() -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut in_shell = false;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("```") {
            in_shell = !in_shell && (t == "```sh" || t == "```bash" || t == "```shell");
            continue;
        }
        if in_shell && t.starts_with("chatprobe ") {
            let command = t.split(" # ").next().unwrap_or(t).split("  #").next().unwrap_or(t).trim().to_owned();
            out.push((n + 1, command));
        }
    }
    out
}

#[test]
fn every_readme_command_parses() {
    let cmds = commands();
    assert!(cmds.len() >= 15, "the README's commands were not found: {cmds:?}");
    for (line, cmd) in cmds {
        if let Err(e) = Cli::try_parse_from(words(&cmd)) {
            panic!("README.md:{line}: `{cmd}` does not parse:\n{e}");
        }
    }
}

#[test]
fn readme_commands_that_only_read_run_as_written() {
    let safe = ["chatprobe validate", "chatprobe rules", "chatprobe coverage", "chatprobe selftest --list"];
    let mut ran = 0;
    for (line, cmd) in commands() {
        if !safe.iter().any(|s| cmd.starts_with(s)) {
            continue;
        }
        let args = words(&cmd);
        let out = Command::new(env!("CARGO_BIN_EXE_chatprobe")).args(&args[1..]).current_dir(root()).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "README.md:{line}: `{cmd}` exited {:?}:\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} read-only commands found");
}

#[test]
fn shell_words_group_quotes() {
    assert_eq!(words("run --agent 'agent{1..6}:secret' -q"), ["run", "--agent", "agent{1..6}:secret", "-q"]);
    assert_eq!(words(r#"a "b c" ''"#), ["a", "b c", ""]);
}
