//! The `_ossa-*` TXT records of the whitepaper's §2.4 (Table 2), parsed without I/O.
//!
//! Syntax (one TXT record; its character-strings are concatenated first, as SPF and DKIM do,
//! so a record split into several 255-byte strings reads as one):
//!
//! ```text
//! _ossa-registry  "v=ossa1; pod=registry.acme.com:5000[,pod2:5000]; fallback=hub.ossa.ai"
//! _ossa-key       "v=ossa1; k=ed25519; p=<base64 of the SubjectPublicKeyInfo DER>"
//! _ossa-policy    "v=ossa1; federation=open|restricted|closed; require-sig[=true|false];
//!                  min-trust=none|basic|standard|verified"
//! ```
//!
//! Tolerant of white space around `;` and `=` and of a trailing `;`; strict about everything
//! else: `v=ossa1` must come first, every tag must be known and appear once, values must be
//! in their grammar. `_ossa-key` may hold several records (key rotation: every listed key is
//! valid); `p=` empty marks a revoked key (DKIM's convention). `_ossa-registry` and
//! `_ossa-policy` hold at most one record each. Every error names the record and the tag.

use agentry_types::TrustTier;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use crate::domain::RecordKind;
use crate::keys;

/// Longest TXT record read (all its strings together).
pub const MAX_RECORD_BYTES: usize = 2048;
/// Most TXT records read at one name.
pub const MAX_RECORDS: usize = 16;
/// Most tags in one record.
pub const MAX_TAGS: usize = 16;

/// A parse failure, naming the record and the tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{record} {field}: {reason}")]
pub struct RecordError {
    pub record: &'static str,
    pub field: String,
    pub reason: String,
}

fn err(kind: RecordKind, field: &str, reason: impl Into<String>) -> RecordError {
    RecordError {
        record: kind.label(),
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// `_ossa-registry`: the pods authorised to publish the domain's agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryRecord {
    pub pods: Vec<String>,
    pub fallback: Option<String>,
}

/// One `_ossa-key` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRecord {
    Ed25519(VerifyingKey),
    /// `p=` empty: the key was withdrawn.
    Revoked,
}

/// How a domain lets other pods replicate its agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Federation {
    Open,
    Restricted,
    Closed,
}

/// `_ossa-policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRecord {
    pub federation: Federation,
    pub require_sig: bool,
    pub min_trust: Option<TrustTier>,
}

/// Join a TXT record's strings, checking size and content.
pub fn join_strings(kind: RecordKind, strings: &[Vec<u8>]) -> Result<String, RecordError> {
    let len: usize = strings.iter().map(Vec::len).sum();
    if len > MAX_RECORD_BYTES {
        return Err(err(
            kind,
            "record",
            format!("is {len} bytes; at most {MAX_RECORD_BYTES} are read"),
        ));
    }
    let mut out = Vec::with_capacity(len);
    for s in strings {
        out.extend_from_slice(s);
    }
    let s = String::from_utf8(out).map_err(|_| err(kind, "record", "is not UTF-8 text"))?;
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return Err(err(kind, "record", "holds control characters"));
    }
    Ok(s)
}

/// Split `v=ossa1; a=b; c` into tags, checking `v=ossa1` first, known names, no duplicates.
fn tags<'a>(
    kind: RecordKind,
    text: &'a str,
    known: &[&str],
) -> Result<Vec<(&'a str, Option<&'a str>)>, RecordError> {
    let mut out: Vec<(&str, Option<&str>)> = Vec::new();
    let parts: Vec<&str> = text.split(';').map(str::trim).collect();
    let parts: &[&str] = match parts.split_last() {
        Some((&"", rest)) => rest,
        _ => &parts,
    };
    if parts.len() > MAX_TAGS + 1 {
        return Err(err(
            kind,
            "record",
            format!("has more than {MAX_TAGS} tags"),
        ));
    }
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(err(kind, "record", "has an empty tag (';;')"));
        }
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (*part, None),
        };
        if i == 0 {
            if name != "v" {
                return Err(err(kind, "v", "the record must start with v=ossa1"));
            }
            if value != Some("ossa1") {
                return Err(err(
                    kind,
                    "v",
                    format!("version {:?} is not ossa1", value.unwrap_or("")),
                ));
            }
            continue;
        }
        if name == "v" {
            return Err(err(kind, "v", "appears more than once"));
        }
        if !known.contains(&name) {
            return Err(err(
                kind,
                name,
                format!("is not a tag of this record (known: {})", known.join(", ")),
            ));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(err(kind, name, "appears more than once"));
        }
        out.push((name, value));
    }
    if parts.is_empty() {
        return Err(err(
            kind,
            "v",
            "the record is empty; it must start with v=ossa1",
        ));
    }
    Ok(out)
}

fn value<'a>(kind: RecordKind, name: &str, v: Option<&'a str>) -> Result<&'a str, RecordError> {
    v.ok_or_else(|| err(kind, name, "needs a value (name=value)"))
}

/// A `host[:port]` as `pod=` and `fallback=` name them.
fn host_port(kind: RecordKind, field: &str, s: &str) -> Result<String, RecordError> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if let Some(p) = port
        && p.parse::<u16>().map_or(true, |n| n == 0)
    {
        return Err(err(
            kind,
            field,
            format!("{s:?}: port {p:?} is not 1-65535"),
        ));
    }
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map_or_else(
            || host.parse::<std::net::Ipv4Addr>().is_ok(),
            |h| h.parse::<std::net::Ipv6Addr>().is_ok(),
        );
    if ip {
        return Ok(s.to_ascii_lowercase());
    }
    crate::Domain::parse(host).map_err(|e| {
        err(
            kind,
            field,
            format!("{s:?}: {}", e.replace("publisher.domain ", "host ")),
        )
    })?;
    Ok(s.to_ascii_lowercase())
}

pub fn parse_registry(text: &str) -> Result<RegistryRecord, RecordError> {
    let k = RecordKind::Registry;
    let mut pods = None;
    let mut fallback = None;
    for (name, v) in tags(k, text, &["pod", "fallback"])? {
        let v = value(k, name, v)?;
        match name {
            "pod" => {
                let list = v
                    .split(',')
                    .map(|p| host_port(k, "pod", p.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                pods = Some(list);
            }
            _ => fallback = Some(host_port(k, "fallback", v)?),
        }
    }
    let pods = pods.ok_or_else(|| err(k, "pod", "is required"))?;
    Ok(RegistryRecord { pods, fallback })
}

pub fn parse_key(text: &str) -> Result<KeyRecord, RecordError> {
    let k = RecordKind::Key;
    let mut alg = None;
    let mut p = None;
    for (name, v) in tags(k, text, &["k", "p"])? {
        let v = value(k, name, v)?;
        match name {
            "k" => alg = Some(v),
            _ => p = Some(v),
        }
    }
    match alg {
        Some("ed25519") => {}
        Some(other) => {
            return Err(err(
                k,
                "k",
                format!("key type {other:?} is not supported (ed25519)"),
            ));
        }
        None => return Err(err(k, "k", "is required (k=ed25519)")),
    }
    let p = p.ok_or_else(|| err(k, "p", "is required"))?;
    if p.is_empty() {
        return Ok(KeyRecord::Revoked);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(p.replace(char::is_whitespace, ""))
        .map_err(|e| err(k, "p", format!("is not base64: {e}")))?;
    let key = keys::public_from_der_or_raw(&bytes).map_err(|e| err(k, "p", e))?;
    Ok(KeyRecord::Ed25519(key))
}

pub fn parse_policy(text: &str) -> Result<PolicyRecord, RecordError> {
    let k = RecordKind::Policy;
    let mut federation = None;
    let mut require_sig = false;
    let mut min_trust = None;
    for (name, v) in tags(k, text, &["federation", "require-sig", "min-trust"])? {
        match name {
            "federation" => {
                federation = Some(match value(k, name, v)? {
                    "open" => Federation::Open,
                    "restricted" => Federation::Restricted,
                    "closed" => Federation::Closed,
                    other => {
                        return Err(err(
                            k,
                            name,
                            format!("{other:?} is not open, restricted or closed"),
                        ));
                    }
                })
            }
            "require-sig" => {
                require_sig = match v {
                    None | Some("true") => true,
                    Some("false") => false,
                    Some(other) => {
                        return Err(err(k, name, format!("{other:?} is not true or false")));
                    }
                }
            }
            _ => {
                let v = value(k, name, v)?;
                min_trust = Some(v.parse::<TrustTier>().map_err(|_| {
                    err(
                        k,
                        name,
                        format!("{v:?} is not none, basic, standard or verified"),
                    )
                })?)
            }
        }
    }
    let federation = federation.ok_or_else(|| err(k, "federation", "is required"))?;
    Ok(PolicyRecord {
        federation,
        require_sig,
        min_trust,
    })
}

/// Everything a domain publishes, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustAnchors {
    pub registry: Option<RegistryRecord>,
    pub keys: Vec<VerifyingKey>,
    /// Records with `p=` empty.
    pub revoked: usize,
    pub policy: Option<PolicyRecord>,
}

/// The raw TXT answers at the three names (`None`: the name has no TXT record).
#[derive(Debug, Clone, Default)]
pub struct RawAnchors {
    pub registry: Option<Vec<Vec<Vec<u8>>>>,
    pub key: Option<Vec<Vec<Vec<u8>>>>,
    pub policy: Option<Vec<Vec<Vec<u8>>>>,
}

fn count(kind: RecordKind, recs: &[Vec<Vec<u8>>]) -> Result<(), RecordError> {
    if recs.len() > MAX_RECORDS {
        return Err(err(
            kind,
            "record",
            format!("{} TXT records; at most {MAX_RECORDS} are read", recs.len()),
        ));
    }
    Ok(())
}

fn single<T>(
    kind: RecordKind,
    recs: &Option<Vec<Vec<Vec<u8>>>>,
    parse: fn(&str) -> Result<T, RecordError>,
) -> Result<Option<T>, RecordError> {
    let Some(recs) = recs else { return Ok(None) };
    count(kind, recs)?;
    match recs.as_slice() {
        [] => Ok(None),
        [one] => parse(&join_strings(kind, one)?).map(Some),
        more => Err(err(
            kind,
            "record",
            format!("{} TXT records; exactly one is allowed", more.len()),
        )),
    }
}

/// Parse the three names' answers. `_ossa-key` is required for any tier: without a key the
/// domain vouches for nothing.
pub fn parse_anchors(raw: &RawAnchors) -> Result<TrustAnchors, RecordError> {
    let registry = single(RecordKind::Registry, &raw.registry, parse_registry)?;
    let policy = single(RecordKind::Policy, &raw.policy, parse_policy)?;
    let k = RecordKind::Key;
    let recs = raw.key.as_ref().filter(|r| !r.is_empty()).ok_or_else(|| {
        err(
            k,
            "record",
            "is missing: the domain publishes no signing key",
        )
    })?;
    count(k, recs)?;
    let mut keys = Vec::new();
    let mut revoked = 0;
    for r in recs {
        match parse_key(&join_strings(k, r)?)? {
            KeyRecord::Ed25519(key) => keys.push(key),
            KeyRecord::Revoked => revoked += 1,
        }
    }
    Ok(TrustAnchors {
        registry,
        keys,
        revoked,
        policy,
    })
}

/// The TXT records a publisher puts in its zone, in zone-file syntax, each string at most
/// 255 bytes (longer values are split into several quoted strings of one record).
pub fn zone_lines(
    domain: &crate::Domain,
    pods: &[String],
    keys: &[VerifyingKey],
    policy: Option<&PolicyRecord>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !pods.is_empty() {
        out.push((
            domain.record_name(RecordKind::Registry),
            format!("v=ossa1; pod={}", pods.join(",")),
        ));
    }
    for k in keys {
        out.push((
            domain.record_name(RecordKind::Key),
            format!("v=ossa1; k=ed25519; p={}", keys::public_spki_base64(k)),
        ));
    }
    if let Some(p) = policy {
        let fed = match p.federation {
            Federation::Open => "open",
            Federation::Restricted => "restricted",
            Federation::Closed => "closed",
        };
        let mut s = format!("v=ossa1; federation={fed}");
        if p.require_sig {
            s.push_str("; require-sig=true");
        }
        if let Some(t) = p.min_trust {
            s.push_str(&format!("; min-trust={t}"));
        }
        out.push((domain.record_name(RecordKind::Policy), s));
    }
    out
}

/// `"…" "…"`: a TXT value as zone-file strings of at most 255 bytes.
pub fn quoted_strings(value: &str) -> String {
    split_strings(value)
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A TXT value cut into character-strings of at most 255 bytes (at char boundaries).
pub fn split_strings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in value.chars() {
        if cur.len() + c.len_utf8() > 255 {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    fn key_b64() -> String {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        keys::public_spki_base64(&sk.verifying_key())
    }

    #[test]
    fn whitepaper_examples_parse() {
        let r =
            parse_registry("v=ossa1; pod=registry.acme.com:5000; fallback=hub.ossa.ai").unwrap();
        assert_eq!(r.pods, vec!["registry.acme.com:5000"]);
        assert_eq!(r.fallback.as_deref(), Some("hub.ossa.ai"));
        let p =
            parse_policy("v=ossa1; federation=open; require-sig=true; min-trust=standard").unwrap();
        assert_eq!(p.federation, Federation::Open);
        assert!(p.require_sig);
        assert_eq!(p.min_trust, Some(TrustTier::Standard));
        let bare = parse_policy("v=ossa1;federation=closed;require-sig;").unwrap();
        assert!(bare.require_sig);
        assert!(matches!(
            parse_key(&format!("v=ossa1; k=ed25519; p={}", key_b64())),
            Ok(KeyRecord::Ed25519(_))
        ));
        assert_eq!(parse_key("v=ossa1; k=ed25519; p="), Ok(KeyRecord::Revoked));
    }

    #[test]
    fn split_strings_join_back() {
        let text = format!("v=ossa1; k=ed25519; p={}", key_b64());
        let mut parts: Vec<Vec<u8>> = text.as_bytes().chunks(7).map(<[u8]>::to_vec).collect();
        assert!(parts.len() > 3);
        let joined = join_strings(RecordKind::Key, &parts).unwrap();
        assert!(matches!(parse_key(&joined), Ok(KeyRecord::Ed25519(_))));
        parts.push(vec![0]);
        assert!(join_strings(RecordKind::Key, &parts).is_err());
        let long = "x".repeat(600);
        let s = split_strings(&long);
        assert_eq!(
            s.iter().map(String::len).collect::<Vec<_>>(),
            vec![255, 255, 90]
        );
    }

    #[test]
    fn errors_name_the_field() {
        type Parse = fn(&str) -> Result<(), RecordError>;
        let cases: &[(&str, Parse, &str)] = &[
            ("k=ed25519; p=AAAA", |t| parse_key(t).map(drop), "v"),
            (
                "v=ossa2; k=ed25519; p=AAAA",
                |t| parse_key(t).map(drop),
                "v",
            ),
            ("v=ossa1; k=rsa; p=AAAA", |t| parse_key(t).map(drop), "k"),
            ("v=ossa1; p=AAAA", |t| parse_key(t).map(drop), "k"),
            ("v=ossa1; k=ed25519", |t| parse_key(t).map(drop), "p"),
            ("v=ossa1; k=ed25519; p=!!!", |t| parse_key(t).map(drop), "p"),
            (
                "v=ossa1; k=ed25519; p=AAAA",
                |t| parse_key(t).map(drop),
                "p",
            ),
            (
                "v=ossa1; k=ed25519; k=ed25519; p=",
                |t| parse_key(t).map(drop),
                "k",
            ),
            (
                "v=ossa1; k=ed25519; x=1; p=",
                |t| parse_key(t).map(drop),
                "x",
            ),
            (
                "v=ossa1;; k=ed25519; p=",
                |t| parse_key(t).map(drop),
                "record",
            ),
            (
                "v=ossa1; federation=sometimes",
                |t| parse_policy(t).map(drop),
                "federation",
            ),
            (
                "v=ossa1; require-sig",
                |t| parse_policy(t).map(drop),
                "federation",
            ),
            (
                "v=ossa1; federation=open; require-sig=yes",
                |t| parse_policy(t).map(drop),
                "require-sig",
            ),
            (
                "v=ossa1; federation=open; min-trust=gold",
                |t| parse_policy(t).map(drop),
                "min-trust",
            ),
            (
                "v=ossa1; fallback=hub.ossa.ai",
                |t| parse_registry(t).map(drop),
                "pod",
            ),
            (
                "v=ossa1; pod=registry.acme.com:99999",
                |t| parse_registry(t).map(drop),
                "pod",
            ),
            (
                "v=ossa1; pod=bad_host:5000",
                |t| parse_registry(t).map(drop),
                "pod",
            ),
            ("", |t| parse_registry(t).map(drop), "v"),
        ];
        for (text, f, field) in cases {
            let e = f(text).expect_err(text);
            assert_eq!(&e.field, field, "{text}: {e}");
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn anchors_bound_sizes_and_counts() {
        let good = format!("v=ossa1; k=ed25519; p={}", key_b64()).into_bytes();
        let raw = RawAnchors {
            key: Some(vec![
                vec![good.clone()],
                vec![b"v=ossa1; k=ed25519; p=".to_vec()],
            ]),
            ..Default::default()
        };
        let a = parse_anchors(&raw).unwrap();
        assert_eq!((a.keys.len(), a.revoked), (1, 1));
        let none = parse_anchors(&RawAnchors::default()).unwrap_err();
        assert_eq!(none.record, "_ossa-key");
        let many = RawAnchors {
            key: Some(vec![vec![good.clone()]; MAX_RECORDS + 1]),
            ..Default::default()
        };
        assert!(parse_anchors(&many).is_err());
        let huge = RawAnchors {
            key: Some(vec![vec![vec![b'a'; 255]; 9]]),
            ..Default::default()
        };
        assert!(parse_anchors(&huge).unwrap_err().reason.contains("bytes"));
        let two_policies = RawAnchors {
            key: Some(vec![vec![good]]),
            policy: Some(vec![vec![b"v=ossa1; federation=open".to_vec()]; 2]),
            ..Default::default()
        };
        assert_eq!(
            parse_anchors(&two_policies).unwrap_err().record,
            "_ossa-policy"
        );
    }
}
