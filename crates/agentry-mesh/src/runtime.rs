//! The mesh on real sockets (feature `runtime`): one [`Node`] driven by a tokio task.
//!
//! One address (`--mesh-listen`, default port 7946) carries both transports: membership
//! packets over UDP, and over TCP everything else — replication messages, and membership
//! packets too when UDP is blocked (`gossip_over_tcp`; enterprise networks often block UDP,
//! whitepaper §4.4). A TCP frame is `u32 length | sealed body`, sealed with the cluster key
//! like a gossip packet and bounded (`MAX_FRAME`); a connection carries one frame and is
//! given `IO_TIMEOUT` to deliver it. Every event taken in is appended to the durable log
//! before the next input is handled.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};

use crate::event::{AgentState, Event, EventKind, PodId};
use crate::log::{EventLog, LogError};
use crate::membership::{ClusterKey, MAX_PACKET, PodIdentity};
use crate::node::{Message, Node, NodeConfig, Output};
use crate::replica::Policy;

/// Largest sealed TCP frame body (an anti-entropy delta of 512 events fits many times).
pub const MAX_FRAME: usize = 16 * 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(3);
const KIND_GOSSIP: u8 = 0;
const KIND_MESSAGE: u8 = 1;

pub struct MeshConfig {
    pub pod: PodId,
    pub listen: SocketAddr,
    /// The gossip address peers are told to use (`host:port`); the bound address when `None`.
    /// Needed when `listen` is a wildcard (`0.0.0.0:7946` in a container).
    pub advertise: Option<String>,
    /// This pod's HTTP API base, advertised to peers.
    pub api: String,
    /// Gossip addresses of seeds (`host:port`).
    pub seeds: Vec<String>,
    pub cluster: ClusterKey,
    pub key: SigningKey,
    pub node: NodeConfig,
    pub policy: Policy,
    pub gossip_over_tcp: bool,
    /// `<data>/mesh.redb`; `None` keeps the log in memory only (tests).
    pub log_path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "the mesh listens on {addr}, which peers cannot dial: set the address they should use \
         (--mesh-advertise HOST:PORT)"
    )]
    Advertise { addr: SocketAddr },
    #[error(transparent)]
    Log(#[from] LogError),
}

/// One peer as `agentry mesh peers` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerStatus {
    pub pod: String,
    pub gossip: String,
    pub api: String,
    pub state: String,
    pub incarnation: u16,
    pub bump: u64,
    /// Milliseconds since this pod last heard from it.
    pub last_contact_ms_ago: Option<u64>,
    /// Events this pod holds that the peer did not, by its last summary.
    pub lag_events: u64,
}

/// One record as the mesh holds it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MeshRecord {
    pub origin: String,
    pub origin_api: Option<String>,
    pub event: String,
    pub agent: AgentState,
}

enum Cmd {
    Write(EventKind, AgentState, oneshot::Sender<Arc<Event>>),
    Records(oneshot::Sender<Vec<MeshRecord>>),
    Peers(oneshot::Sender<Vec<PeerStatus>>),
    Shutdown {
        leave: bool,
        done: oneshot::Sender<()>,
    },
}

enum Input {
    Gossip(Vec<u8>),
    Frame(Vec<u8>),
}

#[derive(Clone)]
pub struct MeshHandle {
    cmd: mpsc::Sender<Cmd>,
    pub local_addr: SocketAddr,
    pub pod: PodId,
    /// Counts batches of events taken into the log (local writes and peers' events alike);
    /// wait on it to learn that [`MeshHandle::records`] may have changed.
    pub changes: watch::Receiver<u64>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    msg: Message,
}

/// Bind, restore the log, join the seeds and run.
pub async fn start(cfg: MeshConfig) -> Result<MeshHandle, StartError> {
    let tcp = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: cfg.listen,
            source,
        })?;
    let local = tcp.local_addr().map_err(|source| StartError::Listen {
        addr: cfg.listen,
        source,
    })?;
    let udp = UdpSocket::bind(local)
        .await
        .map_err(|source| StartError::Listen {
            addr: local,
            source,
        })?;
    let log = match &cfg.log_path {
        Some(p) => Some(EventLog::open(p)?),
        None => None,
    };
    let now = now_ms();
    let bump = match &log {
        Some(l) => l.next_bump(now)?,
        None => now,
    };
    if cfg.advertise.is_none() && local.ip().is_unspecified() {
        return Err(StartError::Advertise { addr: local });
    }
    let identity = PodIdentity {
        pod: cfg.pod.clone(),
        gossip: cfg.advertise.clone().unwrap_or_else(|| local.to_string()),
        api: cfg.api.clone(),
        key: cfg.key.verifying_key().to_bytes(),
        bump,
    };
    let mut node = Node::new(
        identity,
        cfg.key.clone(),
        cfg.cluster.clone(),
        cfg.node.clone(),
        cfg.policy.clone(),
        bump,
        now,
    );
    if let Some(l) = &log {
        let n = l.restore(node.replica_mut())?;
        node.take_fresh();
        tracing::info!(events = n, "mesh log restored");
    }
    let (cmd_tx, cmd_rx) = mpsc::channel(256);
    let (in_tx, in_rx) = mpsc::channel(4096);
    let udp = Arc::new(udp);
    let mut tasks = Vec::new();
    // UDP receiver.
    {
        let udp = udp.clone();
        let tx = in_tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_PACKET + 256];
            loop {
                let Ok((n, _)) = udp.recv_from(&mut buf).await else {
                    break;
                };
                if tx.send(Input::Gossip(buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
        }));
    }
    // TCP acceptor: one bounded frame per connection.
    {
        let tx = in_tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok((mut s, _)) = tcp.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(frame)) =
                        tokio::time::timeout(IO_TIMEOUT, read_frame(&mut s)).await
                    {
                        let _ = tx.send(frame).await;
                    }
                });
            }
        }));
    }
    let pod = cfg.pod.clone();
    let sockets = Sockets(tasks.iter().map(|t| t.abort_handle()).collect());
    let (changes_tx, changes) = watch::channel(0u64);
    let io = Io {
        log,
        udp,
        changes: changes_tx,
    };
    tokio::spawn(run(node, cfg, io, cmd_rx, in_rx, sockets));
    Ok(MeshHandle {
        cmd: cmd_tx,
        local_addr: local,
        pod,
        changes,
    })
}

async fn read_frame(s: &mut TcpStream) -> std::io::Result<Input> {
    let kind = s.read_u8().await?;
    let len = s.read_u32().await? as usize;
    if len > MAX_FRAME + 512 {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await?;
    Ok(if kind == KIND_GOSSIP {
        Input::Gossip(body)
    } else {
        Input::Frame(body)
    })
}

async fn send_frame(addr: String, kind: u8, body: Vec<u8>) {
    let r = tokio::time::timeout(IO_TIMEOUT, async {
        let mut s = TcpStream::connect(&addr).await?;
        s.set_nodelay(true)?;
        s.write_u8(kind).await?;
        s.write_u32(body.len() as u32).await?;
        s.write_all(&body).await?;
        s.flush().await
    })
    .await;
    if !matches!(r, Ok(Ok(()))) {
        tracing::debug!(%addr, "mesh frame not delivered");
    }
}

/// What the node's task writes to: the durable log, the UDP socket, the change counter.
struct Io {
    log: Option<EventLog>,
    udp: Arc<UdpSocket>,
    changes: watch::Sender<u64>,
}

async fn run(
    mut node: Node,
    cfg: MeshConfig,
    io: Io,
    mut cmds: mpsc::Receiver<Cmd>,
    mut inputs: mpsc::Receiver<Input>,
    _sockets: Sockets,
) {
    let mut out = Vec::new();
    for seed in &cfg.seeds {
        node.join(seed, now_ms(), &mut out);
    }
    flush(&mut node, &cfg, &io, &mut out).await;
    loop {
        let deadline = node.next_deadline();
        let wait = Duration::from_millis(deadline.saturating_sub(now_ms()).min(1000));
        tokio::select! {
            Some(input) = inputs.recv() => {
                let now = now_ms();
                match input {
                    Input::Gossip(p) => node.handle_gossip(&p, now, &mut out),
                    Input::Frame(f) => {
                        if let Ok((from, body)) = cfg.cluster.open_limited(&f, MAX_FRAME)
                            && let Ok(env) = serde_json::from_slice::<Envelope>(body)
                        {
                            node.handle_message(&from, env.msg, now, &mut out);
                        }
                    }
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Write(kind, agent, reply)) => {
                    let ev = node.write(kind, agent, now_ms(), &mut out);
                    // Durable before acknowledged.
                    persist(&mut node, &io);
                    let _ = reply.send(ev);
                }
                Some(Cmd::Records(reply)) => {
                    let apis: std::collections::BTreeMap<_, _> = node.peers().map(|p| (p.pod.clone(), p.api.clone())).collect();
                    // The winners the policy admits, and tombstones (so a follower that
                    // restarted still learns of deletions).
                    let recs = node.replica().entries().map(|(_, e)| e).filter(|e| e.deleted() || cfg.policy.admits(e.state())).map(|e| MeshRecord {
                        origin: e.origin().to_string(),
                        origin_api: if e.origin() == &cfg.pod { Some(cfg.api.clone()) } else { apis.get(e.origin()).cloned() },
                        event: e.event.id.clone(),
                        agent: e.state().clone(),
                    }).collect();
                    let _ = reply.send(recs);
                }
                Some(Cmd::Peers(reply)) => {
                    let now = now_ms();
                    let peers = node.membership().view().into_iter().map(|m| PeerStatus {
                        pod: m.id.pod.to_string(),
                        gossip: m.id.gossip.clone(),
                        api: m.id.api.clone(),
                        state: format!("{:?}", m.state).to_lowercase(),
                        incarnation: m.incarnation,
                        bump: m.id.bump,
                        last_contact_ms_ago: m.last_contact_ms.map(|t| now.saturating_sub(t)),
                        lag_events: node.replica().lag_of(&m.id.pod),
                    }).collect();
                    let _ = reply.send(peers);
                }
                Some(Cmd::Shutdown { leave, done }) => {
                    if leave {
                        node.leave(now_ms(), &mut out);
                        flush(&mut node, &cfg, &io, &mut out).await;
                    }
                    let _ = done.send(());
                    return;
                }
                None => return,
            },
            _ = tokio::time::sleep(wait) => {
                node.tick(now_ms(), &mut out);
            }
        }
        flush(&mut node, &cfg, &io, &mut out).await;
    }
}

/// The socket tasks, stopped (and their sockets closed) when the node's task ends.
struct Sockets(Vec<tokio::task::AbortHandle>);

impl Drop for Sockets {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

fn persist(node: &mut Node, io: &Io) {
    let fresh = node.take_fresh();
    let collected = node.replica_mut().take_collected();
    if !fresh.is_empty() || !collected.is_empty() {
        io.changes.send_modify(|n| *n += 1);
    }
    let Some(log) = &io.log else { return };
    if !collected.is_empty()
        && let Err(e) = log.remove(&collected)
    {
        tracing::error!(error = %e, "removing collected events from the mesh log failed");
    }
    if fresh.is_empty() {
        return;
    }
    let events: Vec<Event> = fresh
        .iter()
        .filter_map(|(o, s)| node.replica().event(o, *s).map(|e| (**e).clone()))
        .collect();
    if let Err(e) = log.append(events.iter(), node.replica()) {
        tracing::error!(error = %e, "appending to the mesh log failed");
    }
}

async fn flush(node: &mut Node, cfg: &MeshConfig, io: &Io, out: &mut Vec<Output>) {
    persist(node, io);
    for o in out.drain(..) {
        match o {
            Output::Gossip { to, packet } => {
                if cfg.gossip_over_tcp {
                    tokio::spawn(send_frame(to.gossip.clone(), KIND_GOSSIP, packet));
                } else {
                    let _ = io.udp.send_to(&packet, &to.gossip).await;
                }
            }
            Output::Send { to, msg } => {
                let Ok(body) = serde_json::to_vec(&Envelope { msg }) else {
                    continue;
                };
                let sealed = cfg.cluster.seal(&cfg.pod, &body);
                tokio::spawn(send_frame(to.gossip.clone(), KIND_MESSAGE, sealed));
            }
        }
    }
}

impl MeshHandle {
    /// A local mutation; returns once the event is in the durable log.
    pub async fn write(&self, kind: EventKind, agent: AgentState) -> Option<Arc<Event>> {
        let (tx, rx) = oneshot::channel();
        self.cmd.send(Cmd::Write(kind, agent, tx)).await.ok()?;
        rx.await.ok()
    }

    /// The records this pod shows (LWW winners its policy admits) and the tombstones
    /// (`agent.digest` is `None`) of deleted agent versions not yet collected.
    pub async fn records(&self) -> Vec<MeshRecord> {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Cmd::Records(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    pub async fn peers(&self) -> Vec<PeerStatus> {
        let (tx, rx) = oneshot::channel();
        if self.cmd.send(Cmd::Peers(tx)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Stop; with `leave`, tell the peers first (graceful leave).
    pub async fn shutdown(&self, leave: bool) {
        let (tx, rx) = oneshot::channel();
        if self
            .cmd
            .send(Cmd::Shutdown { leave, done: tx })
            .await
            .is_ok()
        {
            let _ = rx.await;
        }
    }
}
