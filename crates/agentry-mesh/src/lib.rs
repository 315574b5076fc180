//! agentry-mesh: federation of pods with no centre (whitepaper §2.2, §4.1–4.4, §5.4).
//!
//! The core is sans-I/O: time, packets and messages are inputs, and what to send is the
//! output, so that the same code runs in a pod and in the deterministic simulator ([`sim`]).
//!
//! * [`membership`]: SWIM with Lifeguard-style suspicion, from `foca`, behind an envelope
//!   authenticated with the cluster key (HMAC-SHA256) and bounded in size.
//! * [`event`]: the replicated event, a CloudEvent `io.ossa.agent.*` signed by its pod.
//! * [`hlc`]: the hybrid logical clock that orders writes.
//! * [`replica`]: per-origin event log, last-writer-wins view with digest deduplication,
//!   tombstones with a retention, per-peer cursors, anti-entropy by summary and delta.
//! * [`log`]: the durable local event log (redb), replayed into the replica on restart.
//! * [`node`]: one pod's engine tying them together (push, relay, periodic reconciliation).
//! * `runtime` (feature `runtime`): the node on real sockets — UDP and TCP on one address.

pub mod event;
pub mod hlc;
pub mod log;
pub mod membership;
pub mod node;
pub mod replica;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod sim;

pub use event::{AgentState, Event, EventError, EventKind, PodId};
pub use hlc::{Clock, Hlc};
pub use membership::{ClusterKey, Membership, PodIdentity};
pub use node::{Message, Node, NodeConfig, Output};
pub use replica::{Delta, Ingest, IngestError, Policy, Replica, ReplicaConfig, Summary};
