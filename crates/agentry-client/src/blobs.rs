//! Blobs: existence checks, verified streaming downloads, and uploads (HEAD first, cross-repo
//! mount, monolithic for small blobs, resumable chunked `PATCH` for large ones).
//!
//! Nothing is ever read whole into memory unless the caller handed us bytes: files are streamed
//! from disk in chunks, and downloads stream into a temp file beside the destination, hashed on
//! the way, and are renamed into place only after size and digest matched.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agentry_types::{Digest, Hasher, RepoName};
use bytes::Bytes;
use futures::StreamExt as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::{Body, StatusCode, Url};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

use crate::client::{Client, Scope, backoff, check_with, header_str, read_limited, redact};
use crate::error::{Error, Result};

/// Watches a transfer; the CLI draws progress bars with it. All methods default to nothing.
pub trait Progress: Send + Sync {
    /// A transfer of `total` bytes starts (`label` is a file name or digest).
    fn begin(&self, _label: &str, _total: u64) {}
    /// The transfer is at `position` bytes (it may go back after a retry).
    fn set_position(&self, _position: u64) {}
    /// The transfer ended (successfully or not).
    fn finish(&self) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// What pushing a blob did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobOutcome {
    /// The registry already had it (HEAD answered 200): nothing was sent.
    Existed,
    /// Mounted from another repository of the same registry: nothing was sent.
    Mounted,
    /// Uploaded in one request.
    Uploaded,
    /// Uploaded in chunks.
    UploadedChunked,
}

/// Where the bytes of a blob to push come from.
#[derive(Debug, Clone)]
pub enum BlobSource {
    Bytes(Bytes),
    /// A file, streamed from disk. Its digest and size must be known (see [`digest_file`]);
    /// the registry verifies the digest, so a file changed meanwhile is refused, not stored.
    File {
        path: PathBuf,
        size: u64,
    },
}

impl BlobSource {
    fn size(&self) -> u64 {
        match self {
            BlobSource::Bytes(b) => b.len() as u64,
            BlobSource::File { size, .. } => *size,
        }
    }

    /// A request body with bytes `offset..offset+len`, reporting progress as it is read.
    /// Synchronous (open + seek) so a request can be rebuilt inside [`Client::send`]'s closure.
    fn body(
        &self,
        offset: u64,
        len: u64,
        progress: &Arc<dyn Progress>,
        progress_base: u64,
    ) -> Result<Body> {
        match self {
            BlobSource::Bytes(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let end = usize::try_from(offset + len)
                    .unwrap_or(usize::MAX)
                    .min(b.len());
                progress.set_position(progress_base + (end - start) as u64);
                Ok(Body::from(b.slice(start..end)))
            }
            BlobSource::File { path, .. } => {
                use std::io::Seek as _;
                let mut f = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
                f.seek(std::io::SeekFrom::Start(offset))
                    .map_err(|e| Error::io("seeking in", path, e))?;
                let reader = tokio::fs::File::from_std(f).take(len);
                let p = progress.clone();
                let mut sent = progress_base;
                let stream = tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024).map(
                    move |chunk| {
                        if let Ok(c) = &chunk {
                            sent += c.len() as u64;
                            p.set_position(sent);
                        }
                        chunk
                    },
                );
                Ok(Body::wrap_stream(stream))
            }
        }
    }
}

/// Hash a file by streaming it: (digest, size).
pub async fn digest_file(
    path: &Path,
    algorithm: agentry_types::DigestAlgorithm,
) -> Result<(Digest, u64)> {
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io("opening", path, e))?;
    let mut h = algorithm.hasher();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .await
            .map_err(|e| Error::io("reading", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((h.finish(), size))
}

fn blob_path(repo: &RepoName, digest: &Digest) -> String {
    format!("v2/{repo}/blobs/{digest}")
}

/// Parse an upload `Range: 0-<last>` header into the next offset (`0--1` and a missing
/// header both mean nothing was received).
fn next_offset(range: Option<&str>) -> Option<u64> {
    let r = range?.trim();
    let r = r.strip_prefix("bytes=").unwrap_or(r);
    let (start, end) = r.split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    let end = end.trim();
    if end == "-1" || end.is_empty() {
        return Some(0);
    }
    end.parse::<u64>().ok().map(|e| e + 1)
}

impl Client {
    /// `HEAD` a blob: its size if the repository has it, `None` if not.
    pub async fn blob_exists(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        let url = self.url(&blob_path(repo, digest)).await?;
        let scope = Scope::Pull(repo.to_string());
        let resp = self
            .send(&scope, || Ok(self.http.head(url.clone())))
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check_with(self, resp, "HEAD").await?;
        self.remember_blob(digest, repo);
        // reqwest reports a HEAD body as empty; the header says the blob's size.
        Ok(Some(
            header_str(resp.headers(), "content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
        ))
    }

    /// Delete a blob (registries may refuse with 405 `UNSUPPORTED`).
    pub async fn delete_blob(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        let url = self.url(&blob_path(repo, digest)).await?;
        let scope = Scope::Delete(repo.to_string());
        let resp = self
            .send(&scope, || Ok(self.http.delete(url.clone())))
            .await?;
        check_with(self, resp, "DELETE").await.map(drop)
    }

    /// Download a blob into memory, verified, refusing more than `limit` bytes. For configs
    /// and other small documents; use [`Client::pull_blob_to_file`] for anything large.
    pub async fn pull_blob_bytes(
        &self,
        repo: &RepoName,
        digest: &Digest,
        limit: u64,
    ) -> Result<Bytes> {
        let url = self.url(&blob_path(repo, digest)).await?;
        let scope = Scope::Pull(repo.to_string());
        let resp = self.send(&scope, || Ok(self.http.get(url.clone()))).await?;
        let resp = check_with(self, resp, "GET").await?;
        let body = read_limited(resp, limit, &format!("blob {digest}")).await?;
        let actual = Digest::of(digest.algorithm(), &body);
        if actual != *digest {
            return Err(Error::DigestMismatch {
                what: format!("blob from {}", redact(&url)),
                expected: digest.clone(),
                actual,
            });
        }
        self.remember_blob(digest, repo);
        Ok(Bytes::from(body))
    }

    /// Stream a blob into `dest`: written to a temp file beside it, hashed on the way, never
    /// more than `size` bytes accepted, and renamed into place only when size and digest match.
    /// A broken connection resumes with `Range` where the registry supports it.
    pub async fn pull_blob_to_file(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        dest: &Path,
        progress: Arc<dyn Progress>,
    ) -> Result<()> {
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::Builder::new()
            .prefix(".agentry-pull-")
            .tempfile_in(dir)
            .map_err(|e| Error::io("creating a temp file in", dir, e))?;
        let std_file = tmp
            .reopen()
            .map_err(|e| Error::io("opening", tmp.path().to_path_buf(), e))?;
        let mut file = tokio::fs::File::from_std(std_file);
        let url = self.url(&blob_path(repo, digest)).await?;
        let scope = Scope::Pull(repo.to_string());
        progress.begin(&digest.to_string(), size);

        let mut hasher = digest.algorithm().hasher();
        let mut received = 0u64;
        let mut attempt = 0u32;
        let result: Result<()> = loop {
            let offset = received;
            let resp = self
                .send(&scope, || {
                    let mut r = self.http.get(url.clone());
                    if offset > 0 {
                        r = r.header(RANGE, format!("bytes={offset}-"));
                    }
                    Ok(r)
                })
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) if e.is_transient() && attempt < self.opts.retries => {
                    attempt += 1;
                    tracing::warn!(%digest, attempt, error = %e, "blob download failed, retrying");
                    backoff(attempt).await;
                    continue;
                }
                Err(e) => break Err(e),
            };
            if resp.status().is_server_error() && attempt < self.opts.retries {
                attempt += 1;
                backoff(attempt).await;
                continue;
            }
            let resp = match check_with(self, resp, "GET").await {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
            if offset > 0 && resp.status() != StatusCode::PARTIAL_CONTENT {
                // The registry ignored Range: start over.
                hasher = digest.algorithm().hasher();
                received = 0;
                if let Err(e) = file.set_len(0).await.and(file.rewind().await) {
                    break Err(Error::io("truncating", tmp.path().to_path_buf(), e));
                }
            }
            match self
                .stream_into(resp, &mut file, &mut hasher, &mut received, size, &progress)
                .await
            {
                Ok(()) => break Ok(()),
                Err(e) if e.is_transient() && attempt < self.opts.retries => {
                    attempt += 1;
                    tracing::warn!(%digest, attempt, received, error = %e, "blob download broke, resuming");
                    backoff(attempt).await;
                }
                Err(e) => break Err(e),
            }
        };
        progress.finish();
        result?;
        if received != size {
            return Err(Error::SizeMismatch {
                what: format!("blob {digest}"),
                expected: size,
                actual: received,
            });
        }
        let actual = hasher.finish();
        if actual != *digest {
            return Err(Error::DigestMismatch {
                what: format!("blob from {}", redact(&url)),
                expected: digest.clone(),
                actual,
            });
        }
        file.flush()
            .await
            .and(file.sync_all().await)
            .map_err(|e| Error::io("writing", tmp.path().to_path_buf(), e))?;
        drop(file);
        tmp.persist(dest)
            .map_err(|e| Error::io("moving into place", dest, e.error))?;
        self.remember_blob(digest, repo);
        Ok(())
    }

    async fn stream_into(
        &self,
        mut resp: reqwest::Response,
        file: &mut tokio::fs::File,
        hasher: &mut Hasher,
        received: &mut u64,
        size: u64,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let url = resp.url().clone();
        loop {
            let chunk = resp
                .chunk()
                .await
                .map_err(|e| Error::network("GET", &url, e))?;
            let Some(chunk) = chunk else { return Ok(()) };
            if *received + chunk.len() as u64 > size {
                return Err(Error::SizeMismatch {
                    what: format!("blob from {url} (more bytes than its descriptor says)"),
                    expected: size,
                    actual: *received + chunk.len() as u64,
                });
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::io("writing", PathBuf::from("(temp file)"), e))?;
            hasher.update(&chunk);
            *received += chunk.len() as u64;
            progress.set_position(*received);
        }
    }

    /// Push a blob unless the repository already has it.
    ///
    /// Order: `HEAD` (skip if present) → cross-repository mount when this client knows another
    /// repository holding it → monolithic `PUT` up to `monolithic_max` → otherwise chunked
    /// `PATCH`es, each retried and resumed from the registry's reported offset after a
    /// transient failure (a lost session restarts the upload once).
    pub async fn push_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        source: &BlobSource,
        progress: Arc<dyn Progress>,
    ) -> Result<BlobOutcome> {
        if self.blob_exists(repo, digest).await?.is_some() {
            return Ok(BlobOutcome::Existed);
        }
        let mut session = None;
        if let Some(from) = self.mount_source(digest, repo) {
            match self.try_mount(repo, &from, digest).await? {
                None => return Ok(BlobOutcome::Mounted),
                // The registry declined the mount and opened an ordinary upload instead.
                Some(s) => session = Some(s),
            }
        }
        let size = source.size();
        progress.begin(&digest.to_string(), size);
        let result = self.upload(repo, digest, source, session, &progress).await;
        progress.finish();
        let outcome = result?;
        self.remember_blob(digest, repo);
        Ok(outcome)
    }

    /// `POST ?mount=&from=`: `None` when mounted, else the upload session the registry opened
    /// instead (the spec's fallback).
    async fn try_mount(
        &self,
        repo: &RepoName,
        from: &RepoName,
        digest: &Digest,
    ) -> Result<Option<UploadSession>> {
        let scope = Scope::Push(repo.to_string());
        let mut url = self.url(&format!("v2/{repo}/blobs/uploads/")).await?;
        url.query_pairs_mut()
            .append_pair("mount", &digest.to_string())
            .append_pair("from", from.as_str());
        let resp = self
            .send(&scope, || {
                Ok(self.http.post(url.clone()).header(CONTENT_LENGTH, "0"))
            })
            .await?;
        let resp = check_with(self, resp, "POST").await?;
        if resp.status() == StatusCode::CREATED {
            tracing::debug!(%digest, %from, %repo, "blob mounted");
            self.remember_blob(digest, repo);
            return Ok(None);
        }
        self.session_from(&resp).map(Some)
    }

    /// Make `to` hold a blob that `from` (same registry) has: nothing if it already does, a
    /// cross-repository mount if the registry allows, else a verified download to a temp file
    /// and an upload from it.
    pub async fn copy_blob(
        &self,
        from: &RepoName,
        to: &RepoName,
        digest: &Digest,
        size: u64,
        progress: Arc<dyn Progress>,
    ) -> Result<BlobOutcome> {
        if self.blob_exists(to, digest).await?.is_some() {
            return Ok(BlobOutcome::Existed);
        }
        let Some(session) = self.try_mount(to, from, digest).await? else {
            return Ok(BlobOutcome::Mounted);
        };
        let dir = tempfile::Builder::new()
            .prefix("agentry-copy-")
            .tempdir()
            .map_err(|e| Error::io("creating a temp dir in", std::env::temp_dir(), e))?;
        let path = dir.path().join("blob");
        self.pull_blob_to_file(from, digest, size, &path, Arc::new(NoProgress))
            .await?;
        let source = BlobSource::File { path, size };
        progress.begin(&digest.to_string(), size);
        let result = self
            .upload(to, digest, &source, Some(session), &progress)
            .await;
        progress.finish();
        let outcome = result?;
        self.remember_blob(digest, to);
        Ok(outcome)
    }

    fn session_from(&self, resp: &reqwest::Response) -> Result<UploadSession> {
        let location = self.location(resp.headers(), resp.url())?;
        let min_chunk = header_str(resp.headers(), "oci-chunk-min-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Ok(UploadSession {
            location,
            min_chunk,
        })
    }

    async fn start_upload(&self, repo: &RepoName) -> Result<UploadSession> {
        let url = self.url(&format!("v2/{repo}/blobs/uploads/")).await?;
        let scope = Scope::Push(repo.to_string());
        let resp = self
            .send(&scope, || {
                Ok(self.http.post(url.clone()).header(CONTENT_LENGTH, "0"))
            })
            .await?;
        let resp = check_with(self, resp, "POST").await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(Error::protocol(
                redact(&url),
                format!("upload start answered {} instead of 202", resp.status()),
            ));
        }
        self.session_from(&resp)
    }

    async fn upload(
        &self,
        repo: &RepoName,
        digest: &Digest,
        source: &BlobSource,
        session: Option<UploadSession>,
        progress: &Arc<dyn Progress>,
    ) -> Result<BlobOutcome> {
        let mut session = match session {
            Some(s) => s,
            None => self.start_upload(repo).await?,
        };
        let size = source.size();
        if size <= self.opts.monolithic_max {
            let mut attempt = 0;
            loop {
                match self
                    .finish_upload(repo, digest, &session, Some((source, 0, size)), progress)
                    .await
                {
                    Ok(()) => return Ok(BlobOutcome::Uploaded),
                    Err(e) if e.is_transient() && attempt < self.opts.retries => {
                        attempt += 1;
                        tracing::warn!(%digest, attempt, error = %e, "upload failed, retrying with a new session");
                        backoff(attempt).await;
                        // A failed PUT may have consumed the session: open a fresh one.
                        session = self.start_upload(repo).await?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let mut restarted = false;
        loop {
            match self
                .upload_chunks(repo, &mut session, source, progress)
                .await
            {
                Ok(()) => break,
                Err(e)
                    if !restarted
                        && (e.oci_code() == Some("BLOB_UPLOAD_UNKNOWN")
                            || e.status() == Some(404)) =>
                {
                    tracing::warn!(%digest, "upload session lost, restarting the upload");
                    restarted = true;
                    session = self.start_upload(repo).await?;
                }
                Err(e) => return Err(e),
            }
        }
        let mut attempt = 0;
        loop {
            match self
                .finish_upload(repo, digest, &session, None, progress)
                .await
            {
                Ok(()) => return Ok(BlobOutcome::UploadedChunked),
                Err(e) if e.is_transient() && attempt < self.opts.retries => {
                    attempt += 1;
                    backoff(attempt).await;
                    // The PUT may have landed before the connection broke.
                    if self.blob_exists(repo, digest).await?.is_some() {
                        return Ok(BlobOutcome::UploadedChunked);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Send the whole source as `PATCH` chunks, resuming after transient failures from the
    /// offset the registry reports.
    async fn upload_chunks(
        &self,
        repo: &RepoName,
        session: &mut UploadSession,
        source: &BlobSource,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let size = source.size();
        let chunk = self.opts.chunk_size.max(session.min_chunk).max(1);
        let scope = Scope::Push(repo.to_string());
        let mut offset = 0u64;
        let mut attempt = 0u32;
        loop {
            if offset == size {
                break;
            }
            if offset > size {
                return Err(Error::protocol(
                    redact(&session.location),
                    format!("registry reports {offset} bytes received of a {size}-byte blob"),
                ));
            }
            let len = chunk.min(size - offset);
            let resp = self
                .patch_chunk(&scope, &session.location, source, offset, len, progress)
                .await;
            match resp {
                Ok(resp) => {
                    let resp = check_with(self, resp, "PATCH").await;
                    match resp {
                        Ok(resp) => {
                            if resp.status() != StatusCode::ACCEPTED {
                                return Err(Error::protocol(
                                    redact(&session.location),
                                    format!("chunk answered {} instead of 202", resp.status()),
                                ));
                            }
                            session.location = self.location(resp.headers(), resp.url())?;
                            offset = next_offset(header_str(resp.headers(), "range"))
                                .unwrap_or(offset + len);
                            attempt = 0;
                        }
                        Err(e) if e.is_transient() && attempt < self.opts.retries => {
                            attempt += 1;
                            backoff(attempt).await;
                            offset = self.resume_offset(repo, session, offset).await?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(e) if e.is_transient() && attempt < self.opts.retries => {
                    attempt += 1;
                    tracing::warn!(offset, attempt, error = %e, "chunk failed, asking the registry where to resume");
                    backoff(attempt).await;
                    offset = self.resume_offset(repo, session, offset).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn patch_chunk(
        &self,
        scope: &Scope,
        location: &Url,
        source: &BlobSource,
        offset: u64,
        len: u64,
        progress: &Arc<dyn Progress>,
    ) -> Result<reqwest::Response> {
        // The body is rebuilt (file reopened at `offset`) if the request must be resent.
        self.send(scope, || {
            let b = source.body(offset, len, progress, offset)?;
            Ok(self
                .http
                .patch(location.clone())
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, len.to_string())
                .header(CONTENT_RANGE, format!("{}-{}", offset, offset + len - 1))
                .body(b))
        })
        .await
    }

    /// Ask the registry how much of the upload it has (`GET` the session → `Range`).
    async fn resume_offset(
        &self,
        repo: &RepoName,
        session: &mut UploadSession,
        fallback: u64,
    ) -> Result<u64> {
        let scope = Scope::Push(repo.to_string());
        let url = session.location.clone();
        let resp = self.send(&scope, || Ok(self.http.get(url.clone()))).await?;
        let resp = check_with(self, resp, "GET").await?;
        if let Ok(loc) = self.location(resp.headers(), resp.url()) {
            session.location = loc;
        }
        Ok(next_offset(header_str(resp.headers(), "range")).unwrap_or(fallback))
    }

    /// The closing `PUT ?digest=`, with the remaining bytes as body or none.
    async fn finish_upload(
        &self,
        repo: &RepoName,
        digest: &Digest,
        session: &UploadSession,
        body: Option<(&BlobSource, u64, u64)>,
        progress: &Arc<dyn Progress>,
    ) -> Result<()> {
        let mut url = session.location.clone();
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let scope = Scope::Push(repo.to_string());
        let len = body.map(|(_, _, len)| len).unwrap_or(0);
        let resp = self
            .send(&scope, || {
                let mut r = self
                    .http
                    .put(url.clone())
                    .header(CONTENT_LENGTH, len.to_string());
                if len > 0 {
                    r = r.header(CONTENT_TYPE, "application/octet-stream");
                }
                if let Some((src, off, len)) = body {
                    r = r.body(src.body(off, len, progress, off)?);
                }
                Ok(r)
            })
            .await?;
        let resp = check_with(self, resp, "PUT").await?;
        if resp.status() != StatusCode::CREATED {
            return Err(Error::protocol(
                redact(&url),
                format!(
                    "upload completion answered {} instead of 201",
                    resp.status()
                ),
            ));
        }
        if let Some(d) = header_str(resp.headers(), "docker-content-digest")
            && d != digest.to_string()
        {
            return Err(Error::protocol(
                redact(&url),
                format!("registry stored the blob as {d}, expected {digest}"),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct UploadSession {
    location: Url,
    min_chunk: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ranges_give_the_next_offset() {
        assert_eq!(next_offset(Some("0-99")), Some(100));
        assert_eq!(next_offset(Some("bytes=0-0")), Some(1));
        assert_eq!(next_offset(Some("0--1")), Some(0));
        assert_eq!(next_offset(Some("5-9")), None);
        assert_eq!(next_offset(Some("junk")), None);
        assert_eq!(next_offset(None), None);
    }
}
