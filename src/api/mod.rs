//! The documented API as data: status codes, chat states, message types, Bayeux channels, the
//! catalogue of chat operations and the kinds of their parameters, and the Tegsoft webchat file
//! API with the profile of what its page leaves open (`tegsoft`). No I/O: the simulator and the
//! harness both read from here, so each fact exists once.

pub mod catalogue;
pub mod params;
pub mod status;
pub mod tegsoft;

pub use catalogue::{
    CATALOGUE, ChatContext, Condition, MessageSpec, Operation, capabilities, capabilities_in, operation,
};
pub use params::{Param, ParamError, ParamKind, UriTarget, uri_target};

/// Bayeux channel carrying chat notifications.
pub const CHANNEL_CHATS: &str = "/v2/me/chats";
/// Bayeux channel carrying channel (agent state) notifications.
pub const CHANNEL_CHANNELS: &str = "/v2/me/channels";
/// The wildcard one documented client subscribes to.
pub const CHANNEL_ME_WILDCARD: &str = "/v2/me/*";

/// Path of the CometD endpoint, relative to the server root.
pub const NOTIFICATIONS_PATH: &str = "/api/v2/notifications";

/// Header naming the CSRF header, and the header carrying the token (CSRFProtection page).
pub const CSRF_HEADER_NAME: &str = "X-CSRF-HEADER";
pub const CSRF_TOKEN_HEADER: &str = "X-CSRF-TOKEN";
/// Header every customer-side request carries instead of credentials.
pub const CONTACT_CENTER_ID_HEADER: &str = "ContactCenterId";
/// Body of the HTTP 403 answer to a write without a valid CSRF token.
pub const CSRF_REFUSAL_BODY: &str = "Missing or invalid Csrf token";

/// Agent-side chat states (digest section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatState {
    Invited,
    Chatting,
    LeftChat,
    Completed,
    Revoked,
}

impl ChatState {
    pub const ALL: [ChatState; 5] =
        [ChatState::Invited, ChatState::Chatting, ChatState::LeftChat, ChatState::Completed, ChatState::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            ChatState::Invited => "Invited",
            ChatState::Chatting => "Chatting",
            ChatState::LeftChat => "LeftChat",
            ChatState::Completed => "Completed",
            ChatState::Revoked => "Revoked",
        }
    }

    pub fn parse(s: &str) -> Option<ChatState> {
        ChatState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Customer-side chat states (CustomerChatResource page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerChatState {
    WaitingForAgent,
    Chatting,
    Idle,
}

impl CustomerChatState {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerChatState::WaitingForAgent => "WaitingForAgent",
            CustomerChatState::Chatting => "Chatting",
            CustomerChatState::Idle => "Idle",
        }
    }
}

/// Message `type` values (ChatResources page, plus those seen in notifications).
pub const MESSAGE_TYPES: &[&str] = &[
    "Text",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantRejoined",
    "TypingStarted",
    "TypingStopped",
    "PushUrl",
    "Notice",
    "TranscriptSaveDone",
    "CustomNotice",
    "SystemCommand",
];

/// `notificationType` values of a `ChatStateChangeMessage`.
pub const STATE_NOTIFICATION_TYPES: &[&str] =
    &["StatusChange", "ParticipantsUpdated", "PropertiesUpdated", "AttachmentAdded", "Error"];

/// Message and participant visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    All,
    Agents,
    Supervisors,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::All => "All",
            Visibility::Agents => "Agents",
            Visibility::Supervisors => "Supervisors",
        }
    }
}

/// Customer-side operations on `POST /api/v2/chats/{id}` (section 12 of the digest).
pub const CUSTOMER_OPERATIONS: &[&str] =
    &["SendMessage", "SendStartTypingNotification", "SendStopTypingNotification", "Complete"];
