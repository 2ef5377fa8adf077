//! The two services' request bodies, checked field by field into what the simulator acts on.
//! The fields are documented; the refusals are the profile's (the vendor documents the fields,
//! not what happens without them), and so is whether `fileName` may be left out.

use reqwest::Url;
use serde_json::{Map, Value};

use super::reply::Failure;
use crate::api::tegsoft::{FileType, Service};

/// The name a file without `fileName` gets when the last segment of its URL is empty.
const UNNAMED: &str = "file";

/// A file to download and post: where from and under what name. Its `fileType` was checked to
/// be a documented one; the simulator stores any kind alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileSpec {
    pub url: Url,
    pub name: String,
}

/// A checked request: a chat, and a text, a file or both (never neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub chat_id: String,
    pub text: Option<String>,
    pub file: Option<FileSpec>,
}

/// Check a body against what `service` takes; `file_name_required` is the profile's.
pub(crate) fn parse(service: Service, body: &[u8], file_name_required: bool) -> Result<Request, Failure> {
    let body = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(Failure::InvalidRequest("The request body must be a JSON object".into())),
        Err(e) => return Err(Failure::InvalidRequest(format!("The request body is not valid JSON: {e}"))),
    };
    let chat_id = match body.get("CHATID") {
        None | Some(Value::Null) => return Err(Failure::MissingChatId),
        Some(Value::String(s)) if s.trim().is_empty() => return Err(Failure::MissingChatId),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Failure::InvalidRequest("CHATID must be a string".into())),
    };
    match service {
        Service::UploadFile => {
            let details = body.get("fileDetails").filter(|v| !v.is_null());
            let details = details.ok_or_else(|| Failure::MissingParameter("fileDetails".into()))?;
            let file = file_details(details, "fileDetails", file_name_required)?;
            Ok(Request { chat_id, text: None, file: Some(file) })
        }
        Service::SendMessage => {
            let message = match body.get("message") {
                None | Some(Value::Null) => return Err(Failure::EmptyMessage),
                Some(Value::Object(message)) => message,
                Some(_) => return Err(Failure::InvalidRequest("message must be an object".into())),
            };
            let text = match message.get("text") {
                None | Some(Value::Null) => None,
                // An empty text says nothing: it counts as no text.
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(Failure::InvalidRequest("message.text must be a string".into())),
            };
            let file = match message.get("fileDetails") {
                None | Some(Value::Null) => None,
                Some(details) => Some(file_details(details, "message.fileDetails", file_name_required)?),
            };
            if text.is_none() && file.is_none() {
                return Err(Failure::EmptyMessage);
            }
            Ok(Request { chat_id, text, file })
        }
    }
}

/// `fileDetails`: an object, or (the docs say it "must be in json format") that object as a
/// JSON string. Without `fileName` (or with an empty one), where the profile allows it, the file
/// is named after the last segment of its URL.
fn file_details(value: &Value, at: &str, file_name_required: bool) -> Result<FileSpec, Failure> {
    let parsed;
    let details: &Map<String, Value> = match value {
        Value::Object(map) => map,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|e| Failure::InvalidRequest(format!("{at} is a string but not JSON: {e}")))?;
            parsed.as_object().ok_or_else(|| Failure::InvalidRequest(format!("{at} must be a JSON object")))?
        }
        _ => return Err(Failure::InvalidRequest(format!("{at} must be a JSON object"))),
    };
    let url = required(details, at, "fileUrl")?;
    let name = match required(details, at, "fileName") {
        Ok(name) => Some(name),
        Err(Failure::MissingParameter(_)) if !file_name_required => None,
        Err(e) => return Err(e),
    };
    let kind = required(details, at, "fileType")?;
    if FileType::parse(kind).is_none() {
        return Err(Failure::InvalidFileType(kind.into()));
    }
    let url = file_url(url, at)?;
    let name = match name {
        Some(name) => name.to_owned(),
        None => url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .filter(|last| !last.is_empty())
            .unwrap_or(UNNAMED)
            .to_owned(),
    };
    Ok(FileSpec { url, name })
}

/// A required non-empty string field of `fileDetails`.
fn required<'a>(details: &'a Map<String, Value>, at: &str, name: &str) -> Result<&'a str, Failure> {
    match details.get(name) {
        None | Some(Value::Null) => Err(Failure::MissingParameter(format!("{at}.{name}"))),
        Some(Value::String(s)) if s.trim().is_empty() => Err(Failure::MissingParameter(format!("{at}.{name}"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Failure::InvalidRequest(format!("{at}.{name} must be a string"))),
    }
}

/// An absolute http(s) URL with a host: the only kind the simulator downloads from.
fn file_url(text: &str, at: &str) -> Result<Url, Failure> {
    let invalid = |why: String| Failure::InvalidFileUrl(format!("{at}.fileUrl `{text}` {why}"));
    let url = Url::parse(text.trim()).map_err(|e| invalid(format!("is not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!("has scheme `{}`; only http and https are downloaded", url.scheme())));
    }
    if url.host().is_none() {
        return Err(invalid("names no host".into()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::tegsoft::Refusal;

    fn send(body: Value) -> Result<Request, Failure> {
        parse(Service::SendMessage, body.to_string().as_bytes(), true)
    }

    fn upload(body: Value) -> Result<Request, Failure> {
        parse(Service::UploadFile, body.to_string().as_bytes(), true)
    }

    fn wav() -> Value {
        json!({"fileUrl": "http://127.0.0.1:1/public_files/sample.wav", "fileName": "sample.wav", "fileType": "AUDIO"})
    }

    #[test]
    fn the_documented_samples_are_accepted() {
        let text = send(json!({"CHATID": "12345", "message": {"text": "test message"}})).unwrap();
        assert_eq!(
            (text.chat_id.as_str(), text.text.as_deref(), text.file.is_none()),
            ("12345", Some("test message"), true)
        );
        let file = send(json!({"CHATID": "12345", "message": {"fileDetails": wav()}})).unwrap();
        assert_eq!(file.file.unwrap().name, "sample.wav");
        let both =
            send(json!({"CHATID": "12345", "message": {"text": "file and text", "fileDetails": wav()}})).unwrap();
        assert!(both.text.is_some() && both.file.is_some());
        let uploaded = upload(json!({"CHATID": "12345", "fileDetails": wav()})).unwrap();
        assert_eq!(uploaded.file.unwrap().name, "sample.wav");
    }

    #[test]
    fn file_details_may_come_as_a_json_string() {
        let request = upload(json!({"CHATID": "1", "fileDetails": wav().to_string()})).unwrap();
        assert_eq!(request.file.unwrap().url.as_str(), "http://127.0.0.1:1/public_files/sample.wav");
        let err = upload(json!({"CHATID": "1", "fileDetails": "not json"})).unwrap_err();
        assert_eq!(err.refusal(), Refusal::InvalidRequest);
    }

    #[test]
    fn each_refusal_has_its_code() {
        let mut no_url = wav();
        no_url.as_object_mut().unwrap().remove("fileUrl");
        let mut empty_name = wav();
        empty_name["fileName"] = json!("");
        let mut gif = wav();
        gif["fileType"] = json!("GIF");
        let mut ftp = wav();
        ftp["fileUrl"] = json!("ftp://127.0.0.1/x.wav");
        use Refusal::*;
        let cases = [
            (send(json!({"message": {"text": "x"}})), MissingChatId),
            (send(json!({"CHATID": "", "message": {"text": "x"}})), MissingChatId),
            (send(json!({"CHATID": 7, "message": {"text": "x"}})), InvalidRequest),
            (send(json!({"CHATID": "1"})), EmptyMessage),
            (send(json!({"CHATID": "1", "message": {}})), EmptyMessage),
            (send(json!({"CHATID": "1", "message": {"text": ""}})), EmptyMessage),
            (send(json!({"CHATID": "1", "message": "hi"})), InvalidRequest),
            (send(json!({"CHATID": "1", "message": {"fileDetails": no_url}})), MissingParameter),
            (upload(json!({"CHATID": "1", "fileDetails": empty_name})), MissingParameter),
            (upload(json!({"CHATID": "1", "fileDetails": gif})), InvalidFileType),
            (upload(json!({"CHATID": "1", "fileDetails": ftp})), InvalidFileUrl),
            (upload(json!({"CHATID": "1"})), MissingParameter),
            (upload(json!(["CHATID"])), InvalidRequest),
        ];
        for (result, refusal) in cases {
            assert_eq!(result.as_ref().map_err(Failure::refusal).unwrap_err(), refusal, "{result:?}");
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let mut no_url = wav();
        no_url.as_object_mut().unwrap().remove("fileUrl");
        let err = send(json!({"CHATID": "1", "message": {"fileDetails": no_url}})).unwrap_err();
        assert_eq!(err.to_string(), "Missing required parameter: message.fileDetails.fileUrl");
        let mut lower = wav();
        lower["fileType"] = json!("audio");
        let err = upload(json!({"CHATID": "1", "fileDetails": lower})).unwrap_err();
        assert!(err.to_string().contains("`audio`"), "{err}");
    }

    #[test]
    fn without_a_required_name_the_url_names_the_file() {
        let mut unnamed = wav();
        unnamed.as_object_mut().unwrap().remove("fileName");
        let body = json!({"CHATID": "1", "fileDetails": unnamed}).to_string();
        let request = parse(Service::UploadFile, body.as_bytes(), false).unwrap();
        assert_eq!(request.file.unwrap().name, "sample.wav");
        let err = parse(Service::UploadFile, body.as_bytes(), true).unwrap_err();
        assert_eq!(err, Failure::MissingParameter("fileDetails.fileName".into()));
        let mut bare = unnamed.clone();
        bare["fileUrl"] = json!("http://127.0.0.1:1/");
        let body = json!({"CHATID": "1", "message": {"fileDetails": bare}}).to_string();
        assert_eq!(parse(Service::SendMessage, body.as_bytes(), false).unwrap().file.unwrap().name, UNNAMED);
        // An empty name counts as none; a name of the wrong type is still refused.
        let mut empty = wav();
        empty["fileName"] = json!("");
        let body = json!({"CHATID": "1", "fileDetails": empty}).to_string();
        assert_eq!(parse(Service::UploadFile, body.as_bytes(), false).unwrap().file.unwrap().name, "sample.wav");
        let mut number = wav();
        number["fileName"] = json!(7);
        let body = json!({"CHATID": "1", "fileDetails": number}).to_string();
        assert_eq!(parse(Service::UploadFile, body.as_bytes(), false).unwrap_err().refusal(), Refusal::InvalidRequest);
    }
}
