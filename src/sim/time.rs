//! Timestamps in the two forms the documentation shows: message `timestamp`
//! (`2014-01-02T14:23:18.109-0800`) and chat `receivedDate` (`2016-07-21 19:25:03.000+0300`).
//! The documentation shows both forms for both fields, so `timestamp-form=message-space` swaps them.

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const MESSAGE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
);
const RECEIVED_FORMAT: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
);

/// The current time. UTC: the local offset cannot be read soundly from a multi-threaded process.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A message `timestamp`; the variant's has a space where the default has `T`.
pub(crate) fn message_timestamp(t: OffsetDateTime, variant: bool) -> String {
    // Formatting a valid OffsetDateTime with a fixed numeric description cannot fail.
    t.format(if variant { RECEIVED_FORMAT } else { MESSAGE_FORMAT }).unwrap_or_default()
}

/// A chat `receivedDate`; the variant's has `T` where the default has a space.
pub(crate) fn received_date(t: OffsetDateTime, variant: bool) -> String {
    t.format(if variant { MESSAGE_FORMAT } else { RECEIVED_FORMAT }).unwrap_or_default()
}

/// An RFC 2822 date (`Sat, 21 Nov 2026 05:55:33 +0000`): what the `garbage-timestamp` fault
/// writes where GWS writes its own form.
pub(crate) fn rfc2822(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc2822).unwrap_or_default()
}

/// `timestampSeconds`, which despite its name holds epoch milliseconds.
pub(crate) fn epoch_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_match_the_documented_samples() {
        let t = datetime!(2014-01-02 14:23:18.109 -08:00);
        assert_eq!(message_timestamp(t, false), "2014-01-02T14:23:18.109-0800");
        assert_eq!(received_date(t, false), "2014-01-02 14:23:18.109-0800");
        assert_eq!(message_timestamp(t, true), "2014-01-02 14:23:18.109-0800");
        assert_eq!(received_date(t, true), "2014-01-02T14:23:18.109-0800");
        assert_eq!(rfc2822(t), "Thu, 02 Jan 2014 14:23:18 -0800");
        assert_eq!(epoch_millis(t), 1_388_701_398_109);
    }
}
