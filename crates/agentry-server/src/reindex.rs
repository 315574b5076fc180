//! The discovery index as derived from the store: the one place an [`IndexedAgent`] is built
//! from a stored record, and the rebuild loop behind `agentry reindex` (offline, on a data
//! directory) and `POST /api/v1/admin/reindex` (online, on the serving pod).
//!
//! `pushed_at` is the manifest's own time in the metadata store (`ManifestMeta::created_at`,
//! kept across re-pushes of the same digest), never the clock of whoever builds the entry: a
//! reindex leaves every agent's push time where it was.

use std::sync::Arc;
use std::time::Instant;

use agentry_search::{IndexedAgent, SearchError, SearchIndex};
use agentry_store::{MetadataStore, StoreError};
use agentry_types::{AgentRecord, Digest, ManifestRef, RepoName, TrustTier};
use serde::{Deserialize, Serialize};

/// The name local pushes carry as their source pod.
pub const LOCAL_POD: &str = "local";

/// The index entry for the agent record stored with manifest `digest` in `repo`, pushed at
/// `pushed_at` (unix seconds, the manifest's stored time).
pub fn indexed_agent(
    record: AgentRecord,
    repo: RepoName,
    digest: Digest,
    pushed_at: i64,
) -> IndexedAgent {
    IndexedAgent {
        record,
        repo,
        manifest_digest: digest,
        // Nothing is proven beyond the digest until the trust engine verifies more.
        trust_tier: TrustTier::None,
        source_pod: LOCAL_POD.into(),
        pushed_at,
    }
}

/// [`indexed_agent`] with the push time read from the store; `None` when the manifest is no
/// longer stored (deleted since its record was read), so it is not indexed again.
pub async fn stored_agent(
    meta: &dyn MetadataStore,
    repo: &RepoName,
    digest: &Digest,
    record: AgentRecord,
) -> Result<Option<IndexedAgent>, StoreError> {
    let stored = meta
        .manifest_meta(repo, &ManifestRef::Digest(digest.clone()))
        .await?;
    Ok(stored.map(|m| indexed_agent(record, repo.clone(), digest.clone(), m.created_at)))
}

/// Judges a stored agent's trust tier while the index is rebuilt: the pod's trust engine
/// (its DNS cache, organisation CAs, Sigstore root), over the referrers in the store.
#[async_trait::async_trait]
pub trait Judge: Send + Sync {
    async fn tier(&self, repo: &RepoName, digest: &Digest, record: &AgentRecord) -> TrustTier;
}

/// How far a rebuild is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Records in the store when the rebuild started.
    pub total: u64,
    /// Records indexed so far.
    pub indexed: u64,
    /// Of those, records embedded.
    pub embedded: u64,
}

/// What a rebuild did (the JSON answer of `POST /api/v1/admin/reindex`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub indexed: u64,
    pub embedded: u64,
    pub seconds: f64,
}

/// Why a rebuild stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReindexError {
    #[error("reading the stored records: {0}")]
    Store(#[from] StoreError),
    #[error("writing the index: {0}")]
    Search(#[from] SearchError),
    #[error("the index writer stopped: {0}")]
    Task(String),
}

/// Records read from the store per page.
const PAGE: usize = 500;

/// Replaces the whole of `index` with the records in `meta` (re-embedding them with the
/// index's model, if it has one), `batch` records per index commit, each agent's tier judged
/// again by `judge` (`None`: every agent at `none`). `progress` is called once
/// the records are counted and after every batch, from a blocking thread.
///
/// Records are paged, never all in memory; the index is written on a blocking thread fed
/// through a bounded channel. On a serving pod, searches see the index fill up while it runs,
/// and pushes made meanwhile are indexed as usual.
pub async fn run(
    meta: &dyn MetadataStore,
    index: Arc<SearchIndex>,
    batch: usize,
    judge: Option<&dyn Judge>,
    progress: impl Fn(Progress) + Send + Sync + 'static,
) -> Result<Outcome, ReindexError> {
    let start = Instant::now();
    let batch = batch.max(1);
    // Count first, so progress has a total.
    let mut total = 0u64;
    let mut after: Option<(RepoName, Digest)> = None;
    loop {
        let page = meta
            .records(after.as_ref().map(|(r, d)| (r, d)), 1000)
            .await?;
        total += page.items.len() as u64;
        after = page
            .items
            .last()
            .map(|e| (e.repo.clone(), e.manifest_digest.clone()));
        if !page.more {
            break;
        }
    }
    progress(Progress {
        total,
        ..Progress::default()
    });

    // An async sender, so a full channel suspends this task instead of blocking a runtime
    // thread; the writer drains it with blocking receives.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<IndexedAgent>(batch * 2);
    let writer = tokio::task::spawn_blocking(move || {
        let agents = std::iter::from_fn(move || rx.blocking_recv());
        index.rebuild(agents, batch, |p| {
            progress(Progress {
                total,
                indexed: p.indexed,
                embedded: p.embedded,
            })
        })
    });
    let fed = feed(meta, judge, &tx).await;
    drop(tx);
    let done = writer
        .await
        .map_err(|e| ReindexError::Task(e.to_string()))??;
    fed?;
    Ok(Outcome {
        indexed: done.indexed,
        embedded: done.embedded,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Sends every stored record to the index writer, in store order.
async fn feed(
    meta: &dyn MetadataStore,
    judge: Option<&dyn Judge>,
    tx: &tokio::sync::mpsc::Sender<IndexedAgent>,
) -> Result<(), ReindexError> {
    let mut after: Option<(RepoName, Digest)> = None;
    loop {
        let page = meta
            .records(after.as_ref().map(|(r, d)| (r, d)), PAGE)
            .await?;
        after = page
            .items
            .last()
            .map(|e| (e.repo.clone(), e.manifest_digest.clone()));
        for e in page.items {
            let tier = match judge {
                Some(j) => j.tier(&e.repo, &e.manifest_digest, &e.record).await,
                None => TrustTier::None,
            };
            let Some(mut agent) = stored_agent(meta, &e.repo, &e.manifest_digest, e.record).await?
            else {
                continue;
            };
            agent.trust_tier = tier;
            if tx.send(agent).await.is_err() {
                // The writer stopped (its error is reported by `run`).
                return Ok(());
            }
        }
        if !page.more {
            return Ok(());
        }
    }
}
