//! Units written in scenario files: sizes (`20MB`, `512KiB`), durations (`250ms`, `5s`, `2m`) and
//! the content type a file name implies.

use std::time::Duration;

use serde_json::Value;

/// Bytes: `1048576`, `20MB` (10^6), `512KiB` (2^10), `1GB`: a number, or a string [`parse_size_text`] reads.
pub fn parse_size(v: &Value) -> Result<u64, String> {
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    let s = v.as_str().ok_or_else(|| format!("a size is a number of bytes or a string like 20MB, found {v}"))?;
    parse_size_text(s)
}

/// The one reading of a size written as text, for scenarios and load files alike: a number
/// (decimals allowed, `1.5MB`) and a unit of B, KB (or kB), MB, GB (powers of 10) or KiB, MiB, GiB
/// (powers of 2), none meaning bytes. Fractions of a byte are dropped; at most 1 TB.
pub fn parse_size_text(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let n: f64 = s[..split].parse().map_err(|_| format!("invalid size `{s}`"))?;
    let unit = match s[split..].trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("invalid size unit `{other}` in `{s}` (B, KB, MB, GB, KiB, MiB, GiB)")),
    };
    let bytes = n * unit;
    if !(bytes.is_finite() && (0.0..=1e12).contains(&bytes)) {
        return Err(format!("size `{s}` is out of range (at most 1TB)"));
    }
    // In range and finite: the cast only drops the fraction.
    Ok(bytes as u64)
}

/// A content type from a file name's extension.
pub fn mime_for(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// Longest duration accepted anywhere: a day.
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);

/// `250ms`, `5s`, `2m`, `1h`, `1m30s` (humantime's forms), or a decimal with one unit: `1.5s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let d = match humantime::parse_duration(s) {
        Ok(d) => d,
        Err(_) => decimal(s)?,
    };
    if d > MAX_DURATION {
        return Err(format!("duration `{s}` is longer than a day"));
    }
    Ok(d)
}

/// `1.5s`, `0.25m`: a decimal number and one unit.
fn decimal(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration `{s}` (write e.g. 500ms, 5s, 1.5s, 2m, 1h, 1m30s)");
    let (num, unit) = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).map_or((s, ""), |i| (&s[..i], s[i..].trim()));
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_size_reading_for_scenarios_and_load_files() {
        for (text, bytes) in
            [("2048", 2048), ("20MB", 20_000_000), ("512KiB", 524_288), ("1.5MB", 1_500_000), ("64kB", 64_000)]
        {
            assert_eq!(parse_size_text(text), Ok(bytes), "{text}");
            assert_eq!(parse_size(&Value::String(text.into())), Ok(bytes), "{text}");
            assert_eq!(crate::load::spec::parse_size(text), Some(bytes), "{text}");
        }
        assert_eq!(parse_size(&serde_json::json!(7)), Ok(7));
        for bad in ["1 parsec", "MB", "2TB", "5000GB", "-1KB"] {
            assert!(parse_size_text(bad).is_err(), "{bad}");
            assert_eq!(crate::load::spec::parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("0.5h").unwrap(), Duration::from_secs(1800));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("2d").unwrap_err().contains("longer than a day"));
        assert!(parse_duration("-1s").is_err());
    }
}
