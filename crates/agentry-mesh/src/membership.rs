//! Membership: foca's SWIM with Lifeguard-style suspicion, wrapped so that every packet is
//! authenticated with the cluster key and bounded in size, and so that time is an input.
//!
//! Identity. foca's `Addr` is the pod's gossip address (`host:port`), so a pod restarted at its
//! address replaces its earlier self instead of lingering beside it as a phantom member: its
//! identity carries a `bump` (the start time in milliseconds, or one more than the last), and
//! the higher bump wins the address conflict. Seeds are known only by address: the first
//! announce goes to a placeholder identity with that address, which foca accepts. The identity also carries the pod's Ed25519 public key (what
//! its events are verified with, pinned on first sight) and its gossip and API addresses.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use foca::{
    AccumulatingRuntime, Foca, Member, NoCustomBroadcast, OwnedNotification, PostcardCodec, State,
    Timer,
};
use hmac::{Hmac, Mac};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::event::PodId;

/// Largest authenticated gossip packet (foca's payload plus the envelope).
pub const MAX_PACKET: usize = 1400;
const TAG: usize = 32;
const ENVELOPE_VERSION: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodIdentity {
    pub pod: PodId,
    /// Where its membership packets go (`host:port`).
    pub gossip: String,
    /// Its HTTP API base (`http://host:port`), for replication and pull-through.
    pub api: String,
    /// Its Ed25519 public key.
    pub key: [u8; 32],
    pub bump: u64,
}

impl foca::Identity for PodIdentity {
    type Addr = String;
    fn renew(&self) -> Option<Self> {
        Some(PodIdentity {
            bump: self.bump.wrapping_add(1).max(1),
            ..self.clone()
        })
    }
    fn addr(&self) -> String {
        self.gossip.clone()
    }
    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.bump > adversary.bump
    }
}

/// The shared secret every pod of one federation holds (`--mesh-key`).
#[derive(Clone)]
pub struct ClusterKey([u8; 32]);

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("gossip packet of {0} bytes (at most {MAX_PACKET})")]
    TooLarge(usize),
    #[error("gossip packet malformed: {0}")]
    Malformed(&'static str),
    #[error("gossip packet not authenticated by the cluster key")]
    BadTag,
    #[error("gossip packet refused by the membership protocol: {0}")]
    Protocol(String),
}

type HmacSha256 = Hmac<Sha256>;

impl ClusterKey {
    /// Derive the key from a secret of any length (at least 16 bytes).
    pub fn from_secret(secret: &[u8]) -> Result<ClusterKey, &'static str> {
        if secret.len() < 16 {
            return Err("the mesh key must be at least 16 bytes");
        }
        use sha2::Digest as _;
        let mut h = Sha256::new();
        h.update(b"agentry-mesh cluster key v1\0");
        h.update(secret);
        Ok(ClusterKey(h.finalize().into()))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length.
        HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    /// `[version][len][sender pod id][payload][HMAC-SHA256 of all before]`.
    pub fn seal(&self, sender: &PodId, payload: &[u8]) -> Vec<u8> {
        let id = sender.as_str().as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + payload.len() + TAG);
        out.push(ENVELOPE_VERSION);
        out.push(id.len() as u8);
        out.extend_from_slice(id);
        out.extend_from_slice(payload);
        let mut m = self.mac();
        m.update(&out);
        out.extend_from_slice(&m.finalize().into_bytes());
        out
    }

    /// Check a gossip packet; returns its sender and payload.
    pub fn open<'a>(&self, packet: &'a [u8]) -> Result<(PodId, &'a [u8]), PacketError> {
        self.open_limited(packet, MAX_PACKET)
    }

    /// Check a sealed frame whose payload may be up to `limit` bytes.
    pub fn open_limited<'a>(
        &self,
        packet: &'a [u8],
        limit: usize,
    ) -> Result<(PodId, &'a [u8]), PacketError> {
        if packet.len() > limit + 2 + 64 + TAG {
            return Err(PacketError::TooLarge(packet.len()));
        }
        if packet.len() < 2 + 1 + TAG {
            return Err(PacketError::Malformed("too short"));
        }
        if packet[0] != ENVELOPE_VERSION {
            return Err(PacketError::Malformed("unknown envelope version"));
        }
        let n = usize::from(packet[1]);
        if packet.len() < 2 + n + TAG {
            return Err(PacketError::Malformed("truncated"));
        }
        let (body, tag) = packet.split_at(packet.len() - TAG);
        let mut m = self.mac();
        m.update(body);
        m.verify_slice(tag).map_err(|_| PacketError::BadTag)?;
        let id =
            std::str::from_utf8(&body[2..2 + n]).map_err(|_| PacketError::Malformed("sender"))?;
        let pod = PodId::parse(id).map_err(|_| PacketError::Malformed("sender"))?;
        Ok((pod, &body[2 + n..]))
    }
}

/// One member as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    pub id: PodIdentity,
    pub state: State,
    pub incarnation: u16,
    /// When this pod last heard from it (ms of the pod's clock), if ever.
    pub last_contact_ms: Option<u64>,
}

/// What membership wants done.
#[derive(Debug)]
pub enum MemberOutput {
    Send { to: PodIdentity, packet: Vec<u8> },
    Up(PodIdentity),
    Down(PodIdentity),
}

pub struct Membership {
    foca: Foca<PodIdentity, PostcardCodec, SmallRng, NoCustomBroadcast>,
    rt: AccumulatingRuntime<PodIdentity>,
    key: ClusterKey,
    timers: Vec<(u64, Timer<PodIdentity>)>,
    contact: BTreeMap<PodId, u64>,
    rejected: u64,
}

impl Membership {
    pub fn new(me: PodIdentity, config: foca::Config, key: ClusterKey, seed: u64) -> Membership {
        let config = foca::Config {
            max_packet_size: std::num::NonZeroUsize::new(MAX_PACKET)
                .unwrap_or(config.max_packet_size),
            ..config
        };
        Membership {
            foca: Foca::new(me, config, SmallRng::seed_from_u64(seed), PostcardCodec),
            rt: AccumulatingRuntime::new(),
            key,
            timers: Vec::new(),
            contact: BTreeMap::new(),
            rejected: 0,
        }
    }

    pub fn identity(&self) -> &PodIdentity {
        self.foca.identity()
    }

    /// Packets refused (bad tag, too large, malformed).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Ask a seed (known only by its address) to let us in.
    pub fn join(&mut self, seed_gossip_addr: &str, now_ms: u64, out: &mut Vec<MemberOutput>) {
        let placeholder = PodIdentity {
            pod: PodId::parse("seed").unwrap_or_else(|_| unreachable!()),
            gossip: seed_gossip_addr.to_owned(),
            api: String::new(),
            key: [0; 32],
            bump: 0,
        };
        let _ = self.foca.announce(placeholder, &mut self.rt);
        self.drain(now_ms, out);
    }

    /// Leave gracefully (peers mark us down at once instead of suspecting us).
    pub fn leave(&mut self, now_ms: u64, out: &mut Vec<MemberOutput>) {
        let _ = self.foca.leave_cluster(&mut self.rt);
        self.drain(now_ms, out);
    }

    /// A packet from the network.
    pub fn handle_packet(
        &mut self,
        packet: &[u8],
        now_ms: u64,
        out: &mut Vec<MemberOutput>,
    ) -> Result<PodId, PacketError> {
        let (sender, payload) = match self.key.open(packet) {
            Ok(x) => x,
            Err(e) => {
                self.rejected += 1;
                return Err(e);
            }
        };
        if payload.len() > MAX_PACKET {
            self.rejected += 1;
            return Err(PacketError::TooLarge(payload.len()));
        }
        let r = self.foca.handle_data(payload, &mut self.rt);
        self.drain(now_ms, out);
        match r {
            Ok(()) => {
                self.contact.insert(sender.clone(), now_ms);
                Ok(sender)
            }
            Err(e) => {
                self.rejected += 1;
                Err(PacketError::Protocol(e.to_string()))
            }
        }
    }

    /// Run the timers due at `now_ms`.
    pub fn tick(&mut self, now_ms: u64, out: &mut Vec<MemberOutput>) {
        while let Some(pos) = self.timers.iter().position(|(due, _)| *due <= now_ms) {
            let (_, t) = self.timers.swap_remove(pos);
            let _ = self.foca.handle_timer(t, &mut self.rt);
            self.drain(now_ms, out);
        }
    }

    /// When the next timer is due.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.iter().map(|(d, _)| *d).min()
    }

    fn drain(&mut self, now_ms: u64, out: &mut Vec<MemberOutput>) {
        while let Some((after, t)) = self.rt.to_schedule() {
            self.timers
                .push((now_ms.saturating_add(duration_ms(after)), t));
        }
        while let Some((to, data)) = self.rt.to_send() {
            let packet = self
                .key
                .seal(&self.foca.identity().pod, &Bytes::copy_from_slice(&data));
            out.push(MemberOutput::Send { to, packet });
        }
        while let Some(n) = self.rt.to_notify() {
            match n {
                OwnedNotification::MemberUp(id) => out.push(MemberOutput::Up(id)),
                OwnedNotification::MemberDown(id) => out.push(MemberOutput::Down(id)),
                OwnedNotification::Rename(_, id) => out.push(MemberOutput::Up(id)),
                _ => {}
            }
        }
    }

    /// Alive and suspect members (those worth sending to).
    pub fn active(&self) -> impl Iterator<Item = &PodIdentity> {
        self.foca
            .iter_members()
            .map(|m: &Member<PodIdentity>| m.id())
    }

    pub fn active_count(&self) -> usize {
        self.foca.num_members()
    }

    /// Every member foca still tracks, down ones included.
    pub fn view(&self) -> Vec<MemberView> {
        self.foca
            .iter_membership_state()
            .map(|m| MemberView {
                id: m.id().clone(),
                state: m.state(),
                incarnation: m.incarnation(),
                last_contact_ms: self.contact.get(&m.id().pod).copied(),
            })
            .collect()
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trip_and_refusals() {
        let k = ClusterKey::from_secret(b"0123456789abcdef").unwrap();
        let other = ClusterKey::from_secret(b"fedcba9876543210").unwrap();
        let p = PodId::parse("pod-1").unwrap();
        let sealed = k.seal(&p, b"hello");
        let (who, body) = k.open(&sealed).unwrap();
        assert_eq!((who, body), (p.clone(), &b"hello"[..]));
        assert_eq!(other.open(&sealed), Err(PacketError::BadTag));
        let mut flipped = sealed.clone();
        flipped[5] ^= 1;
        assert_eq!(k.open(&flipped), Err(PacketError::BadTag));
        assert!(matches!(
            k.open(&vec![1u8; 10_000]),
            Err(PacketError::TooLarge(_))
        ));
        assert!(matches!(
            k.open(&[1, 200, 0, 0]),
            Err(PacketError::Malformed(_))
        ));
        assert!(matches!(k.open(&[]), Err(PacketError::Malformed(_))));
        assert!(ClusterKey::from_secret(b"short").is_err());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod join_tests {
    use super::*;

    fn ident(n: usize) -> PodIdentity {
        PodIdentity {
            pod: PodId::parse(&format!("p{n}")).unwrap(),
            gossip: format!("g{n}"),
            api: String::new(),
            key: [n as u8; 32],
            bump: 1,
        }
    }

    #[test]
    fn two_members_meet_through_a_seed_address() {
        let k = ClusterKey::from_secret(b"0123456789abcdef").unwrap();
        let cfg = foca::Config::new_lan(std::num::NonZeroU32::new(2).unwrap());
        let mut a = Membership::new(ident(0), cfg.clone(), k.clone(), 1);
        let mut b = Membership::new(ident(1), cfg, k, 2);
        let mut out = Vec::new();
        b.join("g0", 0, &mut out);
        let mut ups = 0;
        for round in 0..20 {
            let mut next = Vec::new();
            for o in out.drain(..) {
                match o {
                    MemberOutput::Send { to, packet } => {
                        let r = if to.gossip == "g0" {
                            a.handle_packet(&packet, round, &mut next)
                        } else {
                            b.handle_packet(&packet, round, &mut next)
                        };
                        r.unwrap();
                    }
                    MemberOutput::Up(_) => ups += 1,
                    MemberOutput::Down(_) => {}
                }
            }
            out = next;
        }
        assert_eq!(ups, 2, "each saw the other");
        assert_eq!(a.active_count(), 1);
        assert_eq!(b.active_count(), 1);
    }

    #[test]
    fn hostile_packets_are_refused_without_harm() {
        let k = ClusterKey::from_secret(b"0123456789abcdef").unwrap();
        let cfg = foca::Config::new_lan(std::num::NonZeroU32::new(2).unwrap());
        let mut a = Membership::new(ident(0), cfg, k.clone(), 1);
        let mut out = Vec::new();
        // Oversized, garbage, wrong key, and authenticated garbage foca cannot decode.
        assert!(a.handle_packet(&vec![0xAB; 70_000], 0, &mut out).is_err());
        assert!(a.handle_packet(b"\x01\x02garbage", 0, &mut out).is_err());
        let wrong = ClusterKey::from_secret(b"another secret!!").unwrap();
        assert_eq!(
            a.handle_packet(&wrong.seal(&ident(1).pod, b"x"), 0, &mut out),
            Err(PacketError::BadTag)
        );
        let sealed_junk = k.seal(&ident(1).pod, &[0xFF; 300]);
        assert!(matches!(
            a.handle_packet(&sealed_junk, 0, &mut out),
            Err(PacketError::Protocol(_))
        ));
        let too_big = k.seal(&ident(1).pod, &vec![0u8; MAX_PACKET + 1]);
        assert!(a.handle_packet(&too_big, 0, &mut out).is_err());
        assert_eq!(a.rejected(), 5);
        assert_eq!(a.active_count(), 0, "nothing joined");
    }
}
