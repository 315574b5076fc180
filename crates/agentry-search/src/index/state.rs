//! The in-memory structured side of the index: per-agent summaries and posting lists
//! (roaring bitmaps of keys) for every exact, capability and filter term.

use std::collections::HashMap;

use agentry_types::{AgentRecord, Digest, RepoName, TrustTier};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::IndexedAgent;
use crate::taxonomy::{Taxonomies, normalize_skill_name};

/// What a result item shows, kept in memory for every agent.
pub(crate) struct DocMeta {
    pub repo: RepoName,
    pub version: Box<str>,
    pub semver: Option<semver::Version>,
    pub digest: Digest,
    pub description: Box<str>,
    pub capabilities: Box<[Box<str>]>,
    pub protocols: Box<[Box<str>]>,
    pub tier: TrustTier,
    pub source_pod: Box<str>,
    pub pushed_at: i64,
    /// Smallest context window (tokens) in which the agent's Formula-2 budget fits.
    pub min_window: u64,
    /// Posting terms the agent is listed under (for removal and facets).
    pub terms: Box<[u32]>,
}

impl DocMeta {
    pub fn namespace(&self) -> &str {
        self.repo.namespace()
    }
}

/// Facet groups whose values are posting terms with these prefixes.
pub(crate) const FACETS: [(&str, &str); 4] = [
    ("capability", "cap:"),
    ("protocol", "proto:"),
    ("tier", "tier:"),
    ("namespace", "ns:"),
];

#[derive(Default)]
pub(crate) struct State {
    pub docs: Vec<Option<Box<DocMeta>>>,
    /// `repo@digest` → key.
    pub by_artifact: HashMap<String, u32>,
    terms: HashMap<Box<str>, u32>,
    pub term_names: Vec<Box<str>>,
    pub postings: Vec<RoaringBitmap>,
    /// Term ids per facet group (same order as [`FACETS`]).
    pub facet_terms: [Vec<u32>; 4],
    pub alive: RoaringBitmap,
    pub next_key: u32,
}

/// The slimmed record kept as the stored payload: everything search needs, without the
/// original document, schemas and extensions (the store keeps those).
#[derive(Serialize, Deserialize)]
pub(crate) struct Payload {
    pub agent: IndexedAgent,
}

pub(crate) fn slim(record: &AgentRecord) -> AgentRecord {
    let mut r = record.clone();
    r.provenance.original = None;
    r.extensions.clear();
    r.annotations.clear();
    r.permissions = None;
    r.compliance = None;
    r.dependencies.clear();
    for s in &mut r.skills {
        s.input_schema = None;
        s.output_schema = None;
        s.examples.clear();
    }
    r
}

/// Smallest window `n` with `spec.fits_within(n)`; fitting is monotone in `n`.
fn min_window(record: &AgentRecord) -> u64 {
    let Some(spec) = &record.context else {
        return 0;
    };
    if spec.fits_within(1) {
        return 1;
    }
    let (mut lo, mut hi) = (1u64, 1u64 << 40);
    if !spec.fits_within(hi) {
        return u64::MAX;
    }
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if spec.fits_within(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// Display capabilities: the taxonomy paths of each skill, or its name if it has none.
pub(crate) fn display_capabilities(record: &AgentRecord) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &record.skills {
        let mut any = false;
        for t in &s.taxonomy {
            let v = t
                .name
                .as_deref()
                .map(crate::taxonomy::normalize_path)
                .or_else(|| t.id.map(|i| i.to_string()));
            if let Some(v) = v {
                any = true;
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        if !any && !s.name.is_empty() && !out.iter().any(|o| o == &s.name) {
            out.push(s.name.clone());
        }
    }
    out
}

/// Every posting term of an agent.
pub(crate) fn terms_of(agent: &IndexedAgent, tax: &Taxonomies) -> Vec<String> {
    let r = &agent.record;
    let repo = agent.repo.as_str();
    let mut t = vec![
        format!("name:{repo}"),
        format!("ns:{}", agent.repo.namespace()),
        format!("digest:{}", agent.manifest_digest),
        format!("tier:{}", agent.trust_tier),
        format!("pod:{}", agent.source_pod),
    ];
    if let Some(d) = &r.identity.digest
        && *d != agent.manifest_digest
    {
        t.push(format!("digest:{d}"));
    }
    if let Some(cid) = &r.identity.oasf_cid {
        t.push(format!("cid:{cid}"));
    }
    for p in &r.protocols {
        t.push(format!("proto:{}", p.kind.as_str().to_ascii_lowercase()));
    }
    if speaks_mcp_by_format(r) {
        t.push("proto:mcp".into());
    }
    if let Some(rt) = &r.runtime {
        for p in &rt.platforms {
            t.push(format!("os:{}", p.os.to_ascii_lowercase()));
            t.push(format!("arch:{}", p.arch.to_ascii_lowercase()));
        }
        if rt.gpu {
            t.push("gpu:1".into());
        }
    }
    for (k, v) in &r.labels {
        t.push(format!("label:{k}={v}"));
    }
    if let Some(p) = &r.publisher {
        for v in [&p.organization, &p.domain].into_iter().flatten() {
            t.push(format!("pub:{}", v.trim().to_ascii_lowercase()));
        }
    }
    for s in &r.skills {
        if !s.name.is_empty() {
            t.push(format!("skill:{}", normalize_skill_name(&s.name)));
        }
        if let Some(id) = &s.id {
            t.push(format!("skill:{}", normalize_skill_name(id)));
        }
        for tr in &s.taxonomy {
            tax.terms_for_ref(tr, &mut t);
        }
    }
    t.sort();
    t.dedup();
    t
}

impl State {
    pub fn term(&self, name: &str) -> Option<&RoaringBitmap> {
        self.terms.get(name).map(|&i| &self.postings[i as usize])
    }

    pub fn doc(&self, key: u32) -> Option<&DocMeta> {
        self.docs.get(key as usize).and_then(|d| d.as_deref())
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.terms.get(name) {
            return i;
        }
        let i = self.postings.len() as u32;
        self.terms.insert(name.into(), i);
        self.term_names.push(name.into());
        self.postings.push(RoaringBitmap::new());
        for (g, (_, prefix)) in FACETS.iter().enumerate() {
            if let Some(rest) = name.strip_prefix(prefix) {
                // Capability facets count categories and their direct children only.
                if g != 0 || rest.matches('/').count() <= 1 {
                    self.facet_terms[g].push(i);
                }
            }
        }
        i
    }

    /// Insert an agent under `key`.
    pub fn insert(&mut self, key: u32, agent: &IndexedAgent, tax: &Taxonomies) {
        let terms: Vec<u32> = terms_of(agent, tax)
            .iter()
            .map(|t| self.intern(t))
            .collect();
        for &t in &terms {
            self.postings[t as usize].insert(key);
        }
        let r = &agent.record;
        let mut protocols: Vec<Box<str>> = Vec::new();
        for p in &r.protocols {
            let s: Box<str> = p.kind.as_str().to_ascii_lowercase().into();
            if !protocols.contains(&s) {
                protocols.push(s);
            }
        }
        if speaks_mcp_by_format(r) {
            protocols.push("mcp".into());
        }
        let meta = DocMeta {
            repo: agent.repo.clone(),
            version: r.identity.version.as_str().into(),
            semver: r.semver(),
            digest: agent.manifest_digest.clone(),
            description: r.description.as_str().into(),
            capabilities: display_capabilities(r)
                .into_iter()
                .map(Into::into)
                .collect(),
            protocols: protocols.into(),
            tier: agent.trust_tier,
            source_pod: agent.source_pod.as_str().into(),
            pushed_at: agent.pushed_at,
            min_window: min_window(r),
            terms: terms.into(),
        };
        let idx = key as usize;
        if self.docs.len() <= idx {
            self.docs.resize_with(idx + 1, || None);
        }
        self.docs[idx] = Some(Box::new(meta));
        self.by_artifact
            .insert(format!("{}@{}", agent.repo, agent.manifest_digest), key);
        self.alive.insert(key);
        self.next_key = self.next_key.max(key.saturating_add(1));
    }

    /// Remove the agent under `key`; returns whether it existed.
    pub fn remove(&mut self, key: u32) -> bool {
        let Some(meta) = self.docs.get_mut(key as usize).and_then(Option::take) else {
            return false;
        };
        for &t in meta.terms.iter() {
            self.postings[t as usize].remove(key);
        }
        self.by_artifact
            .remove(&format!("{}@{}", meta.repo, meta.digest));
        self.alive.remove(key);
        true
    }

    /// Key of the artifact `repo@digest`.
    pub fn key_of_id(&self, id: &str) -> Option<u32> {
        self.by_artifact.get(id).copied()
    }

    pub fn len(&self) -> u64 {
        self.alive.len()
    }

    /// Approximate heap bytes of the structured index (for the memory benchmark).
    pub fn approx_bytes(&self) -> usize {
        let docs: usize = self
            .docs
            .iter()
            .flatten()
            .map(|d| {
                std::mem::size_of::<DocMeta>()
                    + d.repo.as_str().len()
                    + d.version.len()
                    + d.digest.hex().len()
                    + d.description.len()
                    + d.capabilities.iter().map(|c| c.len() + 16).sum::<usize>()
                    + d.protocols.iter().map(|c| c.len() + 16).sum::<usize>()
                    + d.source_pod.len()
                    + d.terms.len() * 4
            })
            .sum();
        let postings: usize = self.postings.iter().map(|p| p.serialized_size()).sum();
        docs + postings + self.docs.len() * 8 + self.by_artifact.len() * 120
    }
}

/// An MCP `server.json` describes an MCP server even when it lists no packages or remotes
/// (the MCP Registry front door lists every such record).
fn speaks_mcp_by_format(r: &agentry_types::AgentRecord) -> bool {
    r.provenance.source_format == agentry_types::record::SourceFormat::Mcp
        && !r
            .protocols
            .iter()
            .any(|p| p.kind == agentry_types::record::ProtocolKind::Mcp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentry_types::ContextSpec;

    #[test]
    fn min_window_is_the_formula_2_threshold() {
        let mut r = AgentRecord::default();
        assert_eq!(min_window(&r), 0);
        r.context = Some(ContextSpec {
            max_input_tokens: Some(128_000),
            required_tokens: Some(4_096),
            sliding_window_tokens: Some(32_768),
            retrieval_tokens: Some(16_384),
            ..ContextSpec::default()
        });
        let w = min_window(&r);
        let spec = r.context.clone().unwrap_or_default();
        assert!(spec.fits_within(w));
        assert!(!spec.fits_within(w - 1));
    }
}
