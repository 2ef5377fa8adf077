//! Which schema applies to what: an HTTP response by method and path, a Bayeux message by
//! channel. Pure functions over the request line and the parsed body, so the runner, the load
//! driver and the simulator's own tests agree on the same mapping. Tegsoft answers are told by
//! the profile's paths and their HTTP status (`contract::tegsoft`), not here.

use serde_json::Value;

use crate::api;

/// Schema names, as the files in `schemas/gws/` are called without `.schema.json`.
pub const ERROR_RESPONSE: &str = "error-response";
pub const OPERATION_RESPONSE: &str = "operation-response";
pub const VERSION_RESPONSE: &str = "version-response";
pub const ME_RESPONSE: &str = "me-response";
pub const ME_CHATS_RESPONSE: &str = "me-chats-response";
pub const CHAT_MESSAGES_RESPONSE: &str = "chat-messages-response";
pub const CUSTOMER_REQUEST_CHAT_RESPONSE: &str = "customer-request-chat-response";
pub const CUSTOMER_CHAT_RESPONSE: &str = "customer-chat-response";
pub const BAYEUX_HANDSHAKE: &str = "bayeux-handshake";
pub const BAYEUX_CONNECT: &str = "bayeux-connect";
pub const BAYEUX_SUBSCRIBE: &str = "bayeux-subscribe";
pub const BAYEUX_DISCONNECT: &str = "bayeux-disconnect";
pub const BAYEUX_EVENT: &str = "bayeux-event";
pub const NOTIFICATION_CHATS: &str = "notification-chats";
pub const NOTIFICATION_CHANNELS: &str = "notification-channels";
/// Where the versioned API starts in a path; anything before it is the target's base path.
const API_ROOT: &str = "/api/v2/";

/// The schema for an HTTP response body. `method` "GET"/"POST"; `path` without query string
/// (e.g. "/api/v2/me/chats/0001PaBMYY3600R8/messages"); `body` the parsed JSON.
/// A body whose `statusCode` is an integer > 0 → "error-response" (whatever the endpoint).
/// None for endpoints with no schema.
pub fn response_schema(method: &str, path: &str, body: &Value) -> Option<&'static str> {
    // A query string is not part of the route; tolerate callers that leave it on.
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let rest = &path[path.find(API_ROOT)? + API_ROOT.len()..];
    if is_error_body(body) {
        return Some(ERROR_RESPONSE);
    }
    // RequestChat is documented as POST /api/v2/chats/ (trailing slash) and used without it.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut segments = [""; 5];
    let mut count = 0;
    for segment in rest.split('/') {
        if segment.is_empty() || count == segments.len() {
            return None;
        }
        segments[count] = segment;
        count += 1;
    }
    let get = method.eq_ignore_ascii_case("GET");
    let post = method.eq_ignore_ascii_case("POST");
    Some(match (&segments[..count], get, post) {
        (["diagnostics", "version"], true, _) => VERSION_RESPONSE,
        (["me"], true, _) => ME_RESPONSE,
        (["me"], _, true) => OPERATION_RESPONSE,
        (["me", "channels", _], _, true) => OPERATION_RESPONSE,
        (["me", "chats"], true, _) => ME_CHATS_RESPONSE,
        (["me", "chats", _, "messages"], true, _) => CHAT_MESSAGES_RESPONSE,
        (["me", "chats", _], _, true) => OPERATION_RESPONSE,
        // Add New Document answers like an operation (plus the new documentId).
        (["me", "chats", _, "attachments"], _, true) => OPERATION_RESPONSE,
        (["chats"], _, true) => CUSTOMER_REQUEST_CHAT_RESPONSE,
        (["chats", _], true, _) => CUSTOMER_CHAT_RESPONSE,
        (["chats", _, "messages"], true, _) => CHAT_MESSAGES_RESPONSE,
        (["chats", _], _, true) => OPERATION_RESPONSE,
        _ => return None,
    })
}

/// The rule a response's shape is checked under: `shape.response` where the documentation shows
/// the endpoint's answer, the profile rules where the shape is chatprobe's inference (the
/// envelope of GET /api/v2/me/chats, the answer to Add New Document) or the Tegsoft profile's
/// (any schema named `tegsoft-…`).
pub fn response_rule(method: &str, path: &str, schema: &str) -> &'static crate::contract::Rule {
    use crate::contract::rules;
    if schema.starts_with("tegsoft-") {
        return &rules::SHAPE_TEGSOFT_RESPONSE;
    }
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let upload = method.eq_ignore_ascii_case("POST") && path.trim_end_matches('/').ends_with("/attachments");
    if schema == ME_CHATS_RESPONSE || (upload && schema != ERROR_RESPONSE) {
        &rules::SHAPE_INFERRED_RESPONSE
    } else {
        &rules::SHAPE_RESPONSE
    }
}

/// A refused request: `statusCode` an integer above 0 (ReturnValues page).
fn is_error_body(body: &Value) -> bool {
    match body.get("statusCode") {
        Some(Value::Number(n)) => n.as_i64().map_or_else(|| n.as_u64().is_some(), |c| c > 0),
        _ => false,
    }
}

/// The schema for one Bayeux message received from the server: meta replies by channel,
/// "/v2/me/chats" → "notification-chats", "/v2/me/channels" → "notification-channels",
/// any other channel → "bayeux-event", no/invalid channel → "bayeux-event" (which then fails).
pub fn bayeux_schema(message: &Value) -> &'static str {
    match message.get("channel").and_then(Value::as_str) {
        Some("/meta/handshake") => BAYEUX_HANDSHAKE,
        Some("/meta/connect") => BAYEUX_CONNECT,
        Some("/meta/subscribe" | "/meta/unsubscribe") => BAYEUX_SUBSCRIBE,
        Some("/meta/disconnect") => BAYEUX_DISCONNECT,
        Some(api::CHANNEL_CHATS) => NOTIFICATION_CHATS,
        Some(api::CHANNEL_CHANNELS) => NOTIFICATION_CHANNELS,
        _ => BAYEUX_EVENT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok() -> Value {
        json!({"statusCode": 0})
    }

    #[test]
    fn agent_endpoints() {
        let cases = [
            ("GET", "/api/v2/diagnostics/version", Some(VERSION_RESPONSE)),
            ("GET", "/api/v2/me", Some(ME_RESPONSE)),
            ("POST", "/api/v2/me", Some(OPERATION_RESPONSE)),
            ("POST", "/api/v2/me/channels/chat", Some(OPERATION_RESPONSE)),
            ("POST", "/api/v2/me/chats/0001/attachments", Some(OPERATION_RESPONSE)),
            ("GET", "/api/v2/me/chats", Some(ME_CHATS_RESPONSE)),
            ("GET", "/api/v2/me/chats/0001PaBMYY3600R8/messages", Some(CHAT_MESSAGES_RESPONSE)),
            ("POST", "/api/v2/me/chats/0001PaBMYY3600R8", Some(OPERATION_RESPONSE)),
        ];
        for (method, path, expected) in cases {
            assert_eq!(response_schema(method, path, &ok()), expected, "{method} {path}");
        }
    }

    #[test]
    fn customer_endpoints() {
        let id = "652492d9-c2d9-44c9-b9ad-0ab7984114bb";
        let cases = [
            ("POST", "/api/v2/chats".to_owned(), Some(CUSTOMER_REQUEST_CHAT_RESPONSE)),
            ("POST", "/api/v2/chats/".to_owned(), Some(CUSTOMER_REQUEST_CHAT_RESPONSE)),
            ("GET", format!("/api/v2/chats/{id}"), Some(CUSTOMER_CHAT_RESPONSE)),
            ("GET", format!("/api/v2/chats/{id}/messages"), Some(CHAT_MESSAGES_RESPONSE)),
            ("POST", format!("/api/v2/chats/{id}"), Some(OPERATION_RESPONSE)),
        ];
        for (method, path, expected) in cases {
            assert_eq!(response_schema(method, &path, &ok()), expected, "{method} {path}");
        }
    }

    #[test]
    fn endpoints_without_schema() {
        let cases = [
            ("GET", "/api/v2/me/channels"),
            ("GET", "/api/v2/chats/0001/attachments/0002"),
            ("DELETE", "/api/v2/me/chats/0001"),
            ("GET", "/api/v2/me/chats//messages"),
            ("POST", "/api/v2/me/chats"),
            ("GET", "/api/v2"),
            ("GET", "/health"),
            ("GET", "/api/v2/a/b/c/d/e/f"),
        ];
        for (method, path) in cases {
            assert_eq!(response_schema(method, path, &ok()), None, "{method} {path}");
        }
    }

    #[test]
    fn base_path_query_and_case_are_tolerated() {
        assert_eq!(response_schema("GET", "/gws/api/v2/me/chats", &ok()), Some(ME_CHATS_RESPONSE));
        assert_eq!(
            response_schema("get", "/api/v2/me/chats/x/messages?startIndex=1&count=10", &ok()),
            Some(CHAT_MESSAGES_RESPONSE)
        );
        assert_eq!(response_schema("POST", "/a/b/api/v2/me/chats/x", &ok()), Some(OPERATION_RESPONSE));
    }

    #[test]
    fn refusals_are_error_responses_anywhere() {
        let refused = json!({"statusCode": 2, "statusMessage": "Invalid state"});
        assert_eq!(response_schema("POST", "/api/v2/me/chats/x", &refused), Some(ERROR_RESPONSE));
        assert_eq!(response_schema("GET", "/api/v2/me", &json!({"statusCode": 20})), Some(ERROR_RESPONSE));
        assert_eq!(response_schema("POST", "/api/v2/me/chats/x/attachments", &refused), Some(ERROR_RESPONSE));
        // Not an integer above 0: the endpoint's own schema judges it.
        for body in [
            json!({"statusCode": "2"}),
            json!({"statusCode": 0}),
            json!({"statusCode": -1}),
            json!({"statusCode": 1.5}),
        ] {
            assert_eq!(response_schema("POST", "/api/v2/me/chats/x", &body), Some(OPERATION_RESPONSE), "{body}");
        }
        // Outside the GWS API nothing is classified, error or not.
        assert_eq!(response_schema("GET", "/other", &refused), None);
    }

    #[test]
    fn tegsoft_paths_are_not_gws_endpoints() {
        let done = json!({"result": "SUCCESS", "messageId": "m1"});
        assert_eq!(response_schema("POST", "/tegsoft/webchat/UploadFile", &done), None);
        assert_eq!(response_rule("POST", "/x", "tegsoft-failure-response").id, "shape.tegsoft-response");
    }

    #[test]
    fn bayeux_by_channel() {
        let cases = [
            (json!({"channel": "/meta/handshake"}), BAYEUX_HANDSHAKE),
            (json!({"channel": "/meta/connect"}), BAYEUX_CONNECT),
            (json!({"channel": "/meta/subscribe"}), BAYEUX_SUBSCRIBE),
            (json!({"channel": "/meta/unsubscribe"}), BAYEUX_SUBSCRIBE),
            (json!({"channel": "/meta/disconnect"}), BAYEUX_DISCONNECT),
            (json!({"channel": "/v2/me/chats", "data": {}}), NOTIFICATION_CHATS),
            (json!({"channel": "/v2/me/channels", "data": {}}), NOTIFICATION_CHANNELS),
            (json!({"channel": "/v2/me/calls", "data": {}}), BAYEUX_EVENT),
            (json!({"channel": "/meta/foo"}), BAYEUX_EVENT),
            (json!({"channel": 7}), BAYEUX_EVENT),
            (json!({"data": {}}), BAYEUX_EVENT),
            (json!([1, 2]), BAYEUX_EVENT),
        ];
        for (message, expected) in cases {
            assert_eq!(bayeux_schema(&message), expected, "{message}");
        }
    }
}
