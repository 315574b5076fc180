//! Manifests (get / head / put / delete), tags and catalog listings with `Link` pagination, and
//! the referrers API (with the spec's tag-schema fallback for registries without it).

use agentry_types::{Digest, DigestAlgorithm, ManifestRef, RepoName};
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LINK};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::client::{Client, Scope, check_with, header_str, read_limited, redact};
use crate::error::{Error, Result};
use agentry_oci::document::{self as oci, ImageIndex};
use agentry_oci::media;

/// A manifest as pulled: its exact bytes, their digest (verified) and media type.
#[derive(Debug, Clone)]
pub struct PulledManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

impl PulledManifest {
    pub fn parse(&self) -> Result<oci::Parsed> {
        oci::parse(&self.media_type, &self.bytes)
            .map_err(|e| Error::Invalid(format!("manifest {}: {e}", self.digest)))
    }
}

/// What a `HEAD` on a manifest tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestInfo {
    pub digest: Option<Digest>,
    pub media_type: Option<String>,
    pub size: Option<u64>,
}

/// The registry's answer to a manifest `PUT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedManifest {
    pub digest: Digest,
    /// The `OCI-Subject` header: the registry indexed the manifest's `subject` for referrers.
    pub subject: Option<String>,
}

/// One page of a listing and the URL of the next one (from `Link: <…>; rel="next"`).
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<String>,
    pub next: Option<Url>,
}

/// Referrers of a manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Referrers {
    pub index: ImageIndex,
    /// The registry applied the `artifactType` filter (`OCI-Filters-Applied`); when false and a
    /// filter was asked, this client filtered the list itself.
    pub filters_applied: bool,
    /// Found through the referrers tag schema (`<alg>-<hex>`), not the referrers API.
    pub via_tag_schema: bool,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

/// The `rel="next"` target of a `Link` header.
fn next_link(value: &str) -> Option<&str> {
    value.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then_some(target)
    })
}

const LISTING_LIMIT: u64 = 16 * 1024 * 1024;
/// Upper bound on pages followed, against a registry that links in circles.
const MAX_PAGES: usize = 100_000;

impl Client {
    async fn manifest_url(&self, repo: &RepoName, reference: &ManifestRef) -> Result<Url> {
        self.url(&format!("v2/{repo}/manifests/{reference}")).await
    }

    /// Pull a manifest. Its digest is computed from the bytes received and must match the
    /// requested digest (by digest) or the registry's `Docker-Content-Digest` (by tag).
    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<PulledManifest> {
        let url = self.manifest_url(repo, reference).await?;
        let scope = Scope::Pull(repo.to_string());
        let resp = self
            .send(&scope, || {
                Ok(self
                    .http
                    .get(url.clone())
                    .header(ACCEPT, media::manifest_accept()))
            })
            .await?;
        let resp = check_with(self, resp, "GET").await?;
        let media_type = header_str(resp.headers(), "content-type")
            .map(media::essence)
            .unwrap_or_default();
        let claimed =
            header_str(resp.headers(), "docker-content-digest").map(|d| d.parse::<Digest>());
        let body = read_limited(resp, self.opts.max_manifest_size, "manifest").await?;
        let expected = match reference {
            ManifestRef::Digest(d) => Some(d.clone()),
            ManifestRef::Tag(_) => match claimed {
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    return Err(Error::protocol(
                        redact(&url),
                        format!("bad Docker-Content-Digest: {e}"),
                    ));
                }
                None => None,
            },
        };
        let algorithm = expected
            .as_ref()
            .map(Digest::algorithm)
            .unwrap_or(DigestAlgorithm::Sha256);
        let digest = Digest::of(algorithm, &body);
        if let Some(expected) = expected
            && expected != digest
        {
            return Err(Error::DigestMismatch {
                what: format!("manifest from {}", redact(&url)),
                expected,
                actual: digest,
            });
        }
        let media_type = if media_type.is_empty() || media_type == "application/json" {
            match oci::parse("", &body) {
                Ok(oci::Parsed::Index(i)) => i.media_type.unwrap_or(media::OCI_INDEX.into()),
                Ok(oci::Parsed::Manifest(m)) => m.media_type.unwrap_or(media::OCI_MANIFEST.into()),
                Err(_) => media_type,
            }
        } else {
            media_type
        };
        Ok(PulledManifest {
            digest,
            media_type,
            bytes: Bytes::from(body),
        })
    }

    /// `HEAD` a manifest: `None` when it does not exist.
    pub async fn head_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<Option<ManifestInfo>> {
        let url = self.manifest_url(repo, reference).await?;
        let scope = Scope::Pull(repo.to_string());
        let resp = self
            .send(&scope, || {
                Ok(self
                    .http
                    .head(url.clone())
                    .header(ACCEPT, media::manifest_accept()))
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check_with(self, resp, "HEAD").await?;
        let h = resp.headers();
        Ok(Some(ManifestInfo {
            digest: header_str(h, "docker-content-digest").and_then(|d| d.parse().ok()),
            media_type: header_str(h, "content-type").map(media::essence),
            size: header_str(h, "content-length").and_then(|v| v.parse().ok()),
        }))
    }

    /// Push manifest bytes under a tag or digest. The registry's `Docker-Content-Digest` must
    /// agree with the digest of the bytes sent.
    pub async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<PushedManifest> {
        let algorithm = match reference {
            ManifestRef::Digest(d) => d.algorithm(),
            ManifestRef::Tag(_) => DigestAlgorithm::Sha256,
        };
        let digest = Digest::of(algorithm, &bytes);
        if let ManifestRef::Digest(d) = reference
            && *d != digest
        {
            return Err(Error::Invalid(format!(
                "manifest bytes have digest {digest}, not the {d} they are pushed as"
            )));
        }
        let url = self.manifest_url(repo, reference).await?;
        let scope = Scope::Push(repo.to_string());
        let resp = self
            .send(&scope, || {
                Ok(self
                    .http
                    .put(url.clone())
                    .header(CONTENT_TYPE, media_type)
                    .body(bytes.clone()))
            })
            .await?;
        let resp = check_with(self, resp, "PUT").await?;
        let h = resp.headers();
        if let Some(d) = header_str(h, "docker-content-digest")
            && d.parse::<Digest>().ok().as_ref() != Some(&digest)
        {
            return Err(Error::protocol(
                redact(&url),
                format!("registry stored the manifest as {d}, expected {digest}"),
            ));
        }
        Ok(PushedManifest {
            digest,
            subject: header_str(h, "oci-subject").map(str::to_owned),
        })
    }

    /// Delete a manifest by digest, or a tag (spec v1.1; some registries refuse with 405).
    pub async fn delete_manifest(&self, repo: &RepoName, reference: &ManifestRef) -> Result<()> {
        let url = self.manifest_url(repo, reference).await?;
        let scope = Scope::Delete(repo.to_string());
        let resp = self
            .send(&scope, || Ok(self.http.delete(url.clone())))
            .await?;
        check_with(self, resp, "DELETE").await.map(drop)
    }

    async fn get_page(&self, url: Url, scope: &Scope) -> Result<(Vec<u8>, Option<Url>)> {
        let resp = self.send(scope, || Ok(self.http.get(url.clone()))).await?;
        let resp = check_with(self, resp, "GET").await?;
        let next = match header_str(resp.headers(), LINK.as_str()).and_then(next_link) {
            Some(n) => Some(
                resp.url()
                    .join(n)
                    .map_err(|e| Error::protocol(redact(&url), format!("bad Link {n:?}: {e}")))?,
            ),
            None => None,
        };
        let body = read_limited(resp, LISTING_LIMIT, "listing").await?;
        Ok((body, next))
    }

    /// One page of a repository's tags (`n` per page, after `last`).
    pub async fn tags_page(
        &self,
        repo: &RepoName,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<Page> {
        let mut url = self.url(&format!("v2/{repo}/tags/list")).await?;
        paginate(&mut url, n, last);
        self.tags_at(repo, url).await
    }

    async fn tags_at(&self, repo: &RepoName, url: Url) -> Result<Page> {
        let (body, next) = self
            .get_page(url.clone(), &Scope::Pull(repo.to_string()))
            .await?;
        let list: TagList = serde_json::from_slice(&body)
            .map_err(|e| Error::protocol(redact(&url), format!("tag list: {e}")))?;
        Ok(Page {
            items: list.tags.unwrap_or_default(),
            next,
        })
    }

    /// Every tag of a repository, following `Link` pages.
    pub async fn list_tags(&self, repo: &RepoName) -> Result<Vec<String>> {
        let mut page = self.tags_page(repo, None, None).await?;
        let mut all = std::mem::take(&mut page.items);
        let mut pages = 1;
        while let Some(next) = page.next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(Error::protocol(redact(&next), "too many tag pages"));
            }
            page = self.tags_at(repo, next).await?;
            all.append(&mut page.items);
        }
        Ok(all)
    }

    /// One page of the repository catalog.
    pub async fn catalog_page(&self, n: Option<u32>, last: Option<&str>) -> Result<Page> {
        let mut url = self.url("v2/_catalog").await?;
        paginate(&mut url, n, last);
        self.catalog_at(url).await
    }

    async fn catalog_at(&self, url: Url) -> Result<Page> {
        let (body, next) = self.get_page(url.clone(), &Scope::Catalog).await?;
        let list: Catalog = serde_json::from_slice(&body)
            .map_err(|e| Error::protocol(redact(&url), format!("catalog: {e}")))?;
        Ok(Page {
            items: list.repositories.unwrap_or_default(),
            next,
        })
    }

    /// Every repository of the registry, following `Link` pages.
    pub async fn catalog(&self) -> Result<Vec<String>> {
        let mut page = self.catalog_page(None, None).await?;
        let mut all = std::mem::take(&mut page.items);
        let mut pages = 1;
        while let Some(next) = page.next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(Error::protocol(redact(&next), "too many catalog pages"));
            }
            page = self.catalog_at(next).await?;
            all.append(&mut page.items);
        }
        Ok(all)
    }

    /// Manifests whose `subject` is `digest`, optionally only those of `artifact_type`.
    ///
    /// Uses the referrers API; a registry without it (404 that is not a known-repo error, as
    /// distribution 2.8 answers) is asked for the spec's fallback tag `<alg>-<hex>` instead.
    pub async fn referrers(
        &self,
        repo: &RepoName,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers> {
        let mut url = self.url(&format!("v2/{repo}/referrers/{digest}")).await?;
        if let Some(t) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", t);
        }
        let scope = Scope::Pull(repo.to_string());
        let resp = self
            .send(&scope, || {
                Ok(self.http.get(url.clone()).header(ACCEPT, media::OCI_INDEX))
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            let body = read_limited(resp, 64 * 1024, "error body")
                .await
                .unwrap_or_default();
            let errors = crate::error::parse_error_body(&body);
            if errors.iter().any(|e| e.code == "NAME_UNKNOWN") {
                return Err(Error::Registry {
                    method: "GET".into(),
                    url: redact(&url),
                    status: 404,
                    errors,
                });
            }
            return self.referrers_by_tag(repo, digest, artifact_type).await;
        }
        let resp = check_with(self, resp, "GET").await?;
        let filters_applied = header_str(resp.headers(), "oci-filters-applied")
            .map(|v| v.split(',').any(|f| f.trim() == "artifactType"))
            .unwrap_or(false);
        let mut next = header_str(resp.headers(), LINK.as_str())
            .and_then(next_link)
            .and_then(|n| resp.url().join(n).ok());
        let body = read_limited(resp, LISTING_LIMIT, "referrers").await?;
        let mut index: ImageIndex = serde_json::from_slice(&body)
            .map_err(|e| Error::protocol(redact(&url), format!("referrers index: {e}")))?;
        let mut pages = 1;
        while let Some(n) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(Error::protocol(redact(&n), "too many referrers pages"));
            }
            let (body, more) = self.get_page(n.clone(), &scope).await?;
            let page: ImageIndex = serde_json::from_slice(&body)
                .map_err(|e| Error::protocol(redact(&n), format!("referrers index: {e}")))?;
            index.manifests.extend(page.manifests);
            next = more;
        }
        if let Some(t) = artifact_type
            && !filters_applied
        {
            index
                .manifests
                .retain(|d| d.artifact_type.as_deref() == Some(t));
        }
        Ok(Referrers {
            index,
            filters_applied,
            via_tag_schema: false,
        })
    }

    async fn referrers_by_tag(
        &self,
        repo: &RepoName,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers> {
        let tag =
            agentry_types::Tag::parse(&format!("{}-{}", digest.algorithm().as_str(), digest.hex()))
                .map_err(|e| Error::Invalid(e.to_string()))?;
        let mut index = match self.get_manifest(repo, &ManifestRef::Tag(tag)).await {
            Ok(m) => match m.parse()? {
                oci::Parsed::Index(i) => i,
                oci::Parsed::Manifest(_) => ImageIndex::empty(),
            },
            Err(e) if e.status() == Some(404) => ImageIndex::empty(),
            Err(e) => return Err(e),
        };
        if let Some(t) = artifact_type {
            index
                .manifests
                .retain(|d| d.artifact_type.as_deref() == Some(t));
        }
        Ok(Referrers {
            index,
            filters_applied: false,
            via_tag_schema: true,
        })
    }
}

fn paginate(url: &mut Url, n: Option<u32>, last: Option<&str>) {
    if n.is_none() && last.is_none() {
        return;
    }
    let mut q = url.query_pairs_mut();
    if let Some(n) = n {
        q.append_pair("n", &n.to_string());
    }
    if let Some(l) = last {
        q.append_pair("last", l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_give_the_next_page() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=2>; rel="next""#),
            Some("/v2/_catalog?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/a>; rel="prev", <https://x/b>; rel="next""#),
            Some("https://x/b")
        );
        assert_eq!(next_link(r#"</a>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}
