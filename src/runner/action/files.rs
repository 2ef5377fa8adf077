//! `upload` (multipart, streamed from disk or a generator) and `download` (streamed into a
//! SHA-256).

use serde_json::{Value, json};

use super::{Output, StepError, exchange_output, resolve_str, transport, who};
use crate::client::files::{self, Downloader, UploadSource, UploadSpec};
use crate::runner::RunConfig;
use crate::runner::actors::{Actors, Sink};
use crate::scenario::vars::Vars;
use crate::scenario::{FileSource, UploadStep, Via};

pub async fn upload(
    agent: &str,
    chat: Option<&str>,
    upload: &UploadStep,
    actors: &mut Actors,
    vars: &Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Output, StepError> {
    let path = match (&upload.path, chat) {
        (Some(p), _) => resolve_str(p, vars)?,
        (None, Some(c)) => format!("/api/v2/me/chats/{}/attachments", resolve_str(c, vars)?),
        (None, None) => return Err(StepError::Failed("an upload needs a chat or a path".into())),
    };
    let source = match &upload.source {
        FileSource::Disk(p) => UploadSource::Disk(p.clone()),
        FileSource::Generate { size, seed } => UploadSource::Generated { size: *size, seed: *seed },
    };
    let spec = UploadSpec {
        path: path.clone(),
        field: upload.field.clone(),
        file_name: upload.name.clone(),
        mime: upload.mime.clone(),
        source,
    };
    let subject = format!("{agent}: POST {path} (upload {})", upload.name);
    let a = actors.agent(agent, cfg).map_err(|e| transport(e, sink, &subject))?;
    let (ex, digest) = files::upload(&a.session, &spec, &cfg.client).await.map_err(|e| transport(e, sink, &subject))?;
    sink.record(&cfg.schemas, &ex);
    let mut out = exchange_output(ex, subject);
    if let Value::Object(cx) = &mut out.context {
        cx.insert(
            "upload".into(),
            json!({"sha256": digest.sha256, "size": digest.size, "name": upload.name, "mime": upload.mime}),
        );
        cx.insert("file".into(), json!({"sha256": digest.sha256, "size": digest.size, "content_type": upload.mime}));
    }
    Ok(out)
}

pub async fn download(
    via: &Via,
    path: &str,
    actors: &mut Actors,
    vars: &Vars,
    cfg: &RunConfig,
    sink: &mut Sink,
) -> Result<Output, StepError> {
    let path = resolve_str(path, vars)?;
    let subject = format!("{}: GET {path} (download)", who(via));
    let result = match via {
        Via::Agent(a) => {
            let a = actors.agent(a, cfg).map_err(|e| transport(e, sink, &subject))?;
            files::download(Downloader::Agent(&a.session), &cfg.target.base_url, &path, &cfg.client).await
        }
        Via::Customer(c) => {
            let c = actors.customer(c, cfg).map_err(|e| transport(e, sink, &subject))?;
            files::download(Downloader::Customer(&c.client), &cfg.target.base_url, &path, &cfg.client).await
        }
        Via::Anonymous => return Err(StepError::Failed("a download goes through an agent or a customer".into())),
    };
    let (ex, digest) = result.map_err(|e| transport(e, sink, &subject))?;
    if ex.json.is_some() {
        sink.record(&cfg.schemas, &ex);
    } else {
        sink.counts.requests += 1;
    }
    let content_type = ex.content_type.clone();
    let mut out = exchange_output(ex, subject);
    if let Value::Object(cx) = &mut out.context {
        cx.insert("file".into(), json!({"sha256": digest.sha256, "size": digest.size, "content_type": content_type}));
    }
    Ok(out)
}
