//! Synthetic but realistic agent records for tests and benchmarks, deterministic by seed.
//!
//! Records are assembled from real material: the OASF skill taxonomy (1.1.0 for most records,
//! 1.0.0 for some, as in the wild), and, from the repository's `testdata/real` collection, the 471 real
//! MCP registry seed entries and the skills of real A2A agent cards. Agents come in families
//! (one name, several versions, some pre-releases), belong to namespaces of varied size, speak
//! a mix of protocols, and carry runtime, context and label data in realistic proportions.
//!
//! Record `i` of seed `s` depends only on `(s, i)`, so any range can be generated in parallel
//! and the same corpus is rebuilt on every machine.

use std::collections::BTreeMap;
use std::path::Path;

use agentry_types::record::{
    Identity, Platform, ProtocolEndpoint, ProtocolKind, Provenance, Publisher, Runtime, Skill,
    SourceFormat, TaxonomyRef,
};
use agentry_types::{AgentRecord, ContextSpec, Digest, RepoName, TrustTier};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::IndexedAgent;
use crate::taxonomy::{Taxonomies, TaxonomyClass};

/// A real description (and name) from another registry.
#[derive(Debug, Clone)]
pub struct SampleText {
    pub name: String,
    pub description: String,
}

/// Real records the generator borrows from.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// MCP registry seed entries (name, description).
    pub mcp: Vec<SampleText>,
    /// A2A agent-card skills (name, description).
    pub a2a_skills: Vec<SampleText>,
}

impl Samples {
    /// Load from a real-record directory (`testdata/real` layout); missing files leave the lists empty.
    pub fn load(data_dir: &Path) -> Samples {
        let mut s = Samples::default();
        if let Ok(bytes) = std::fs::read(data_dir.join("mcp/seed/seed_2025_05_16.json"))
            && let Ok(serde_json::Value::Array(entries)) = serde_json::from_slice(&bytes)
        {
            for e in entries {
                let name = e.get("name").and_then(|v| v.as_str()).unwrap_or_default();
                let desc = e
                    .get("description")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default();
                if !name.is_empty() && desc.len() > 15 {
                    s.mcp.push(SampleText {
                        name: name.rsplit('/').next().unwrap_or(name).to_owned(),
                        description: desc.trim().to_owned(),
                    });
                }
            }
        }
        let mut stack = vec![data_dir.join("a2a/examples")];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let Ok(bytes) = std::fs::read(&p) else {
                    continue;
                };
                let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                    continue;
                };
                let card = v.get("a2aCard").unwrap_or(&v);
                if let Some(skills) = card.get("skills").and_then(|s| s.as_array()) {
                    for k in skills {
                        let name = k.get("name").and_then(|v| v.as_str()).unwrap_or_default();
                        let desc = k
                            .get("description")
                            .and_then(|v| v.as_str())
                            .unwrap_or_default();
                        if !name.is_empty() && !desc.is_empty() {
                            s.a2a_skills.push(SampleText {
                                name: name.to_owned(),
                                description: desc.to_owned(),
                            });
                        }
                    }
                }
            }
        }
        s
    }

    /// Find the real-record collection: `AGENTRY_SHARED_DATA`, else the repository's
    /// `testdata/real` (this crate's source tree sits two levels below it), else by walking up
    /// from the current directory; empty samples when absent.
    pub fn discover() -> Samples {
        if let Ok(p) = std::env::var("AGENTRY_SHARED_DATA") {
            return Samples::load(Path::new(&p));
        }
        let in_repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real");
        if in_repo.join("mcp").is_dir() {
            return Samples::load(&in_repo);
        }
        let mut dir = std::env::current_dir().ok();
        while let Some(d) = dir {
            let cand = d.join("testdata/real");
            if cand.join("mcp").is_dir() {
                return Samples::load(&cand);
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        Samples::default()
    }
}

const ADJ: &[&str] = &[
    "acme", "blue", "bright", "nimbus", "quantum", "polar", "swift", "iron", "coral", "delta",
    "silver", "nova", "atlas", "ember", "lumen", "orbit", "pioneer", "summit", "vertex", "zephyr",
    "crimson", "granite", "harbor", "maple", "onyx", "prairie", "cobalt", "sierra", "tidal",
    "aurora",
];
const NOUN: &[&str] = &[
    "labs",
    "corp",
    "systems",
    "ai",
    "works",
    "analytics",
    "cloud",
    "data",
    "robotics",
    "health",
    "finance",
    "logistics",
    "media",
    "security",
    "energy",
    "bio",
    "legal",
    "retail",
    "edu",
    "dev",
];
const SUFFIX: &[&str] = &[
    "agent",
    "assistant",
    "bot",
    "copilot",
    "helper",
    "service",
    "worker",
    "pilot",
    "advisor",
    "engine",
];
const TEMPLATES: &[&str] = &[
    "{cap} agent. {desc}",
    "An assistant for {capl}: {descl}",
    "{desc} Built for teams that need reliable {capl}.",
    "Automates {capl}. {desc}",
    "{cap} service that {verb} {descl}",
    "Production-ready {capl} agent. {desc} Also handles {cap2l}.",
    "{desc} Combines {capl} with {cap2l}.",
    "Helps with {capl} and {cap2l}. {desc}",
];
const VERBS: &[&str] = &[
    "specialises in",
    "focuses on",
    "is designed for",
    "supports",
];
const VERSION_NOTES: &[&str] = &[
    "Faster responses and lower cost per request.",
    "Now streams partial results.",
    "Adds batch processing of large inputs.",
    "Improved accuracy on long documents.",
    "Supports multilingual input.",
    "Adds audit logging for compliance.",
    "Reduced memory footprint.",
    "New: scheduled runs and webhooks.",
    "Better error messages and retries.",
    "Handles PDF and spreadsheet attachments.",
];
const TEAMS: &[&str] = &["platform", "finance", "support", "research", "ops", "sales"];

/// Generator of a corpus of `n` records from `seed`.
pub struct Generator {
    seed: u64,
    n: u64,
    classes_new: Vec<TaxonomyClass>,
    classes_old: Vec<TaxonomyClass>,
    samples: Samples,
    namespaces: u64,
}

fn rng_for(seed: u64, stream: u64, i: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    r.set_stream(i);
    r
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(ch.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

/// Agents per family (versions of one name).
const FAMILY: u64 = 4;

impl Generator {
    pub fn new(seed: u64, n: u64, samples: Samples) -> Generator {
        let tax = Taxonomies::shipped();
        let leaves = |v: &str| -> Vec<TaxonomyClass> {
            tax.version(v)
                .map(|t| {
                    t.classes
                        .iter()
                        .filter(|c| !c.is_category && !c.deprecated && c.level >= 2)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        };
        Generator {
            seed,
            n,
            classes_new: leaves("1.1.0"),
            classes_old: leaves("1.0.0"),
            samples,
            namespaces: (n / 40).max(8),
        }
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn namespace(&self, ns: u64) -> String {
        let mut r = rng_for(self.seed, 1, ns);
        let a = ADJ.choose(&mut r).copied().unwrap_or("acme");
        let b = NOUN.choose(&mut r).copied().unwrap_or("labs");
        if ns < (ADJ.len() * NOUN.len()) as u64 / 2 {
            format!("{a}-{b}")
        } else {
            format!("{a}-{b}-{}", ns % 997)
        }
    }

    /// The `i`-th record of the corpus.
    pub fn agent(&self, i: u64) -> IndexedAgent {
        let family = i / FAMILY;
        let vi = i % FAMILY;
        let mut fr = rng_for(self.seed, 2, family);
        // Namespaces of varied size: a skewed pick.
        let u: f64 = fr.random();
        let ns_idx = ((u * u) * self.namespaces as f64) as u64;
        let namespace = self.namespace(ns_idx);
        let old_tax = fr.random_bool(0.2) && !self.classes_old.is_empty();
        let pool = if old_tax {
            &self.classes_old
        } else {
            &self.classes_new
        };
        let fallback = TaxonomyClass {
            id: 0,
            name: "general".into(),
            caption: "General".into(),
            description: "General assistance.".into(),
            level: 2,
            is_category: false,
            deprecated: false,
        };
        let primary = pool.choose(&mut fr).cloned().unwrap_or(fallback.clone());
        let category = primary.name.split('/').next().unwrap_or("").to_owned();
        let siblings: Vec<&TaxonomyClass> = pool
            .iter()
            .filter(|c| c.name.starts_with(&category) && c.name != primary.name)
            .collect();
        let mut classes = vec![primary.clone()];
        for _ in 0..fr.random_range(0..3) {
            let c = if fr.random_bool(0.6) && !siblings.is_empty() {
                siblings.choose(&mut fr).map(|c| (*c).clone())
            } else {
                pool.choose(&mut fr).cloned()
            };
            if let Some(c) = c
                && !classes.iter().any(|x| x.id == c.id)
            {
                classes.push(c);
            }
        }
        let mcp_sample = if !self.samples.mcp.is_empty() && fr.random_bool(0.3) {
            self.samples.mcp.choose(&mut fr).cloned()
        } else {
            None
        };
        let suffix = SUFFIX.choose(&mut fr).copied().unwrap_or("agent");
        let base_name = match &mcp_sample {
            Some(s) => slug(&s.name),
            None => {
                let words: Vec<String> = primary
                    .caption
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() > 2 && *w != "and")
                    .take(2)
                    .map(str::to_ascii_lowercase)
                    .collect();
                format!("{}-{suffix}", words.join("-"))
            }
        };
        let name = if family.is_multiple_of(7) || base_name.is_empty() {
            format!(
                "{}{}",
                if base_name.is_empty() {
                    "agent"
                } else {
                    &base_name
                },
                family % 100
            )
        } else {
            base_name
        };
        let name = slug(&name);
        let cap = primary.caption.clone();
        let cap2 = classes
            .get(1)
            .map(|c| c.caption.clone())
            .unwrap_or_else(|| "reporting".into());
        let class_desc = primary.description.trim().to_owned();
        let template = TEMPLATES.choose(&mut fr).copied().unwrap_or("{desc}");
        let mut description = template
            .replace("{cap}", &cap)
            .replace("{capl}", &cap.to_lowercase())
            .replace("{cap2l}", &cap2.to_lowercase())
            .replace(
                "{verb}",
                VERBS.choose(&mut fr).copied().unwrap_or("supports"),
            )
            .replace("{descl}", &lower_first(&class_desc))
            .replace("{desc}", &class_desc);
        if let Some(s) = &mcp_sample {
            description = format!("{} {}", s.description, description);
        }
        let mut skills: Vec<Skill> = classes
            .iter()
            .map(|c| Skill {
                id: None,
                name: c.caption.clone(),
                description: c.description.clone(),
                taxonomy: vec![TaxonomyRef {
                    id: Some(c.id),
                    name: Some(c.name.clone()),
                }],
                ..Skill::default()
            })
            .collect();
        if !self.samples.a2a_skills.is_empty()
            && fr.random_bool(0.15)
            && let Some(s) = self.samples.a2a_skills.choose(&mut fr)
        {
            skills.push(Skill {
                name: s.name.clone(),
                description: s.description.clone(),
                ..Skill::default()
            });
        }
        let mut protocols = Vec::new();
        for (kind, p) in [
            (ProtocolKind::A2a, 0.5),
            (
                ProtocolKind::Mcp,
                if mcp_sample.is_some() { 1.0 } else { 0.35 },
            ),
            (ProtocolKind::Rest, 0.2),
            (ProtocolKind::Grpc, 0.05),
        ] {
            if fr.random_bool(p) {
                protocols.push(ProtocolEndpoint {
                    kind,
                    version: None,
                    endpoint: None,
                    transport: None,
                });
            }
        }
        if protocols.is_empty() {
            protocols.push(ProtocolEndpoint {
                kind: ProtocolKind::A2a,
                version: Some("0.3.0".into()),
                endpoint: None,
                transport: Some("JSONRPC".into()),
            });
        }
        let mut platforms = Vec::new();
        for (os, arch, p) in [
            ("linux", "amd64", 0.9),
            ("linux", "arm64", 0.4),
            ("darwin", "arm64", 0.1),
            ("windows", "amd64", 0.05),
        ] {
            if fr.random_bool(p) {
                platforms.push(Platform {
                    os: os.into(),
                    arch: arch.into(),
                });
            }
        }
        let runtime = Runtime {
            kind: Some(
                if mcp_sample.is_some() {
                    "npm"
                } else {
                    "container"
                }
                .into(),
            ),
            image: None,
            platforms,
            cpu: None,
            memory: None,
            gpu: fr.random_bool(0.1),
            storage: None,
        };
        let context = fr.random_bool(0.7).then(|| {
            let max = *[8_192u64, 32_768, 128_000, 200_000]
                .choose(&mut fr)
                .unwrap_or(&32_768);
            ContextSpec {
                max_input_tokens: Some(max),
                max_output_tokens: Some(max / 8),
                required_tokens: Some(max * fr.random_range(2..11) / 100),
                sliding_window_tokens: Some(max * fr.random_range(10..46) / 100),
                retrieval_tokens: Some(max * fr.random_range(0..21) / 100),
                retrieval_augmented: Some(true),
            }
        });
        let mut labels = BTreeMap::new();
        if fr.random_bool(0.5) {
            labels.insert(
                "team".into(),
                TEAMS.choose(&mut fr).copied().unwrap_or("ops").into(),
            );
        }
        let tier = {
            let t: f64 = fr.random();
            if t < 0.6 {
                TrustTier::Basic
            } else if t < 0.9 {
                TrustTier::Standard
            } else {
                TrustTier::Verified
            }
        };
        // Per-version variation.
        let mut vr = rng_for(self.seed, 3, i);
        let major = 1 + vi;
        let version = if vi == FAMILY - 1 && vr.random_bool(0.3) {
            format!("{major}.0.0-beta.{}", vr.random_range(1..4))
        } else {
            format!(
                "{major}.{}.{}",
                vr.random_range(0..10),
                vr.random_range(0..20)
            )
        };
        if vi > 0 && vr.random_bool(0.7) {
            let note = VERSION_NOTES
                .choose(&mut vr)
                .copied()
                .unwrap_or("Faster responses.");
            description = format!("{description} {note}");
        }
        if labels.is_empty() || vr.random_bool(0.3) {
            labels.insert(
                "env".into(),
                if vr.random_bool(0.8) {
                    "prod"
                } else {
                    "staging"
                }
                .into(),
            );
        }
        let format = *SourceFormat::ALL
            .choose(&mut fr)
            .unwrap_or(&SourceFormat::Simple);
        let manifest_digest = Digest::sha256(format!("agentry-gen:{}:{i}", self.seed).as_bytes());
        let oasf_cid = (format == SourceFormat::Oasf)
            .then(|| format!("baeareia{}", &manifest_digest.hex()[..52]));
        let repo_str = format!("{namespace}/{name}");
        let repo = RepoName::parse(&repo_str)
            .or_else(|_| RepoName::parse(&format!("{namespace}/agent{family}")))
            .unwrap_or_else(|_| {
                // Both candidates are built from [a-z0-9-] and cannot fail the grammar; this
                // arm only keeps the generator total.
                RepoName::parse("generated/agent").unwrap_or_else(|e| unreachable!("{e}"))
            });
        let record = AgentRecord {
            identity: Identity {
                namespace: namespace.clone(),
                name: name.clone(),
                version,
                display_name: None,
                digest: None,
                oasf_cid,
            },
            publisher: Some(Publisher {
                organization: Some(namespace.clone()),
                domain: Some(format!("{namespace}.example")),
                ..Publisher::default()
            }),
            description,
            skills,
            protocols,
            runtime: Some(runtime),
            context,
            labels,
            provenance: Provenance {
                source_format: format,
                ..Provenance::default()
            },
            ..AgentRecord::default()
        };
        IndexedAgent {
            record,
            repo,
            manifest_digest,
            trust_tier: tier,
            source_pod: if fr.random_bool(0.9) {
                "local".into()
            } else {
                format!("pod-{}", family % 16)
            },
            pushed_at: 1_760_000_000 + i as i64 * 30,
        }
    }

    /// Records `range` in order.
    pub fn agents(&self, range: std::ops::Range<u64>) -> impl Iterator<Item = IndexedAgent> + '_ {
        range.map(|i| self.agent(i))
    }

    /// A natural-language query near the meaning of a random class: its description, which
    /// differs in wording from the generated descriptions' templates.
    pub fn semantic_query(&self, j: u64) -> String {
        self.semantic_query_with_class(j).0
    }

    /// [`Generator::semantic_query`] with the id of the OASF class it paraphrases: an agent
    /// carrying that class is a relevant answer (for measuring answer quality, not only recall).
    pub fn semantic_query_with_class(&self, j: u64) -> (String, Option<u64>) {
        let mut r = rng_for(self.seed, 4, j);
        let c = self.classes_new.choose(&mut r);
        let lead = [
            "I need something for",
            "find an agent for",
            "help with",
            "tool that does",
        ]
        .choose(&mut r)
        .copied()
        .unwrap_or("help with");
        match c {
            Some(c) => (
                format!(
                    "{lead} {}",
                    lower_first(c.description.trim_end_matches('.'))
                ),
                Some(c.id),
            ),
            None => ("help me".into(), None),
        }
    }

    /// A keyword query (1-3 words from captions and sample descriptions, sometimes with a typo
    /// or cut short).
    pub fn text_query(&self, j: u64) -> String {
        let mut r = rng_for(self.seed, 5, j);
        let c = self.classes_new.choose(&mut r);
        let mut words: Vec<String> = c
            .map(|c| {
                c.caption
                    .split(|ch: char| !ch.is_alphanumeric())
                    .filter(|w| w.len() > 2 && *w != "and")
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        if words.is_empty() {
            words.push("agent".into());
        }
        words.truncate(r.random_range(1..=3));
        let roll: f64 = r.random();
        if roll < 0.15 {
            // typo: swap two inner letters of the first word
            let w = &mut words[0];
            if w.len() > 4 {
                let mut b: Vec<char> = w.chars().collect();
                b.swap(1, 2);
                *w = b.into_iter().collect();
            }
        } else if roll < 0.3 {
            // prefix: cut the last word short
            if let Some(w) = words.last_mut()
                && w.len() > 5
            {
                w.truncate(w.len() - 2);
            }
        }
        words.join(" ")
    }

    /// A capability query value: a category, a class path, a leaf name or a numeric id.
    pub fn capability_query(&self, j: u64) -> String {
        let mut r = rng_for(self.seed, 6, j);
        let Some(c) = self.classes_new.choose(&mut r) else {
            return "language_processing".into();
        };
        match r.random_range(0..4) {
            0 => c.name.split('/').next().unwrap_or(&c.name).to_owned(),
            1 => c.name.clone(),
            2 => c.name.rsplit('/').next().unwrap_or(&c.name).to_owned(),
            _ => c.id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let g = Generator::new(7, 1000, Samples::discover());
        let a = g.agent(123);
        let b = Generator::new(7, 1000, Samples::discover()).agent(123);
        assert_eq!(a, b);
        assert_ne!(g.agent(124).manifest_digest, a.manifest_digest);
        let names: std::collections::HashSet<String> =
            g.agents(0..400).map(|a| a.repo.to_string()).collect();
        assert!(names.len() > 60, "only {} distinct names", names.len());
        // Families share a name across versions.
        assert_eq!(g.agent(0).repo, g.agent(1).repo);
        let descs: std::collections::HashSet<String> =
            g.agents(0..400).map(|a| a.record.description).collect();
        assert!(
            descs.len() > 200,
            "only {} distinct descriptions",
            descs.len()
        );
        for a in g.agents(0..200) {
            assert!(!a.record.skills.is_empty());
            assert!(!a.record.protocols.is_empty());
            assert!(!a.record.identity.version.is_empty());
        }
    }
}
