//! Convergence against the whitepaper's Formula 3 (T ≤ t_gossip + log2(n)·d_network),
//! gossip bandwidth, and the replica's replication and repair rates.
//! `cargo bench -p agentry-mesh --bench converge` (results in BENCHMARKS.md).

use std::time::Instant;

use agentry_mesh::event::{AgentState, EventKind, PodId};
use agentry_mesh::replica::{Policy, Replica, ReplicaConfig};
use agentry_mesh::sim::{Sim, SimConfig};
use agentry_types::{RepoName, TrustTier};
use ed25519_dalek::SigningKey;

fn formula3(n: usize, t_gossip_s: f64, d_s: f64) -> f64 {
    t_gossip_s + (n as f64).log2() * d_s
}

fn convergence(n: usize, ae_ms: u64, writes: usize) {
    let mut c = SimConfig::new(n, 42);
    c.node.anti_entropy_ms = ae_ms;
    c.delay_ms = (50, 150); // d_network = 100 ms on average
    c.writes = writes;
    c.keys = writes;
    c.write_start_ms = 10_000;
    c.write_window_ms = 10_000;
    c.deadline_ms = 90_000;
    let wall = Instant::now();
    let r = Sim::new(c).run();
    let bound = formula3(n, ae_ms as f64 / 1000.0, 0.1);
    let sim_s = (r.converged_at_ms.unwrap_or(0) as f64) / 1000.0;
    println!(
        "converge n={n:5} t_gossip={:.0}s: write→all pods p50 {:>5} ms  p99 {:>5} ms  max {:>5} ms | Formula 3 bound {:.2} s | gossip {:.0} B/s per pod | refused {} | verified={} | {:.1} s wall",
        ae_ms as f64 / 1000.0,
        r.latency_percentile(0.5).unwrap_or(0),
        r.latency_percentile(0.99).unwrap_or(0),
        r.latency_percentile(1.0).unwrap_or(0),
        bound,
        r.gossip_bytes as f64 / n as f64 / sim_s.max(1.0),
        r.refused_events,
        r.verify().is_ok(),
        wall.elapsed().as_secs_f64()
    );
}

fn agent(i: usize) -> AgentState {
    AgentState {
        name: RepoName::parse(&format!("ns{}/agent-{i}", i % 10))
            .unwrap_or_else(|_| unreachable!()),
        version: "1.0.0".into(),
        digest: Some(
            format!("sha256:{:064x}", i)
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        ),
        artifact_type: None,
        capabilities: vec!["finance".into()],
        trust_tier: TrustTier::Basic,
        deprecated: false,
    }
}

fn replication(n_events: usize) {
    let pa = PodId::parse("a").unwrap_or_else(|_| unreachable!());
    let pb = PodId::parse("b").unwrap_or_else(|_| unreachable!());
    let cfg = ReplicaConfig {
        batch: 512,
        ..ReplicaConfig::default()
    };
    let mut a = Replica::new(
        pa.clone(),
        SigningKey::from_bytes(&[1; 32]),
        cfg.clone(),
        Policy::default(),
    );
    let mut b = Replica::new(pb, SigningKey::from_bytes(&[2; 32]), cfg, Policy::default());
    b.learn_key(pa, a.verifying_key());
    let t = Instant::now();
    for i in 0..n_events {
        a.write(EventKind::Published, agent(i), 1_770_000_000_000 + i as u64);
    }
    let write_s = t.elapsed().as_secs_f64();
    // b missed all of them: repair by anti-entropy (summary → bounded deltas), through JSON
    // as on the wire.
    let t = Instant::now();
    let mut rounds = 0;
    let mut bytes = 0usize;
    loop {
        let d = a.delta_for(&b.summary());
        if d.events.is_empty() {
            break;
        }
        let wire = serde_json::to_vec(&d).unwrap_or_default();
        bytes += wire.len();
        let d = serde_json::from_slice(&wire).unwrap_or_else(|_| unreachable!());
        b.apply_delta(d, 1_770_000_100_000);
        rounds += 1;
    }
    let repair_s = t.elapsed().as_secs_f64();
    assert_eq!(a.fingerprint(), b.fingerprint());
    let summary_bytes = serde_json::to_vec(&b.summary()).unwrap_or_default().len();
    println!(
        "replicate {n_events} events: sign+log {:.0} events/s; repair {:.0} events/s ({rounds} deltas, {:.1} MB JSON, {:.2} s); summary after: {summary_bytes} B",
        n_events as f64 / write_s,
        n_events as f64 / repair_s,
        bytes as f64 / 1e6,
        repair_s
    );
}

fn main() {
    let big = std::env::var("MESH_BENCH_QUICK").is_err();
    if std::env::var("MESH_BENCH_SKIP_REPLICATION").is_err() {
        replication(100_000);
    }
    for &(n, writes) in &[(3, 50), (10, 50), (64, 50), (100, 30)] {
        convergence(n, 5_000, writes);
        convergence(n, 1_000, writes);
    }
    if big {
        convergence(1024, 5_000, 20);
        convergence(1024, 1_000, 20);
    }
}
