//! The replicated event: a CloudEvent (`specversion` 1.0) of type `io.ossa.agent.*`, signed by
//! the pod that made it (whitepaper §5.4).
//!
//! Every event carries the *whole* state of one agent version after the mutation (digest,
//! tier, deprecation, capabilities), not a delta: last-writer-wins over whole states is
//! convergent whatever order the events arrive in, and a `trust_changed` that overtakes the
//! `published` it follows cannot leave a record half-updated.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::{Signature as EdSignature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use agentry_types::{Digest, RepoName, TrustTier};

use crate::hlc::Hlc;

/// Largest encoded event the pod accepts from a peer.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most capabilities one event may list.
pub const MAX_CAPABILITIES: usize = 256;

/// A pod's name in the mesh: 1–64 characters of `a-z 0-9 - . _`, starting with a letter or
/// digit (a Kubernetes StatefulSet pod name fits; so does a SPIFFE ID's last segment).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PodId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "pod id {0:?}: 1-64 characters of a-z, 0-9, '-', '.', '_', starting with a letter or digit"
)]
pub struct PodIdError(pub String);

impl PodId {
    pub fn parse(s: &str) -> Result<PodId, PodIdError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.as_bytes()[0].is_ascii_alphanumeric()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
        if ok {
            Ok(PodId(s.to_owned()))
        } else {
            Err(PodIdError(s.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PodId {
    type Error = PodIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PodId::parse(&s)
    }
}
impl From<PodId> for String {
    fn from(p: PodId) -> String {
        p.0
    }
}
impl fmt::Display for PodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for PodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// What happened to the agent version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "io.ossa.agent.published")]
    Published,
    #[serde(rename = "io.ossa.agent.updated")]
    Updated,
    #[serde(rename = "io.ossa.agent.deprecated")]
    Deprecated,
    #[serde(rename = "io.ossa.agent.deleted")]
    Deleted,
    #[serde(rename = "io.ossa.agent.trust_changed")]
    TrustChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Published => "io.ossa.agent.published",
            EventKind::Updated => "io.ossa.agent.updated",
            EventKind::Deprecated => "io.ossa.agent.deprecated",
            EventKind::Deleted => "io.ossa.agent.deleted",
            EventKind::TrustChanged => "io.ossa.agent.trust_changed",
        }
    }
}

/// The state of one agent version after the event (`data.agent`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentState {
    /// Repository name (`namespace/name`).
    pub name: RepoName,
    pub version: String,
    /// The manifest digest; `None` once deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    pub trust_tier: TrustTier,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
}

impl AgentState {
    /// `namespace/name@version`, the CloudEvent's `subject` and the LWW key.
    pub fn key(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
    /// The namespace: the repository name's first component.
    pub fn namespace(&self) -> &str {
        let s = self.name.as_str();
        s.split('/').next().unwrap_or(s)
    }
}

/// `data.signature`, as in the whitepaper's example.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSignature {
    pub algorithm: String,
    pub key_id: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventData {
    pub agent: AgentState,
    pub signature: EventSignature,
}

/// One CloudEvent. `hlc` and `seq` are CloudEvents extension attributes: the hybrid logical
/// clock stamp that orders writes, and the origin's sequence number (1, 2, 3, … per pod,
/// without gaps) that the per-peer cursors count in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub specversion: String,
    pub id: String,
    pub source: PodId,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub subject: String,
    pub time: String,
    pub datacontenttype: String,
    pub hlc: Hlc,
    pub seq: u64,
    pub data: EventData,
}

/// The bytes an event's signature covers: every attribute but the signature value.
#[derive(Serialize)]
struct SigningView<'a> {
    specversion: &'a str,
    id: &'a str,
    source: &'a PodId,
    #[serde(rename = "type")]
    kind: EventKind,
    subject: &'a str,
    time: &'a str,
    datacontenttype: &'a str,
    hlc: Hlc,
    seq: u64,
    agent: &'a AgentState,
    algorithm: &'a str,
    key_id: &'a str,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("event from {origin}: no key is known for that pod")]
    UnknownSource { origin: PodId },
    #[error("event {id}: the signature does not verify with the key of {origin}")]
    BadSignature { id: String, origin: PodId },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> EventError {
    EventError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl Event {
    /// Make and sign an event.
    pub fn sign(
        key: &SigningKey,
        source: &PodId,
        kind: EventKind,
        seq: u64,
        hlc: Hlc,
        agent: AgentState,
    ) -> Event {
        let time = rfc3339(hlc.wall_ms);
        let mut ev = Event {
            specversion: "1.0".into(),
            id: format!("{source}/{seq}"),
            source: source.clone(),
            kind,
            subject: agent.key(),
            time,
            datacontenttype: "application/json".into(),
            hlc,
            seq,
            data: EventData {
                agent,
                signature: EventSignature {
                    algorithm: "ed25519".into(),
                    key_id: format!("pod:{source}"),
                    value: String::new(),
                },
            },
        };
        let sig = key.sign(&ev.signing_bytes());
        ev.data.signature.value = base64::engine::general_purpose::STANDARD.encode(sig.to_bytes());
        ev
    }

    fn signing_bytes(&self) -> Vec<u8> {
        let view = SigningView {
            specversion: &self.specversion,
            id: &self.id,
            source: &self.source,
            kind: self.kind,
            subject: &self.subject,
            time: &self.time,
            datacontenttype: &self.datacontenttype,
            hlc: self.hlc,
            seq: self.seq,
            agent: &self.data.agent,
            algorithm: &self.data.signature.algorithm,
            key_id: &self.data.signature.key_id,
        };
        // Serialising our own struct of plain fields cannot fail.
        serde_json::to_vec(&view).unwrap_or_default()
    }

    /// Shape rules: what the attributes must say about each other.
    pub fn check_shape(&self) -> Result<(), EventError> {
        if self.specversion != "1.0" {
            return Err(invalid(
                "specversion",
                format!("{:?} is not 1.0", self.specversion),
            ));
        }
        if self.seq == 0 {
            return Err(invalid("seq", "sequence numbers start at 1"));
        }
        if self.id != format!("{}/{}", self.source, self.seq) {
            return Err(invalid("id", "must be <source>/<seq>"));
        }
        if self.subject != self.data.agent.key() {
            return Err(invalid("subject", "must be data.agent's name@version"));
        }
        if self.datacontenttype != "application/json" {
            return Err(invalid("datacontenttype", "must be application/json"));
        }
        let a = &self.data.agent;
        if a.version.is_empty()
            || a.version.len() > 128
            || a.version
                .chars()
                .any(|c| c.is_whitespace() || c == '/' || c.is_control())
        {
            return Err(invalid(
                "data.agent.version",
                "1-128 characters, no white space or slash",
            ));
        }
        if a.capabilities.len() > MAX_CAPABILITIES {
            return Err(invalid(
                "data.agent.capabilities",
                format!("at most {MAX_CAPABILITIES}"),
            ));
        }
        if a.capabilities.iter().any(|c| c.len() > 256) {
            return Err(invalid(
                "data.agent.capabilities",
                "a capability over 256 bytes",
            ));
        }
        match (self.kind, &a.digest) {
            (EventKind::Deleted, Some(_)) => {
                return Err(invalid(
                    "data.agent.digest",
                    "a deleted version has no digest",
                ));
            }
            (EventKind::Deleted, None) => {}
            (_, None) => {
                return Err(invalid(
                    "data.agent.digest",
                    "required unless the event is a delete",
                ));
            }
            _ => {}
        }
        if self.data.signature.algorithm != "ed25519" {
            return Err(invalid("data.signature.algorithm", "only ed25519"));
        }
        Ok(())
    }

    /// Shape and signature.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), EventError> {
        self.check_shape()?;
        let bad = || EventError::BadSignature {
            id: self.id.clone(),
            origin: self.source.clone(),
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&self.data.signature.value)
            .map_err(|_| bad())?;
        let sig = EdSignature::from_slice(&raw).map_err(|_| bad())?;
        key.verify_strict(&self.signing_bytes(), &sig)
            .map_err(|_| bad())?;
        Ok(())
    }

    /// The LWW order: HLC stamp, then the origin's id as the tie-break.
    pub fn stamp(&self) -> (Hlc, &PodId) {
        (self.hlc, &self.source)
    }

    pub fn is_tombstone(&self) -> bool {
        self.kind == EventKind::Deleted
    }
}

fn rfc3339(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn state() -> AgentState {
        AgentState {
            name: RepoName::parse("acme/fin").unwrap(),
            version: "1.0.0".into(),
            digest: Some(format!("sha256:{}", "a".repeat(64)).parse().unwrap()),
            artifact_type: None,
            capabilities: vec!["finance".into()],
            trust_tier: TrustTier::Basic,
            deprecated: false,
        }
    }

    #[test]
    fn signed_event_round_trips_and_verifies() {
        let p = PodId::parse("pod-0").unwrap();
        let ev = Event::sign(
            &key(1),
            &p,
            EventKind::Published,
            1,
            Hlc {
                wall_ms: 1_770_000_000_000,
                logical: 0,
            },
            state(),
        );
        let json = serde_json::to_string(&ev).unwrap();
        assert!(
            json.contains("\"type\":\"io.ossa.agent.published\""),
            "{json}"
        );
        let back: Event = serde_json::from_str(&json).unwrap();
        back.verify(&key(1).verifying_key()).unwrap();
        assert!(matches!(
            back.verify(&key(2).verifying_key()),
            Err(EventError::BadSignature { .. })
        ));
    }

    #[test]
    fn tampered_event_fails() {
        let p = PodId::parse("pod-0").unwrap();
        let mut ev = Event::sign(
            &key(1),
            &p,
            EventKind::Published,
            1,
            Hlc::default(),
            state(),
        );
        ev.data.agent.trust_tier = TrustTier::Verified;
        assert!(matches!(
            ev.verify(&key(1).verifying_key()),
            Err(EventError::BadSignature { .. })
        ));
        let mut ev2 = Event::sign(
            &key(1),
            &p,
            EventKind::Published,
            1,
            Hlc::default(),
            state(),
        );
        ev2.seq = 2;
        assert!(matches!(
            ev2.verify(&key(1).verifying_key()),
            Err(EventError::Invalid { field: "id", .. })
        ));
    }

    #[test]
    fn pod_ids() {
        assert!(PodId::parse("pod-0.us-west_2").is_ok());
        for bad in ["", "-a", "Pod", "a b", &"a".repeat(65)] {
            assert!(PodId::parse(bad).is_err(), "{bad}");
        }
    }
}
