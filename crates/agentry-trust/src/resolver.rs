//! DNS I/O behind one small trait, and the cache of parsed trust anchors above it.
//!
//! [`TxtResolver`] answers the TXT records at one name; [`HickoryTxtResolver`] is the real one
//! (hickory-resolver, `--dns-server IP:PORT` or the system's configuration). [`AnchorCache`]
//! looks up a domain's three `_ossa-*` names, parses them and keeps the result for the
//! smallest TTL of the answers (bounded to [`MIN_TTL`]..[`MAX_TTL`]); an answer that could not
//! be had (timeout, SERVFAIL) is never cached and yields [`DnsEvidence::Unknown`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::dns::{RawAnchors, parse_anchors};
use crate::domain::{Domain, RecordKind};
use crate::evaluate::DnsEvidence;

/// Shortest time a parsed answer is kept (a TTL of 0 would make every verification a query).
pub const MIN_TTL: Duration = Duration::from_secs(5);
/// Longest time a parsed answer is kept, whatever its TTL says (key removal is seen within it).
pub const MAX_TTL: Duration = Duration::from_secs(3600);
/// How long "no such records" is kept.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(60);

/// The TXT records at one name.
#[derive(Debug, Clone)]
pub struct TxtAnswer {
    /// One entry per TXT record, each its character-strings.
    pub records: Vec<Vec<Vec<u8>>>,
    pub ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    /// NXDOMAIN or no TXT record at the name: a definite answer.
    #[error("no TXT record at {0}")]
    NoRecords(String),
    /// No usable answer (timeout, SERVFAIL, REFUSED, network error): undecided.
    #[error("{0}")]
    Failed(String),
}

/// TXT lookups. `name` is fully qualified (ends with a dot).
#[async_trait::async_trait]
pub trait TxtResolver: Send + Sync {
    async fn txt(&self, name: &str) -> Result<TxtAnswer, TxtError>;
}

#[cfg(feature = "resolver")]
pub use hickory::HickoryTxtResolver;

#[cfg(feature = "resolver")]
mod hickory {
    use std::net::SocketAddr;
    use std::time::Duration;

    use hickory_resolver::config::{
        ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    };
    use hickory_resolver::net::runtime::TokioRuntimeProvider;
    use hickory_resolver::proto::rr::RData;
    use hickory_resolver::{Resolver, TokioResolver};

    use super::{TxtAnswer, TxtError};

    /// TXT lookups through hickory-resolver.
    pub struct HickoryTxtResolver {
        inner: TokioResolver,
    }

    impl HickoryTxtResolver {
        /// Ask `server` (UDP, then TCP for truncated answers), or the system's resolvers when
        /// `None`. Each query gives up after `timeout` (two attempts).
        pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<Self, String> {
            let mut opts = ResolverOpts::default();
            opts.timeout = timeout;
            opts.attempts = 2;
            opts.use_hosts_file = ResolveHosts::Never;
            // The engine keeps its own cache of parsed answers.
            opts.cache_size = 0;
            let builder = match server {
                Some(addr) => {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                    let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
                    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
                }
                None => Resolver::builder(TokioRuntimeProvider::default())
                    .map_err(|e| format!("reading the system's DNS configuration failed: {e}"))?,
            };
            let inner = builder
                .with_options(opts)
                .build()
                .map_err(|e| format!("building the DNS resolver failed: {e}"))?;
            Ok(HickoryTxtResolver { inner })
        }
    }

    #[async_trait::async_trait]
    impl super::TxtResolver for HickoryTxtResolver {
        async fn txt(&self, name: &str) -> Result<TxtAnswer, TxtError> {
            match self.inner.txt_lookup(name).await {
                Ok(lookup) => {
                    let mut records = Vec::new();
                    let mut ttl = u32::MAX;
                    for r in lookup.answers() {
                        if let RData::TXT(txt) = &r.data {
                            ttl = ttl.min(r.ttl);
                            records.push(txt.txt_data.iter().map(|s| s.to_vec()).collect());
                        }
                    }
                    if records.is_empty() {
                        return Err(TxtError::NoRecords(name.to_owned()));
                    }
                    Ok(TxtAnswer {
                        records,
                        ttl: Duration::from_secs(u64::from(ttl)),
                    })
                }
                Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                    Err(TxtError::NoRecords(name.to_owned()))
                }
                Err(e) => Err(TxtError::Failed(format!(
                    "DNS lookup of {name} failed: {e}"
                ))),
            }
        }
    }
}

struct Entry {
    evidence: DnsEvidence,
    until: Instant,
}

/// Parsed `_ossa-*` answers per domain, kept for their TTL.
pub struct AnchorCache {
    resolver: Arc<dyn TxtResolver>,
    entries: Mutex<HashMap<Domain, Arc<Entry>>>,
}

impl AnchorCache {
    pub fn new(resolver: Arc<dyn TxtResolver>) -> AnchorCache {
        AnchorCache {
            resolver,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Forget every cached answer (keys are looked up again on the next verification).
    pub fn clear(&self) {
        if let Ok(mut m) = self.entries.lock() {
            m.clear();
        }
    }

    /// The DNS evidence for a record's `publisher.domain`.
    pub async fn evidence(&self, domain: Option<&str>) -> DnsEvidence {
        let Some(raw) = domain else {
            return DnsEvidence::NoDomain;
        };
        let domain = match Domain::parse(raw) {
            Ok(d) => d,
            Err(e) => return DnsEvidence::BadDomain(e),
        };
        if let Some(hit) = self.cached(&domain) {
            return hit;
        }
        let (evidence, ttl) = self.lookup(&domain).await;
        if let Some(ttl) = ttl
            && let Ok(mut m) = self.entries.lock()
        {
            if m.len() > 100_000 {
                let now = Instant::now();
                m.retain(|_, e| e.until > now);
            }
            m.insert(
                domain,
                Arc::new(Entry {
                    evidence: evidence.clone(),
                    until: Instant::now() + ttl,
                }),
            );
        }
        evidence
    }

    fn cached(&self, domain: &Domain) -> Option<DnsEvidence> {
        let m = self.entries.lock().ok()?;
        let e = m.get(domain)?;
        (e.until > Instant::now()).then(|| e.evidence.clone())
    }

    /// Query the three names; `None` TTL when the answer must not be cached.
    async fn lookup(&self, domain: &Domain) -> (DnsEvidence, Option<Duration>) {
        let names = RecordKind::ALL.map(|k| domain.record_name(k));
        let (reg, key, pol) = futures_join3(
            self.resolver.txt(&names[0]),
            self.resolver.txt(&names[1]),
            self.resolver.txt(&names[2]),
        )
        .await;
        let mut ttl = MAX_TTL;
        let mut take =
            |r: Result<TxtAnswer, TxtError>| -> Result<Option<Vec<Vec<Vec<u8>>>>, String> {
                match r {
                    Ok(a) => {
                        ttl = ttl.min(a.ttl);
                        Ok(Some(a.records))
                    }
                    Err(TxtError::NoRecords(_)) => {
                        ttl = ttl.min(NEGATIVE_TTL);
                        Ok(None)
                    }
                    Err(TxtError::Failed(e)) => Err(e),
                }
            };
        let raw = match (take(reg), take(key), take(pol)) {
            (Ok(registry), Ok(key), Ok(policy)) => RawAnchors {
                registry,
                key,
                policy,
            },
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return (DnsEvidence::Unknown(e), None);
            }
        };
        let ttl = ttl.max(MIN_TTL);
        match parse_anchors(&raw) {
            Ok(a) => (DnsEvidence::Anchors(Arc::new(a)), Some(ttl)),
            Err(e) => (DnsEvidence::Invalid(e), Some(ttl.min(NEGATIVE_TTL))),
        }
    }
}

/// Run three futures concurrently (no `futures` dependency for one join).
async fn futures_join3<A, B, C>(
    a: impl std::future::Future<Output = A>,
    b: impl std::future::Future<Output = B>,
    c: impl std::future::Future<Output = C>,
) -> (A, B, C) {
    #[cfg(feature = "resolver")]
    {
        tokio::join!(a, b, c)
    }
    #[cfg(not(feature = "resolver"))]
    {
        (a.await, b.await, c.await)
    }
}
