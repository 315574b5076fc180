//! A typed async client for OCI Distribution v1.1 registries — agentry's own pods and any
//! other (distribution, zot, …) — used by the `agentry` CLI, the tests and anyone embedding
//! agentry.
//!
//! * [`Client`]: one registry. Answers `WWW-Authenticate` challenges (Basic, and the docker
//!   Bearer token flow) with [`Credentials`] from [`AuthFile`]. HTTPS, except that a loopback
//!   host named without a scheme falls back to plain HTTP when HTTPS fails (settled
//!   once per process). `--ca-file` certificates are trusted as CAs and pinned as server
//!   certificates ([`tls`](crate::tls)).
//! * Blobs ([`Client::push_blob`], [`Client::pull_blob_to_file`]): HEAD first, cross-repository
//!   mount, monolithic or resumable chunked uploads streamed from disk, streaming downloads
//!   verified (sha256/sha512) before they are moved into place.
//! * Manifests, tags, catalog (following `Link` pages) and referrers.
//! * The discovery API of agentry pods ([`Client::api_get`]).
//! * [`artifact`]: packs an agent folder into the whitepaper's artifact layout (Figure 8) and
//!   writes a pulled one back safely.
//!
//! Errors are typed ([`Error`]): the registry's OCI error code when it sent one
//! ([`Error::oci_code`]) and a coarse [`ErrorKind`].

pub mod artifact;
pub mod auth;
mod blobs;
mod client;
mod discovery;
pub mod error;
mod manifests;
mod tls;

pub use agentry_oci::{Descriptor, ImageIndex, ImageManifest};
pub use auth::{AuthFile, Challenge, Credentials};
pub use blobs::{BlobOutcome, BlobSource, NoProgress, Progress, digest_file};
pub use client::{Client, ClientOptions, ensure_crypto_provider};
pub use error::{Error, ErrorKind, RegistryError, Result};
pub use manifests::{ManifestInfo, Page, PulledManifest, PushedManifest, Referrers};
