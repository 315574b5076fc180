//! Index writes from concurrent pushes, batched.
//!
//! Every push that stores an agent must leave it findable — by meaning too, when a model is
//! loaded — before the push is answered. Embedding one record per push costs a forward pass
//! per push; embedding the records of every push waiting at that moment as one batch costs one
//! forward pass over all of them, and the index then commits them together. So a push joins a
//! queue; whichever push finds no batch running drains the queue on a blocking thread
//! (`SearchIndex::upsert_batch`: one embedding call, one commit) and hands every waiter the
//! result. Each push still returns only after its own record is committed and visible.
//!
//! Nothing is weakened by the batching: the manifest and its record are already durable in the
//! metadata store when a push joins the queue (the index is derived, `agentry reindex` rebuilds
//! it), and a push waits for the batch that holds its record.

use std::sync::Arc;

use agentry_search::{IndexedAgent, SearchIndex};
use parking_lot::Mutex;
use tokio::sync::oneshot;

/// Records taken into one batch at most: bounds the latency the first push of a batch sees and
/// the memory of one forward pass.
const MAX_BATCH: usize = 64;

type Waiter = oneshot::Sender<Result<(), String>>;

/// The push path's writer to the discovery index.
pub struct IndexFeed {
    index: Arc<SearchIndex>,
    state: Mutex<FeedState>,
}

#[derive(Default)]
struct FeedState {
    queue: Vec<(IndexedAgent, Waiter)>,
    draining: bool,
}

impl IndexFeed {
    pub fn new(index: Arc<SearchIndex>) -> Arc<IndexFeed> {
        Arc::new(IndexFeed {
            index,
            state: Mutex::new(FeedState::default()),
        })
    }

    /// Records waiting for a batch (the embedding queue).
    pub fn queued(&self) -> usize {
        self.state.lock().queue.len()
    }

    /// Index `agent`; returns once it is committed and visible to every query kind (or the
    /// reason it could not be indexed).
    pub async fn upsert(self: &Arc<Self>, agent: IndexedAgent) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut s = self.state.lock();
            s.queue.push((agent, tx));
            !std::mem::replace(&mut s.draining, true)
        };
        if start {
            let feed = Arc::clone(self);
            // A drain that could not start must not leave `draining` set: the guard in
            // `drain` resets it, and spawn_blocking only fails when the runtime shuts down.
            tokio::task::spawn_blocking(move || feed.drain());
        }
        rx.await
            .unwrap_or_else(|_| Err("the indexing task ended before indexing the agent".into()))
    }

    /// Apply queued upserts in batches until the queue is empty.
    fn drain(&self) {
        // Clears `draining` however this returns (a panic in the index included), so a later
        // push starts a new drain instead of waiting for one that is gone.
        struct Reset<'a> {
            state: &'a Mutex<FeedState>,
            armed: bool,
        }
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                if self.armed {
                    self.state.lock().draining = false;
                }
            }
        }
        let mut reset = Reset {
            state: &self.state,
            armed: true,
        };
        loop {
            let batch: Vec<(IndexedAgent, Waiter)> = {
                let mut s = self.state.lock();
                if s.queue.is_empty() {
                    // Cleared under the lock that a new push takes to queue itself: that push
                    // sees `draining == false` and starts the next drain.
                    s.draining = false;
                    reset.armed = false;
                    return;
                }
                let n = s.queue.len().min(MAX_BATCH);
                s.queue.drain(..n).collect()
            };
            let (agents, waiters): (Vec<IndexedAgent>, Vec<Waiter>) = batch.into_iter().unzip();
            let result = self.index.upsert_batch(agents).map_err(|e| e.to_string());
            for w in waiters {
                if w.send(result.clone()).is_err() {
                    tracing::debug!("a push was cancelled before its record was indexed");
                }
            }
        }
    }
}
