//! OCI Distribution v1.1 rules, without I/O.
//!
//! * [`media`]: every media type the registry and the client name.
//! * [`document`]: manifests, indexes and descriptors as serde types, for reading pulled
//!   documents and building new ones.
//! * [`error`]: the spec's error codes with their HTTP statuses — declared once, here.
//! * [`manifest`]: parsing and validating pushed manifests and indexes (OCI and Docker v2),
//!   extracting what the store needs (referenced blobs, child manifests, subject,
//!   artifactType, annotations).

pub mod document;
pub mod error;
pub mod manifest;
pub mod media;

pub use document::{Descriptor, ImageIndex, ImageManifest};
pub use error::{OciError, OciErrorCode};
pub use manifest::{ManifestError, ManifestKind, ParsedManifest};
