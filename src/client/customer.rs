//! The customer side of the GWS chat API (section 12 of the digest): no credentials, a
//! `ContactCenterId` header on every request. The harness uses it to create inbound chats the same
//! way on the simulator and on any GWS.

use reqwest::Method;
use serde_json::Value;

use super::agent::{RawRequest, build};
use super::exchange::{Exchange, TransportError, execute};
use super::{ClientConfig, http_client, normalise_base, segment};
use crate::api;

/// Path of the customer chat collection.
const CHATS_PATH: &str = "/api/v2/chats";

/// A customer (no auth; `ContactCenterId` header on every request).
pub struct CustomerClient {
    base_url: String,
    contact_center_id: String,
    http: reqwest::Client,
    cfg: ClientConfig,
}

impl CustomerClient {
    pub fn new(base_url: &str, contact_center_id: &str, cfg: &ClientConfig) -> Result<CustomerClient, TransportError> {
        Ok(CustomerClient {
            base_url: normalise_base(base_url)?,
            contact_center_id: contact_center_id.to_owned(),
            http: http_client(cfg)?,
            cfg: cfg.clone(),
        })
    }

    pub fn contact_center_id(&self) -> &str {
        &self.contact_center_id
    }

    /// `POST /api/v2/chats` (RequestChat).
    pub async fn request_chat(&self, body: &Value) -> Result<Exchange, TransportError> {
        self.send(Method::POST, CHATS_PATH.to_owned(), Some(body.clone())).await
    }

    /// `GET /api/v2/chats/{id}`.
    pub async fn get_chat(&self, id: &str) -> Result<Exchange, TransportError> {
        self.send(Method::GET, format!("{CHATS_PATH}/{}", segment(id)), None).await
    }

    /// `GET /api/v2/chats/{id}/messages`, from message `from_index` on when given.
    pub async fn messages(&self, id: &str, from_index: Option<u64>) -> Result<Exchange, TransportError> {
        let mut path = format!("{CHATS_PATH}/{}/messages", segment(id));
        if let Some(index) = from_index {
            path.push_str(&format!("?index={index}"));
        }
        self.send(Method::GET, path, None).await
    }

    /// `POST /api/v2/chats/{id}` (SendMessage, typing notifications, Complete).
    pub async fn operation(&self, id: &str, body: &Value) -> Result<Exchange, TransportError> {
        self.send(Method::POST, format!("{CHATS_PATH}/{}", segment(id)), Some(body.clone())).await
    }

    /// Send an arbitrary request as this customer (raw HTTP steps). Customers have neither
    /// credentials nor CSRF token, so `with_auth` and `with_csrf` change nothing.
    pub async fn request(&self, req: RawRequest) -> Result<Exchange, TransportError> {
        let defaults = [(api::CONTACT_CENTER_ID_HEADER, self.contact_center_id.as_str())];
        let (_, (request, body)) = build(&self.http, &self.base_url, req, &defaults, None, None)?;
        execute(&self.http, request, body, self.cfg.request_timeout, &self.cfg).await
    }

    async fn send(&self, method: Method, path: String, body: Option<Value>) -> Result<Exchange, TransportError> {
        let req = RawRequest {
            method: method.as_str().to_owned(),
            path,
            body,
            headers: Vec::new(),
            with_auth: false,
            with_csrf: false,
        };
        self.request(req).await
    }
}
