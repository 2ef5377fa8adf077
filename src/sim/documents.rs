//! The document store standing for UCS: the standard responses every simulator starts with, the
//! documents agents upload, and where each one's bytes come from. The large standard response is
//! generated from a seed as it is sent, so no request ever holds it in memory; uploads live in
//! files of the simulator's upload directory.

use std::collections::HashMap;
use std::path::PathBuf;

use super::ids::mix;

/// The content type of an upload whose part names none.
pub(crate) const DEFAULT_MIME: &str = "application/octet-stream";

/// The file name an upload gets when its own is empty once sanitised.
pub(crate) const DEFAULT_FILE_NAME: &str = "attachment";

/// A document UCS holds from the start, as a standard response an agent can attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardResponse {
    pub id: &'static str,
    pub name: &'static str,
    pub mime: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// Its bytes when they are fixed text; generated from `seed` otherwise.
    text: Option<&'static str>,
    seed: u64,
}

const WELCOME_TEXT: &str = "Thank you for contacting us. An agent will be with you in a moment.\n";
const HOURS_TEXT: &str = "Our agents are available Monday to Friday, 8:00 to 20:00, and Saturday 9:00 to 13:00.\n";
/// 46 bytes, like the documented `testfileUploadAgent.txt`.
const TEST_FILE_TEXT: &str = "This is a test file uploaded by an agent. 46B\n";

const fn text(id: &'static str, name: &'static str, text: &'static str) -> StandardResponse {
    StandardResponse { id, name, mime: "text/plain", size: text.len() as u64, text: Some(text), seed: 0 }
}

/// The documented standard response: `cloud-2015-12-01.log`, 20,053,630 bytes (AddAttachment
/// page). Its bytes are log-like text made from a fixed seed, the same in every run.
pub const LARGE_LOG: StandardResponse = StandardResponse {
    id: "0000YaB6ARKB0019",
    name: "cloud-2015-12-01.log",
    mime: DEFAULT_MIME,
    size: 20_053_630,
    text: None,
    seed: 0x2015_1201_0000_0019,
};

/// Every document the store starts with.
pub const STANDARD_RESPONSES: &[StandardResponse] = &[
    text("0000YaB6ARKB0011", "welcome.txt", WELCOME_TEXT),
    text("0000YaB6ARKB0012", "opening-hours.txt", HOURS_TEXT),
    text("0000YaB6ARKB0013", "testfileUploadAgent.txt", TEST_FILE_TEXT),
    LARGE_LOG,
];

/// Where a document's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    /// Fixed bytes compiled in.
    Static(&'static [u8]),
    /// Bytes made by [`generate`] from this seed as they are sent.
    Generated(u64),
    /// An uploaded file.
    File(PathBuf),
}

/// One document in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document {
    pub id: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub content: Content,
    /// The (agent-side) chat it was uploaded into; None for a standard response, which every
    /// agent may read.
    pub chat: Option<String>,
}

impl Document {
    fn standard(sr: &StandardResponse) -> Document {
        let content = match sr.text {
            Some(text) => Content::Static(text.as_bytes()),
            None => Content::Generated(sr.seed),
        };
        Document {
            id: sr.id.to_owned(),
            name: sr.name.to_owned(),
            mime: sr.mime.to_owned(),
            size: sr.size,
            content,
            chat: None,
        }
    }
}

/// Every document of one simulator, by id. Documents stay until the simulator stops: removing
/// one from a chat does not remove it from UCS.
#[derive(Debug)]
pub(crate) struct DocumentStore {
    by_id: HashMap<String, Document>,
}

impl DocumentStore {
    /// A store holding the standard responses.
    pub fn seeded() -> DocumentStore {
        let by_id = STANDARD_RESPONSES.iter().map(|sr| (sr.id.to_owned(), Document::standard(sr))).collect();
        DocumentStore { by_id }
    }

    pub fn get(&self, id: &str) -> Option<&Document> {
        self.by_id.get(id)
    }

    pub fn insert(&mut self, document: Document) {
        self.by_id.insert(document.id.clone(), document);
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// Characters of generated text; 64 of them, so a byte picks one with its low six bits.
const GENERATED_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 :";
/// Every generated line is this long, its newline included.
const GENERATED_LINE: u64 = 80;

/// `len` bytes of the generated document `seed` from `offset` on. Each byte depends only on the
/// seed and its offset, so the document can be sent in chunks of any size and always reads the
/// same: printable lines of 80 characters.
pub(crate) fn generate(seed: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut word_index = u64::MAX;
    let mut word = 0u64;
    for at in offset..offset + len as u64 {
        if at % GENERATED_LINE == GENERATED_LINE - 1 {
            out.push(b'\n');
            continue;
        }
        if at / 8 != word_index {
            word_index = at / 8;
            word = mix(seed ^ word_index);
        }
        let byte = (word >> ((at % 8) * 8)) as u8;
        out.push(GENERATED_ALPHABET[usize::from(byte & 63)]);
    }
    out
}

/// A client's file name made safe to show and to send back in `Content-Disposition`: its last
/// path component only, without control characters, `..`, slashes or backslashes; `attachment`
/// when nothing is left.
pub(crate) fn sanitize_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name: String = last.chars().filter(|c| !c.is_control()).collect();
    // Removing one `..` can join two dots into another.
    while name.contains("..") {
        name = name.replace("..", "");
    }
    let name = name.trim();
    if name.is_empty() || name == "." { DEFAULT_FILE_NAME.to_owned() } else { name.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_starts_with_the_standard_responses() {
        let store = DocumentStore::seeded();
        assert_eq!(store.len(), STANDARD_RESPONSES.len());
        let log = store.get(LARGE_LOG.id).unwrap();
        assert_eq!((log.name.as_str(), log.size), ("cloud-2015-12-01.log", 20_053_630));
        assert_eq!(log.mime, "application/octet-stream");
        for sr in STANDARD_RESPONSES {
            if let Some(text) = sr.text {
                assert_eq!(sr.size, text.len() as u64, "{}", sr.name);
            }
        }
        assert_eq!(store.get("0000YaB6ARKB0013").unwrap().size, 46);
    }

    #[test]
    fn generated_bytes_do_not_depend_on_chunking() {
        let whole = generate(7, 0, 1000);
        let mut pieces = Vec::new();
        for (start, len) in [(0, 3), (3, 77), (80, 1), (81, 500), (581, 419)] {
            pieces.extend(generate(7, start, len));
        }
        assert_eq!(whole, pieces);
        assert_ne!(generate(8, 0, 1000), whole);
        assert_eq!(whole[79], b'\n');
        assert!(whole.iter().all(|b| b.is_ascii_graphic() || *b == b' ' || *b == b'\n'));
    }

    #[test]
    fn file_names_keep_their_last_component_only() {
        let cases = [
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("..\\..\\windows\\win.ini", "win.ini"),
            ("C:\\Users\\me\\notes.txt", "notes.txt"),
            ("dir/", "attachment"),
            ("..", "attachment"),
            ("....", "attachment"),
            ("a..b.txt", "ab.txt"),
            ("a.\u{0}.b", "ab"),
            ("bell\u{7}\r\n.txt", "bell.txt"),
            ("", "attachment"),
            ("  ", "attachment"),
            ("résumé «final».txt", "résumé «final».txt"),
        ];
        for (raw, expected) in cases {
            assert_eq!(sanitize_file_name(raw), expected, "{raw:?}");
        }
    }
}
