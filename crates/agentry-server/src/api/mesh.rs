//! `GET /api/v1/mesh/status` and `GET /api/v1/mesh/peers`: the operator's view of the mesh
//! (`agentry mesh status`, `agentry mesh peers`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use super::ProblemResult;
use crate::problem::Problem;
use crate::state::AppState;

fn mesh(state: &AppState) -> ProblemResult<std::sync::Arc<crate::mesh::Mesh>> {
    state.mesh.clone().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "Not in a mesh",
            "this pod is not in a mesh (start it with --mesh-listen and --mesh-key)",
        )
    })
}

#[derive(Serialize)]
pub struct Status {
    pub pod: String,
    pub role: String,
    pub api: String,
    pub gossip: String,
    /// Members by state (`alive`, `suspect`, `down`), this pod not counted.
    pub members: std::collections::BTreeMap<String, usize>,
    /// Agent versions this pod holds, by origin pod (itself included).
    pub records: std::collections::BTreeMap<String, usize>,
    /// Deleted agent versions whose tombstones are still kept.
    pub tombstones: usize,
}

pub async fn status(State(state): State<AppState>) -> ProblemResult<Json<Status>> {
    Ok(Json(status_of(&state).await?))
}

/// The mesh as this pod sees it (404 problem when the pod is not in a mesh).
pub async fn status_of(state: &AppState) -> ProblemResult<Status> {
    let m = mesh(state)?;
    let peers = m.handle.peers().await;
    let recs = m.handle.records().await;
    let mut members = std::collections::BTreeMap::new();
    for p in &peers {
        *members.entry(p.state.clone()).or_insert(0) += 1;
    }
    let mut records = std::collections::BTreeMap::new();
    let mut tombstones = 0;
    for r in &recs {
        if r.agent.digest.is_none() {
            tombstones += 1;
        } else {
            *records.entry(r.origin.clone()).or_insert(0) += 1;
        }
    }
    Ok(Status {
        pod: m.pod.clone(),
        role: m.role.to_string(),
        api: m.api.clone(),
        gossip: m.gossip.clone(),
        members,
        records,
        tombstones,
    })
}

#[derive(Serialize)]
pub struct Peers {
    pub pod: String,
    pub peers: Vec<agentry_mesh::runtime::PeerStatus>,
}

pub async fn peers(State(state): State<AppState>) -> ProblemResult<Json<Peers>> {
    Ok(Json(peers_of(&state).await?))
}

/// The mesh members this pod knows, with their state and lag.
pub async fn peers_of(state: &AppState) -> ProblemResult<Peers> {
    let m = mesh(state)?;
    Ok(Peers {
        pod: m.pod.clone(),
        peers: m.handle.peers().await,
    })
}
