//! Core value types shared by every agentry crate.
//!
//! Nothing here performs I/O. Every type that crosses a trust boundary (a digest from a URL, a
//! repository name from a request path, a record from a pushed document) is parsed into one of
//! these types first, so the rest of the code can rely on its invariants.

pub mod context;
pub mod data_dir;
pub mod digest;
pub mod embed;
pub mod media;
pub mod name;
pub mod record;
pub mod trust;

pub use context::{ContextBudget, ContextSpec};
pub use data_dir::DataDir;
pub use digest::{Digest, DigestAlgorithm, DigestError, Hasher};
pub use name::{ManifestRef, NameError, Reference, RepoName, Tag};
pub use record::AgentRecord;
pub use trust::TrustTier;

/// The OCI `artifactType` that marks a manifest as an agent artifact (the name most callers
/// know it by; declared in [`media`]).
pub use media::OSSA_AGENT_ARTIFACT as AGENT_ARTIFACT_TYPE;
