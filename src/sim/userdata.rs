//! The chat's userData: SetDisposition, AttachUserData, UpdateUserData and DeleteUserData, each
//! answered with PropertiesUpdated carrying the whole chat.

use serde_json::Value;

use super::agent_ops::Call;
use super::engine::Engine;
use super::reply::SimError;

/// The userData key SetDisposition writes when no `dispositionKey` is given.
const DEFAULT_DISPOSITION_KEY: &str = "DispositionCode";

impl Engine {
    pub(super) fn change_user_data(&mut self, call: &Call, operation: &str) -> Result<(), SimError> {
        let Some(chat) = self.chats.get_mut(call.chat) else { return Ok(()) };
        let data = &mut chat.user_data;
        match operation {
            "SetDisposition" => {
                let key = call.str("dispositionKey").unwrap_or(DEFAULT_DISPOSITION_KEY);
                let disposition = call.str("disposition").unwrap_or_default();
                data.insert(key.to_owned(), Value::String(disposition.to_owned()));
            }
            "DeleteUserData" => {
                let keys = call.body.get("keys").and_then(Value::as_array).into_iter().flatten();
                for key in keys.filter_map(Value::as_str) {
                    data.remove(key);
                }
            }
            // Attach merges, Update overwrites the listed keys: for a flat map both insert.
            _ => {
                if let Some(Value::Object(given)) = call.body.get("userData") {
                    data.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        self.push_state(call.agent, call.chat, "PropertiesUpdated", Some(call.reference), call.host);
        Ok(())
    }
}
