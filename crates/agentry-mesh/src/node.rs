//! One pod's mesh engine, sans-I/O: membership + replica + dissemination. The runtime (the
//! pod's sockets, or the simulator) hands it packets, messages and the time, and carries
//! out what it returns.
//!
//! Dissemination is push then pull. A local write is pushed at once to `fanout` random live
//! peers; a peer that receives an event it did not hold forwards it once to `fanout` others
//! (rumour mongering: about log_fanout(n) hops reach nearly everyone). Every
//! `anti_entropy_ms` each pod reconciles with one random live peer (summary → delta both
//! ways), which repairs whatever the push lost; a truncated delta is followed at once by the
//! next, so a long repair runs at the speed of round trips, not of the interval.

use std::collections::BTreeMap;
use std::sync::Arc;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::IteratorRandom;
use serde::{Deserialize, Serialize};

use crate::event::{AgentState, Event, EventKind, PodId};
use crate::membership::{ClusterKey, MemberOutput, Membership, PodIdentity};
use crate::replica::{Delta, Ingest, Policy, Replica, ReplicaConfig, Summary};

/// A replication message between two pods (over HTTP in a pod, in memory in the simulator).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Events pushed for low latency.
    Push { events: Vec<Event> },
    /// "This is what I hold": answer with a delta and your own summary.
    Summary { summary: Summary },
    /// What the other side lacks; `summary` asks for the reverse delta.
    Delta {
        delta: Delta,
        summary: Option<Summary>,
    },
}

#[derive(Debug)]
pub enum Output {
    /// A membership packet for `to.gossip`.
    Gossip { to: PodIdentity, packet: Vec<u8> },
    /// A replication message for `to.api`.
    Send { to: PodIdentity, msg: Message },
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub fanout: usize,
    pub anti_entropy_ms: u64,
    pub collect_ms: u64,
    pub foca: foca::Config,
    pub replica: ReplicaConfig,
}

impl NodeConfig {
    /// foca's LAN profile for about `cluster_size` pods, 1 s anti-entropy.
    pub fn lan(cluster_size: u32) -> NodeConfig {
        NodeConfig {
            fanout: 4,
            anti_entropy_ms: 1000,
            collect_ms: 60_000,
            foca: foca::Config {
                // Announce now and then, also to members believed down, so the two halves of
                // a healed partition find each other again (SWIM alone never re-merges them).
                // An identity carries a key and two addresses (~90 bytes), so one feed packet
                // names only ~14 members: announce often enough that a pod learns every
                // member (and its key) in seconds, not only once each member has probed it.
                periodic_announce: Some(foca::PeriodicParams {
                    frequency: std::time::Duration::from_secs(2),
                    num_members: std::num::NonZeroUsize::new(2)
                        .unwrap_or(std::num::NonZeroUsize::MIN),
                }),
                periodic_announce_to_down_members: Some(foca::PeriodicParams {
                    frequency: std::time::Duration::from_secs(3),
                    num_members: std::num::NonZeroUsize::new(2)
                        .unwrap_or(std::num::NonZeroUsize::MIN),
                }),
                ..foca::Config::new_lan(
                    std::num::NonZeroU32::new(cluster_size.max(1))
                        .unwrap_or(std::num::NonZeroU32::MIN),
                )
            },
            replica: ReplicaConfig::default(),
        }
    }
}

/// Counters for the operator view and the benchmarks.
#[derive(Clone, Debug, Default)]
pub struct NodeStats {
    pub pushes_sent: u64,
    pub summaries_sent: u64,
    pub deltas_sent: u64,
    pub events_refused: u64,
    pub keys_refused: u64,
}

pub struct Node {
    membership: Membership,
    replica: Replica,
    cluster: ClusterKey,
    cfg: NodeConfig,
    rng: SmallRng,
    seed: u64,
    next_ae: u64,
    next_collect: u64,
    peers: BTreeMap<PodId, PodIdentity>,
    /// Every identity membership ever reported up (latest bump): whom to answer.
    known: BTreeMap<PodId, PodIdentity>,
    seeds: Vec<String>,
    last_now: u64,
    fresh: Vec<(PodId, u64)>,
    stats: NodeStats,
}

impl Node {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        identity: PodIdentity,
        key: SigningKey,
        cluster: ClusterKey,
        cfg: NodeConfig,
        policy: Policy,
        seed: u64,
        now_ms: u64,
    ) -> Node {
        let replica = Replica::new(identity.pod.clone(), key, cfg.replica.clone(), policy);
        Node {
            membership: Membership::new(identity, cfg.foca.clone(), cluster.clone(), seed),
            replica,
            cluster,
            rng: SmallRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
            seed,
            next_ae: now_ms + cfg.anti_entropy_ms,
            next_collect: now_ms + cfg.collect_ms,
            cfg,
            peers: BTreeMap::new(),
            known: BTreeMap::new(),
            seeds: Vec::new(),
            last_now: now_ms,
            fresh: Vec::new(),
            stats: NodeStats::default(),
        }
    }

    pub fn id(&self) -> &PodIdentity {
        self.membership.identity()
    }
    pub fn replica(&self) -> &Replica {
        &self.replica
    }
    pub fn replica_mut(&mut self) -> &mut Replica {
        &mut self.replica
    }
    pub fn membership(&self) -> &Membership {
        &self.membership
    }
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }
    /// Live peers as membership last reported them.
    pub fn peers(&self) -> impl Iterator<Item = &PodIdentity> {
        self.peers.values()
    }

    /// (origin, seq) of every event this node took in since the last call.
    pub fn take_fresh(&mut self) -> Vec<(PodId, u64)> {
        std::mem::take(&mut self.fresh)
    }

    /// After a restart: the same pod id and key, a higher bump, the replica kept (it is
    /// durable), membership started afresh.
    pub fn restart(&mut self, now_ms: u64) {
        let id = self.membership.identity();
        let renewed = PodIdentity {
            bump: id.bump.max(now_ms).wrapping_add(1),
            ..id.clone()
        };
        self.seed = self.seed.wrapping_add(1);
        self.membership = Membership::new(
            renewed,
            self.cfg.foca.clone(),
            self.cluster.clone(),
            self.seed,
        );
        self.peers.clear();
        self.next_ae = now_ms + self.cfg.anti_entropy_ms;
    }

    /// Announce to a seed (known by its gossip address). Until some member answers, the
    /// announce is repeated every anti-entropy interval (a lost packet must not leave a pod
    /// alone forever).
    pub fn join(&mut self, seed_gossip: &str, now_ms: u64, out: &mut Vec<Output>) {
        self.last_now = now_ms;
        if !self.seeds.iter().any(|s| s == seed_gossip) {
            self.seeds.push(seed_gossip.to_owned());
        }
        let mut m = Vec::new();
        self.membership.join(seed_gossip, now_ms, &mut m);
        self.membership_outputs(m, out);
    }

    pub fn leave(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let mut m = Vec::new();
        self.membership.leave(now_ms, &mut m);
        self.membership_outputs(m, out);
    }

    /// A local mutation: logged, applied, pushed.
    pub fn write(
        &mut self,
        kind: EventKind,
        agent: AgentState,
        now_ms: u64,
        out: &mut Vec<Output>,
    ) -> Arc<Event> {
        let ev = self.replica.write(kind, agent, now_ms);
        self.fresh.push((ev.source.clone(), ev.seq));
        let events = vec![(*ev).clone()];
        self.push(events, None, out);
        ev
    }

    pub fn handle_gossip(&mut self, packet: &[u8], now_ms: u64, out: &mut Vec<Output>) {
        self.last_now = now_ms;
        let mut m = Vec::new();
        let _ = self.membership.handle_packet(packet, now_ms, &mut m);
        self.membership_outputs(m, out);
    }

    pub fn handle_message(
        &mut self,
        from: &PodId,
        msg: Message,
        now_ms: u64,
        out: &mut Vec<Output>,
    ) {
        self.last_now = now_ms;
        match msg {
            Message::Push { events } => {
                let mut relay = Vec::new();
                for ev in events {
                    let (origin, seq) = (ev.source.clone(), ev.seq);
                    let copy = ev.clone();
                    match self.replica.ingest(ev, now_ms) {
                        Ok(Ingest::New) => {
                            self.fresh.push((origin.clone(), seq));
                            relay.push(copy);
                        }
                        Ok(Ingest::Duplicate) => {}
                        Err(_) => self.stats.events_refused += 1,
                    }
                    self.replica.note_peer_has(from, &origin, seq, now_ms);
                }
                if !relay.is_empty() {
                    self.push(relay, Some(from), out);
                }
            }
            Message::Summary { summary } => {
                self.replica.note_peer(from, &summary, now_ms);
                // Answer whoever asks, even a pod membership has not reported up here yet.
                if let Some(to) = self
                    .peers
                    .get(from)
                    .or_else(|| self.known.get(from))
                    .cloned()
                {
                    let delta = self.replica.delta_for(&summary);
                    self.stats.deltas_sent += 1;
                    out.push(Output::Send {
                        to,
                        msg: Message::Delta {
                            delta,
                            summary: Some(self.replica.summary()),
                        },
                    });
                }
            }
            Message::Delta { delta, summary } => {
                let truncated = delta.events.len() >= self.cfg.replica.batch;
                let (new, errors) = self.replica.apply_delta(delta, now_ms);
                self.stats.events_refused += errors.len() as u64;
                self.fresh
                    .extend(new.iter().map(|e| (e.source.clone(), e.seq)));
                let Some(to) = self.peers.get(from).cloned() else {
                    return;
                };
                if let Some(theirs) = summary {
                    self.replica.note_peer(from, &theirs, now_ms);
                    let back = self.replica.delta_for(&theirs);
                    if !back.events.is_empty() || !back.upto.is_empty() {
                        self.stats.deltas_sent += 1;
                        out.push(Output::Send {
                            to: to.clone(),
                            msg: Message::Delta {
                                delta: back,
                                summary: None,
                            },
                        });
                    }
                }
                if truncated {
                    self.stats.summaries_sent += 1;
                    out.push(Output::Send {
                        to,
                        msg: Message::Summary {
                            summary: self.replica.summary(),
                        },
                    });
                }
            }
        }
    }

    /// Run what is due at `now_ms`.
    pub fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        self.last_now = now_ms;
        let mut m = Vec::new();
        self.membership.tick(now_ms, &mut m);
        self.membership_outputs(m, out);
        if now_ms >= self.next_ae {
            self.next_ae = now_ms + self.cfg.anti_entropy_ms;
            if self.membership.active_count() == 0 {
                let mut m = Vec::new();
                for seed in self.seeds.clone() {
                    self.membership.join(&seed, now_ms, &mut m);
                }
                self.membership_outputs(m, out);
            }
            if let Some(to) = self.peers.values().choose(&mut self.rng).cloned() {
                self.stats.summaries_sent += 1;
                out.push(Output::Send {
                    to,
                    msg: Message::Summary {
                        summary: self.replica.summary(),
                    },
                });
            }
        }
        if now_ms >= self.next_collect {
            self.next_collect = now_ms + self.cfg.collect_ms;
            self.replica.collect(now_ms);
        }
    }

    pub fn next_deadline(&self) -> u64 {
        let m = self.membership.next_deadline().unwrap_or(u64::MAX);
        m.min(self.next_ae).min(self.next_collect)
    }

    fn push(&mut self, events: Vec<Event>, except: Option<&PodId>, out: &mut Vec<Output>) {
        let targets: Vec<PodIdentity> = self
            .peers
            .values()
            .filter(|p| Some(&p.pod) != except && !events.iter().all(|e| e.source == p.pod))
            .cloned()
            .sample(&mut self.rng, self.cfg.fanout);
        for to in targets {
            self.stats.pushes_sent += 1;
            out.push(Output::Send {
                to,
                msg: Message::Push {
                    events: events.clone(),
                },
            });
        }
    }

    fn membership_outputs(&mut self, m: Vec<MemberOutput>, out: &mut Vec<Output>) {
        for o in m {
            match o {
                MemberOutput::Send { to, packet } => out.push(Output::Gossip { to, packet }),
                MemberOutput::Up(id) => {
                    let released = VerifyingKey::from_bytes(&id.key).ok().and_then(|k| {
                        self.replica
                            .learn_key_and_release(id.pod.clone(), k, self.last_now)
                    });
                    let key_ok = released.is_some();
                    self.fresh.extend(released.unwrap_or_default());
                    if key_ok {
                        self.known.insert(id.pod.clone(), id.clone());
                        self.peers.insert(id.pod.clone(), id);
                    } else {
                        self.stats.keys_refused += 1;
                    }
                }
                MemberOutput::Down(id) => {
                    if self.peers.get(&id.pod).is_some_and(|p| p.bump <= id.bump) {
                        self.peers.remove(&id.pod);
                    }
                }
            }
        }
    }
}
