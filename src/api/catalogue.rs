//! The catalogue of agent chat operations on `POST /api/v2/me/chats/{id}`: parameters, the
//! states and situations an operation is valid in, the state it leads to, the notifications and
//! transcript message it yields, and the error codes it can answer. Capabilities advertised in a
//! chat resource are derived from this table. "Add New Document", a multipart upload rather than
//! an operation, and the download URIs of attachments are described here too.

use serde_json::{Map, Value};

use super::ChatState::{self, *};
use super::Visibility;
use super::params::ParamKind::{Bool, Choice, Object, StringArray, Uri};
pub use super::params::{Param, ParamError, ParamKind};
use super::params::{opt, req};
use super::status::{FORBIDDEN, INVALID_STATE, MISSING_PARAMETER, NOT_FOUND, VALIDATION_ERROR};

/// What, beyond its state, a chat must be for an operation to be among its capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Nothing: the state decides.
    Always,
    /// Another agent is joined: a conference (several agents visible to all) or a consult.
    ConsultOrConference,
    /// A consult is under way — its invitation pending, or the consultant joined (CancelConsult
    /// is then accepted and answered by an Error notification) — and this agent is not the
    /// consultant.
    ConsultPending,
    /// No consult is under way in the chat and this agent is not a consultant.
    NoConsult,
}

impl Condition {
    pub fn holds(self, ctx: &ChatContext) -> bool {
        match self {
            Condition::Always => true,
            Condition::ConsultOrConference => ctx.conference || ctx.consultant_joined,
            Condition::ConsultPending => (ctx.consult_pending || ctx.consultant_joined) && !ctx.consultant,
            Condition::NoConsult => !ctx.consult_pending && !ctx.consultant_joined,
        }
    }
}

/// The situation of a chat as one agent has it: what capabilities depend on beyond the state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatContext {
    /// More than one agent is joined with visibility All.
    pub conference: bool,
    /// A consult invitation waits for an answer (offered to an agent, or waiting in a queue).
    pub consult_pending: bool,
    /// A consultant (an agent joined with visibility Agents) is in the chat.
    pub consultant_joined: bool,
    /// The agent whose capabilities these are is that consultant.
    pub consultant: bool,
}

impl ChatContext {
    /// One agent alone with the customer.
    pub const ALONE: ChatContext =
        ChatContext { conference: false, consult_pending: false, consultant_joined: false, consultant: false };
}

/// The transcript message an operation adds (besides the text of the +T trio).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageSpec {
    /// The message `type`.
    pub message_type: &'static str,
    /// Its visibility; a consultant's messages are always visibility Agents.
    pub visibility: Visibility,
}

/// One documented chat operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub name: &'static str,
    pub params: &'static [Param],
    /// At least one of these parameters is required (statusCode 1 when none is given).
    pub one_of: &'static [&'static str],
    /// States in which the operation can be among the chat's capabilities.
    pub allowed_states: &'static [ChatState],
    /// What else must hold for it to be among them.
    pub condition: Condition,
    /// State the agent's chat is in once the operation took effect, when it changes. Leave ends
    /// in Completed instead when other agents stay in the chat.
    pub result_state: Option<ChatState>,
    /// `notificationType` values the operation yields on `/v2/me/chats` to the agent who sent
    /// it, in order, each with its referenceId. A `text` (+T) adds a NewMessages first.
    pub notifications: &'static [&'static str],
    /// Those of `notifications` the operation's page does not name (its notification section is
    /// empty, or it only describes what changes): inferred, so a harness may only observe them.
    pub inferred_notifications: &'static [&'static str],
    /// `result_state` is inferred: the page shows no resulting state.
    pub inferred_result: bool,
    /// The notifications come when the invited agent accepts, not at once.
    pub deferred: bool,
    /// The transcript message it adds, if any.
    pub message: Option<MessageSpec>,
    /// The error `statusCode`s it can answer, with when.
    pub errors: &'static [(i64, &'static str)],
}

impl Operation {
    /// Whether the operation is among the capabilities of a chat in `state` and `ctx`.
    pub fn valid_in(&self, state: ChatState, ctx: &ChatContext) -> bool {
        self.allowed_states.contains(&state) && self.condition.holds(ctx)
    }

    /// Check a request body against the parameters: statusCode 1 or 10 when it does not fit.
    pub fn check_params(&self, body: &Map<String, Value>) -> Result<(), ParamError> {
        super::params::check(self.params, self.one_of, body)
    }

    /// Whether it takes the optional text / messageType / treatAs trio.
    pub fn takes_text(&self) -> bool {
        self.params.iter().any(|p| p.name == "text" && !p.required)
    }

    /// The documented error codes, without their explanations.
    pub fn error_codes(&self) -> impl Iterator<Item = i64> + '_ {
        self.errors.iter().map(|(code, _)| *code)
    }
}

const STATUS_CHANGE: &str = "StatusChange";
const PARTICIPANTS_UPDATED: &str = "ParticipantsUpdated";
const PROPERTIES_UPDATED: &str = "PropertiesUpdated";
const NEW_MESSAGES: &str = "NewMessages";
const ATTACHMENT_ADDED: &str = "AttachmentAdded";

/// `noticeText` of the SystemCommand message UploadFile adds (UploadFile page).
pub const FILE_UPLOADED: &str = "file-uploaded";
/// `noticeText` of the SystemCommand message DeleteFile adds (DeleteFile page).
pub const FILE_DELETED: &str = "file-deleted";
/// The `uploadType` values UploadFile documents.
pub const UPLOAD_TYPES: &[&str] = &["standard-response", "file-system"];

/// A string parameter (a shorter name than `ParamKind::String` in the table).
const STR: ParamKind = ParamKind::String;
const TREAT_AS: ParamKind = Choice(&["Normal", "System"]);
const TEXT: Param = opt("text", STR);
const MESSAGE_TYPE: Param = opt("messageType", STR);
const TREAT: Param = opt("treatAs", TREAT_AS);

const E_CHAT: (i64, &str) = (NOT_FOUND, "the chat does not exist or is not this agent's");
const E_STATE: (i64, &str) = (INVALID_STATE, "the operation is not among the chat's capabilities");
const E_MISSING: (i64, &str) = (MISSING_PARAMETER, "a required parameter is missing");
const E_TYPE: (i64, &str) = (VALIDATION_ERROR, "a parameter has the wrong type or value");
const E_TARGET: (i64, &str) = (NOT_FOUND, "the target agent or queue does not exist");
const E_IN_CHAT: (i64, &str) = (VALIDATION_ERROR, "the target agent is this agent or already in the chat");
const E_DOCUMENT: (i64, &str) = (NOT_FOUND, "the document does not exist");

const fn says(message_type: &'static str, visibility: Visibility) -> Option<MessageSpec> {
    Some(MessageSpec { message_type, visibility })
}

/// An operation with no parameters, no deferred notifications and no message; fields are then
/// overridden where the operation differs.
const BASE: Operation = Operation {
    name: "",
    params: &[],
    one_of: &[],
    allowed_states: &[Chatting],
    condition: Condition::Always,
    result_state: None,
    notifications: &[],
    inferred_notifications: &[],
    inferred_result: false,
    deferred: false,
    message: None,
    errors: &[E_STATE, E_CHAT],
};

/// The userData operations: valid while the agent still holds the chat.
const USER_DATA: Operation = Operation {
    allowed_states: &[Chatting, LeftChat],
    notifications: &[PROPERTIES_UPDATED],
    errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT],
    ..BASE
};

/// Messages sent to everyone, the customer included.
const TO_ALL: Operation = Operation { notifications: &[NEW_MESSAGES], ..BASE };

/// Messages and typing among agents only, in a conference or consult.
const TO_AGENTS: Operation = Operation { condition: Condition::ConsultOrConference, ..TO_ALL };

/// In catalogue order, which is the order of capabilities in a chat resource.
pub static CATALOGUE: &[Operation] = &[
    Operation {
        name: "Accept",
        params: &[opt("nickname", STR), opt("saveLAR", Bool)],
        allowed_states: &[Invited],
        result_state: Some(Chatting),
        notifications: &[STATUS_CHANGE, PARTICIPANTS_UPDATED, NEW_MESSAGES],
        // The ChatAccept page promises "a CometD notification with the complete chat history"
        // without naming its type.
        inferred_notifications: &[NEW_MESSAGES],
        message: says("ParticipantJoined", Visibility::All),
        errors: &[E_TYPE, E_STATE, E_CHAT],
        ..BASE
    },
    Operation {
        name: "Reject",
        allowed_states: &[Invited],
        result_state: Some(Completed),
        notifications: &[STATUS_CHANGE],
        ..BASE
    },
    Operation {
        name: "Transfer",
        params: &[opt("targetUri", Uri), opt("queueName", STR), TEXT, MESSAGE_TYPE, TREAT],
        one_of: &["targetUri", "queueName"],
        allowed_states: &[Chatting, LeftChat],
        result_state: Some(Completed),
        notifications: &[STATUS_CHANGE],
        // The ChatSingleStepTransfer page's notification section is empty.
        inferred_notifications: &[STATUS_CHANGE],
        inferred_result: true,
        errors: &[E_MISSING, E_TYPE, E_IN_CHAT, E_STATE, E_CHAT, E_TARGET],
        ..BASE
    },
    Operation {
        name: "Complete",
        params: &[opt("queueName", STR), opt("saveLAR", Bool), TEXT, MESSAGE_TYPE, TREAT],
        allowed_states: &[Chatting, LeftChat],
        result_state: Some(Completed),
        notifications: &[STATUS_CHANGE],
        errors: &[E_TYPE, E_STATE, E_CHAT, (NOT_FOUND, "the queue does not exist")],
        ..BASE
    },
    Operation {
        name: "Leave",
        params: &[TEXT, MESSAGE_TYPE, TREAT],
        result_state: Some(LeftChat),
        notifications: &[STATUS_CHANGE],
        message: says("ParticipantLeft", Visibility::All),
        errors: &[E_TYPE, E_STATE, E_CHAT],
        ..BASE
    },
    Operation {
        name: "LeaveAndComplete",
        params: &[TEXT, MESSAGE_TYPE, TREAT],
        result_state: Some(Completed),
        notifications: &[STATUS_CHANGE],
        // Only seen among capabilities: no page documents it.
        inferred_notifications: &[STATUS_CHANGE],
        inferred_result: true,
        message: says("ParticipantLeft", Visibility::All),
        errors: &[E_TYPE, E_STATE, E_CHAT],
        ..BASE
    },
    Operation {
        name: "Invite",
        params: &[req("targetUri", Uri)],
        notifications: &[PARTICIPANTS_UPDATED, NEW_MESSAGES],
        deferred: true,
        errors: &[E_MISSING, E_TYPE, E_IN_CHAT, E_STATE, E_CHAT, (NOT_FOUND, "the target agent does not exist")],
        ..BASE
    },
    Operation {
        name: "Consult",
        params: &[req("targetUri", Uri)],
        condition: Condition::NoConsult,
        notifications: &[PARTICIPANTS_UPDATED, NEW_MESSAGES],
        deferred: true,
        errors: &[E_MISSING, E_TYPE, E_IN_CHAT, E_STATE, E_CHAT, E_TARGET],
        ..BASE
    },
    Operation {
        name: "CancelConsult",
        condition: Condition::ConsultPending,
        errors: &[(INVALID_STATE, "no consult is pending or accepted"), E_CHAT],
        ..BASE
    },
    Operation {
        name: "RemoveParticipantFromConference",
        params: &[opt("targetUri", Uri), opt("userUri", Uri)],
        one_of: &["targetUri", "userUri"],
        condition: Condition::ConsultOrConference,
        notifications: &[PARTICIPANTS_UPDATED, NEW_MESSAGES],
        // The page shows the MessageLogUpdated Notice only.
        inferred_notifications: &[PARTICIPANTS_UPDATED],
        message: says("Notice", Visibility::Agents),
        errors: &[
            E_MISSING,
            E_TYPE,
            E_STATE,
            (FORBIDDEN, "this agent is a consultant, or the target is the customer or this agent"),
            E_CHAT,
            (NOT_FOUND, "the target agent is not in the chat"),
        ],
        ..BASE
    },
    Operation { name: "SetInFocus", allowed_states: &[Chatting, LeftChat], ..BASE },
    Operation { name: "SetDisposition", params: &[req("disposition", STR), opt("dispositionKey", STR)], ..USER_DATA },
    Operation { name: "AttachUserData", params: &[req("userData", Object)], ..USER_DATA },
    Operation { name: "UpdateUserData", params: &[req("userData", Object)], ..USER_DATA },
    Operation { name: "DeleteUserData", params: &[req("keys", StringArray)], ..USER_DATA },
    Operation {
        name: "SendMessage",
        params: &[req("text", STR), MESSAGE_TYPE, TREAT],
        message: says("Text", Visibility::All),
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT],
        ..TO_ALL
    },
    Operation {
        name: "SendUrl",
        params: &[req("url", STR), TEXT, MESSAGE_TYPE, TREAT],
        message: says("PushUrl", Visibility::All),
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT],
        ..TO_ALL
    },
    Operation { name: "SendStartTypingNotification", message: says("TypingStarted", Visibility::All), ..TO_ALL },
    Operation { name: "SendStopTypingNotification", message: says("TypingStopped", Visibility::All), ..TO_ALL },
    Operation {
        name: "SendCustomNotice",
        params: &[req("noticeText", STR), TEXT, MESSAGE_TYPE, TREAT],
        message: says("CustomNotice", Visibility::All),
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT],
        ..TO_ALL
    },
    Operation {
        name: "SendToAgents",
        params: &[req("text", STR), MESSAGE_TYPE, TREAT],
        message: says("Text", Visibility::Agents),
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT],
        ..TO_AGENTS
    },
    Operation {
        name: "SendStartTypingToAgentsNotification",
        message: says("TypingStarted", Visibility::Agents),
        ..TO_AGENTS
    },
    Operation {
        name: "SendStopTypingToAgentsNotification",
        message: says("TypingStopped", Visibility::Agents),
        ..TO_AGENTS
    },
    Operation {
        name: "SendCustomNoticeToAgents",
        params: &[req("noticeText", STR)],
        message: says("CustomNotice", Visibility::Agents),
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT],
        ..TO_AGENTS
    },
    // The attachment operations work on the conversation: Chatting only. The documented LeftChat
    // capabilities (ChatLeave page) do not list them, and the customer has gone by then.
    Operation {
        name: "AddAttachment",
        // The documented optional `size` is not in the table, there being no integer kind of
        // parameter: a server reads it as it can (the simulator: a non-negative integer, else 10).
        params: &[req("documentId", STR), opt("name", STR), opt("mime", STR)],
        notifications: &[ATTACHMENT_ADDED],
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT, E_DOCUMENT],
        ..BASE
    },
    Operation {
        name: "RemoveAttachment",
        params: &[req("documentId", STR)],
        // The page says only "chat resource update"; PropertiesUpdated is the documented
        // notificationType for a chat whose properties changed, but a server may name it
        // otherwise (AttachmentRemoved, by analogy with AttachmentAdded).
        notifications: &[PROPERTIES_UPDATED],
        inferred_notifications: &[PROPERTIES_UPDATED],
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT, (NOT_FOUND, "the document is not among the chat's attachments")],
        ..BASE
    },
    Operation {
        name: "UploadFile",
        params: &[
            req("documentId", STR),
            opt("uploadType", Choice(UPLOAD_TYPES)),
            opt("uploadPath", STR),
            opt("description", STR),
        ],
        notifications: &[NEW_MESSAGES],
        message: says("SystemCommand", Visibility::All),
        errors: &[
            E_MISSING,
            E_TYPE,
            E_STATE,
            (INVALID_STATE, "the document is not linked to the chat: AddAttachment or Add New Document first"),
            E_CHAT,
        ],
        ..BASE
    },
    Operation {
        name: "DeleteFile",
        params: &[req("fileId", STR)],
        notifications: &[NEW_MESSAGES],
        message: says("SystemCommand", Visibility::All),
        errors: &[E_MISSING, E_TYPE, E_STATE, E_CHAT, (NOT_FOUND, "no file with that fileId is in the chat")],
        ..BASE
    },
];

/// "Add New Document": a document sent as `multipart/form-data` to
/// `POST /api/v2/me/chats/{id}/attachments`, which UCS stores and links to the chat. It has no
/// `operationName`, so it is not in [`CATALOGUE`] and is not a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentUpload {
    /// The form field carrying the document; its file name and content type name the document.
    pub field: &'static str,
    /// States of the agent's chat in which the upload is accepted.
    pub allowed_states: &'static [ChatState],
    /// `notificationType` values it yields to the uploading agent, with the response's
    /// referenceId.
    pub notifications: &'static [&'static str],
    /// The error `statusCode`s it can answer, with when.
    pub errors: &'static [(i64, &'static str)],
}

impl DocumentUpload {
    /// The upload URL's path for the agent-side chat `chat_id`.
    pub fn path(&self, chat_id: &str) -> String {
        format!("/api/v2/me/chats/{chat_id}/attachments")
    }

    pub fn valid_in(&self, state: ChatState) -> bool {
        self.allowed_states.contains(&state)
    }
}

pub static ADD_NEW_DOCUMENT: DocumentUpload = DocumentUpload {
    field: "attachment",
    allowed_states: &[Chatting],
    notifications: &[ATTACHMENT_ADDED],
    errors: &[
        (MISSING_PARAMETER, "the body is not multipart/form-data or has no `attachment` part"),
        (
            VALIDATION_ERROR,
            "the multipart body is malformed, or the document is larger than the server accepts (HTTP 413)",
        ),
        E_STATE,
        E_CHAT,
    ],
};

/// The `path` of a document among a chat's attachments and in upload messages.
pub fn attachment_path(document_id: &str) -> String {
    format!("/attachments/{document_id}")
}

/// Where a document linked to a chat is downloaded: the path of the `uri` a chat's `attachments`
/// carry (AddAttachment page).
pub fn chat_attachment_download(chat_id: &str, document_id: &str) -> String {
    format!("/api/v2/chats/{chat_id}/attachments/{document_id}")
}

/// Where a document is downloaded by its id alone: the path of the `uri` in a file-uploaded
/// message (UploadFile page).
pub fn attachment_download(document_id: &str) -> String {
    format!("/api/v2/attachments/{document_id}")
}

/// The operation of that name, if documented.
pub fn operation(name: &str) -> Option<&'static Operation> {
    CATALOGUE.iter().find(|op| op.name == name)
}

/// The capabilities a chat in `state` advertises whatever else holds: those whose condition is
/// `Always`, in catalogue order.
pub fn capabilities_in(state: ChatState) -> Vec<&'static str> {
    CATALOGUE
        .iter()
        .filter(|op| op.condition == Condition::Always && op.allowed_states.contains(&state))
        .map(|op| op.name)
        .collect()
}

/// The capabilities of a chat in `state` and situation `ctx`, in catalogue order.
pub fn capabilities(state: ChatState, ctx: &ChatContext) -> Vec<&'static str> {
    CATALOGUE.iter().filter(|op| op.valid_in(state, ctx)).map(|op| op.name).collect()
}

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
