//! Several agents in one chat: Invite (a conference, every agent visible to the customer),
//! Consult (a consultant the customer never sees), CancelConsult and
//! RemoveParticipantFromConference.

use super::agent_ops::Call;
use super::chat::Offer;
use super::engine::Engine;
use super::latitude::ConsultantRemovalCode;
use super::message::{Draft, MessageType};
use super::reply::SimError;
use super::routing::Target;
use crate::api::{ChatState, UriTarget, uri_target};

/// The `text` of the Notice that records a removal; the removed agent's user id follows it.
const REMOVAL_NOTICE: &str = "REMOVE_PARTICIPANT_FROM_CONFERENCE";

impl Engine {
    /// The target agent is offered the chat; once it accepts, it joins visible to all.
    pub(super) fn invite(&mut self, call: &Call) -> Result<(), SimError> {
        let uri = call.str("targetUri").unwrap_or_default();
        let Target::Agent(agent) = self.resolve_uri(uri)? else {
            return Err(SimError::Validation("Invite needs an agent URI as targetUri".into()));
        };
        self.check_newcomer(call, agent)?;
        self.offer(call.chat, agent, Offer::Invite(call.origin()), call.host);
        Ok(())
    }

    /// The target agent (or the first free agent of the target queue) is offered the chat as a
    /// consultant: once it accepts, it joins with visibility Agents.
    pub(super) fn consult(&mut self, call: &Call) -> Result<(), SimError> {
        let uri = call.str("targetUri").unwrap_or_default();
        match self.resolve_uri(uri)? {
            Target::Agent(agent) => {
                self.check_newcomer(call, agent)?;
                self.offer(call.chat, agent, Offer::Consult(call.origin()), call.host);
            }
            Target::Queue(_) => {
                if let Some(chat) = self.chats.get_mut(call.chat) {
                    chat.queued_consult = Some(call.origin());
                    self.waiting_consults.push_back(call.chat.to_owned());
                }
                self.route(call.host);
            }
        }
        Ok(())
    }

    /// A pending Consult is withdrawn (the offer is Revoked) with no notification to the sender;
    /// once the consultant has accepted it is too late, which an Error notification says.
    pub(super) fn cancel_consult(&mut self, call: &Call) -> Result<(), SimError> {
        let Some(chat) = self.chats.get_mut(call.chat) else { return Ok(()) };
        let offered = chat
            .assignments
            .iter()
            .find(|a| a.state == ChatState::Invited && matches!(a.offer, Offer::Consult(_)))
            .map(|a| a.agent);
        if let Some(consultant) = offered {
            self.set_assignment(consultant, call.chat, ChatState::Revoked);
            self.push_state(consultant, call.chat, "StatusChange", None, call.host);
            self.route(call.host);
        } else if chat.queued_consult.take().is_some() {
            self.waiting_consults.retain(|id| id != call.chat);
        } else {
            self.push_error(call.origin(), "Request failed");
        }
        Ok(())
    }

    /// Another agent is taken out of the conversation (Completed); everyone left gets
    /// ParticipantsUpdated and a Notice for agents only. A consultant may not remove anyone,
    /// and nobody may remove the customer or themselves (statusCode 3).
    pub(super) fn remove_participant(&mut self, call: &Call) -> Result<(), SimError> {
        let Some(chat) = self.chats.get(call.chat) else { return Ok(()) };
        if chat.context(call.agent).consultant {
            let why = "A consultant may not remove participants".to_owned();
            return Err(match self.opts.lat.consultant_removal_code {
                ConsultantRemovalCode::Three => SimError::Forbidden(why),
                ConsultantRemovalCode::Two => SimError::InvalidState(why),
            });
        }
        let uri = call.str("targetUri").or_else(|| call.str("userUri")).unwrap_or_default();
        let user_id = match uri_target(uri) {
            Some(UriTarget::User(id)) => id,
            _ => return Err(SimError::NotFound(format!("Participant {uri} not found"))),
        };
        if user_id == chat.customer.id {
            return Err(SimError::Forbidden("The customer cannot be removed from the chat".into()));
        }
        if user_id == self.agent(call.agent).user_id {
            return Err(SimError::Forbidden("An agent cannot remove itself: use Leave".into()));
        }
        let target = self
            .agent_by_user_id(user_id)
            .filter(|agent| chat.state_of(*agent) == ChatState::Chatting)
            .ok_or_else(|| SimError::NotFound(format!("Participant {user_id} is not in the chat")))?;
        let Some(me) = self.participant_of(call.agent, call.chat) else { return Ok(()) };

        self.set_assignment(target, call.chat, ChatState::Completed);
        self.push_state(target, call.chat, "StatusChange", None, call.host);
        let remaining: Vec<usize> =
            self.chats.get(call.chat).map(|c| c.chatting_agents().map(|a| a.agent).collect()).unwrap_or_default();
        for agent in remaining {
            let reference = (agent == call.agent).then_some(call.reference);
            self.push_state(agent, call.chat, "ParticipantsUpdated", reference, call.host);
        }
        let notice = Draft::new(MessageType::Notice, &me).text(format!("{REMOVAL_NOTICE}{user_id}")).agents_only();
        self.say(call.chat, notice, Some(call.origin()), call.host);
        self.route(call.host);
        Ok(())
    }
}
