//! Values the documentation shows where it does not close the list: `notificationType` (the
//! AddAttachment sample uses one no list names) and message `type` (the ChatResources table is
//! cut off). A value outside them is not a shape violation, only the profile observations
//! `shape.notification-type` and `shape.message-type`.

use serde_json::Value;

use crate::api;

/// `notificationType` values the documentation shows.
pub const NOTIFICATION_TYPES: &[&str] =
    &["StatusChange", "ParticipantsUpdated", "PropertiesUpdated", "AttachmentAdded", "Error", "NewMessages"];

/// The notificationType of a `/v2/me/chats` notification's `data`, if it is a string the
/// documentation does not show.
pub fn unknown_notification_type(data: &Value) -> Option<&str> {
    data.get("notificationType").and_then(Value::as_str).filter(|t| !NOTIFICATION_TYPES.contains(t))
}

/// Message types in `messages` the documentation does not show, each once, in order.
pub fn unknown_message_types(messages: &[Value]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for t in messages.iter().filter_map(|m| m.get("type").and_then(Value::as_str)) {
        if !api::MESSAGE_TYPES.contains(&t) && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn documented_values_are_known_and_others_are_named_once() {
        assert_eq!(unknown_notification_type(&json!({"notificationType": "AttachmentAdded"})), None);
        assert_eq!(
            unknown_notification_type(&json!({"notificationType": "AttachmentRemoved"})),
            Some("AttachmentRemoved")
        );
        assert_eq!(
            unknown_notification_type(&json!({"notificationType": 3})),
            None,
            "not a string: the schema says so"
        );
        let messages =
            [json!({"type": "Text"}), json!({"type": "Hint"}), json!({"type": "Hint"}), json!({"type": "Notice"})];
        assert_eq!(unknown_message_types(&messages), ["Hint"]);
    }
}
