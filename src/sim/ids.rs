//! Identifiers minted by one simulator. A customer's chat id is all a customer shows to read and
//! write its chat, and a document id is all a download names, so ids are drawn from a
//! cryptographically secure generator (the operating system's, through `rand`): knowing one id
//! says nothing about the next. The variant mints every kind in another format than the default
//! (the documentation fixes none), all URL-safe.

use uuid::Uuid;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The id generator; `next` counts the ids minted.
#[derive(Debug, Default)]
pub(crate) struct IdGen {
    next: u64,
    variant: bool,
}

impl IdGen {
    pub(crate) fn new(variant: bool) -> IdGen {
        IdGen { next: 0, variant }
    }

    /// 64 unpredictable bits for the next id.
    fn bump(&mut self) -> u64 {
        self.next += 1;
        rand::random::<u64>()
    }

    /// A GWS-looking 16-character interaction id such as `0001PaBMYY3600R8`; the variant's are
    /// `00` and 14 upper-case hex digits.
    pub(crate) fn chat_id(&mut self) -> String {
        let n = self.bump();
        if self.variant { format!("00{:014X}", mix(n) >> 8) } else { gws_id("0001", n) }
    }

    /// A GWS-looking 16-character participant id; the variant's are 16 upper-case hex digits, as
    /// in the AddAttachment sample (`009F5790F75F009A`).
    pub(crate) fn participant_id(&mut self) -> String {
        let n = self.bump();
        if self.variant { format!("{:016X}", mix(n)) } else { gws_id("0002", n) }
    }

    /// A UCS document id for an uploaded document, in the form of the documented
    /// `0000TaBTNRPW01GY`; the variant's are 16 lower-case hex digits.
    pub(crate) fn document_id(&mut self) -> String {
        let n = self.bump();
        if self.variant { format!("{:016x}", mix(n)) } else { gws_id("0000", n) }
    }

    /// A file's id inside a chat (UploadFile's `fileId`, which DeleteFile takes); the variant's
    /// are UUIDs.
    pub(crate) fn file_id(&mut self) -> String {
        let n = self.bump();
        if self.variant { uuid_of(n) } else { gws_id("0003", n) }
    }

    /// The customer's chat id, never equal to an agent-side id: a UUID (version 4 layout); the
    /// variant's are 32 upper-case hex digits without dashes.
    pub(crate) fn customer_chat_id(&mut self) -> String {
        let n = self.bump();
        if self.variant { uuid_of(n).replace('-', "").to_uppercase() } else { uuid_of(n) }
    }

    /// A Bayeux clientId: opaque, 32 lowercase hex digits; the variant's are 26 base-36 digits,
    /// as CometD's look.
    pub(crate) fn bayeux_client_id(&mut self) -> String {
        let n = self.bump();
        if self.variant {
            let mut id = base36(mix(n), 13);
            id.push_str(&base36(mix(n ^ 0x9e37_79b9), 13));
            id
        } else {
            format!("{:016x}{:016x}", mix(n), mix(n ^ 0x9e37_79b9))
        }
    }
}

/// A random (version 4) UUID: 122 bits from the secure generator; `n` is spent as every kind of
/// id spends one draw.
fn uuid_of(n: u64) -> String {
    let _ = n;
    Uuid::new_v4().to_string()
}

/// The low `width` base-36 digits of `n`, lower case.
fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    // Only ASCII digits and letters were written.
    String::from_utf8(out).unwrap_or_default()
}

/// `prefix` followed by `n` in base 62, zero-padded to 16 characters in all.
fn gws_id(prefix: &str, mut n: u64) -> String {
    let mut digits = ['0'; 12];
    for slot in digits.iter_mut().rev() {
        *slot = char::from(ALPHABET[(n % 62) as usize]);
        n /= 62;
    }
    let mut id = prefix.to_owned();
    id.extend(digits);
    id
}

/// splitmix64: spreads consecutive counters over the whole range so ids do not look sequential.
pub(super) fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gws_ids_have_sixteen_characters_and_differ() {
        let mut ids = IdGen::default();
        let a = ids.chat_id();
        let b = ids.chat_id();
        assert_eq!(a.len(), 16);
        assert!(a.starts_with("0001"));
        assert_ne!(a, b);
    }

    #[test]
    fn variant_ids_have_other_formats() {
        let mut ids = IdGen::new(true);
        let chat = ids.chat_id();
        assert!(chat.len() == 16 && chat.starts_with("00") && chat.chars().all(|c| c.is_ascii_hexdigit()), "{chat}");
        assert!(!chat.chars().any(|c| c.is_ascii_lowercase()), "{chat}");
        let customer = ids.customer_chat_id();
        assert!(customer.len() == 32 && !customer.contains('-'), "{customer}");
        assert!(Uuid::parse_str(ids.file_id().as_str()).is_ok());
        assert_eq!(ids.bayeux_client_id().len(), 26);
        assert!(ids.document_id().chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    }

    #[test]
    fn consecutive_ids_share_no_predictable_part() {
        let mut ids = IdGen::default();
        let chats: Vec<String> = (0..64).map(|_| ids.chat_id()).collect();
        let distinct: std::collections::BTreeSet<&String> = chats.iter().collect();
        assert_eq!(distinct.len(), chats.len());
        // A counter would make the ids differ in their last digits only, one step at a time.
        let middle: std::collections::BTreeSet<&str> = chats.iter().map(|c| &c[6..12]).collect();
        assert!(middle.len() > 32, "{chats:?}");
        let customers: Vec<u128> =
            (0..8).map(|_| Uuid::parse_str(&ids.customer_chat_id()).unwrap().as_u128()).collect();
        assert!(customers.windows(2).all(|w| (w[0] ^ w[1]).count_ones() > 20), "{customers:x?}");
    }

    #[test]
    fn customer_ids_are_uuids() {
        let mut ids = IdGen::default();
        let id = ids.customer_chat_id();
        let parsed = Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_ne!(id, ids.customer_chat_id());
    }
}
