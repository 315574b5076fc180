//! `agentry serve`: run a registry pod.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agentry_server::{Server, ServeConfig, shutdown_signal};

use super::{DataArgs, EmbedPrecisionArgs, Global};

/// Run a registry pod: OCI Distribution v1.1 on /v2/, discovery on /api/v1/, /health, /ready.
///
/// Everything lives under --data: blobs/ and uploads/ (content), meta.redb (metadata), search/
/// (the discovery index) and models/ (the embedding model, from `agentry model fetch`).
/// No external service is needed. Stop with Ctrl-C or SIGTERM: in-flight requests finish first.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  agentry serve\n  AGENTRY_MESH_KEY=$(cat mesh.key) agentry serve --mesh-listen 10.0.0.2:7946 --mesh-seeds 10.0.0.1:7946\n  agentry serve --listen 0.0.0.0:5000 --data /var/lib/agentry\n  agentry serve --tls-cert cert.pem --tls-key key.pem --auth htpasswd /etc/agentry/htpasswd\n\nEvery flag can also be set in the [serve] table of the config file.")]
#[command(mut_arg("data", |a| a.help("Data directory (created if missing)")))]
#[command(mut_arg("embed_precision", |a| a.help("Arithmetic of the embedding model. auto: keep the precision the index's vectors were built with, int8 for a new index. int8: 8-bit dense layers, 1.4x (AVX2) to 2.4x (AVX-512 VNNI) the throughput of f32, vectors within cosine ~0.99 of it. f32: the model's own numbers. A fixed value other than the index's marks its vectors stale until `agentry reindex --embed-precision` with the same value")))]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "AGENTRY_LISTEN", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub data: DataArgs,

    /// PEM certificate chain: serve HTTPS (requires --tls-key).
    #[arg(long, env = "AGENTRY_TLS_CERT", requires = "tls_key", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "AGENTRY_TLS_KEY", requires = "tls_cert", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Require HTTP Basic authentication: `--auth htpasswd FILE` (bcrypt entries, as
    /// `htpasswd -B` writes). Off by default.
    #[arg(long, env = "AGENTRY_AUTH", num_args = 2, value_names = ["KIND", "FILE"])]
    pub auth: Vec<String>,

    /// Roles per namespace and API keys (TOML: `[[grant]] subject = "alice" namespace =
    /// "acme" role = "reader|publisher|admin"`, `subject = "anonymous"` for anonymous read,
    /// `[[api_key]]` entries with the key's name and SHA-256). Turns on access control and the token
    /// endpoint at /token; without it every htpasswd user is an admin.
    #[arg(long, env = "AGENTRY_AUTH_POLICY", value_name = "FILE")]
    pub auth_policy: Option<PathBuf>,

    /// The pod's address as clients reach it (`https://registry.example.com`): the token
    /// realm in `WWW-Authenticate` and the tokens' service. Default: the request's Host.
    #[arg(long, env = "AGENTRY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Seconds a token from /token stays valid (1 to 86400).
    #[arg(long, env = "AGENTRY_TOKEN_TTL", default_value_t = 300, value_name = "SECS")]
    pub token_ttl: u64,

    /// Largest manifest accepted, in bytes (at least 4 MiB).
    #[arg(long, env = "AGENTRY_MAX_MANIFEST_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_manifest_bytes: u64,

    /// Largest blob accepted, in bytes.
    #[arg(long, env = "AGENTRY_MAX_BLOB_BYTES", default_value_t = 64 * 1024 * 1024 * 1024)]
    pub max_blob_bytes: u64,

    /// Refuse agent descriptions that have warnings (unknown enum values, empty optional
    /// strings, fields of other versions: what the format's schema does not list) instead of
    /// storing them with their warnings. Off by default: a registry that bridges others stores
    /// what they publish.
    #[arg(long, env = "AGENTRY_STRICT_RECORDS", value_parser = clap::builder::FalseyValueParser::new())]
    pub strict_records: bool,

    /// Page cache of the metadata database, in MiB (the OS page cache holds the file too).
    #[arg(long, env = "AGENTRY_META_CACHE_MB", default_value_t = 64, value_name = "MIB")]
    pub meta_cache_mb: u64,

    /// Keep metadata in PostgreSQL instead of <data>/meta.redb: postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// (blobs and the search index stay under --data). Several pods may share one database.
    /// The password is never logged.
    #[arg(long, env = "AGENTRY_METADATA", value_name = "URL")]
    pub metadata: Option<String>,

    /// With --metadata: do not apply pending schema migrations at start; refuse to start
    /// unless `agentry db migrate` has brought the schema up to date.
    #[arg(long, env = "AGENTRY_NO_MIGRATE", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_migrate: bool,

    #[command(flatten)]
    pub embed_precision: EmbedPrecisionArgs,

    /// Seconds after which an unfinished upload session is removed.
    #[arg(long, env = "AGENTRY_UPLOAD_TTL", default_value_t = 24 * 3600, value_name = "SECS")]
    pub upload_ttl: u64,

    /// Refuse agent manifests below this trust tier, naming what is missing. Checked when the
    /// agent manifest is put, against the referrers already stored for its digest: sign
    /// before pushing (the signature referrer first), or keep `none` and sign after.
    #[arg(long, env = "AGENTRY_TRUST_MIN_TIER", default_value = "none", value_name = "none|basic|standard|verified")]
    pub trust_min_tier: agentry_types::TrustTier,

    #[command(flatten)]
    pub trust: TrustArgs,

    /// Seconds between re-verifications of every agent's trust tier (DNS answers past their
    /// TTL are asked again, certificates expire); 0 turns it off.
    #[arg(long, env = "AGENTRY_TRUST_REVERIFY_INTERVAL", default_value_t = 300, value_name = "SECS")]
    pub trust_reverify_interval: u64,

    /// Seconds in-flight requests get to finish on shutdown.
    #[arg(long, env = "AGENTRY_SHUTDOWN_GRACE", default_value_t = 30, value_name = "SECS")]
    pub shutdown_grace: u64,

    #[command(flatten)]
    pub mesh: MeshArgs,
}

/// Federation: pods that gossip, replicate metadata and pull artifacts from their origin.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Mesh (federation)")]
pub struct MeshArgs {
    /// Join a mesh: gossip on this address (UDP, and TCP for replication; the usual port is
    /// 7946). Needs --mesh-key. Without it the pod is alone.
    #[arg(long, env = "AGENTRY_MESH_LISTEN", value_name = "ADDR")]
    pub mesh_listen: Option<SocketAddr>,

    /// Gossip addresses of pods to join through (`host:port`, comma-separated); one live
    /// seed is enough.
    #[arg(long, env = "AGENTRY_MESH_SEEDS", value_delimiter = ',', value_name = "HOST:PORT")]
    pub mesh_seeds: Vec<String>,

    /// Shared secret of the mesh (at least 16 bytes; `openssl rand -hex 32`): every gossip
    /// packet and replication frame is authenticated with it. Prefer the environment variable.
    #[arg(long, env = "AGENTRY_MESH_KEY", hide_env_values = true, value_name = "SECRET")]
    pub mesh_key: Option<String>,

    /// This pod's name in the mesh (a-z 0-9 - . _); kept in <data>/mesh/pod-id when not given.
    #[arg(long, env = "AGENTRY_POD_ID", value_name = "NAME")]
    pub pod_id: Option<String>,

    /// The gossip address peers should dial (`host:port`) when --mesh-listen is a wildcard
    /// such as 0.0.0.0:7946.
    #[arg(long, env = "AGENTRY_MESH_ADVERTISE", value_name = "HOST:PORT")]
    pub mesh_advertise: Option<String>,

    /// This pod's HTTP address as peers should use it (default: the advertised host with
    /// --listen's port).
    #[arg(long, env = "AGENTRY_MESH_API_URL", value_name = "URL")]
    pub mesh_api_url: Option<String>,

    /// Gossip over TCP too, for networks that block UDP.
    #[arg(long, env = "AGENTRY_MESH_GOSSIP_TCP", value_parser = clap::builder::FalseyValueParser::new())]
    pub mesh_gossip_tcp: bool,

    /// Replicate only these namespaces into this pod's index (comma-separated; all by default).
    #[arg(long, env = "AGENTRY_MESH_NAMESPACES", value_delimiter = ',', value_name = "NS")]
    pub mesh_namespaces: Vec<String>,

    /// `pod`: a registry. `index`: an index of indexes — replicates every pod's metadata and
    /// answers searches, stores no artifacts, redirects pulls to the pod that has them.
    #[arg(long, env = "AGENTRY_ROLE", default_value = "pod", value_name = "pod|index")]
    pub role: agentry_server::mesh::Role,

    /// MiB of blobs pulled through from other pods kept here; the least recently served go
    /// first (0: unbounded). Blobs pushed to this pod never count.
    #[arg(long, env = "AGENTRY_MESH_CACHE_MB", default_value_t = 10 * 1024, value_name = "MIB")]
    pub mesh_cache_mb: u64,

    /// Milliseconds each peer gets to answer a federated query (scope=federated).
    #[arg(long, env = "AGENTRY_MESH_QUERY_TIMEOUT_MS", default_value_t = 1000, value_name = "MS")]
    pub mesh_query_timeout_ms: u64,
}

/// How agents are judged: the DNS resolver, revoked keys, organisation CAs and the Sigstore
/// root with its identity policy. Shared by `serve` and `reindex` (which judges again).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// DNS server for the publishers' `_ossa-*` TXT records (`IP:PORT`); the system's
    /// resolvers by default.
    #[arg(long, env = "AGENTRY_DNS_SERVER", value_name = "IP:PORT")]
    pub dns_server: Option<std::net::SocketAddr>,

    /// A revoked signing key (SPKI PEM file, `_ossa-key` base64, or `ssh-ed25519 …`);
    /// repeatable. Agents signed only by revoked keys are demoted to `none`.
    #[arg(long = "trust-revoked-key", env = "AGENTRY_TRUST_REVOKED_KEYS", value_delimiter = ',', value_name = "KEY")]
    pub trust_revoked_keys: Vec<String>,

    /// Organisation CA certificate (PEM file) that signing certificates must chain to for
    /// the Standard tier (`agentry sign --cert`); repeatable. The leaf must name the agent's
    /// publisher.domain, certify the signing key and allow codeSigning.
    #[arg(long = "trust-org-ca", env = "AGENTRY_TRUST_ORG_CA", value_delimiter = ',', value_name = "FILE")]
    pub trust_org_cas: Vec<PathBuf>,

    /// Sigstore trusted_root.json for the Verified tier's bundles (own Fulcio, Rekor, CT,
    /// TSA); the embedded Sigstore public-good root by default. Checked offline.
    #[arg(long, env = "AGENTRY_TRUSTED_ROOT", value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// The Sigstore signer a publisher domain's bundles must name: DOMAIN=IDENTITY,ISSUER
    /// (certificate SAN, OIDC issuer); repeatable. A domain without one never reaches Verified.
    #[arg(long = "trust-sigstore-identity", env = "AGENTRY_TRUST_SIGSTORE_IDENTITY", value_delimiter = ';', value_name = "DOMAIN=IDENTITY,ISSUER")]
    pub trust_sigstore_identities: Vec<String>,

}

impl TrustArgs {
    /// Put these settings into `config`.
    pub fn apply(&self, config: &mut ServeConfig) {
        config.dns_server = self.dns_server;
        config.trust_revoked_keys = self
            .trust_revoked_keys
            .iter()
            .map(|k| match std::fs::read_to_string(k) {
                Ok(text) => text,
                Err(_) => k.clone(),
            })
            .collect();
        config.trust_org_cas = self.trust_org_cas.clone();
        config.trusted_root = self.trusted_root.clone();
        config.trust_sigstore_identities = self.trust_sigstore_identities.clone();
    }
}

impl Args {
    fn to_config(&self) -> anyhow::Result<ServeConfig> {
        let htpasswd = match self.auth.as_slice() {
            [] => None,
            [kind, file] if kind == "htpasswd" => Some(PathBuf::from(file)),
            [kind, _] => anyhow::bail!(
                "--auth: unknown kind {kind:?}; the supported kind is `htpasswd` (--auth htpasswd FILE)"
            ),
            _ => anyhow::bail!("--auth takes two values: --auth htpasswd FILE"),
        };
        let mut config = ServeConfig {
            listen: self.listen,
            data: self.data.data.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            htpasswd,
            max_manifest_bytes: self.max_manifest_bytes,
            max_blob_bytes: self.max_blob_bytes,
            meta_cache_mb: self.meta_cache_mb,
            metadata: self.metadata.clone(),
            no_migrate: self.no_migrate,
            strict_records: self.strict_records,
            embed_precision: self.embed_precision.embed_precision,
            upload_ttl: Duration::from_secs(self.upload_ttl),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            trust_min_tier: self.trust_min_tier,
            trust_reverify_interval: Duration::from_secs(self.trust_reverify_interval),
            auth_policy: self.auth_policy.clone(),
            public_url: self.public_url.clone(),
            token_ttl: Duration::from_secs(self.token_ttl),
            ..ServeConfig::default()
        };
        self.trust.apply(&mut config);
        let m = &self.mesh;
        config.mesh_listen = m.mesh_listen;
        config.mesh_seeds = m.mesh_seeds.clone();
        config.mesh_key = agentry_server::mesh::MeshKey(m.mesh_key.clone().unwrap_or_default());
        config.pod_id = m.pod_id.clone();
        config.mesh_advertise = m.mesh_advertise.clone();
        config.mesh_api_url = m.mesh_api_url.clone();
        config.mesh_gossip_tcp = m.mesh_gossip_tcp;
        config.mesh_namespaces = m.mesh_namespaces.clone();
        config.role = m.role;
        config.mesh_query_timeout = Duration::from_millis(m.mesh_query_timeout_ms);
        config.mesh_cache_mb = m.mesh_cache_mb;
        if let Some(v) = crate::config::structured("serve", "switchboard")? {
            config.switchboard = v
                .try_into()
                .map_err(|e| anyhow::anyhow!("config file: [[serve.switchboard]]: {e}"))?;
        }
        Ok(config)
    }
}

pub async fn run(args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    let config = match args.to_config() {
        Ok(c) => c,
        Err(e) => return crate::exit::fail(crate::exit::Code::Usage, format!("{e:#}")),
    };
    if config.tls() {
        // One crypto provider for the whole process: ring, the only one compiled in (reqwest
        // is built without its own), so rustls needs to be told to use it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let server = Server::open(config).await?;
    server.run(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
