//! OCI Distribution v1.1 rules, without I/O.
//!
//! * [`media`]: the media types the registry understands.
//! * [`error`]: the spec's error codes with their HTTP statuses — declared once, here.
//! * [`manifest`]: parsing and validating pushed manifests and indexes (OCI and Docker v2),
//!   extracting what the store needs (referenced blobs, child manifests, subject,
//!   artifactType, annotations).

pub mod error;
pub mod manifest;
pub mod media;

pub use error::{OciError, OciErrorCode};
pub use manifest::{Descriptor, ManifestError, ManifestKind, ParsedManifest};
