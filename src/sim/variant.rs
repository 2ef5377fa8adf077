//! What some non-default latitudes (`latitude`) serve: the External participant of the
//! AddAttachment sample, the undocumented extra fields, the operations whose page shows a
//! referenceId in the response.

use serde_json::{Map, Value, json};

/// The operations whose documented response shows a referenceId (ChatConsult, ChatInviteUser,
/// ChatCancelConsult); Add New Document, not an operation, shows one too.
pub(crate) const REFERENCE_IN_RESPONSE: &[&str] = &["Consult", "Invite", "CancelConsult"];

/// The External participant's nickname, from the AddAttachment sample.
pub(crate) const BOT_NICKNAME: &str = "PoD service";

/// The public Notice the bot posts once joined.
pub(crate) const BOT_NOTICE: &str = "PoD service joined the chat";

/// The bot as a participant whose messages the transcript carries.
pub(crate) fn bot(id: String) -> super::message::Participant {
    super::message::Participant {
        id,
        nickname: BOT_NICKNAME.to_owned(),
        user_id: None,
        visibility: crate::api::Visibility::All,
        external: true,
    }
}

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
