//! The replicated state of one pod: a per-origin event log, the last-writer-wins view over
//! it, per-peer cursors, anti-entropy and tombstone collection. Sans-I/O: time is an
//! argument, nothing here sends or stores anything.
//!
//! **Log.** Every origin numbers its events 1, 2, 3, … For each origin the replica keeps the
//! events it holds and `contiguous`, the highest sequence number below which it holds (or has
//! collected) everything. The vector of those numbers, one per origin, is the replica's
//! *summary*: its size grows with the number of pods, never with the number of records.
//!
//! **Anti-entropy.** Two replicas exchange summaries; each sends the other the events above
//! the other's number for every origin (bounded batches). What crosses the wire is exactly
//! the difference, so repairing a pod that missed an hour costs the hour's events and not
//! the store (this is scuttlebutt's reconciliation, van Renesse et al. 2008).
//!
//! **LWW.** Per agent version (`namespace/name@version`) the view holds the event with the
//! greatest `(hlc, origin)` stamp. The order is total and independent of arrival order, so
//! every replica holding the same events decides the same. Two events with the same digest
//! are not a conflict (digest deduplication); `conflicts` counts only different digests.
//!
//! **Tombstones.** A delete is an event like any other and wins by the same rule. After
//! `tombstone_retention` (longer than any partition the federation supports) `collect`
//! drops the tombstone and every event for that version it superseded, and raises the
//! replica's *watermark*: an event older than the watermark for a version the view does not
//! hold is stale (it could only resurrect a collected delete) and is not applied.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use agentry_types::TrustTier;

use crate::event::{AgentState, Event, EventError, EventKind, MAX_EVENT_BYTES, PodId};
use crate::hlc::{Clock, ClockAhead, Hlc};

/// `origin → contiguous sequence number`.
pub type Summary = BTreeMap<PodId, u64>;

/// What a pod accepts into its visible view (the log relays everything that verifies, so
/// pods with different policies still converge on what each accepts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Records below this tier are held but not shown (`--trust-min-tier`).
    pub min_tier: TrustTier,
    /// Only these namespaces are shown; empty = all (selective replication).
    pub namespaces: BTreeSet<String>,
}

impl Policy {
    pub fn admits(&self, a: &AgentState) -> bool {
        a.trust_tier >= self.min_tier
            && (self.namespaces.is_empty() || self.namespaces.contains(a.namespace()))
    }
}

#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    pub tombstone_retention_ms: u64,
    pub max_drift_ms: u64,
    /// Most events in one anti-entropy answer.
    pub batch: usize,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            // Seven days: the longest partition the federation promises to heal.
            tombstone_retention_ms: 7 * 24 * 3600 * 1000,
            max_drift_ms: 5 * 60 * 1000,
            batch: 512,
        }
    }
}

/// The winning event of one agent version.
#[derive(Clone, Debug)]
pub struct Entry {
    pub event: Arc<Event>,
}

impl Entry {
    pub fn state(&self) -> &AgentState {
        &self.event.data.agent
    }
    pub fn deleted(&self) -> bool {
        self.event.is_tombstone()
    }
    pub fn origin(&self) -> &PodId {
        &self.event.source
    }
}

#[derive(Clone, Debug, Default)]
struct OriginLog {
    events: BTreeMap<u64, Arc<Event>>,
    contiguous: u64,
}

/// What a peer last told us it holds, and when.
#[derive(Clone, Debug, Default)]
pub struct PeerCursor {
    pub summary: Summary,
    pub last_contact_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub applied: u64,
    pub duplicates: u64,
    pub conflicts: u64,
    pub stale: u64,
    pub refused: u64,
    pub collected: u64,
}

/// How an offered event was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingest {
    /// New to this replica (logged, and applied to the view if it wins).
    New,
    /// Already held (or collected): nothing changed.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Clock(#[from] ClockAhead),
    #[error("event {id}: {origin} already sent a different event with this sequence number")]
    Equivocation { id: String, origin: PodId },
    #[error("event {id}: {size} bytes (at most {MAX_EVENT_BYTES})")]
    TooLarge { id: String, size: usize },
}

/// The answer to a summary: events the asker lacks, and how far each origin is covered.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Delta {
    pub events: Vec<Event>,
    /// `origin → n`: with these events the asker holds everything of `origin` up to `n`.
    pub upto: Summary,
}

pub struct Replica {
    me: PodId,
    key: SigningKey,
    clock: Clock,
    cfg: ReplicaConfig,
    policy: Policy,
    keys: BTreeMap<PodId, VerifyingKey>,
    logs: BTreeMap<PodId, OriginLog>,
    view: BTreeMap<String, Entry>,
    /// Every (origin, seq) logged for a key: what `collect` removes with a tombstone.
    by_key: BTreeMap<String, Vec<(PodId, u64)>>,
    watermark: Option<Hlc>,
    peers: BTreeMap<PodId, PeerCursor>,
    /// Events from pods whose key is not known yet (membership has not reported them):
    /// verified and applied when the key arrives. Bounded by `MAX_PENDING`.
    pending: BTreeMap<PodId, BTreeMap<u64, Event>>,
    pending_len: usize,
    /// (origin, seq) dropped by `collect` since the last `take_collected`.
    collected: Vec<(PodId, u64)>,
    stats: Stats,
}

/// Most events held back waiting for their pod's key.
pub const MAX_PENDING: usize = 10_000;

impl Replica {
    pub fn new(me: PodId, key: SigningKey, cfg: ReplicaConfig, policy: Policy) -> Replica {
        let mut keys = BTreeMap::new();
        keys.insert(me.clone(), key.verifying_key());
        Replica {
            me,
            clock: Clock::new(cfg.max_drift_ms),
            key,
            cfg,
            policy,
            keys,
            logs: BTreeMap::new(),
            view: BTreeMap::new(),
            by_key: BTreeMap::new(),
            watermark: None,
            peers: BTreeMap::new(),
            pending: BTreeMap::new(),
            pending_len: 0,
            collected: Vec::new(),
            stats: Stats::default(),
        }
    }

    pub fn id(&self) -> &PodId {
        &self.me
    }
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
    pub fn clock(&self) -> Hlc {
        self.clock.last()
    }
    pub fn restore_clock(&mut self, last: Hlc) {
        self.clock.restore(last);
    }
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Learn the key of a pod (from authenticated membership or configuration). The first
    /// key seen for a pod id is pinned: a different one later is refused (`false`).
    pub fn learn_key(&mut self, pod: PodId, key: VerifyingKey) -> bool {
        match self.keys.get(&pod) {
            Some(k) => *k == key,
            None => {
                self.keys.insert(pod, key);
                true
            }
        }
    }

    /// Learn a pod's key and take in the events that waited for it. Returns the (origin,
    /// seq) of those taken in, or `None` when the key contradicts a pinned one.
    pub fn learn_key_and_release(
        &mut self,
        pod: PodId,
        key: VerifyingKey,
        phys_ms: u64,
    ) -> Option<Vec<(PodId, u64)>> {
        if !self.learn_key(pod.clone(), key) {
            return None;
        }
        let mut taken = Vec::new();
        if let Some(waiting) = self.pending.remove(&pod) {
            self.pending_len -= waiting.len();
            for (seq, ev) in waiting {
                if let Ok(Ingest::New) = self.ingest(ev, phys_ms) {
                    taken.push((pod.clone(), seq));
                }
            }
        }
        Some(taken)
    }

    /// Pinned keys of every known pod.
    pub fn keys(&self) -> impl Iterator<Item = (&PodId, &VerifyingKey)> {
        self.keys.iter()
    }

    /// Put back an event read from this pod's own durable log (verified when first taken
    /// in; checked for shape only).
    pub fn restore_event(&mut self, ev: Event) -> Result<(), EventError> {
        ev.check_shape()?;
        if self.holds(&ev.source, ev.seq) {
            return Ok(());
        }
        let _ = self.clock.observe(ev.hlc, ev.hlc.wall_ms);
        self.insert(Arc::new(ev));
        Ok(())
    }

    /// Put back a cursor read from the durable log (it covers collected holes).
    pub fn restore_cursor(&mut self, origin: PodId, contiguous: u64) {
        let log = self.logs.entry(origin).or_default();
        if contiguous > log.contiguous {
            log.contiguous = contiguous;
            while log.events.contains_key(&(log.contiguous + 1)) {
                log.contiguous += 1;
            }
        }
    }

    /// A local mutation: stamp, number, sign, log and apply it. Returns the event to push.
    pub fn write(&mut self, kind: EventKind, agent: AgentState, phys_ms: u64) -> Arc<Event> {
        let hlc = self.clock.now(phys_ms);
        let seq = self.logs.get(&self.me).map_or(0, |l| {
            l.events
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0)
                .max(l.contiguous)
        }) + 1;
        let ev = Arc::new(Event::sign(&self.key, &self.me, kind, seq, hlc, agent));
        self.insert(ev.clone());
        ev
    }

    /// An event from elsewhere (a push, an anti-entropy answer, the pod's own log on restart).
    pub fn ingest(&mut self, ev: Event, phys_ms: u64) -> Result<Ingest, IngestError> {
        if let Some(log) = self.logs.get(&ev.source) {
            if let Some(held) = log.events.get(&ev.seq) {
                if **held == ev {
                    self.stats.duplicates += 1;
                    return Ok(Ingest::Duplicate);
                }
                self.stats.refused += 1;
                return Err(IngestError::Equivocation {
                    id: ev.id.clone(),
                    origin: ev.source.clone(),
                });
            }
            if ev.seq <= log.contiguous {
                // Below the cursor and not held: collected with a tombstone.
                self.stats.duplicates += 1;
                return Ok(Ingest::Duplicate);
            }
        }
        let checked = self.check(&ev, phys_ms);
        if let Err(e) = checked {
            self.stats.refused += 1;
            if matches!(e, IngestError::Event(EventError::UnknownSource { .. }))
                && self.pending_len < MAX_PENDING
                && ev.check_shape().is_ok()
            {
                let slot = self.pending.entry(ev.source.clone()).or_default();
                if slot.insert(ev.seq, ev).is_none() {
                    self.pending_len += 1;
                }
            }
            return Err(e);
        }
        self.insert(Arc::new(ev));
        Ok(Ingest::New)
    }

    fn check(&mut self, ev: &Event, phys_ms: u64) -> Result<(), IngestError> {
        let key = self
            .keys
            .get(&ev.source)
            .ok_or_else(|| EventError::UnknownSource {
                origin: ev.source.clone(),
            })?;
        ev.verify(key)?;
        let size = serde_json::to_vec(ev).map_or(usize::MAX, |v| v.len());
        if size > MAX_EVENT_BYTES {
            return Err(IngestError::TooLarge {
                id: ev.id.clone(),
                size,
            });
        }
        self.clock.observe(ev.hlc, phys_ms)?;
        Ok(())
    }

    fn insert(&mut self, ev: Arc<Event>) {
        let log = self.logs.entry(ev.source.clone()).or_default();
        log.events.insert(ev.seq, ev.clone());
        while log.events.contains_key(&(log.contiguous + 1)) {
            log.contiguous += 1;
        }
        self.by_key
            .entry(ev.subject.clone())
            .or_default()
            .push((ev.source.clone(), ev.seq));
        self.apply(ev);
    }

    fn apply(&mut self, ev: Arc<Event>) {
        match self.view.get_mut(&ev.subject) {
            Some(cur) => {
                if ev.stamp() > cur.event.stamp() {
                    let same_digest = ev.data.agent.digest.is_some()
                        && ev.data.agent.digest == cur.event.data.agent.digest;
                    if !same_digest
                        && !cur.deleted()
                        && !ev.is_tombstone()
                        && cur.event.kind != EventKind::Deleted
                    {
                        // Two different artifacts under one name@version: the later wins.
                        if cur.event.source != ev.source {
                            self.stats.conflicts += 1;
                        }
                    }
                    cur.event = ev;
                    self.stats.applied += 1;
                } else {
                    self.stats.stale += 1;
                }
            }
            None => {
                if self.watermark.is_some_and(|w| ev.hlc <= w) {
                    self.stats.stale += 1;
                    return;
                }
                self.view.insert(ev.subject.clone(), Entry { event: ev });
                self.stats.applied += 1;
            }
        }
    }

    /// This replica's summary (what it holds, per origin).
    pub fn summary(&self) -> Summary {
        self.logs
            .iter()
            .map(|(o, l)| (o.clone(), l.contiguous))
            .collect()
    }

    /// Note what a peer said it holds.
    pub fn note_peer(&mut self, peer: &PodId, summary: &Summary, now_ms: u64) {
        let c = self.peers.entry(peer.clone()).or_default();
        for (o, n) in summary {
            let e = c.summary.entry(o.clone()).or_insert(0);
            *e = (*e).max(*n);
        }
        c.last_contact_ms = now_ms;
    }

    /// Note that a peer now holds an event we pushed to it (or it pushed to us).
    pub fn note_peer_has(&mut self, peer: &PodId, origin: &PodId, seq: u64, now_ms: u64) {
        let c = self.peers.entry(peer.clone()).or_default();
        let e = c.summary.entry(origin.clone()).or_insert(0);
        if *e + 1 == seq {
            *e = seq;
        }
        c.last_contact_ms = now_ms;
    }

    pub fn peer(&self, peer: &PodId) -> Option<&PeerCursor> {
        self.peers.get(peer)
    }

    /// Events this replica holds that `peer` does not, by its last summary.
    pub fn lag_of(&self, peer: &PodId) -> u64 {
        let empty = Summary::new();
        let theirs = self.peers.get(peer).map_or(&empty, |c| &c.summary);
        self.logs
            .iter()
            .map(|(o, l)| {
                l.contiguous
                    .saturating_sub(theirs.get(o).copied().unwrap_or(0))
            })
            .sum()
    }

    /// What the holder of `theirs` lacks, at most `cfg.batch` events.
    pub fn delta_for(&self, theirs: &Summary) -> Delta {
        let mut out = Delta::default();
        let mut budget = self.cfg.batch;
        for (origin, log) in &self.logs {
            let after = theirs.get(origin).copied().unwrap_or(0);
            if log.contiguous <= after {
                continue;
            }
            if budget == 0 {
                break;
            }
            let mut upto = after;
            let mut truncated = false;
            for (seq, ev) in log.events.range(after + 1..=log.contiguous) {
                if budget == 0 {
                    truncated = true;
                    break;
                }
                out.events.push((**ev).clone());
                budget -= 1;
                upto = *seq;
            }
            out.upto.insert(
                origin.clone(),
                if truncated { upto } else { log.contiguous },
            );
        }
        out
    }

    /// Take a delta: ingest its events, then move each origin's cursor over what the sender
    /// collected (holes the sender vouches for), unless one of its events was refused.
    pub fn apply_delta(
        &mut self,
        delta: Delta,
        phys_ms: u64,
    ) -> (Vec<Arc<Event>>, Vec<IngestError>) {
        let mut new = Vec::new();
        let mut errors = Vec::new();
        let mut blocked: BTreeMap<PodId, u64> = BTreeMap::new();
        for ev in delta.events {
            let (origin, seq) = (ev.source.clone(), ev.seq);
            match self.ingest(ev, phys_ms) {
                Ok(Ingest::New) => {
                    if let Some(e) = self.logs.get(&origin).and_then(|l| l.events.get(&seq)) {
                        new.push(e.clone());
                    }
                }
                Ok(Ingest::Duplicate) => {}
                Err(e) => {
                    let b = blocked.entry(origin).or_insert(seq);
                    *b = (*b).min(seq);
                    errors.push(e);
                }
            }
        }
        for (origin, upto) in delta.upto {
            let limit = blocked
                .get(&origin)
                .map_or(upto, |b| upto.min(b.saturating_sub(1)));
            let log = self.logs.entry(origin).or_default();
            if limit > log.contiguous {
                // Every seq up to `limit` is now held, or was collected by the sender.
                log.contiguous = limit;
                while log.events.contains_key(&(log.contiguous + 1)) {
                    log.contiguous += 1;
                }
            }
        }
        (new, errors)
    }

    /// Drop tombstones older than the retention, and everything they superseded.
    pub fn collect(&mut self, phys_ms: u64) -> usize {
        let horizon = phys_ms.saturating_sub(self.cfg.tombstone_retention_ms);
        let expired: Vec<String> = self
            .view
            .iter()
            .filter(|(_, e)| e.deleted() && e.event.hlc.wall_ms < horizon)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            if let Some(e) = self.view.remove(k) {
                self.watermark = Some(self.watermark.map_or(e.event.hlc, |w| w.max(e.event.hlc)));
            }
            for (origin, seq) in self.by_key.remove(k).unwrap_or_default() {
                if let Some(log) = self.logs.get_mut(&origin)
                    && log.events.remove(&seq).is_some()
                {
                    self.collected.push((origin, seq));
                }
            }
            self.stats.collected += 1;
        }
        expired.len()
    }

    /// What `collect` dropped since the last call (for the durable log to forget too).
    pub fn take_collected(&mut self) -> Vec<(PodId, u64)> {
        std::mem::take(&mut self.collected)
    }

    /// The LWW winner of every agent version, tombstones included.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.view.iter()
    }

    /// What this pod shows: live records its policy admits.
    pub fn visible(&self) -> impl Iterator<Item = &Entry> {
        self.view
            .values()
            .filter(|e| !e.deleted() && self.policy.admits(e.state()))
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.view.get(key)
    }

    /// Whether the replica holds event `seq` of `origin` (or collected it).
    pub fn holds(&self, origin: &PodId, seq: u64) -> bool {
        self.logs
            .get(origin)
            .is_some_and(|l| seq <= l.contiguous || l.events.contains_key(&seq))
    }

    /// One held event.
    pub fn event(&self, origin: &PodId, seq: u64) -> Option<&Arc<Event>> {
        self.logs.get(origin).and_then(|l| l.events.get(&seq))
    }

    /// Every event held, in (origin, seq) order.
    pub fn events(&self) -> impl Iterator<Item = &Arc<Event>> {
        self.logs.values().flat_map(|l| l.events.values())
    }

    pub fn event_count(&self) -> usize {
        self.logs.values().map(|l| l.events.len()).sum()
    }

    /// A fingerprint of the LWW view (winning event id per key): equal on two replicas iff
    /// they decided the same.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        for (k, e) in &self.view {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(e.event.id.as_bytes());
            h.update([0]);
        }
        h.finalize().into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;
    use agentry_types::RepoName;

    fn pod(n: &str) -> PodId {
        PodId::parse(n).unwrap()
    }
    fn replica(n: &str, k: u8) -> Replica {
        Replica::new(
            pod(n),
            SigningKey::from_bytes(&[k; 32]),
            ReplicaConfig::default(),
            Policy::default(),
        )
    }
    fn agent(v: &str, d: char, tier: TrustTier) -> AgentState {
        AgentState {
            name: RepoName::parse("acme/fin").unwrap(),
            version: v.into(),
            digest: Some(
                format!("sha256:{}", d.to_string().repeat(64))
                    .parse()
                    .unwrap(),
            ),
            artifact_type: None,
            capabilities: vec![],
            trust_tier: tier,
            deprecated: false,
        }
    }
    fn tomb(v: &str) -> AgentState {
        AgentState {
            digest: None,
            ..agent(v, 'a', TrustTier::None)
        }
    }
    fn pair() -> (Replica, Replica) {
        let mut a = replica("a", 1);
        let mut b = replica("b", 2);
        a.learn_key(pod("b"), b.verifying_key());
        b.learn_key(pod("a"), a.verifying_key());
        (a, b)
    }

    #[test]
    fn lww_same_decision_in_any_order() {
        let (mut a, mut b) = pair();
        let e1 = a.write(EventKind::Published, agent("1", 'a', TrustTier::None), 1000);
        let e2 = b.write(EventKind::Published, agent("1", 'b', TrustTier::None), 1000);
        b.ingest((*e1).clone(), 1001).unwrap();
        a.ingest((*e2).clone(), 1001).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        // Same wall time and logical: the origin id breaks the tie, "b" > "a".
        assert_eq!(a.get("acme/fin@1").unwrap().origin(), &pod("b"));
        assert_eq!(a.stats().conflicts + b.stats().conflicts, 1);
    }

    #[test]
    fn same_digest_is_no_conflict_and_replay_is_duplicate() {
        let (mut a, mut b) = pair();
        let e1 = a.write(EventKind::Published, agent("1", 'a', TrustTier::None), 1000);
        let e2 = b.write(EventKind::Published, agent("1", 'a', TrustTier::None), 1005);
        a.ingest((*e2).clone(), 1006).unwrap();
        b.ingest((*e1).clone(), 1006).unwrap();
        assert_eq!(a.stats().conflicts + b.stats().conflicts, 0);
        assert_eq!(b.ingest((*e1).clone(), 2000).unwrap(), Ingest::Duplicate);
    }

    #[test]
    fn forged_and_unknown_sources_refused() {
        let (mut a, _b) = pair();
        let evil = SigningKey::from_bytes(&[9; 32]);
        let forged = Event::sign(
            &evil,
            &pod("b"),
            EventKind::Published,
            1,
            Hlc {
                wall_ms: 1,
                logical: 0,
            },
            agent("1", 'a', TrustTier::None),
        );
        assert!(matches!(
            a.ingest(forged, 10),
            Err(IngestError::Event(EventError::BadSignature { .. }))
        ));
        let stranger = Event::sign(
            &evil,
            &pod("c"),
            EventKind::Published,
            1,
            Hlc::default(),
            agent("1", 'a', TrustTier::None),
        );
        assert!(matches!(
            a.ingest(stranger, 10),
            Err(IngestError::Event(EventError::UnknownSource { .. }))
        ));
        assert_eq!(a.event_count(), 0);
        assert!(
            !a.learn_key(pod("b"), evil.verifying_key()),
            "a pinned key is not replaced"
        );
    }

    #[test]
    fn events_wait_for_their_pods_key() {
        let mut a = replica("a", 1);
        let c = SigningKey::from_bytes(&[3; 32]);
        let ev = Event::sign(
            &c,
            &pod("c"),
            EventKind::Published,
            1,
            Hlc {
                wall_ms: 5,
                logical: 0,
            },
            agent("1", 'a', TrustTier::None),
        );
        assert!(a.ingest(ev, 10).is_err());
        assert_eq!(a.event_count(), 0);
        // A wrong key for c would not verify it: nothing taken in, and it stays pending.
        let released = a
            .learn_key_and_release(pod("c"), c.verifying_key(), 20)
            .unwrap();
        assert_eq!(released, vec![(pod("c"), 1)]);
        assert!(a.get("acme/fin@1").is_some());
    }

    #[test]
    fn equivocation_refused() {
        let (mut a, b) = pair();
        let bk = SigningKey::from_bytes(&[2; 32]);
        let one = Event::sign(
            &bk,
            b.id(),
            EventKind::Published,
            1,
            Hlc {
                wall_ms: 5,
                logical: 0,
            },
            agent("1", 'a', TrustTier::None),
        );
        let other = Event::sign(
            &bk,
            b.id(),
            EventKind::Published,
            1,
            Hlc {
                wall_ms: 6,
                logical: 0,
            },
            agent("1", 'b', TrustTier::None),
        );
        a.ingest(one, 10).unwrap();
        assert!(matches!(
            a.ingest(other, 10),
            Err(IngestError::Equivocation { .. })
        ));
    }

    #[test]
    fn anti_entropy_sends_only_the_difference() {
        let (mut a, mut b) = pair();
        for i in 0..100 {
            a.write(
                EventKind::Published,
                agent(&format!("{i}"), 'a', TrustTier::None),
                1000 + i,
            );
        }
        let d = a.delta_for(&b.summary());
        assert_eq!(d.events.len(), 100);
        b.apply_delta(d, 2000);
        a.write(
            EventKind::Published,
            agent("new", 'a', TrustTier::None),
            3000,
        );
        let d = a.delta_for(&b.summary());
        assert_eq!(d.events.len(), 1, "only the missed event crosses");
        b.apply_delta(d, 3001);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.delta_for(&b.summary()).events.len(), 0);
    }

    #[test]
    fn batches_are_bounded_and_resume() {
        let (mut a, mut b) = pair();
        a.cfg.batch = 7;
        for i in 0..20 {
            a.write(
                EventKind::Published,
                agent(&format!("{i}"), 'a', TrustTier::None),
                1000 + i,
            );
        }
        let mut rounds = 0;
        loop {
            let d = a.delta_for(&b.summary());
            if d.events.is_empty() {
                break;
            }
            assert!(d.events.len() <= 7);
            b.apply_delta(d, 2000);
            rounds += 1;
        }
        assert_eq!(rounds, 3);
        assert_eq!(b.event_count(), 20);
    }

    #[test]
    fn tombstones_win_then_are_collected_without_resurrection() {
        let (mut a, mut b) = pair();
        let day = 24 * 3600 * 1000;
        let publ = a.write(EventKind::Published, agent("1", 'a', TrustTier::None), 1000);
        a.write(EventKind::Deleted, tomb("1"), 2000);
        assert!(a.get("acme/fin@1").unwrap().deleted());
        assert_eq!(a.visible().count(), 0);
        // Within the retention nothing is collected.
        assert_eq!(a.collect(2000 + day), 0);
        assert_eq!(a.collect(2000 + 8 * day), 1);
        assert!(a.get("acme/fin@1").is_none());
        assert_eq!(a.event_count(), 0);
        assert_eq!(a.take_collected().len(), 2);
        // A peer that never saw any of it catches up: the holes are vouched for.
        b.apply_delta(a.delta_for(&b.summary()), 2000 + 8 * day);
        assert_eq!(b.summary().get(&pod("a")), Some(&2));
        assert_eq!(
            b.ingest((*publ).clone(), 2000 + 8 * day).unwrap(),
            Ingest::Duplicate
        );
        // A replay of the old publish on the collecting pod does not resurrect it.
        assert_eq!(
            a.ingest((*publ).clone(), 3000 + 8 * day).unwrap(),
            Ingest::Duplicate
        );
        assert!(a.get("acme/fin@1").is_none());
    }

    #[test]
    fn policy_hides_but_relays() {
        let (mut a, mut b) = pair();
        b.policy = Policy {
            min_tier: TrustTier::Standard,
            namespaces: BTreeSet::new(),
        };
        a.write(
            EventKind::Published,
            agent("1", 'a', TrustTier::Basic),
            1000,
        );
        a.write(
            EventKind::Published,
            agent("2", 'b', TrustTier::Verified),
            1001,
        );
        b.apply_delta(a.delta_for(&b.summary()), 1002);
        assert_eq!(b.event_count(), 2, "held and relayed");
        let shown: Vec<_> = b.visible().map(|e| e.state().version.clone()).collect();
        assert_eq!(shown, vec!["2".to_string()]);
        b.policy.namespaces.insert("other".into());
        assert_eq!(b.visible().count(), 0);
    }

    #[test]
    fn lag_counts_events_a_peer_lacks() {
        let (mut a, b) = pair();
        for i in 0..5 {
            a.write(
                EventKind::Published,
                agent(&format!("{i}"), 'a', TrustTier::None),
                1000 + i,
            );
        }
        assert_eq!(a.lag_of(b.id()), 5);
        a.note_peer(b.id(), &BTreeMap::from([(pod("a"), 3)]), 2000);
        assert_eq!(a.lag_of(b.id()), 2);
    }
}
