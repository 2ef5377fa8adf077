//! Diagnostics that point at a place in a file, rendered the way rustc and hurl do: a title,
//! `--> file:line:col`, the source line, a caret, then the details.

use std::fmt;

/// A place in a source file (1-based line and column; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Span {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl Span {
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Span {
        Span { file: file.into(), line, column }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// `error` (the default) or `observation`: the word the title is printed after.
    pub level: &'static str,
    pub title: String,
    pub span: Span,
    /// The source line the span points at, when known.
    pub source_line: Option<String>,
    /// Further lines: expected vs actual, hints.
    pub notes: Vec<String>,
    /// Characters before the caret under `source_line`.
    caret: usize,
}

impl Diagnostic {
    pub fn new(title: impl Into<String>, span: Span, source: Option<&str>) -> Diagnostic {
        let column = (span.column as usize).saturating_sub(1);
        let (source_line, caret) = match source.and_then(|text| window_of(text, span.line, column)) {
            Some((line, caret)) => (Some(line), caret),
            None => (None, column),
        };
        Diagnostic { level: "error", title: title.into(), span, source_line, notes: Vec::new(), caret }
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
}

/// Most characters of a source line a diagnostic quotes.
const LINE_LIMIT: usize = 200;

/// The `line`-th line (1-based) of `text`, cut to [`LINE_LIMIT`] characters.
pub fn line_of(text: &str, line: u32) -> Option<String> {
    if line == 0 {
        return None;
    }
    let full = text.lines().nth(line as usize - 1)?;
    let mut cut: String = full.chars().take(LINE_LIMIT).collect();
    if cut.len() < full.len() {
        cut.push('…');
    }
    Some(cut)
}

/// The `line`-th line (1-based) of `text`, cut to [`LINE_LIMIT`] characters around the
/// (0-based) `column`, and where the column falls in what is quoted: a caret far along a
/// megabyte-long line must not be padded out to it.
fn window_of(text: &str, line: u32, column: usize) -> Option<(String, usize)> {
    if column < LINE_LIMIT {
        return line_of(text, line).map(|l| (l, column));
    }
    let full = text.lines().nth((line as usize).checked_sub(1)?)?;
    let start = column - LINE_LIMIT / 2;
    let mut quoted: String = "…".into();
    quoted.extend(full.chars().skip(start).take(LINE_LIMIT));
    if full.chars().count() > start + LINE_LIMIT {
        quoted.push('…');
    }
    Some((quoted, LINE_LIMIT / 2 + 1))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.level, self.title)?;
        let gutter = self.span.line.to_string().len();
        let pad = " ".repeat(gutter);
        writeln!(f, "{pad}--> {}", self.span)?;
        if let Some(src) = &self.source_line {
            writeln!(f, "{pad} |")?;
            writeln!(f, "{} | {}", self.span.line, src)?;
            writeln!(f, "{pad} | {}^", " ".repeat(self.caret.min(LINE_LIMIT + 1)))?;
        }
        for note in &self.notes {
            writeln!(f, "{pad} = {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let d = Diagnostic::new("bad", Span::new("a.yaml", 2, 3), Some("x: 1\ny: [\n")).note("expected: a value");
        let text = d.to_string();
        assert!(text.contains("--> a.yaml:2:3"), "{text}");
        assert!(text.contains("2 | y: ["), "{text}");
        assert!(text.contains("  |   ^"), "{text}");
        assert!(text.contains("= expected: a value"), "{text}");
    }

    #[test]
    fn a_huge_line_is_quoted_cut() {
        let text = format!("name: x\nsteps: [{}]\n", "a".repeat(1_000_000));
        let d = Diagnostic::new("bad", Span::new("a.yaml", 2, 9), Some(&text));
        let line = d.source_line.unwrap();
        assert!(line.chars().count() == LINE_LIMIT + 1 && line.ends_with('…'), "{}", line.len());
    }

    #[test]
    fn a_caret_far_along_a_huge_line_is_shown_in_a_window_around_it() {
        let text = format!("name: x\ndescription: {}: bad\n", "y ".repeat(1_000_000));
        let column = 13 + 2_000_000 + 1;
        let d = Diagnostic::new("bad", Span::new("a.yaml", 2, column as u32), Some(&text));
        let rendered = d.to_string();
        assert!(rendered.len() < 4 * LINE_LIMIT, "{} bytes", rendered.len());
        let lines: Vec<&str> = rendered.lines().collect();
        let (quoted, caret) = (lines[3], lines[4]);
        let at = caret.chars().count() - 1;
        assert_eq!(quoted.chars().nth(at), Some(':'), "{quoted}\n{caret}");
    }
}
