//! State shared by every handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agentry_store::{BlobStore, MetadataStore};

use crate::auth::Htpasswd;
use crate::config::ServeConfig;

/// Cheap to clone: everything is behind `Arc`.
#[derive(Clone)]
pub struct AppState {
    pub blobs: Arc<dyn BlobStore>,
    pub meta: Arc<dyn MetadataStore>,
    pub config: Arc<ServeConfig>,
    pub auth: Option<Arc<Htpasswd>>,
    ready: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        meta: Arc<dyn MetadataStore>,
        config: ServeConfig,
        auth: Option<Htpasswd>,
    ) -> AppState {
        AppState {
            blobs,
            meta,
            config: Arc::new(config),
            auth: auth.map(Arc::new),
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the pod accepts traffic (false while starting and once shutdown began).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }
}
