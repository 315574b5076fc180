//! The pod's live feed of changes: agent versions published, re-judged or deleted (pushed
//! here or replicated from the mesh) and mesh members changing state. GraphQL subscriptions
//! read it; it is in memory and lossy for slow readers (a reader that falls more than
//! [`CAPACITY`] events behind is told how many it missed). What must not be lost is in the
//! store and, with a mesh, in its durable log; this feed only tells the living about it.

use std::collections::BTreeMap;
use std::time::Duration;

use agentry_types::{Digest, RepoName, TrustTier};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::state::AppState;

/// Events kept for readers that have not yet taken them.
pub const CAPACITY: usize = 4096;

/// What happened to an agent version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A version was stored (a push, a front-door publish, or a record replicated from a peer).
    Published,
    /// Its trust tier was judged again and changed.
    TrustChanged,
    /// Its manifest was deleted.
    Deleted,
}

/// One agent event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentEvent {
    pub change: Change,
    /// `namespace/name`.
    pub repository: String,
    pub namespace: String,
    pub name: String,
    /// The record's version (absent for a deletion, which is by digest).
    pub version: Option<String>,
    pub digest: String,
    pub trust_tier: Option<TrustTier>,
    /// The pod the agent was published on (this pod's id for local pushes, `local` off mesh).
    pub source_pod: String,
    /// Unix milliseconds when this pod saw it.
    pub at_ms: i64,
}

/// One mesh member whose state changed, as this pod's membership sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshEvent {
    pub pod: String,
    /// `alive`, `suspect`, `down`, or `left` (no longer listed).
    pub state: String,
    /// The state before; absent for a member seen for the first time.
    pub previous: Option<String>,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PodEvent {
    Agent(AgentEvent),
    Mesh(MeshEvent),
}

/// The feed: one sender, any number of receivers.
pub struct Events {
    tx: broadcast::Sender<PodEvent>,
}

impl Default for Events {
    fn default() -> Events {
        let (tx, _) = broadcast::channel(CAPACITY);
        Events { tx }
    }
}

impl Events {
    pub fn subscribe(&self) -> broadcast::Receiver<PodEvent> {
        self.tx.subscribe()
    }

    /// Readers listening now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    pub fn emit(&self, ev: PodEvent) {
        // No receiver is not an error: nobody is subscribed.
        let _ = self.tx.send(ev);
    }
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Tell the feed about an agent version.
pub fn agent(
    state: &AppState,
    change: Change,
    repo: &RepoName,
    digest: &Digest,
    version: Option<&str>,
    tier: Option<TrustTier>,
    source_pod: Option<&str>,
) {
    let source_pod = source_pod
        .map(str::to_owned)
        .or_else(|| state.mesh.as_ref().map(|m| m.pod.clone()))
        .unwrap_or_else(|| "local".to_owned());
    state.events.emit(PodEvent::Agent(AgentEvent {
        change,
        repository: repo.to_string(),
        namespace: repo.namespace().to_owned(),
        name: repo.basename().to_owned(),
        version: version.map(str::to_owned),
        digest: digest.to_string(),
        trust_tier: tier,
        source_pod,
        at_ms: now_ms(),
    }));
}

/// Watch the mesh's membership and put every change of a member's state on the feed.
pub async fn watch_mesh(state: AppState) {
    let Some(mesh) = state.mesh.clone() else {
        return;
    };
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let peers = mesh.handle.peers().await;
        let mut seen = BTreeMap::new();
        for p in peers {
            seen.insert(p.pod, p.state);
        }
        for (pod, st) in &seen {
            let previous = known.get(pod);
            if previous != Some(st) {
                state.events.emit(PodEvent::Mesh(MeshEvent {
                    pod: pod.clone(),
                    state: st.clone(),
                    previous: previous.cloned(),
                    at_ms: now_ms(),
                }));
            }
        }
        for (pod, st) in &known {
            if !seen.contains_key(pod) {
                state.events.emit(PodEvent::Mesh(MeshEvent {
                    pod: pod.clone(),
                    state: "left".to_owned(),
                    previous: Some(st.clone()),
                    at_ms: now_ms(),
                }));
            }
        }
        known = seen;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
