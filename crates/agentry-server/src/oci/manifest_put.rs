//! `PUT /v2/<name>/manifests/<reference>`: validate, check references, extract the agent record
//! (agent artifacts only), and commit everything in one transaction.

use agentry_oci::{OciErrorCode, manifest};
use agentry_store::{ManifestMeta, ManifestPut, StoreError};
use agentry_types::{Digest, DigestAlgorithm, ManifestRef, RepoName};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::{content_length, set, set_digest};
use crate::error::{ApiError, ApiResult};
use crate::records;
use crate::state::AppState;

/// Read a request body of at most `limit` bytes.
pub(crate) async fn read_limited(req: Request, limit: u64) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::new(
            OciErrorCode::TooLarge,
            format!("manifest exceeds the limit of {limit} bytes"),
        )
    };
    if content_length(req.headers())?.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut stream = req.into_body().into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                OciErrorCode::ManifestInvalid,
                format!("reading the request body failed: {e}"),
            )
        })?;
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

pub(crate) async fn put(
    state: &AppState,
    repo: RepoName,
    reference: ManifestRef,
    req: Request,
) -> ApiResult<Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let declared_len = content_length(req.headers())?;
    let bytes = read_limited(req, state.config.max_manifest_bytes).await?;
    if let Some(n) = declared_len
        && n != bytes.len() as u64
    {
        return Err(ApiError::new(
            OciErrorCode::SizeInvalid,
            format!(
                "Content-Length is {n} but the body is {} bytes",
                bytes.len()
            ),
        ));
    }

    let (digest, tag) = match &reference {
        ManifestRef::Digest(d) => {
            let actual = Digest::of(d.algorithm(), &bytes);
            if &actual != d {
                return Err(ApiError::new(
                    OciErrorCode::DigestInvalid,
                    format!("manifest digest is {actual}, not {d}"),
                ));
            }
            (actual, None)
        }
        ManifestRef::Tag(t) => (Digest::of(DigestAlgorithm::Sha256, &bytes), Some(t.clone())),
    };

    let parsed = manifest::parse(content_type.as_deref(), &bytes).map_err(|e| {
        ApiError::new(OciErrorCode::ManifestInvalid, e.to_string())
            .with_detail(serde_json::json!({ "problems": e.problems }))
    })?;

    let record = records::extract(state, &repo, &parsed, tag.as_ref(), &digest).await?;
    // An agent is judged before it is stored, on the referrers already there for its digest.
    let tier = match &record {
        Some(r) => {
            let report = crate::trust::report(state, &repo, &digest, r).await?;
            crate::trust::gate(state, &report)?;
            report.tier
        }
        None => agentry_types::TrustTier::None,
    };

    let meta = ManifestMeta {
        digest: digest.clone(),
        media_type: parsed.media_type().to_owned(),
        size: bytes.len() as u64,
        artifact_type: parsed.referrer_artifact_type(),
        subject: parsed.subject.as_ref().map(|s| s.digest.clone()),
        annotations: parsed.annotations.clone(),
        created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let put = ManifestPut {
        repo: repo.clone(),
        meta,
        bytes,
        blobs: parsed.referenced_blobs(),
        manifests: parsed.child_manifests(),
        tag: tag.clone(),
        record: record.clone(),
    };
    match state.meta.put_manifest(put).await {
        Ok(()) => {}
        Err(StoreError::BlobUnknown(missing)) => {
            return Err(ApiError::new(
                OciErrorCode::ManifestBlobUnknown,
                format!("manifest references {missing}, which is not in {repo}"),
            )
            .with_detail(serde_json::json!({ "digest": missing.to_string() })));
        }
        Err(e) => return Err(e.into()),
    }
    records::on_manifest_stored(state, &repo, &digest, record.as_ref(), tier).await;
    if let Some(r) = &record {
        crate::mesh::published(
            state,
            agentry_mesh::EventKind::Published,
            &repo,
            &digest,
            r,
            tier,
        )
        .await;
        crate::events::agent(
            state,
            crate::events::Change::Published,
            &repo,
            &digest,
            Some(&r.identity.version),
            Some(tier),
            None,
        );
    }
    if let Some(subject) = &parsed.subject
        && agentry_trust::referrers::classify_referrer(
            parsed.referrer_artifact_type().as_deref(),
            &parsed.annotations,
        )
        .is_some()
    {
        crate::trust::on_referrer_stored(state, &repo, &subject.digest).await;
    }
    tracing::info!(
        repo = %repo,
        reference = %reference,
        digest = %digest,
        agent = record.is_some(),
        "manifest stored"
    );

    let mut resp = StatusCode::CREATED.into_response();
    set(
        &mut resp,
        "location",
        format!("/v2/{repo}/manifests/{digest}"),
    );
    set_digest(&mut resp, &digest);
    if let Some(s) = &parsed.subject {
        set(&mut resp, "OCI-Subject", s.digest.to_string());
    }
    resp.headers_mut().insert(
        header::CONTENT_LENGTH,
        header::HeaderValue::from_static("0"),
    );
    Ok(resp)
}
