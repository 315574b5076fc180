//! The HTTP surface of an agentry registry pod.
//!
//! One listener serves:
//! * `/v2/` — the OCI Distribution v1.1 API ([`oci`]), one handler file per operation;
//! * `/health` and `/ready` ([`health`]);
//! * `/api/v1/` — the discovery API;
//! * the mesh ([`mesh`]): gossip on its own address, replication into the store and index.
//!
//! [`Server::start`] opens the stores under the data directory, spawns housekeeping (expiry of
//! abandoned uploads) and serves until the shutdown signal, finishing in-flight requests.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod events;
pub mod graphql;
pub mod health;
pub mod index_feed;
pub mod mesh;
pub mod metrics;
pub mod oci;
pub mod problem;
pub mod query_string;
pub mod records;
pub mod reindex;
pub mod router;
pub mod serve;
pub mod state;
pub mod trust;

pub use config::ServeConfig;
pub use router::router;
pub use serve::{BoundServer, Server, shutdown_signal};
pub use state::AppState;
