//! Settings of `agentry serve`. The CLI builds this from flags, `AGENTRY_*` environment
//! variables and a TOML file (in that order of precedence).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything the pod needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for blobs, metadata and indexes.
    pub data: PathBuf,
    /// PEM certificate chain; with `tls_key`, serve HTTPS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// htpasswd file (bcrypt entries, as `htpasswd -B` writes): when set, every request but
    /// `/health` and `/ready` needs HTTP Basic credentials.
    pub htpasswd: Option<PathBuf>,
    /// Largest manifest accepted (bytes); the spec asks for at least 4 MiB.
    pub max_manifest_bytes: u64,
    /// Largest blob accepted (bytes).
    pub max_blob_bytes: u64,
    /// Largest agent record document read from an artifact layer (bytes).
    pub max_record_bytes: u64,
    /// Refuse an agent description that has warnings (what its format's schema does not list
    /// but was accepted: unknown enum values, empty optional strings, fields of other
    /// versions) instead of storing the warnings with the record. The OCI rules are the same
    /// either way.
    pub strict_records: bool,
    /// Page cache of the metadata database (MiB). The OS page cache holds the file as well.
    pub meta_cache_mb: u64,
    /// Metadata in PostgreSQL (`postgres://…` or `postgresql://…`) instead of `meta.redb` under
    /// `data` (blobs and the search index stay there). Never logged with its password.
    pub metadata: Option<String>,
    /// Do not apply pending metadata migrations at start (PostgreSQL only): refuse to start
    /// unless the schema is up to date (`agentry db migrate` applies it).
    pub no_migrate: bool,
    /// Arithmetic of the local embedding model: `auto` (keep the index's, `int8` for a new
    /// one), `f32` (the model's own numbers) or `int8` (1.4–2.4× faster, vectors within cosine
    /// ~0.99). A fixed value that differs from the index's makes the stored vectors stale until
    /// `agentry reindex`.
    pub embed_precision: agentry_embed::PrecisionChoice,
    /// Upload sessions idle longer than this are removed.
    #[serde(with = "humantime_secs")]
    pub upload_ttl: Duration,
    /// How often housekeeping (upload expiry) runs.
    #[serde(with = "humantime_secs")]
    pub housekeeping_interval: Duration,
    /// How long in-flight requests may take to finish on shutdown.
    #[serde(with = "humantime_secs")]
    pub shutdown_grace: Duration,
    /// Lowest trust tier an agent manifest must reach to be accepted (`none` accepts all).
    /// Checked when the agent manifest is put, against the referrers already stored for its
    /// digest (sign before push: `agentry push --sign-key`).
    pub trust_min_tier: agentry_types::TrustTier,
    /// DNS server for the `_ossa-*` trust anchors (`IP:PORT`); the system's when unset.
    pub dns_server: Option<SocketAddr>,
    /// Public keys (SPKI PEM, base64 as in `_ossa-key`, or `ssh-ed25519 …`) whose signatures
    /// no longer count: agents signed only by them are demoted to `none`.
    pub trust_revoked_keys: Vec<String>,
    /// Organisation CA certificates (PEM files) that signing certificates must chain to for
    /// the Standard tier; none = no agent reaches Standard here.
    pub trust_org_cas: Vec<PathBuf>,
    /// Sigstore `trusted_root.json` for the Verified tier's bundles; the embedded public-good
    /// root when unset.
    pub trusted_root: Option<PathBuf>,
    /// The Sigstore signer each publisher domain is expected to use:
    /// `DOMAIN=IDENTITY,ISSUER` (certificate SAN and OIDC issuer).
    pub trust_sigstore_identities: Vec<String>,
    /// How often every agent is judged again (DNS TTL expiry, key rotation, certificate
    /// expiry); zero turns it off.
    #[serde(with = "humantime_secs")]
    pub trust_reverify_interval: Duration,
    /// Gossip address of the mesh (UDP and TCP, default port 7946); the pod is alone without.
    pub mesh_listen: Option<SocketAddr>,
    /// Gossip addresses (`host:port`) of pods to join through.
    pub mesh_seeds: Vec<String>,
    /// The gossip address peers should dial, when `mesh_listen` is a wildcard.
    pub mesh_advertise: Option<String>,
    /// This pod's HTTP API base as peers should reach it; derived from the advertised host
    /// and `listen`'s port when unset.
    pub mesh_api_url: Option<String>,
    /// The pod's name in the mesh; kept in `<data>/mesh/pod-id` when unset.
    pub pod_id: Option<String>,
    /// Shared secret of the mesh (at least 16 bytes): every gossip packet and replication
    /// frame is authenticated with it.
    pub mesh_key: crate::mesh::MeshKey,
    /// Membership over TCP too, for networks that block UDP.
    pub mesh_gossip_tcp: bool,
    /// Show (and replicate into the index) only these namespaces; empty = all.
    pub mesh_namespaces: Vec<String>,
    /// `pod` (a registry) or `index` (the index of indexes: metadata only, pulls redirected).
    pub role: crate::mesh::Role,
    /// Deadline for each peer of a federated query, and for the mesh's HTTP requests.
    #[serde(with = "humantime_millis")]
    pub mesh_query_timeout: Duration,
    /// Most MiB of blobs pulled through from other pods kept here (least recently served
    /// evicted first; 0 = unbounded). Blobs pushed to this pod never count.
    pub mesh_cache_mb: u64,
    /// Registries reached through the switchboard (`[[serve.switchboard]]` tables).
    pub switchboard: Vec<agentry_switchboard::SourceConfig>,
    /// Roles per namespace and API keys (TOML, [`agentry_auth::Policy`]). With `htpasswd` and
    /// no policy, every signed-in user is admin everywhere and anonymous callers get nothing.
    pub auth_policy: Option<PathBuf>,
    /// The pod's public base URL (`https://registry.example.com`), for the token realm it
    /// names in challenges; derived from each request's `Host` when unset.
    pub public_url: Option<String>,
    /// Lifetime of the tokens `/token` issues.
    #[serde(with = "humantime_secs")]
    pub token_ttl: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data: PathBuf::from(agentry_types::DataDir::DEFAULT),
            tls_cert: None,
            tls_key: None,
            htpasswd: None,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_blob_bytes: 64 * 1024 * 1024 * 1024,
            max_record_bytes: 4 * 1024 * 1024,
            strict_records: false,
            meta_cache_mb: 64,
            metadata: None,
            no_migrate: false,
            embed_precision: agentry_embed::PrecisionChoice::Auto,
            upload_ttl: Duration::from_secs(24 * 3600),
            housekeeping_interval: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(30),
            trust_min_tier: agentry_types::TrustTier::None,
            dns_server: None,
            trust_revoked_keys: Vec::new(),
            trust_org_cas: Vec::new(),
            trusted_root: None,
            trust_sigstore_identities: Vec::new(),
            trust_reverify_interval: Duration::from_secs(300),
            mesh_listen: None,
            mesh_seeds: Vec::new(),
            mesh_advertise: None,
            mesh_api_url: None,
            pod_id: None,
            mesh_key: crate::mesh::MeshKey::default(),
            mesh_gossip_tcp: false,
            mesh_namespaces: Vec::new(),
            role: crate::mesh::Role::Pod,
            mesh_query_timeout: Duration::from_millis(1000),
            mesh_cache_mb: 10 * 1024,
            switchboard: Vec::new(),
            auth_policy: None,
            public_url: None,
            token_ttl: Duration::from_secs(300),
        }
    }
}

/// Durations in the TOML file are whole seconds.
mod humantime_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_secs(u64::deserialize(d)?))
    }
}

/// Durations in milliseconds.
mod humantime_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

impl ServeConfig {
    /// The `service` the pod's tokens are for (their audience): the public URL's host, or
    /// `agentry`.
    pub fn token_service(&self) -> String {
        self.public_url
            .as_deref()
            .and_then(|u| u.split("://").nth(1))
            .map(|h| h.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| "agentry".to_owned())
    }

    /// Check combinations that cannot work, with a message naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(format!("public_url: {u:?} is not an http(s) URL"));
        }
        if self.token_ttl.is_zero() || self.token_ttl > Duration::from_secs(24 * 3600) {
            return Err("token_ttl: expected 1 second to 24 hours".into());
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err("tls_cert is set but tls_key is not".into()),
            (None, Some(_)) => return Err("tls_key is set but tls_cert is not".into()),
            _ => {}
        }
        if self.max_manifest_bytes < 4 * 1024 * 1024 {
            return Err(
                "max_manifest_bytes must be at least 4 MiB (4194304), as the OCI spec expects"
                    .into(),
            );
        }
        for (i, k) in self.trust_revoked_keys.iter().enumerate() {
            agentry_trust::keys::parse_public(k)
                .map_err(|e| format!("trust_revoked_keys[{i}]: {e}"))?;
        }
        for p in &self.trust_org_cas {
            agentry_trust::OrgCas::new()
                .add_pem_file(p)
                .map_err(|e| format!("trust_org_cas: {e}"))?;
        }
        if let Some(p) = &self.trusted_root {
            agentry_sigstore::TrustedRoot::from_file(p)
                .map_err(|e| format!("trusted_root: {e}"))?;
        }
        for r in &self.trust_sigstore_identities {
            agentry_trust::IdentityRule::parse(r)
                .map_err(|e| format!("trust_sigstore_identities: {e}"))?;
        }
        if self.mesh_listen.is_some() {
            if self.mesh_key.0.len() < 16 {
                return Err(
                    "mesh_key: the mesh needs a shared key of at least 16 bytes \
                     (--mesh-key or AGENTRY_MESH_KEY; e.g. `openssl rand -hex 32`)"
                        .into(),
                );
            }
            if let Some(p) = &self.pod_id {
                agentry_mesh::PodId::parse(p).map_err(|e| format!("pod_id: {e}"))?;
            }
            for s in &self.mesh_seeds {
                let ok = s
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
                if !ok {
                    return Err(format!("mesh_seeds: {s:?} is not host:port"));
                }
            }
            if let Some(u) = &self.mesh_api_url
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                return Err(format!("mesh_api_url: {u:?} is not an http(s) URL"));
            }
            if self.mesh_query_timeout.is_zero() {
                return Err("mesh_query_timeout must be positive".into());
            }
        } else if self.role == crate::mesh::Role::Index {
            return Err(
                "role index needs the mesh (--mesh-listen): an index aggregates pods".into(),
            );
        }
        agentry_switchboard::validate_all(&self.switchboard)?;
        if let Some(m) = &self.metadata
            && !agentry_store_postgres::is_postgres_url(m)
        {
            return Err(format!(
                "metadata: expected a postgres:// or postgresql:// URL, got {}",
                agentry_store_postgres::redact_url(m)
            ));
        }
        if self.upload_ttl.is_zero() {
            return Err("upload_ttl must be positive".into());
        }
        Ok(())
    }

    pub fn tls(&self) -> bool {
        self.tls_cert.is_some()
    }

    /// The layout of [`ServeConfig::data`].
    pub fn data_dir(&self) -> agentry_types::DataDir {
        agentry_types::DataDir::new(&self.data)
    }
}
