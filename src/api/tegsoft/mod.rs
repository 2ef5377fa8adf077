//! The Tegsoft webchat file API ("Webchat File Attachment for API", digest §9) as data.
//!
//! The page (<https://docs.tegsoft.com/docs/webchat-file-attachment-api>) documents two web
//! services, UploadFile and SendMessage, their request bodies and the four `fileType` values, and
//! says the file to send "is at a downloadable URL". That is all it documents, and it is all that
//! lives here as facts. Everything else — where the services and the sample files are served, the
//! answers' keys, values and HTTP statuses, the refusals' codes, whether `fileName` is required —
//! is a [`TegsoftProfile`]: data read from a YAML or JSON file, or one of the built-in profiles.
//! The simulator serves a profile and the harness checks against one; neither holds a value of
//! its own. No I/O: the caller reads the file.

mod profile;
mod vars;

pub use profile::{
    BUILTIN_NAMES, BUILTIN_PREFIX, ErrorSpec, Errors, FailureValues, Keys, ProfileError, Requests, Responses, Sample,
    Samples, Services, SuccessValues, TegsoftProfile,
};
pub use vars::{VAR_PREFIX, variable_names};

/// The source every documented Tegsoft expectation and rule names.
pub const SOURCE: &str = "Tegsoft: Webchat File Attachment for API (digest §9)";

/// The page itself.
pub const PAGE: &str = "https://docs.tegsoft.com/docs/webchat-file-attachment-api";

/// The documented `fileType` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    Image,
    Audio,
    Video,
    Document,
}

impl FileType {
    /// In the page's order.
    pub const ALL: [FileType; 4] = [FileType::Image, FileType::Audio, FileType::Video, FileType::Document];

    /// As the wire spells it (`IMAGE`).
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Image => "IMAGE",
            FileType::Audio => "AUDIO",
            FileType::Video => "VIDEO",
            FileType::Document => "DOCUMENT",
        }
    }

    /// As profiles and variables name it (`image`).
    pub fn key(self) -> &'static str {
        match self {
            FileType::Image => "image",
            FileType::Audio => "audio",
            FileType::Video => "video",
            FileType::Document => "document",
        }
    }

    /// The documented value `s` names, exactly as the wire spells it (the match is
    /// case-sensitive: the page prints upper case only).
    pub fn parse(s: &str) -> Option<FileType> {
        FileType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The two documented services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    UploadFile,
    SendMessage,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::UploadFile => "UploadFile",
            Service::SendMessage => "SendMessage",
        }
    }
}

/// Why a request may be refused. The page documents no refusal at all: each one's `errorCode`
/// and HTTP status are the profile's ([`Errors`]); these are the cases a profile must name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The body is not a JSON object, or a field has the wrong JSON type.
    InvalidRequest,
    /// `CHATID` is missing or empty.
    MissingChatId,
    /// `fileDetails` (UploadFile) or one of its required fields is missing or empty.
    MissingParameter,
    /// SendMessage without `message`, or with neither `text` nor `fileDetails`.
    EmptyMessage,
    /// `fileType` is not one of the four documented values.
    InvalidFileType,
    /// `fileUrl` is not an absolute http(s) URL with a host.
    InvalidFileUrl,
    /// No chat has that `CHATID`.
    UnknownChatId,
    /// The chat is over.
    ChatClosed,
    /// The host of `fileUrl` is not one the server downloads from.
    FetchNotAllowed,
    /// The file could not be downloaded.
    FetchFailed,
    /// The file is larger than the server takes.
    FileTooLarge,
}

impl Refusal {
    pub const ALL: [Refusal; 11] = [
        Refusal::InvalidRequest,
        Refusal::MissingChatId,
        Refusal::MissingParameter,
        Refusal::EmptyMessage,
        Refusal::InvalidFileType,
        Refusal::InvalidFileUrl,
        Refusal::UnknownChatId,
        Refusal::ChatClosed,
        Refusal::FetchNotAllowed,
        Refusal::FetchFailed,
        Refusal::FileTooLarge,
    ];

    /// As profiles and variables name it (`missing_chat_id`).
    pub fn key(self) -> &'static str {
        match self {
            Refusal::InvalidRequest => "invalid_request",
            Refusal::MissingChatId => "missing_chat_id",
            Refusal::MissingParameter => "missing_parameter",
            Refusal::EmptyMessage => "empty_message",
            Refusal::InvalidFileType => "invalid_file_type",
            Refusal::InvalidFileUrl => "invalid_file_url",
            Refusal::UnknownChatId => "unknown_chat_id",
            Refusal::ChatClosed => "chat_closed",
            Refusal::FetchNotAllowed => "fetch_not_allowed",
            Refusal::FetchFailed => "fetch_failed",
            Refusal::FileTooLarge => "file_too_large",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_are_the_documented_four() {
        let wire: Vec<&str> = FileType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(wire, ["IMAGE", "AUDIO", "VIDEO", "DOCUMENT"]);
        assert_eq!(FileType::parse("VIDEO"), Some(FileType::Video));
        assert_eq!(FileType::parse("video"), None);
        assert!(FileType::ALL.iter().all(|t| t.key() == t.as_str().to_ascii_lowercase()));
    }

    #[test]
    fn refusal_keys_are_unique() {
        for (i, r) in Refusal::ALL.iter().enumerate() {
            assert!(Refusal::ALL[i + 1..].iter().all(|o| o.key() != r.key()), "{r:?}");
        }
    }
}
