//! A minimal HTTP/1.1 keep-alive client for the request journey's hot loop: the request bytes
//! are prepared once, each connection reuses one read buffer, and headers are parsed in place
//! (httparse), so a request costs two syscalls and no allocation besides the JSON it validates.
//! Plain `http://` only; the chat journey uses the full harness clients.

use std::io;
use std::net::SocketAddr;
use std::ops::Range;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response accepted, headers and body.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 48;

/// A request serialized once and sent many times.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub method: String,
    pub path: String,
    bytes: Vec<u8>,
}

impl Prepared {
    pub fn new(host: &str, method: &str, path: &str, headers: &[(String, String)], body: Option<&[u8]>) -> Prepared {
        let mut s = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n");
        for (name, value) in headers {
            s.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(b) = body {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
                s.push_str("Content-Type: application/json\r\n");
            }
            s.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        s.push_str("\r\n");
        let mut bytes = s.into_bytes();
        if let Some(b) = body {
            bytes.extend_from_slice(b);
        }
        Prepared { method: method.to_owned(), path: path.to_owned(), bytes }
    }
}

/// What came back; `body` and `content_type` index the connection's buffer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<Range<usize>>,
    pub body: Range<usize>,
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Decoded body of a chunked response (rare: the simulator sends lengths).
    chunked: Vec<u8>,
    closing: bool,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(16 * 1024), chunked: Vec::new(), closing: false })
    }

    /// Whether the server asked to close the connection after the last response.
    pub fn closing(&self) -> bool {
        self.closing
    }

    /// The bytes of a range returned in a [`Response`].
    pub fn bytes(&self, r: &Range<usize>) -> &[u8] {
        if r.start == usize::MAX { &self.chunked[..r.end] } else { &self.buf[r.clone()] }
    }

    /// Send the request and read the whole response.
    pub async fn send(&mut self, req: &Prepared) -> io::Result<Response> {
        self.buf.clear();
        self.stream.write_all(&req.bytes).await?;
        loop {
            if let Some(resp) = self.parse(req.method == "HEAD")? {
                return Ok(resp);
            }
            if self.buf.len() >= MAX_RESPONSE {
                return Err(invalid("response larger than 16 MiB"));
            }
            self.buf.reserve(8 * 1024);
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-response"));
            }
        }
    }

    /// A complete response in the buffer, or `None` when more bytes are needed.
    fn parse(&mut self, head: bool) -> io::Result<Option<Response>> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let header_len = match resp.parse(&self.buf).map_err(|e| invalid(format!("bad response head: {e}")))? {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => return Ok(None),
        };
        let status = resp.code.unwrap_or(0);
        let base = self.buf.as_ptr() as usize;
        let mut content_type = None;
        let mut length = None;
        let mut chunked = false;
        let mut closing = resp.version == Some(0);
        for h in resp.headers.iter() {
            let offset = h.value.as_ptr() as usize - base;
            if h.name.eq_ignore_ascii_case("content-type") {
                content_type = Some(offset..offset + h.value.len());
            } else if h.name.eq_ignore_ascii_case("content-length") {
                let text = std::str::from_utf8(h.value).map_err(|_| invalid("bad content-length"))?;
                length = Some(text.trim().parse::<usize>().map_err(|_| invalid("bad content-length"))?);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h.value.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                closing = h.value.eq_ignore_ascii_case(b"close");
            }
        }
        self.closing = closing;
        let no_body = head || status == 204 || status == 304 || (100..200).contains(&status);
        if no_body {
            return Ok(Some(Response { status, content_type, body: header_len..header_len }));
        }
        if chunked {
            return Ok(self.dechunk(header_len)?.map(|end| Response { status, content_type, body: usize::MAX..end }));
        }
        match length {
            Some(n) if self.buf.len() >= header_len + n => {
                Ok(Some(Response { status, content_type, body: header_len..header_len + n }))
            }
            Some(_) => Ok(None),
            // Without a length the body ends with the connection; not worth supporting here.
            None => Err(invalid("response has neither Content-Length nor chunked encoding")),
        }
    }

    /// Decode a chunked body starting at `from`; the decoded length when complete.
    fn dechunk(&mut self, mut at: usize) -> io::Result<Option<usize>> {
        self.chunked.clear();
        loop {
            let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(&self.buf[at..]) else {
                return Ok(None);
            };
            at += used;
            let size = size as usize;
            if size == 0 {
                // The trailer ends with an empty line.
                return Ok(self.buf[at..].windows(2).position(|w| w == b"\r\n").map(|_| self.chunked.len()));
            }
            if self.buf.len() < at + size + 2 {
                return Ok(None);
            }
            self.chunked.extend_from_slice(&self.buf[at..at + size]);
            at += size + 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            for _ in 0..2 {
                let _ = s.read(&mut buf).await.unwrap();
                s.write_all(reply).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn keep_alive_with_length_and_chunks() {
        let addr =
            serve_once(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}").await;
        let mut c = Conn::connect(addr).await.unwrap();
        let req = Prepared::new("h", "GET", "/x", &[], None);
        for _ in 0..2 {
            let r = c.send(&req).await.unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(c.bytes(&r.body), b"{}");
            assert_eq!(c.bytes(r.content_type.as_ref().unwrap()), b"application/json");
        }
        let addr = serve_once(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{\"\r\n4\r\na\":1\r\n1\r\n}\r\n0\r\n\r\n",
        )
        .await;
        let mut c = Conn::connect(addr).await.unwrap();
        let r = c.send(&req).await.unwrap();
        assert_eq!(c.bytes(&r.body), br#"{"a":1}"#);
    }
}
