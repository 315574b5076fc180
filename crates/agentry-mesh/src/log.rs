//! The durable local event log: `<data>/mesh.redb` (redb, like the pod's metadata store).
//!
//! It holds every event the replica took in (own writes and replicated ones, keyed by origin
//! and sequence number), each origin's cursor, the pinned key of every pod, the clock's last
//! stamp and the membership bump, so a restarted pod comes back with the same log, never
//! issues a smaller timestamp or a reused sequence number, and rejoins with a higher
//! incarnation. Each `append` is one durable transaction: an event acknowledged to a client
//! is on disk.

use std::path::Path;

use ed25519_dalek::VerifyingKey;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::event::{Event, PodId};
use crate::hlc::Hlc;
use crate::replica::Replica;

const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
const CURSORS: TableDefinition<&str, u64> = TableDefinition::new("cursors");
const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("keys");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("mesh log {0}")]
    Db(String),
    #[error("mesh log holds an unreadable event {origin}/{seq}: {reason}")]
    Corrupt {
        origin: String,
        seq: u64,
        reason: String,
    },
}

fn dberr<E: std::fmt::Display>(e: E) -> LogError {
    LogError::Db(e.to_string())
}

pub struct EventLog {
    db: Database,
}

impl EventLog {
    pub fn open(path: &Path) -> Result<EventLog, LogError> {
        let db = Database::create(path).map_err(dberr)?;
        let txn = db.begin_write().map_err(dberr)?;
        {
            txn.open_table(EVENTS).map_err(dberr)?;
            txn.open_table(CURSORS).map_err(dberr)?;
            txn.open_table(KEYS).map_err(dberr)?;
            txn.open_table(META).map_err(dberr)?;
        }
        txn.commit().map_err(dberr)?;
        Ok(EventLog { db })
    }

    /// Store events, the cursors and the clock in one durable transaction.
    pub fn append<'a>(
        &self,
        events: impl IntoIterator<Item = &'a Event>,
        replica: &Replica,
    ) -> Result<(), LogError> {
        let txn = self.db.begin_write().map_err(dberr)?;
        {
            let mut t = txn.open_table(EVENTS).map_err(dberr)?;
            for ev in events {
                let bytes = serde_json::to_vec(ev).map_err(dberr)?;
                t.insert((ev.source.as_str(), ev.seq), bytes.as_slice())
                    .map_err(dberr)?;
            }
            let mut c = txn.open_table(CURSORS).map_err(dberr)?;
            for (origin, n) in replica.summary() {
                c.insert(origin.as_str(), n).map_err(dberr)?;
            }
            let mut k = txn.open_table(KEYS).map_err(dberr)?;
            for (pod, key) in replica.keys() {
                k.insert(pod.as_str(), key.as_bytes().as_slice())
                    .map_err(dberr)?;
            }
            let mut m = txn.open_table(META).map_err(dberr)?;
            let h = replica.clock();
            m.insert("clock_wall_ms", h.wall_ms).map_err(dberr)?;
            m.insert("clock_logical", u64::from(h.logical))
                .map_err(dberr)?;
        }
        txn.commit().map_err(dberr)
    }

    /// Forget collected events.
    pub fn remove(&self, ids: &[(PodId, u64)]) -> Result<(), LogError> {
        let txn = self.db.begin_write().map_err(dberr)?;
        {
            let mut t = txn.open_table(EVENTS).map_err(dberr)?;
            for (o, s) in ids {
                t.remove((o.as_str(), *s)).map_err(dberr)?;
            }
        }
        txn.commit().map_err(dberr)
    }

    /// The membership bump for this start: above the last one and at least `now_ms`.
    pub fn next_bump(&self, now_ms: u64) -> Result<u64, LogError> {
        let txn = self.db.begin_write().map_err(dberr)?;
        let bump;
        {
            let mut m = txn.open_table(META).map_err(dberr)?;
            let last = m.get("bump").map_err(dberr)?.map_or(0, |v| v.value());
            bump = now_ms.max(last + 1);
            m.insert("bump", bump).map_err(dberr)?;
        }
        txn.commit().map_err(dberr)?;
        Ok(bump)
    }

    /// Rebuild a replica from the log (after a restart). Events were verified when they
    /// were first taken in; they are checked for shape again, not re-verified (the keys of
    /// their pods are restored from the log as well).
    pub fn restore(&self, replica: &mut Replica) -> Result<usize, LogError> {
        let txn = self.db.begin_read().map_err(dberr)?;
        let keys = txn.open_table(KEYS).map_err(dberr)?;
        for row in keys.iter().map_err(dberr)? {
            let (pod, key) = row.map_err(dberr)?;
            if let (Ok(p), Ok(raw)) = (PodId::parse(pod.value()), <[u8; 32]>::try_from(key.value()))
                && let Ok(k) = VerifyingKey::from_bytes(&raw)
            {
                replica.learn_key(p, k);
            }
        }
        let meta = txn.open_table(META).map_err(dberr)?;
        let wall = meta
            .get("clock_wall_ms")
            .map_err(dberr)?
            .map_or(0, |v| v.value());
        let logical = meta
            .get("clock_logical")
            .map_err(dberr)?
            .map_or(0, |v| v.value());
        replica.restore_clock(Hlc {
            wall_ms: wall,
            logical: u32::try_from(logical).unwrap_or(u32::MAX),
        });
        let events = txn.open_table(EVENTS).map_err(dberr)?;
        let mut n = 0;
        for row in events.iter().map_err(dberr)? {
            let (k, v) = row.map_err(dberr)?;
            let (origin, seq) = k.value();
            let ev: Event = serde_json::from_slice(v.value()).map_err(|e| LogError::Corrupt {
                origin: origin.to_owned(),
                seq,
                reason: e.to_string(),
            })?;
            replica.restore_event(ev).map_err(|e| LogError::Corrupt {
                origin: origin.to_owned(),
                seq,
                reason: e.to_string(),
            })?;
            n += 1;
        }
        let cursors = txn.open_table(CURSORS).map_err(dberr)?;
        for row in cursors.iter().map_err(dberr)? {
            let (o, c) = row.map_err(dberr)?;
            if let Ok(p) = PodId::parse(o.value()) {
                replica.restore_cursor(p, c.value());
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;
    use crate::event::{AgentState, EventKind};
    use crate::replica::{Policy, ReplicaConfig};
    use agentry_types::{RepoName, TrustTier};
    use ed25519_dalek::SigningKey;

    fn agent(v: &str) -> AgentState {
        AgentState {
            name: RepoName::parse("acme/fin").unwrap(),
            version: v.into(),
            digest: Some(format!("sha256:{}", "c".repeat(64)).parse().unwrap()),
            artifact_type: None,
            capabilities: vec![],
            trust_tier: TrustTier::Basic,
            deprecated: false,
        }
    }

    #[test]
    fn restart_restores_log_keys_clock_and_bump() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mesh.redb");
        let me = PodId::parse("a").unwrap();
        let other = SigningKey::from_bytes(&[7; 32]);
        let (fp, clock) = {
            let log = EventLog::open(&path).unwrap();
            assert!(log.next_bump(100).unwrap() >= 100);
            let mut r = Replica::new(
                me.clone(),
                SigningKey::from_bytes(&[1; 32]),
                ReplicaConfig::default(),
                Policy::default(),
            );
            r.learn_key(PodId::parse("b").unwrap(), other.verifying_key());
            let mut evs = Vec::new();
            for i in 0..10 {
                evs.push(
                    (*r.write(EventKind::Published, agent(&format!("{i}")), 1000 + i)).clone(),
                );
            }
            let foreign = Event::sign(
                &other,
                &PodId::parse("b").unwrap(),
                EventKind::Published,
                1,
                Hlc {
                    wall_ms: 5000,
                    logical: 0,
                },
                agent("x"),
            );
            r.ingest(foreign.clone(), 5000).unwrap();
            evs.push(foreign);
            log.append(evs.iter(), &r).unwrap();
            (r.fingerprint(), r.clock())
        };
        let log = EventLog::open(&path).unwrap();
        let b2 = log.next_bump(50).unwrap();
        assert!(b2 > 100, "the bump never goes back");
        let mut r = Replica::new(
            me,
            SigningKey::from_bytes(&[1; 32]),
            ReplicaConfig::default(),
            Policy::default(),
        );
        assert_eq!(log.restore(&mut r).unwrap(), 11);
        assert_eq!(r.fingerprint(), fp);
        assert!(r.clock() >= clock);
        assert!(
            !r.learn_key(
                PodId::parse("b").unwrap(),
                SigningKey::from_bytes(&[8; 32]).verifying_key()
            ),
            "pinned key restored"
        );
        let next = r.write(EventKind::Updated, agent("0"), 10);
        assert_eq!(next.seq, 11, "sequence numbers are not reused");
        assert!(next.hlc > clock);
    }
}
