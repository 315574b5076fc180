//! Agent records on the push path: extraction from an agent artifact's layers before the
//! manifest commits (same transaction), and index maintenance after.

use agentry_oci::ManifestKind;
use agentry_oci::manifest::ParsedManifest;
use agentry_types::{AgentRecord, Digest, RepoName, Tag};

use crate::error::ApiResult;
use crate::state::AppState;

/// Extract and validate the agent record of an agent artifact. `Ok(None)` for other artifacts,
/// which are stored untouched.
pub async fn extract(
    _state: &AppState,
    _repo: &RepoName,
    parsed: &ParsedManifest,
    _tag: Option<&Tag>,
    _digest: &Digest,
) -> ApiResult<Option<AgentRecord>> {
    if parsed.kind != ManifestKind::OciManifest {
        return Ok(None);
    }
    Ok(None)
}

/// After a manifest committed: bring derived indexes up to date.
pub async fn on_manifest_stored(
    _state: &AppState,
    _repo: &RepoName,
    _digest: &Digest,
    _record: Option<&AgentRecord>,
) {
}

/// After a manifest was deleted.
pub async fn on_manifest_deleted(_state: &AppState, _repo: &RepoName, _digest: &Digest) {}
