//! Identifiers minted by one simulator: counter-based, so two runs of the same test see the same
//! ids in the same order. Session cookies and CSRF tokens are the exception (see `auth`): they are
//! secrets, not names.

use uuid::Uuid;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// One counter for every kind of id, so no two ids of a simulator ever collide.
#[derive(Debug, Default)]
pub(crate) struct IdGen {
    next: u64,
}

impl IdGen {
    fn bump(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A GWS-looking 16-character interaction id such as `0001PaBMYY3600R8`.
    pub(crate) fn chat_id(&mut self) -> String {
        gws_id("0001", self.bump())
    }

    /// A GWS-looking 16-character participant id.
    pub(crate) fn participant_id(&mut self) -> String {
        gws_id("0002", self.bump())
    }

    /// A UCS document id for an uploaded document, in the form of the documented
    /// `0000TaBTNRPW01GY`.
    pub(crate) fn document_id(&mut self) -> String {
        gws_id("0000", self.bump())
    }

    /// A file's id inside a chat (UploadFile's `fileId`, which DeleteFile takes).
    pub(crate) fn file_id(&mut self) -> String {
        gws_id("0003", self.bump())
    }

    /// The customer's chat id: a UUID (version 4 layout), never equal to an agent-side id.
    pub(crate) fn customer_chat_id(&mut self) -> String {
        let n = u128::from(mix(self.bump()));
        Uuid::from_u128(0x5a17_0000_0000_4000_8000_0000_0000_0000 | (n & 0xffff_ffff_ffff)).to_string()
    }

    /// A Bayeux clientId: opaque, 32 lowercase hex digits.
    pub(crate) fn bayeux_client_id(&mut self) -> String {
        let n = self.bump();
        format!("{:016x}{:016x}", mix(n), mix(n ^ 0x9e37_79b9))
    }
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
    fn customer_ids_are_uuids() {
        let mut ids = IdGen::default();
        let id = ids.customer_chat_id();
        let parsed = Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_ne!(id, ids.customer_chat_id());
    }
}
