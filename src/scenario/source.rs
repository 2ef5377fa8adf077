//! Where an expectation's evidence comes from. Every expectation names a source: a documentation
//! page (a seed page or a section of the digest), or `profile` — this project's choice where the
//! documentation is silent, optionally followed by `: why`. The contract layer turns a source
//! into a severity: a documented source fails a run when broken, a profile one is an
//! observation.

/// The source word for a profile choice.
pub const PROFILE: &str = "profile";

/// The source of an expectation that names none, nor its step or scenario: the scenario
/// author's own assertion, which fails the run when broken.
pub const DEFAULT_SOURCE: &str = "scenario";

/// Whether a source says "profile" (`profile`, or `profile: why`, in any case).
pub fn is_profile(source: &str) -> bool {
    let s = source.trim();
    let Some(head) = s.get(..PROFILE.len()) else { return false };
    head.eq_ignore_ascii_case(PROFILE) && (s.len() == PROFILE.len() || s[PROFILE.len()..].starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::is_profile;

    #[test]
    fn profile_in_any_case_alone_or_with_a_reason() {
        assert!(is_profile("profile"));
        assert!(is_profile(" Profile: the docs are silent"));
        assert!(!is_profile("profiled pages"));
        assert!(!is_profile("HL/ChatAccept"));
        assert!(!is_profile("prof"));
        assert!(!is_profile("pröfile"));
    }
}
