//! Latitudes: the points where the documentation leaves a server a choice, each with the
//! alternatives a faithful server may take. [`Latitudes`] holds one alternative per latitude;
//! the default simulator takes the first of each, the preset [`Latitudes::variant`] the last of
//! each, and [`Latitudes::from_seed`] one per latitude drawn from a seed. Every latitude and every
//! alternative has a stable kebab-case name (`--latitude NAME=ALT`); `docs/latitude.md` gives
//! each one's evidence.

use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;

/// One latitude as listed: its name, alternatives (the default first), what it is about and
/// where the documentation leaves it open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatitudeInfo {
    pub name: &'static str,
    pub alternatives: &'static [&'static str],
    pub description: &'static str,
    pub evidence: &'static str,
}

/// A `--latitude NAME=ALT` that names no latitude or no alternative of it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LatitudeError {
    #[error("unknown latitude `{name}`; the latitudes are: {valid}")]
    UnknownLatitude { name: String, valid: String },
    #[error("latitude `{name}` has no alternative `{alternative}`; its alternatives are: {valid}")]
    UnknownAlternative { name: String, alternative: String, valid: String },
    #[error("`{0}` is not NAME=ALT (for example csrf-cometd=not-enforced)")]
    Malformed(String),
}

macro_rules! latitudes {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ident, $name:literal, $evidence:literal, [$($alt:ident = $alt_name:literal),+ $(,)?];
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            pub enum $ty {
                $(#[doc = $alt_name] $alt,)+
            }

            impl $ty {
                /// Every alternative, the default first.
                pub const ALL: &'static [$ty] = &[$($ty::$alt),+];

                /// The alternative's kebab-case name.
                pub fn name(self) -> &'static str {
                    match self { $($ty::$alt => $alt_name,)+ }
                }
            }

            impl Default for $ty {
                fn default() -> Self {
                    Self::ALL[0]
                }
            }
        )*

        /// One alternative per latitude.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct Latitudes {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }

        impl Latitudes {
            /// Every latitude, in a fixed order (the order seeds draw in).
            pub const ALL: &'static [LatitudeInfo] = &[$(
                LatitudeInfo {
                    name: $name,
                    alternatives: &[$($alt_name),+],
                    description: concat!($($doc),*),
                    evidence: $evidence,
                },
            )*];

            /// The index of the alternative taken at latitude `index` of [`Latitudes::ALL`].
            pub fn chosen(&self, index: usize) -> usize {
                let mut i = 0;
                $(
                    if i == index {
                        return $ty::ALL.iter().position(|a| *a == self.$field).unwrap_or(0);
                    }
                    i += 1;
                )*
                let _ = i;
                0
            }

            /// Take alternative `alt` (an index into its alternatives, wrapped) at latitude `index`.
            pub fn choose(&mut self, index: usize, alt: usize) {
                let mut i = 0;
                $(
                    if i == index {
                        self.$field = $ty::ALL[alt % $ty::ALL.len()];
                        return;
                    }
                    i += 1;
                )*
                let _ = i;
            }
        }
    };
}

latitudes! {
    /// CSRF token required on CometD POSTs (handshake, connect, subscribe, disconnect) or only
    /// on the API's own writes.
    csrf_cometd: CsrfCometd, "csrf-cometd", "digest §7.3, §5 (CSRFProtection: every PUT/POST/DELETE)",
        [Enforced = "enforced", NotEnforced = "not-enforced"];
    /// The Basic login gives a new session id and CSRF token (Spring Security), or keeps the
    /// anonymous session's.
    login_rotation: LoginRotation, "login-rotation", "digest §7.3 (CSRFProtection: token from a GET's headers)",
        [Rotate = "rotate", Keep = "keep"];
    /// An Invited chat's capabilities and valid operations include the userData operations
    /// (AttachUserData, UpdateUserData, DeleteUserData) or not.
    invited_userdata_capabilities: InvitedUserdataCapabilities, "invited-userdata-capabilities",
        "digest §4 capabilities, Invited [I]; §11 (no Invited sample)",
        [Without = "without", With = "with"];
    /// The attachment operations (AddAttachment, RemoveAttachment, UploadFile, DeleteFile) listed
    /// among a Chatting chat's capabilities, or absent as in the AddAttachment sample (they work).
    attachment_capabilities: AttachmentCapabilities, "attachment-capabilities",
        "seed AddAttachment (15-entry capabilities, no attachment operation)",
        [Listed = "listed", Absent = "absent"];
    /// An External participant (the sample's bot "PoD service") joins after the customer and
    /// posts a public Notice, or there is none.
    external_bot: ExternalBot, "external-bot", "seed AddAttachment (an External participant)",
        [NoBot = "none", JoinsAfterCustomer = "joins-after-customer"];
    /// The customer's messages GET without `index`: the whole transcript, or only the messages
    /// not yet returned.
    customer_messages_get: CustomerMessagesGet, "customer-messages-get", "digest §12 (GET messages for new messages [I])",
        [Whole = "whole", Incremental = "incremental"];
    /// An accepted operation whose target turns out unknown fails with a synchronous statusCode,
    /// or with statusCode 0 then an Error notification carrying its referenceId.
    async_failure: AsyncFailure, "async-failure", "digest §1 (statusCode 0 = accepted), §3 CancelConsult, §6 Error",
        [SyncCode = "sync-code", AcceptedThenError = "accepted-then-error-notification"];
    /// A second Consult while one is pending: 2 (not valid in the state) or 19 (in use).
    second_consult_code: SecondConsultCode, "second-consult-code", "digest §5 return values 2 and 19",
        [Two = "2", Nineteen = "19"];
    /// A parameter of the wrong JSON type: 10 (input validation) or 1 (taken as missing).
    wrong_type_code: WrongTypeCode, "wrong-type-code", "digest §5 return values 1 and 10",
        [Ten = "10", One = "1"];
    /// A consultant's RemoveParticipantFromConference: 3 (forbidden) or 2 (not valid for it).
    consultant_removal_code: ConsultantRemovalCode, "consultant-removal-code",
        "digest §3 RemoveParticipantFromConference, §5 return values 2 and 3",
        [Three = "3", Two = "2"];
    /// RemoveAttachment's notification: PropertiesUpdated, or an undocumented type in the style
    /// of the seed's AttachmentAdded (AttachmentRemoved).
    removal_notification_type: RemovalNotificationType, "removal-notification-type",
        "digest §3 RemoveAttachment (\"chat resource update\"); §6, seed AttachmentAdded",
        [Documented = "documented", AttachmentRemoved = "attachment-removed"];
    /// The customer's messages carry `visibility` or not.
    customer_visibility: CustomerVisibility, "customer-visibility", "digest §12 (no customer message sample)",
        [With = "with", Without = "without"];
    /// The customer's messages carry `timestamp` or `utcTime` (epoch milliseconds).
    customer_time_field: CustomerTimeField, "customer-time-field", "digest §12 (no customer message sample)",
        [Timestamp = "timestamp", UtcTime = "utc-time"];
    /// Message `timestamp` with `T` and `receivedDate` with a space, or the other way round: the
    /// docs show both forms.
    timestamp_form: TimestampForm, "timestamp-form", "digest §4 samples, §10 item 7 (formats with a space, no T)",
        [MessageT = "message-t", MessageSpace = "message-space"];
    /// How many queued events one connect answer carries.
    bayeux_batching: BayeuxBatching, "bayeux-batching", "digest §6 (Bayeux 1.0 long-polling), docs/bayeux.md",
        [AllInOne = "all-in-one", TwoPerReply = "two-per-reply", OnePerReply = "one-per-reply"];
    /// Events of a connect answer before the connect reply (CometD) or after it (Faye).
    event_order: EventOrder, "event-order", "docs/bayeux.md (Bayeux fixes no order)",
        [BeforeReply = "before-reply", AfterReply = "after-reply"];
    /// Events carry a Bayeux `id` or not (optional in Bayeux).
    event_ids: EventIds, "event-ids", "docs/bayeux.md (message id optional)",
        [Absent = "absent", Present = "present"];
    /// Every operation's POST response carries its referenceId, or only those whose page shows one
    /// (Consult, Invite, CancelConsult).
    reference_id_in_response: ReferenceIdInResponse, "reference-id-in-response", "digest §1, §6 referenceId correlation",
        [Always = "always", DocumentedPagesOnly = "documented-pages-only"];
    /// The HTTP status of a JSON answer with a non-zero statusCode (20 aside): a 4xx, or 200.
    error_http_status: ErrorHttpStatus, "error-http-status", "digest §5 (no HTTP status table) [gap]",
        [ClientError = "4xx", Ok200 = "200"];
    /// Id formats: GWS-looking 16-character ids and a UUID customer chat id, or other formats
    /// (hex ids, a dashless customer id); the customer's chat id differs from the agent side's.
    id_format: IdFormat, "id-format", "digest §12 [I] (customer id need not equal the agent-side id)",
        [Short = "short", Long = "long"];
    /// Responses, chats, messages and notifications carry undocumented fields or not.
    extra_fields: ExtraFields, "extra-fields", "digest §1, §4 (fields listed, none excluded)",
        [NoExtras = "none", Everywhere = "everywhere"];
    /// A waiting chat goes to the least loaded Ready agent; ties go to the lowest-numbered agent
    /// or the highest.
    routing: Routing, "routing", "no page documents routing; digest §3 Reject (\"re-offered to another agent\")",
        [LowestNumbered = "lowest-numbered", HighestNumbered = "highest-numbered"];
    /// Chats an agent holds at once: the configured capacity, or one more.
    capacity: Capacity, "capacity", "no page documents a per-agent capacity",
        [AsConfigured = "as-configured", OneMore = "one-more"];
}

/// SplitMix64: the generator seeds draw alternatives with (one output per latitude).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seeds `chatprobe selftest` runs by default: together they take every alternative of every
/// latitude (a test holds them to it).
pub const DEFAULT_SEEDS: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8];

impl Latitudes {
    /// The preset variant: the last alternative of every latitude.
    pub fn variant() -> Latitudes {
        let mut out = Latitudes::default();
        for (i, info) in Latitudes::ALL.iter().enumerate() {
            out.choose(i, info.alternatives.len() - 1);
        }
        out
    }

    /// One alternative per latitude from `seed`: at latitude `i`, alternative
    /// `splitmix64(seed * 2^32 + i) mod n` (n its number of alternatives).
    pub fn from_seed(seed: u64) -> Latitudes {
        let mut out = Latitudes::default();
        for (i, info) in Latitudes::ALL.iter().enumerate() {
            let draw = splitmix64(seed.wrapping_shl(32).wrapping_add(i as u64));
            let n = info.alternatives.len() as u64;
            out.choose(i, usize::try_from(draw % n).unwrap_or(0));
        }
        out
    }

    /// Pin latitude `name` to alternative `alternative`.
    pub fn pin(&mut self, name: &str, alternative: &str) -> Result<(), LatitudeError> {
        let Some(index) = Latitudes::ALL.iter().position(|l| l.name == name) else {
            let valid = Latitudes::ALL.iter().map(|l| l.name).collect::<Vec<_>>().join(", ");
            return Err(LatitudeError::UnknownLatitude { name: name.to_owned(), valid });
        };
        let info = &Latitudes::ALL[index];
        let Some(alt) = info.alternatives.iter().position(|a| *a == alternative) else {
            return Err(LatitudeError::UnknownAlternative {
                name: name.to_owned(),
                alternative: alternative.to_owned(),
                valid: info.alternatives.join(", "),
            });
        };
        self.choose(index, alt);
        Ok(())
    }

    /// Pin one `NAME=ALT`.
    pub fn pin_spec(&mut self, spec: &str) -> Result<(), LatitudeError> {
        let (name, alt) = spec.split_once('=').ok_or_else(|| LatitudeError::Malformed(spec.to_owned()))?;
        self.pin(name.trim(), alt.trim())
    }

    /// The name of the alternative taken at latitude `index`.
    pub fn chosen_name(&self, index: usize) -> &'static str {
        Latitudes::ALL.get(index).and_then(|l| l.alternatives.get(self.chosen(index)).copied()).unwrap_or("")
    }

    /// The choices as a JSON object, latitude name → alternative name, in catalogue order.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (i, info) in Latitudes::ALL.iter().enumerate() {
            map.insert(info.name.to_owned(), Value::String(self.chosen_name(i).to_owned()));
        }
        Value::Object(map)
    }

    /// Whether every latitude takes its default alternative.
    pub fn is_default(&self) -> bool {
        *self == Latitudes::default()
    }
}

impl fmt::Display for Latitudes {
    /// The non-default choices as `name=alt` pairs, or `default`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = (0..Latitudes::ALL.len())
            .filter(|i| self.chosen(*i) != 0)
            .map(|i| format!("{}={}", Latitudes::ALL[i].name, self.chosen_name(i)))
            .collect();
        if pairs.is_empty() { f.write_str("default") } else { f.write_str(&pairs.join(" ")) }
    }
}

/// Which seeds take each alternative of each latitude: `[latitude][alternative] → seeds`.
pub fn coverage(seeds: &[u64]) -> Vec<Vec<Vec<u64>>> {
    let mut out: Vec<Vec<Vec<u64>>> = Latitudes::ALL.iter().map(|l| vec![Vec::new(); l.alternatives.len()]).collect();
    for seed in seeds {
        let lat = Latitudes::from_seed(*seed);
        for (i, per_alt) in out.iter_mut().enumerate() {
            per_alt[lat.chosen(i)].push(*seed);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const CATALOGUE: &str = include_str!("../../docs/latitude.md");

    #[test]
    fn names_are_kebab_case_and_unique() {
        let kebab =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let mut seen = BTreeSet::new();
        for info in Latitudes::ALL {
            assert!(kebab(info.name), "{}", info.name);
            assert!(seen.insert(info.name), "{} twice", info.name);
            assert!(info.alternatives.len() >= 2, "{}", info.name);
            assert!(info.alternatives.iter().all(|a| kebab(a)), "{:?}", info.alternatives);
            assert_eq!(info.alternatives.iter().collect::<BTreeSet<_>>().len(), info.alternatives.len());
            assert!(!info.description.is_empty() && !info.evidence.is_empty(), "{}", info.name);
        }
        assert!(Latitudes::ALL.len() >= 20);
    }

    #[test]
    fn default_takes_the_first_and_variant_the_last_alternative_everywhere() {
        let d = Latitudes::default();
        let v = Latitudes::variant();
        for (i, info) in Latitudes::ALL.iter().enumerate() {
            assert_eq!(d.chosen(i), 0, "{}", info.name);
            assert_eq!(v.chosen(i), info.alternatives.len() - 1, "{}", info.name);
        }
        assert!(d.is_default() && !v.is_default());
        assert_eq!(d.to_string(), "default");
    }

    #[test]
    fn seeds_are_deterministic_and_differ() {
        assert_eq!(Latitudes::from_seed(7), Latitudes::from_seed(7));
        assert_ne!(Latitudes::from_seed(1), Latitudes::from_seed(2));
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn pins_take_names_and_refuse_unknown_ones_naming_the_valid() {
        let mut lat = Latitudes::default();
        lat.pin_spec("csrf-cometd=not-enforced").unwrap();
        assert_eq!(lat.csrf_cometd, CsrfCometd::NotEnforced);
        lat.pin("second-consult-code", "19").unwrap();
        assert_eq!(lat.second_consult_code, SecondConsultCode::Nineteen);
        assert_eq!(lat.to_json()["second-consult-code"], "19");
        let e = lat.pin("no-such", "x").unwrap_err().to_string();
        assert!(e.contains("unknown latitude `no-such`") && e.contains("csrf-cometd"), "{e}");
        let e = lat.pin("routing", "random").unwrap_err().to_string();
        assert!(e.contains("lowest-numbered, highest-numbered"), "{e}");
        assert!(matches!(lat.pin_spec("routing"), Err(LatitudeError::Malformed(_))));
    }

    #[test]
    fn the_default_seeds_take_every_alternative_of_every_latitude() {
        for (info, per_alt) in Latitudes::ALL.iter().zip(coverage(DEFAULT_SEEDS)) {
            for (alt, seeds) in info.alternatives.iter().zip(per_alt) {
                assert!(!seeds.is_empty(), "{}={} taken by no default seed", info.name, alt);
            }
        }
    }

    /// The latitudes named by `### name` headings of docs/latitude.md, with each entry's switch
    /// lines (`--latitude name=alt`).
    fn catalogue() -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for line in CATALOGUE.lines() {
            if let Some(name) = line.strip_prefix("### ") {
                out.push((name.trim().trim_matches('`').to_owned(), Vec::new()));
            } else if let Some((_, entry)) = out.last_mut().map(|(n, s)| (n.clone(), s)) {
                let mut rest = line;
                while let Some(at) = rest.find("--latitude ") {
                    rest = &rest[at + "--latitude ".len()..];
                    let end = rest.find(|c: char| c == '`' || c.is_whitespace()).unwrap_or(rest.len());
                    entry.push(rest[..end].to_owned());
                    rest = &rest[end..];
                }
            }
        }
        out
    }

    #[test]
    fn the_catalogue_and_the_switches_match_exactly() {
        let entries = catalogue();
        let documented: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        let switches: Vec<&str> = Latitudes::ALL.iter().map(|l| l.name).collect();
        for name in &documented {
            assert!(switches.contains(name), "docs/latitude.md lists `{name}`, which has no switch");
        }
        for name in &switches {
            assert!(documented.contains(name), "latitude `{name}` has no entry in docs/latitude.md");
        }
        for (name, specs) in &entries {
            let info = Latitudes::ALL.iter().find(|l| l.name == name).unwrap();
            for alt in info.alternatives {
                let spec = format!("{name}={alt}");
                assert!(specs.contains(&spec), "docs/latitude.md `{name}` lacks the switch `--latitude {spec}`");
            }
            for spec in specs {
                assert!(Latitudes::default().pin_spec(spec).is_ok(), "docs/latitude.md `{name}`: bad switch {spec}");
            }
        }
        assert!(entries.len() >= 20);
    }
}
