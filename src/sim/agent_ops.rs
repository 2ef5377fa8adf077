//! The agent's chat operations on `POST /api/v2/me/chats/{id}`: the checks every operation shares
//! (the chat is the agent's, the parameters fit the catalogue in `crate::api`, the operation is
//! among the chat's capabilities), then the operation itself, found in the module of its concept.

use serde_json::{Map, Value};

use super::chat::Origin;
use super::chat::USERDATA_OPERATIONS;
use super::engine::Engine;
use super::latitude::{AsyncFailure, InvitedUserdataCapabilities, SecondConsultCode, WrongTypeCode};
use super::message::{Draft, MessageType, Participant};
use super::reply::{SimError, operation_name};
use crate::api;

/// One accepted request: who sent it, on which chat, its referenceId and its parameters.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call<'a> {
    pub agent: usize,
    pub chat: &'a str,
    pub reference: u64,
    pub host: &'a str,
    pub body: &'a Map<String, Value>,
}

impl<'a> Call<'a> {
    /// A string parameter (its type was checked against the catalogue).
    pub fn str(&self, name: &str) -> Option<&'a str> {
        self.body.get(name).and_then(Value::as_str)
    }

    pub fn origin(&self) -> Origin {
        Origin { agent: self.agent, reference: self.reference }
    }
}

impl Engine {
    /// Validate and perform one operation. On error nothing has changed.
    pub fn chat_operation(
        &mut self,
        agent: usize,
        chat_id: &str,
        body: &Map<String, Value>,
        reference: u64,
        host: &str,
    ) -> Result<(), SimError> {
        let name = operation_name(body)?;
        let op =
            api::operation(name).ok_or_else(|| SimError::MissingParameter(format!("Unknown operationName: {name}")))?;
        let chat = self.agent_chat(agent, chat_id)?;
        let lat = self.opts.lat;
        op.check_params(body).map_err(|e| wrong_type(e, body, lat.wrong_type_code))?;
        let state = chat.state_of(agent);
        let context = chat.context(agent);
        if op.name == "Consult" && context.consult_pending && lat.second_consult_code == SecondConsultCode::Nineteen {
            return Err(SimError::InUse("A consultation is already pending on this chat".into()));
        }
        let invited_userdata = lat.invited_userdata_capabilities == InvitedUserdataCapabilities::With
            && state == api::ChatState::Invited
            && USERDATA_OPERATIONS.contains(&op.name);
        if !op.valid_in(state, &context) && !invited_userdata {
            return Err(SimError::InvalidState(format!(
                "Operation {name} is not among the capabilities of the chat (state {})",
                state.as_str()
            )));
        }
        let call = Call { agent, chat: chat_id, reference, host, body };
        let result = self.dispatch(&call, op);
        // Under `async-failure=accepted-then-error-notification` an unknown target is found after
        // the request was accepted: statusCode 0, then the documented Error notification.
        match result {
            Err(SimError::NotFound(why))
                if lat.async_failure == AsyncFailure::AcceptedThenError && ASYNC_TARGETS.contains(&op.name) =>
            {
                self.push_error(call.origin(), &why);
                Ok(())
            }
            other => other,
        }
    }

    fn dispatch(&mut self, call: &Call, op: &api::Operation) -> Result<(), SimError> {
        match op.name {
            "Accept" => self.accept(call),
            "Reject" => self.reject(call),
            "Transfer" => self.transfer(call),
            "Complete" => self.complete(call),
            "Leave" => self.leave(call),
            "LeaveAndComplete" => self.leave_and_complete(call),
            "Invite" => self.invite(call),
            "Consult" => self.consult(call),
            "CancelConsult" => self.cancel_consult(call),
            "RemoveParticipantFromConference" => self.remove_participant(call),
            "SetInFocus" => Ok(()),
            "SetDisposition" | "AttachUserData" | "UpdateUserData" | "DeleteUserData" => {
                self.change_user_data(call, op.name)
            }
            "AddAttachment" => self.add_attachment(call),
            "RemoveAttachment" => self.remove_attachment(call),
            "UploadFile" => self.upload_file(call),
            "DeleteFile" => self.delete_file(call),
            _ => self.send(call, op),
        }
    }
}

/// A parameter of the wrong JSON type is 10, or 1 (taken as missing) under
/// `wrong-type-code=1`; a string outside the allowed values stays 10.
fn wrong_type(e: api::ParamError, body: &Map<String, Value>, code: WrongTypeCode) -> SimError {
    match &e {
        api::ParamError::Invalid { name, .. }
            if code == WrongTypeCode::One && !body.get(*name).is_some_and(Value::is_string) =>
        {
            SimError::MissingParameter(format!("Missing required parameter: {name} (not a string)"))
        }
        _ => SimError::from(e),
    }
}

/// The operations whose unknown target may be found after acceptance (`async-failure`).
const ASYNC_TARGETS: &[&str] = &["Transfer", "Complete", "Invite", "Consult"];

impl Engine {
    /// The agent as a participant of the chat, once it accepted.
    pub(super) fn participant_of(&self, agent: usize, chat_id: &str) -> Option<Participant> {
        self.chats.get(chat_id)?.assignment(agent)?.participant.clone()
    }

    /// The optional `text` of the +T trio: a Text message from the agent, sent before the
    /// operation takes effect.
    pub(super) fn say_text_first(&mut self, call: &Call) {
        let (Some(text), Some(me)) = (call.str("text"), self.participant_of(call.agent, call.chat)) else { return };
        let draft =
            Draft::new(MessageType::Text, &me).text(text).message_type(call.str("messageType").map(str::to_owned));
        self.say(call.chat, draft, Some(call.origin()), call.host);
    }
}
