//! The variant: a simulator that keeps to the documentation but takes, wherever the
//! documentation leaves a choice, another one than the default. What differs:
//!
//! - ids of every kind have other formats (`ids`), the customer's chat id still differs from
//!   the agent-side one;
//! - message timestamps have a space and `receivedDate` a `T` (`time`), both documented forms;
//! - responses, chat resources, messages and notifications carry fields the documentation does
//!   not list (`extra_*` here, `rewrite` for response bodies);
//! - a connect answer carries at most [`CONNECT_BATCH`] events, the rest ride on the next ones,
//!   events carry an `id` and follow the connect reply (`bayeux`, `cometd`);
//! - POST responses carry a referenceId only for the operations whose pages show one
//!   ([`REFERENCE_IN_RESPONSE`]); notifications keep theirs;
//! - every chat has an External participant, the bot "PoD service" of the AddAttachment sample;
//! - waiting chats go to the highest-numbered of the least loaded agents (`routing`), and the
//!   preset `SimConfig::variant()` gives agents another capacity.

use serde_json::{Map, Value, json};

/// Most events one connect answer carries in the variant.
pub(crate) const CONNECT_BATCH: usize = 2;

/// The operations whose documented response shows a referenceId (ChatConsult, ChatInviteUser,
/// ChatCancelConsult); Add New Document, not an operation, shows one too.
pub(crate) const REFERENCE_IN_RESPONSE: &[&str] = &["Consult", "Invite", "CancelConsult"];

/// The External participant's nickname, from the AddAttachment sample.
pub(crate) const BOT_NICKNAME: &str = "PoD service";

/// The bot as a chat's `participants` list it (the AddAttachment sample's fields).
pub(crate) fn bot_participant(id: &str) -> Value {
    json!({
        "id": id,
        "nickname": BOT_NICKNAME,
        "participantId": id,
        "type": "External",
        "visibility": "All",
    })
}

/// The bot as the customer's side lists it.
pub(crate) fn bot_for_customer(id: &str) -> Value {
    json!({"nickname": BOT_NICKNAME, "participantId": id, "type": "External"})
}

/// Undocumented fields of a chat resource.
pub(crate) fn extra_chat_fields(chat: &mut Map<String, Value>, chat_id: &str) {
    chat.insert("mediaType".into(), json!("chat"));
    chat.insert("threadId".into(), json!(format!("T{chat_id}")));
}

/// Undocumented fields of a transcript message.
pub(crate) fn extra_message_fields(message: &mut Map<String, Value>, index: u64) {
    message.insert("messageId".into(), json!(format!("m{index}")));
}

/// Undocumented fields of a notification's `data`.
pub(crate) fn extra_notification_fields(data: &mut Map<String, Value>, sent_at_millis: i64) {
    data.insert("serverTime".into(), json!(sent_at_millis));
}

/// Undocumented fields of a successful response body.
pub(crate) fn extra_response_fields(body: &mut Map<String, Value>) {
    body.insert("serverVersion".into(), json!("8.5.201.04"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_is_an_external_participant_visible_to_all() {
        let bot = bot_participant("009F5790F3F9008A");
        assert_eq!(bot["type"], "External");
        assert_eq!(bot["participantId"], bot["id"]);
        assert_eq!(bot_for_customer("x")["nickname"], BOT_NICKNAME);
    }
}
