//! A deterministic simulator of a federation: N pods, each a [`Node`], over a network that
//! loses, delays, duplicates and reorders messages and can cut links; pods with skewed
//! clocks; pods that crash and restart with the same identity. One seed, one run.
//!
//! It reports when every pod held every acknowledged write and decided the same LWW winner
//! for every agent version, and [`SimReport::verify`] checks that against a reference fold
//! of all acknowledged writes.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use ed25519_dalek::SigningKey;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use agentry_types::{RepoName, TrustTier};

use crate::event::{AgentState, EventKind, PodId};
use crate::membership::{ClusterKey, PodIdentity};
use crate::node::{Message, Node, NodeConfig, Output};
use crate::replica::Policy;

/// Milliseconds since the Unix epoch at simulated time 0.
const EPOCH_MS: u64 = 1_770_000_000_000;

#[derive(Clone, Debug)]
pub struct Partition {
    pub from_ms: u64,
    pub to_ms: u64,
    /// Pods `0..fraction·n` on one side, the rest on the other.
    pub fraction: f64,
}

#[derive(Clone, Debug)]
pub struct Crash {
    pub pod: usize,
    pub at_ms: u64,
    pub restart_ms: u64,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub pods: usize,
    pub seed: u64,
    pub loss: f64,
    pub duplicate: f64,
    /// One-way delay, uniform in [min, max] (a spread reorders messages).
    pub delay_ms: (u64, u64),
    /// Each pod's clock is off by up to ± this.
    pub max_skew_ms: u64,
    pub writes: usize,
    /// Distinct agent versions the writes fall on (fewer keys, more conflicts).
    pub keys: usize,
    pub write_start_ms: u64,
    pub write_window_ms: u64,
    pub partition: Option<Partition>,
    pub crash: Option<Crash>,
    pub node: NodeConfig,
    /// Give up at this simulated time.
    pub deadline_ms: u64,
    /// Count the bytes of replication messages too (JSON-encoded; slower).
    pub measure_bytes: bool,
}

impl SimConfig {
    pub fn new(pods: usize, seed: u64) -> SimConfig {
        SimConfig {
            pods,
            seed,
            loss: 0.0,
            duplicate: 0.0,
            delay_ms: (1, 5),
            max_skew_ms: 0,
            writes: 50,
            keys: 20,
            write_start_ms: 5_000,
            write_window_ms: 5_000,
            partition: None,
            crash: None,
            node: NodeConfig::lan(pods as u32),
            deadline_ms: 120_000,
            measure_bytes: false,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SimReport {
    pub pods: usize,
    pub acknowledged: usize,
    /// When the last write, heal or restart happened.
    pub last_disturbance_ms: u64,
    /// When every pod first held every acknowledged write with one LWW decision.
    pub converged_at_ms: Option<u64>,
    /// Per write made outside partitions and crashes: ms until every pod held it.
    pub clean_write_latency_ms: Vec<u64>,
    pub gossip_packets: u64,
    pub gossip_bytes: u64,
    pub messages: u64,
    pub message_bytes: u64,
    pub dropped: u64,
    pub refused_events: u64,
    pub failures: Vec<String>,
}

impl SimReport {
    /// Convergence time measured from the last disturbance.
    pub fn convergence_ms(&self) -> Option<u64> {
        self.converged_at_ms
            .map(|t| t.saturating_sub(self.last_disturbance_ms))
    }

    pub fn latency_percentile(&self, p: f64) -> Option<u64> {
        let mut v = self.clean_write_latency_ms.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let idx = ((v.len() as f64 - 1.0) * p).round() as usize;
        v.get(idx).copied()
    }

    /// Everything the run must prove, as one error listing what failed.
    pub fn verify(&self) -> Result<(), String> {
        if self.converged_at_ms.is_none() {
            return Err(format!("did not converge; {}", self.failures.join("; ")));
        }
        if !self.failures.is_empty() {
            return Err(self.failures.join("; "));
        }
        Ok(())
    }
}

enum Payload {
    Gossip(Vec<u8>),
    Msg(PodId, Message),
}

enum Ev {
    Deliver { to: usize, payload: Payload },
    Wake(usize),
}

struct Written {
    at_ms: u64,
    holders: usize,
    clean: bool,
    done: bool,
}

pub struct Sim {
    cfg: SimConfig,
    rng: SmallRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    slab: HashMap<usize, Ev>,
    next_slot: usize,
    nodes: Vec<Node>,
    alive: Vec<bool>,
    skew: Vec<i64>,
    wake_at: Vec<u64>,
    by_pod: HashMap<PodId, usize>,
    by_gossip: HashMap<String, usize>,
    written: BTreeMap<(PodId, u64), Written>,
    acked: Vec<std::sync::Arc<crate::event::Event>>,
    report: SimReport,
}

fn pod_name(i: usize) -> PodId {
    PodId::parse(&format!("pod-{i}")).unwrap_or_else(|_| unreachable!())
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let mut rng = SmallRng::seed_from_u64(cfg.seed);
        let cluster =
            ClusterKey::from_secret(b"simulated federation key").unwrap_or_else(|_| unreachable!());
        let mut nodes = Vec::new();
        let mut skew = Vec::new();
        let mut by_pod = HashMap::new();
        let mut by_gossip = HashMap::new();
        for i in 0..cfg.pods {
            let s = if cfg.max_skew_ms == 0 {
                0
            } else {
                rng.random_range(-(cfg.max_skew_ms as i64)..=cfg.max_skew_ms as i64)
            };
            skew.push(s);
            let mut sk = [0u8; 32];
            rng.fill(&mut sk[..]);
            let key = SigningKey::from_bytes(&sk);
            let id = PodIdentity {
                pod: pod_name(i),
                gossip: format!("sim-{i}"),
                api: format!("sim-{i}"),
                key: key.verifying_key().to_bytes(),
                bump: 1,
            };
            by_pod.insert(id.pod.clone(), i);
            by_gossip.insert(id.gossip.clone(), i);
            let now = (EPOCH_MS as i64 + s) as u64;
            nodes.push(Node::new(
                id,
                key,
                cluster.clone(),
                cfg.node.clone(),
                Policy::default(),
                rng.random(),
                now,
            ));
        }
        let n = cfg.pods;
        Sim {
            report: SimReport {
                pods: n,
                ..SimReport::default()
            },
            cfg,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            slab: HashMap::new(),
            next_slot: 0,
            nodes,
            alive: vec![true; n],
            skew,
            wake_at: vec![u64::MAX; n],
            by_pod,
            by_gossip,
            written: BTreeMap::new(),
            acked: Vec::new(),
        }
    }

    fn clock(&self, i: usize) -> u64 {
        (EPOCH_MS as i64 + self.now as i64 + self.skew[i]) as u64
    }

    fn schedule(&mut self, at: u64, ev: Ev) {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.slab.insert(slot, ev);
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, slot)));
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        match &self.cfg.partition {
            Some(p) if self.now >= p.from_ms && self.now < p.to_ms => {
                let edge = (p.fraction * self.cfg.pods as f64).ceil() as usize;
                (a < edge) != (b < edge)
            }
            _ => false,
        }
    }

    fn disturbed(&self, at: u64) -> bool {
        let part = self
            .cfg
            .partition
            .as_ref()
            .is_some_and(|p| at + 1 >= p.from_ms && at < p.to_ms);
        let crash = self
            .cfg
            .crash
            .as_ref()
            .is_some_and(|c| at + 1 >= c.at_ms && at < c.restart_ms);
        part || crash
    }

    fn route(&mut self, from: usize, outs: Vec<Output>) {
        let from_pod = pod_name(from);
        for o in outs {
            let (to, payload) = match o {
                Output::Gossip { to, packet } => {
                    self.report.gossip_packets += 1;
                    self.report.gossip_bytes += packet.len() as u64;
                    let Some(&j) = self.by_gossip.get(&to.gossip) else {
                        continue;
                    };
                    (j, Payload::Gossip(packet))
                }
                Output::Send { to, msg } => {
                    self.report.messages += 1;
                    if self.cfg.measure_bytes {
                        self.report.message_bytes +=
                            serde_json::to_vec(&msg).map_or(0, |v| v.len() as u64);
                    }
                    let Some(&j) = self.by_pod.get(&to.pod) else {
                        continue;
                    };
                    (j, Payload::Msg(from_pod.clone(), msg))
                }
            };
            if self.cut(from, to) || self.rng.random_bool(self.cfg.loss) {
                self.report.dropped += 1;
                continue;
            }
            let mut copies = Vec::with_capacity(2);
            if self.rng.random_bool(self.cfg.duplicate) {
                copies.push(payload_clone(&payload));
            }
            copies.push(payload);
            for payload in copies {
                let (lo, hi) = self.cfg.delay_ms;
                let d = self.rng.random_range(lo..=hi.max(lo));
                self.schedule(self.now + d, Ev::Deliver { to, payload });
            }
        }
    }

    fn after(&mut self, i: usize, outs: Vec<Output>) {
        let fresh = self.nodes[i].take_fresh();
        let n = self.cfg.pods;
        for k in fresh {
            if let Some(w) = self.written.get_mut(&k) {
                w.holders += 1;
                if w.holders == n && !w.done {
                    w.done = true;
                    if w.clean {
                        self.report.clean_write_latency_ms.push(self.now - w.at_ms);
                    }
                }
            }
        }
        self.route(i, outs);
        // The node speaks in its own (skewed) clock; the queue in simulated time.
        let offset = (EPOCH_MS as i64 + self.skew[i]) as u64;
        let d = self.nodes[i]
            .next_deadline()
            .saturating_sub(offset)
            .max(self.now + 1);
        if d < self.wake_at[i] {
            self.wake_at[i] = d;
            self.schedule(d, Ev::Wake(i));
        }
    }

    fn write(&mut self, keyspace: &[AgentState]) {
        let live: Vec<usize> = (0..self.cfg.pods).filter(|i| self.alive[*i]).collect();
        let i = live[self.rng.random_range(0..live.len())];
        let mut agent = keyspace[self.rng.random_range(0..keyspace.len())].clone();
        let roll: f64 = self.rng.random();
        let kind = match roll {
            r if r < 0.5 => EventKind::Published,
            r if r < 0.65 => EventKind::Updated,
            r if r < 0.8 => EventKind::TrustChanged,
            r if r < 0.9 => EventKind::Deprecated,
            _ => EventKind::Deleted,
        };
        let d: [u8; 32] = self.rng.random();
        agent.digest = if kind == EventKind::Deleted {
            None
        } else {
            Some(
                format!("sha256:{}", hex::encode(d))
                    .parse()
                    .unwrap_or_else(|_| unreachable!()),
            )
        };
        agent.trust_tier = TrustTier::ALL[self.rng.random_range(0..4)];
        agent.deprecated = kind == EventKind::Deprecated;
        let mut outs = Vec::new();
        let now = self.clock(i);
        let ev = self.nodes[i].write(kind, agent, now, &mut outs);
        let clean = !self.disturbed(self.now);
        self.written.insert(
            (ev.source.clone(), ev.seq),
            Written {
                at_ms: self.now,
                holders: 0,
                clean,
                done: false,
            },
        );
        self.acked.push(ev);
        self.report.acknowledged += 1;
        self.after(i, outs);
    }

    /// Run to convergence (or the deadline) and report.
    pub fn run(mut self) -> SimReport {
        let n = self.cfg.pods;
        // Everyone joins through pod 0, staggered over the first second.
        for i in 0..n {
            let at = if i == 0 {
                0
            } else {
                self.rng.random_range(0..1000)
            };
            self.schedule(at, Ev::Wake(i));
        }
        let keyspace: Vec<AgentState> = (0..self.cfg.keys.max(1))
            .map(|k| AgentState {
                name: RepoName::parse(&format!("ns{}/agent-{}", k % 3, k))
                    .unwrap_or_else(|_| unreachable!()),
                version: format!("1.{}.0", k % 5),
                digest: None,
                artifact_type: None,
                capabilities: vec![format!("cap-{}", k % 7)],
                trust_tier: TrustTier::None,
                deprecated: false,
            })
            .collect();
        let mut write_times: Vec<u64> = (0..self.cfg.writes)
            .map(|_| {
                self.cfg.write_start_ms + self.rng.random_range(0..self.cfg.write_window_ms.max(1))
            })
            .collect();
        write_times.sort_unstable();
        let mut last = write_times.last().copied().unwrap_or(0);
        if let Some(p) = &self.cfg.partition {
            last = last.max(p.to_ms);
        }
        if let Some(c) = &self.cfg.crash {
            last = last.max(c.restart_ms);
        }
        self.report.last_disturbance_ms = last;
        let mut joined = vec![false; n];
        let mut wi = 0;
        let mut next_check = last;
        let crash = self.cfg.crash.clone();
        let mut crashed = false;
        let mut restarted = false;
        loop {
            let next_ev = self
                .queue
                .peek()
                .map(|Reverse((t, _, _))| *t)
                .unwrap_or(u64::MAX);
            let next_write = write_times.get(wi).copied().unwrap_or(u64::MAX);
            let next_crash = match &crash {
                Some(c) if !crashed => c.at_ms,
                Some(c) if !restarted => c.restart_ms,
                _ => u64::MAX,
            };
            let t = next_ev.min(next_write).min(next_check).min(next_crash);
            if t > self.cfg.deadline_ms {
                break;
            }
            self.now = t;
            if t == next_crash {
                let c = crash.clone().unwrap_or_else(|| unreachable!());
                if !crashed {
                    crashed = true;
                    self.alive[c.pod] = false;
                } else {
                    restarted = true;
                    self.alive[c.pod] = true;
                    let now = self.clock(c.pod);
                    self.nodes[c.pod].restart(now);
                    let seed = if c.pod == 0 { "sim-1" } else { "sim-0" };
                    let mut outs = Vec::new();
                    self.nodes[c.pod].join(seed, now, &mut outs);
                    self.wake_at[c.pod] = u64::MAX;
                    self.after(c.pod, outs);
                }
                continue;
            }
            if t == next_write {
                wi += 1;
                self.write(&keyspace);
                continue;
            }
            if t == next_check {
                next_check = t + 50;
                if self.converged() {
                    self.report.converged_at_ms = Some(t);
                    break;
                }
                continue;
            }
            let Some(Reverse((_, _, slot))) = self.queue.pop() else {
                break;
            };
            let Some(ev) = self.slab.remove(&slot) else {
                continue;
            };
            match ev {
                Ev::Wake(i) => {
                    if self.wake_at[i] == t {
                        self.wake_at[i] = u64::MAX;
                    }
                    if !self.alive[i] {
                        continue;
                    }
                    let now = self.clock(i);
                    let mut outs = Vec::new();
                    if !joined[i] {
                        joined[i] = true;
                        if i != 0 {
                            self.nodes[i].join("sim-0", now, &mut outs);
                        }
                    }
                    self.nodes[i].tick(now, &mut outs);
                    self.after(i, outs);
                }
                Ev::Deliver { to, payload } => {
                    if !self.alive[to] || !joined[to] {
                        self.report.dropped += 1;
                        continue;
                    }
                    let now = self.clock(to);
                    let mut outs = Vec::new();
                    match payload {
                        Payload::Gossip(p) => self.nodes[to].handle_gossip(&p, now, &mut outs),
                        Payload::Msg(from, m) => {
                            self.nodes[to].handle_message(&from, m, now, &mut outs)
                        }
                    }
                    self.after(to, outs);
                }
            }
        }
        self.finish()
    }

    fn converged(&self) -> bool {
        if self.alive.iter().any(|a| !a) {
            return false;
        }
        let fp = self.nodes[0].replica().fingerprint();
        self.written.values().all(|w| w.done)
            && self.nodes.iter().all(|n| n.replica().fingerprint() == fp)
    }

    fn finish(mut self) -> SimReport {
        self.report.refused_events = self.nodes.iter().map(|n| n.stats().events_refused).sum();
        if self.report.converged_at_ms.is_none() {
            let missing: usize = self.written.values().filter(|w| !w.done).count();
            self.report
                .failures
                .push(format!("{missing} writes not on every pod at the deadline"));
            return self.report;
        }
        // None lost: every acknowledged event is held by every pod.
        for (i, n) in self.nodes.iter().enumerate() {
            for ev in &self.acked {
                if !n.replica().holds(&ev.source, ev.seq) {
                    self.report
                        .failures
                        .push(format!("pod-{i} lacks {}", ev.id));
                }
            }
        }
        // LWW as a reference fold decides it: the greatest (hlc, origin) per version.
        let mut expected: BTreeMap<String, (crate::hlc::Hlc, PodId, String)> = BTreeMap::new();
        for ev in &self.acked {
            let cand = (ev.hlc, ev.source.clone(), ev.id.clone());
            match expected.get(&ev.subject) {
                Some(cur) if (cur.0, &cur.1) >= (cand.0, &cand.1) => {}
                _ => {
                    expected.insert(ev.subject.clone(), cand);
                }
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let got: BTreeMap<String, String> = n
                .replica()
                .entries()
                .map(|(k, e)| (k.clone(), e.event.id.clone()))
                .collect();
            let want: BTreeMap<String, String> = expected
                .iter()
                .map(|(k, v)| (k.clone(), v.2.clone()))
                .collect();
            if got != want {
                self.report
                    .failures
                    .push(format!("pod-{i}: LWW view differs from the reference fold"));
            }
        }
        self.report
    }
}

fn payload_clone(p: &Payload) -> Payload {
    match p {
        Payload::Gossip(b) => Payload::Gossip(b.clone()),
        Payload::Msg(f, m) => Payload::Msg(f.clone(), m.clone()),
    }
}
