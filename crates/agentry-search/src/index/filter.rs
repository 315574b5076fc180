//! The structured part of a query as a key set: exact names, versions, digests, capabilities
//! and every filter, intersected over the posting lists.

use agentry_types::TrustTier;
use roaring::RoaringBitmap;

use super::state::{DocMeta, State};
use crate::query::{CapabilityMatch, Query, VersionSpec};
use crate::taxonomy;

fn version_matches(spec: &VersionSpec, doc: &DocMeta, include_pre: bool) -> bool {
    match spec {
        VersionSpec::Exact(v) => doc.version.trim_start_matches('v') == v.as_str(),
        VersionSpec::Latest => true,
        VersionSpec::Range(req) => match &doc.semver {
            None => false,
            Some(v) => {
                if v.pre.is_empty() {
                    req.matches(v)
                } else {
                    req.matches(v)
                        || (include_pre
                            && req.matches(&semver::Version::new(v.major, v.minor, v.patch)))
                }
            }
        },
    }
}

/// Order for "highest version": stable semver > non-semver (by push time) > pre-release.
pub(super) fn version_rank(
    doc: &DocMeta,
    include_pre: bool,
) -> (u8, Option<&semver::Version>, i64) {
    match &doc.semver {
        Some(v) if v.pre.is_empty() || include_pre => (2, Some(v), doc.pushed_at),
        Some(v) => (0, Some(v), doc.pushed_at),
        None => (1, None, doc.pushed_at),
    }
}

/// Intersect `acc` (None = everything) with `b`.
fn and(acc: &mut Option<RoaringBitmap>, b: RoaringBitmap) {
    *acc = Some(match acc.take() {
        None => b,
        Some(a) => a & b,
    });
}

/// The structured filter of `q` as a key set (`None`: every agent).
pub(super) fn filter(st: &State, q: &Query) -> Option<RoaringBitmap> {
    let mut acc: Option<RoaringBitmap> = None;
    let get = |t: &str| st.term(t).cloned().unwrap_or_default();
    if let Some(name) = &q.name {
        let mut b = get(&format!("name:{name}"));
        if let Some(spec) = &q.version {
            b = versions_matching(st, &b, spec, q.include_prerelease);
        }
        and(&mut acc, b);
    }
    if let Some(d) = &q.digest {
        and(&mut acc, get(&format!("digest:{d}")));
    }
    if let Some(c) = &q.oasf_cid {
        and(&mut acc, get(&format!("cid:{c}")));
    }
    if !q.capabilities.is_empty() {
        let sets: Vec<RoaringBitmap> = q
            .capabilities
            .iter()
            .map(|c| {
                let mut u = RoaringBitmap::new();
                for t in taxonomy::query_terms(c) {
                    if let Some(b) = st.term(&t) {
                        u |= b;
                    }
                }
                u
            })
            .collect();
        let combined = match q.capability_match {
            CapabilityMatch::All => sets.into_iter().reduce(|a, b| a & b).unwrap_or_default(),
            CapabilityMatch::Any => sets.into_iter().fold(RoaringBitmap::new(), |a, b| a | b),
        };
        and(&mut acc, combined);
    }
    if !q.protocols.is_empty() {
        let mut u = RoaringBitmap::new();
        for p in &q.protocols {
            let kind = agentry_types::record::ProtocolKind::parse(p);
            if let Some(b) = st.term(&format!("proto:{}", kind.as_str())) {
                u |= b;
            }
        }
        and(&mut acc, u);
    }
    if let Some(min) = q.min_tier {
        let mut u = RoaringBitmap::new();
        for t in TrustTier::ALL.iter().filter(|t| **t >= min) {
            if let Some(b) = st.term(&format!("tier:{t}")) {
                u |= b;
            }
        }
        and(&mut acc, u);
    }
    if let Some(ns) = &q.namespace {
        and(&mut acc, get(&format!("ns:{ns}")));
    }
    if let Some(p) = &q.publisher {
        and(&mut acc, get(&format!("pub:{p}")));
    }
    for (k, v) in &q.labels {
        and(&mut acc, get(&format!("label:{k}={v}")));
    }
    if let Some(os) = &q.os {
        and(&mut acc, get(&format!("os:{os}")));
    }
    if let Some(arch) = &q.arch {
        and(&mut acc, get(&format!("arch:{arch}")));
    }
    match q.gpu {
        Some(true) => and(&mut acc, get("gpu:1")),
        Some(false) => {
            let b = &st.alive - &get("gpu:1");
            and(&mut acc, b);
        }
        None => {}
    }
    if let Some(n) = q.max_input_tokens {
        let base = acc.take().unwrap_or_else(|| st.alive.clone());
        let fits: RoaringBitmap = base
            .iter()
            .filter(|k| st.doc(*k).is_some_and(|d| d.min_window <= n))
            .collect();
        acc = Some(fits);
    }
    if let Some(since) = q.pushed_since {
        let base = acc.take().unwrap_or_else(|| st.alive.clone());
        let fresh: RoaringBitmap = base
            .iter()
            .filter(|k| st.doc(*k).is_some_and(|d| d.pushed_at >= since))
            .collect();
        acc = Some(fresh);
    }
    if q.latest_only {
        let base = acc.take().unwrap_or_else(|| st.alive.clone());
        acc = Some(latest_of_each(st, &base, q.include_prerelease));
    }
    acc
}

/// Of the keys in `of`, each name's highest version (ties: the newest key).
fn latest_of_each(st: &State, of: &RoaringBitmap, include_pre: bool) -> RoaringBitmap {
    let mut best: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for k in of {
        let Some(d) = st.doc(k) else { continue };
        match best.entry(d.repo.as_str()) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(k);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                if let Some(cur) = st.doc(*e.get())
                    && version_rank(d, include_pre) >= version_rank(cur, include_pre)
                {
                    e.insert(k);
                }
            }
        }
    }
    best.into_values().collect()
}

/// The keys in `of` whose version satisfies `spec` (`Latest`: the single highest).
pub(super) fn versions_matching(
    st: &State,
    of: &RoaringBitmap,
    spec: &VersionSpec,
    include_pre: bool,
) -> RoaringBitmap {
    let matching = of.iter().filter(|k| {
        st.doc(*k)
            .is_some_and(|d| version_matches(spec, d, include_pre))
    });
    match spec {
        VersionSpec::Exact(_) => matching.collect(),
        VersionSpec::Range(_) => matching
            .filter(|k| {
                include_pre
                    || st
                        .doc(*k)
                        .and_then(|d| d.semver.as_ref())
                        .is_some_and(|v| v.pre.is_empty())
            })
            .collect(),
        VersionSpec::Latest => {
            let best = matching.max_by(|a, b| {
                let (da, db) = (st.doc(*a), st.doc(*b));
                match (da, db) {
                    (Some(da), Some(db)) => version_rank(da, include_pre)
                        .cmp(&version_rank(db, include_pre))
                        .then(b.cmp(a)),
                    _ => std::cmp::Ordering::Equal,
                }
            });
            best.into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::{agent, state_of};
    use agentry_types::ContextSpec;
    use agentry_types::record::{Platform, ProtocolEndpoint, ProtocolKind, Runtime};

    fn keys(b: Option<RoaringBitmap>) -> Vec<u32> {
        b.map(|b| b.iter().collect()).unwrap_or_default()
    }

    fn fixture() -> State {
        let mut a = agent(
            "acme/analyst",
            "2.4.1",
            "earnings",
            &[("Summarise", Some("nlp/summarization/abstractive"))],
        );
        a.trust_tier = TrustTier::Verified;
        a.record.labels.insert("team".into(), "finance".into());
        a.record.context = Some(ContextSpec {
            max_input_tokens: Some(128_000),
            required_tokens: Some(4_096),
            ..ContextSpec::default()
        });
        let mut b = agent("acme/analyst", "2.5.0-beta.1", "earnings", &[]);
        b.manifest_digest = agentry_types::Digest::sha256(b"beta");
        let c = agent("acme/analyst", "1.9.0", "earnings", &[]);
        let mut d = agent(
            "pixel/tagger",
            "0.3.0",
            "photos",
            &[("Object detection", Some("vision/object_detection"))],
        );
        d.record.runtime = Some(Runtime {
            platforms: vec![Platform {
                os: "Linux".into(),
                arch: "arm64".into(),
            }],
            gpu: true,
            ..Runtime::default()
        });
        d.record.protocols.push(ProtocolEndpoint {
            kind: ProtocolKind::Mcp,
            version: None,
            endpoint: None,
            transport: None,
        });
        state_of(&[a, b, c, d])
    }

    #[test]
    fn latest_only_keeps_each_names_highest_and_pushed_since_bounds_the_push_time() {
        let st = fixture();
        let mut q = Query::new();
        q.latest_only = true;
        assert_eq!(
            keys(filter(&st, &q)),
            vec![0, 3],
            "stable 2.4.1 beats 2.5.0-beta.1"
        );
        q.include_prerelease = true;
        assert_eq!(keys(filter(&st, &q)), vec![1, 3]);
        let mut q = Query::new();
        q.pushed_since = Some(1);
        assert_eq!(keys(filter(&st, &q)), vec![0, 1, 2, 3]);
        q.pushed_since = Some(2);
        assert!(keys(filter(&st, &q)).is_empty());
        let mut late = agent("acme/analyst", "1.0.0", "earnings", &[]);
        late.pushed_at = 50;
        let st = state_of(&[agent("acme/analyst", "2.0.0", "x", &[]), late]);
        q.pushed_since = Some(10);
        assert_eq!(keys(filter(&st, &q)), vec![1]);
        q.latest_only = true;
        assert_eq!(
            keys(filter(&st, &q)),
            vec![1],
            "latest among the fresh ones"
        );
    }

    #[test]
    fn no_constraint_is_every_agent_not_an_empty_set() {
        let st = fixture();
        assert!(filter(&st, &Query::new()).is_none());
    }

    #[test]
    fn a_category_finds_its_sub_skills_and_all_needs_every_capability() {
        let st = fixture();
        let mut q = Query::new();
        q.capabilities = vec!["nlp".into()];
        assert_eq!(keys(filter(&st, &q)), vec![0]);
        q.capabilities = vec!["NLP/Summarization".into()];
        assert_eq!(keys(filter(&st, &q)), vec![0]);
        q.capabilities = vec!["object detection".into()];
        assert_eq!(keys(filter(&st, &q)), vec![3], "free-form skill name");
        q.capabilities = vec!["nlp".into(), "vision".into()];
        assert!(keys(filter(&st, &q)).is_empty());
        q.capability_match = CapabilityMatch::Any;
        assert_eq!(keys(filter(&st, &q)), vec![0, 3]);
    }

    #[test]
    fn filters_intersect() {
        let st = fixture();
        let mut q = Query::new();
        q.min_tier = Some(TrustTier::Standard);
        assert_eq!(keys(filter(&st, &q)), vec![0]);
        q.min_tier = None;
        q.protocols = vec!["MCP".into()];
        assert_eq!(keys(filter(&st, &q)), vec![3]);
        q.protocols.clear();
        q.gpu = Some(false);
        assert_eq!(keys(filter(&st, &q)), vec![0, 1, 2]);
        q.gpu = Some(true);
        q.os = Some("linux".into());
        q.arch = Some("arm64".into());
        assert_eq!(keys(filter(&st, &q)), vec![3]);
        q.namespace = Some("acme".into());
        assert!(keys(filter(&st, &q)).is_empty());
        let mut q = Query::new();
        q.labels = vec![("team".into(), "finance".into())];
        assert_eq!(keys(filter(&st, &q)), vec![0]);
        q.labels.push(("team".into(), "legal".into()));
        assert!(keys(filter(&st, &q)).is_empty());
    }

    #[test]
    fn context_fit_keeps_agents_without_a_demand() {
        let st = fixture();
        let mut q = Query::new();
        q.max_input_tokens = Some(4_000);
        assert_eq!(keys(filter(&st, &q)), vec![1, 2, 3]);
        q.max_input_tokens = Some(128_000);
        assert_eq!(keys(filter(&st, &q)), vec![0, 1, 2, 3]);
    }

    #[test]
    fn versions_latest_range_and_prerelease() {
        let st = fixture();
        let all: RoaringBitmap = [0u32, 1, 2].into_iter().collect();
        let pick = |spec: &str, pre: bool| -> Vec<u32> {
            let spec = VersionSpec::parse(spec).unwrap_or_else(|e| panic!("{e}"));
            versions_matching(&st, &all, &spec, pre).iter().collect()
        };
        assert_eq!(pick("latest", false), vec![0], "stable beats pre-release");
        assert_eq!(pick("latest", true), vec![1]);
        assert_eq!(pick("^2", false), vec![0]);
        assert_eq!(pick("^2", true), vec![0, 1]);
        assert_eq!(pick("2.4.1", false), vec![0]);
        assert_eq!(pick("v1.9.0", false), vec![2]);
        assert!(pick("^3", true).is_empty());
        let mut q = Query::new();
        q.name = Some("acme/analyst".into());
        q.version = Some(VersionSpec::Latest);
        assert_eq!(keys(filter(&st, &q)), vec![0]);
    }
}
