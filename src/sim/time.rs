//! Timestamps in the two forms the documentation shows: message `timestamp`
//! (`2014-01-02T14:23:18.109-0800`) and chat `receivedDate` (`2016-07-21 19:25:03.000+0300`).

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

/// A message `timestamp`.
pub(crate) fn message_timestamp(t: OffsetDateTime) -> String {
    // Formatting a valid OffsetDateTime with a fixed numeric description cannot fail.
    t.format(MESSAGE_FORMAT).unwrap_or_default()
}

/// A chat `receivedDate`.
pub(crate) fn received_date(t: OffsetDateTime) -> String {
    t.format(RECEIVED_FORMAT).unwrap_or_default()
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
        assert_eq!(message_timestamp(t), "2014-01-02T14:23:18.109-0800");
        assert_eq!(received_date(t), "2014-01-02 14:23:18.109-0800");
        assert_eq!(epoch_millis(t), 1_388_701_398_109);
    }
}
