//! The discovery API's wire formats: query strings into typed [`Query`]s, typed answers
//! into the JSON the API returns. The search crate knows neither.

use std::collections::BTreeMap;

use agentry_search::{
    AgentHit, CapabilityMatch, Cursor, FacetCount, MAX_LIMIT, MAX_TEXT_LEN, ParamError, Query,
    SearchMode, SearchPage, VersionSpec,
};
use agentry_types::TrustTier;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use crate::query_string::{self, BadQuery};

impl From<BadQuery> for Problem {
    fn from(e: BadQuery) -> Problem {
        Problem::bad_request(&e.parameter, e.reason)
    }
}

/// `GET /api/v1/agents`' query string (after `?`; `None` when absent) as a [`Query`],
/// refusing unknown parameters.
pub fn search_query(raw: Option<&str>) -> Result<Query, Problem> {
    let pairs = query_string::decode(raw)?;
    Ok(query_from_pairs(&pairs)?)
}

fn parse_bool(param: &str, v: &str) -> Result<bool, ParamError> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ParamError::new(
            param,
            format!("expected true or false, got {v:?}"),
        )),
    }
}

fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn bounded_text(param: &str, v: &str) -> Result<Option<String>, ParamError> {
    let t = v.trim();
    if t.len() > MAX_TEXT_LEN {
        return Err(ParamError::new(
            param,
            format!("longer than {MAX_TEXT_LEN} bytes"),
        ));
    }
    Ok((!t.is_empty()).then(|| t.to_owned()))
}

/// The query parameters `GET /api/v1/agents` accepts, for documentation and for refusing
/// unknown ones.
pub const PARAMS: &[&str] = &[
    "q",
    "semantic",
    "mode",
    "name",
    "version",
    "digest",
    "cid",
    "capability",
    "capability_match",
    "protocol",
    "min_trust",
    "namespace",
    "publisher",
    "label",
    "os",
    "arch",
    "gpu",
    "max_input_tokens",
    "prerelease",
    "facets",
    "limit",
    "cursor",
];

/// Parse `(name, value)` pairs. Repeated list parameters accumulate; repeated scalar
/// parameters are refused.
pub fn query_from_pairs(pairs: &[(String, String)]) -> Result<Query, ParamError> {
    let mut q = Query::new();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in pairs {
        let (k, v) = (k.as_str(), v.as_str());
        let repeatable = matches!(k, "capability" | "protocol" | "label");
        if !repeatable {
            if seen.iter().any(|s| s == k) {
                return Err(ParamError::new(k, "given more than once"));
            }
            seen.push(k.to_owned());
        }
        match k {
            "q" => q.text = bounded_text(k, v)?,
            "semantic" => q.semantic = bounded_text(k, v)?,
            "mode" => {
                q.mode = Some(
                    SearchMode::parse(v)
                        .ok_or_else(|| ParamError::new(k, "expected text, semantic or hybrid"))?,
                )
            }
            "name" => {
                let v = v.trim();
                let (name, range) = match v.split_once('@') {
                    Some((n, r)) => (n, Some(r)),
                    None => (v, None),
                };
                if name.is_empty() || name.len() > 255 {
                    return Err(ParamError::new(k, "expected namespace/name[@version]"));
                }
                q.name = Some(name.to_ascii_lowercase());
                if let Some(r) = range {
                    q.version = Some(VersionSpec::parse(r).map_err(|e| ParamError::new(k, e))?);
                }
            }
            "version" => {
                q.version = Some(VersionSpec::parse(v).map_err(|e| ParamError::new(k, e))?)
            }
            "digest" => {
                q.digest =
                    Some(v.trim().parse().map_err(|e: agentry_types::DigestError| {
                        ParamError::new(k, e.to_string())
                    })?)
            }
            "cid" => {
                let t = v.trim();
                if t.is_empty() || t.len() > 200 {
                    return Err(ParamError::new(k, "expected a CID"));
                }
                q.oasf_cid = Some(t.to_owned());
            }
            "capability" => {
                for c in split_list(v) {
                    if c.len() > 200 {
                        return Err(ParamError::new(k, "capability longer than 200 bytes"));
                    }
                    q.capabilities.push(c.to_owned());
                }
            }
            "capability_match" => {
                q.capability_match = match v.to_ascii_lowercase().as_str() {
                    "all" => CapabilityMatch::All,
                    "any" => CapabilityMatch::Any,
                    _ => return Err(ParamError::new(k, "expected all or any")),
                }
            }
            "protocol" => {
                for p in split_list(v) {
                    q.protocols.push(p.to_ascii_lowercase());
                }
            }
            "min_trust" => q.min_tier = Some(v.parse().map_err(|e: String| ParamError::new(k, e))?),
            "namespace" => q.namespace = Some(v.trim().to_ascii_lowercase()),
            "publisher" => q.publisher = Some(v.trim().to_ascii_lowercase()),
            "label" => {
                let (lk, lv) = v
                    .split_once('=')
                    .or_else(|| v.split_once(':'))
                    .ok_or_else(|| ParamError::new(k, "expected key=value"))?;
                if lk.trim().is_empty() {
                    return Err(ParamError::new(k, "expected key=value"));
                }
                q.labels.push((lk.trim().to_owned(), lv.trim().to_owned()));
            }
            "os" => q.os = Some(v.trim().to_ascii_lowercase()),
            "arch" => q.arch = Some(v.trim().to_ascii_lowercase()),
            "gpu" => q.gpu = Some(parse_bool(k, v)?),
            "max_input_tokens" => {
                let n: u64 = v.trim().parse().map_err(|_| {
                    ParamError::new(k, format!("expected a positive integer, got {v:?}"))
                })?;
                if n == 0 {
                    return Err(ParamError::new(k, "must be at least 1"));
                }
                q.max_input_tokens = Some(n);
            }
            "prerelease" => q.include_prerelease = parse_bool(k, v)?,
            "facets" => q.facets = parse_bool(k, v)?,
            "limit" => {
                let n: usize = v.trim().parse().map_err(|_| {
                    ParamError::new(k, format!("expected an integer 1..={MAX_LIMIT}"))
                })?;
                if n == 0 {
                    return Err(ParamError::new(k, "must be at least 1"));
                }
                q.limit = n.min(MAX_LIMIT);
            }
            "cursor" => q.cursor = Some(Cursor::decode(v)?),
            other => {
                return Err(ParamError::new(
                    other,
                    format!("unknown parameter (accepted: {})", PARAMS.join(", ")),
                ));
            }
        }
    }
    if q.mode == Some(SearchMode::Text) && q.text.is_none() {
        return Err(ParamError::new("mode", "mode=text needs q"));
    }
    if matches!(q.mode, Some(SearchMode::Semantic | SearchMode::Hybrid))
        && q.text.is_none()
        && q.semantic.is_none()
    {
        return Err(ParamError::new(
            "mode",
            "semantic and hybrid modes need q or semantic",
        ));
    }
    if q.version.is_some() && q.name.is_none() {
        return Err(ParamError::new("version", "needs name"));
    }
    Ok(q)
}

/// One agent in a result list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchItem {
    /// `namespace/name@manifest-digest`: unique and stable for this artifact.
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub version: String,
    /// Manifest digest.
    pub digest: String,
    pub description: String,
    /// Taxonomy paths of the agent's skills, or the skill name where a skill has no class.
    pub capabilities: Vec<String>,
    /// Protocol kinds (`a2a`, `mcp`, …).
    pub protocols: Vec<String>,
    #[schema(value_type = String, example = "standard")]
    pub trust_tier: TrustTier,
    /// Relevance; higher is better. 1.0 for unranked (filter-only) results.
    pub score: f32,
    /// The pod the record came from.
    pub source_pod: String,
    /// Why the agent matched (match requests only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

impl From<AgentHit> for SearchItem {
    fn from(h: AgentHit) -> SearchItem {
        SearchItem {
            id: h.id(),
            name: h.repo.basename().to_owned(),
            namespace: h.repo.namespace().to_owned(),
            version: h.version,
            digest: h.digest.to_string(),
            description: h.description,
            capabilities: h.capabilities,
            protocols: h.protocols,
            trust_tier: h.trust_tier,
            score: h.score,
            source_pod: h.source_pod,
            why: h.why,
        }
    }
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchResponse {
    pub items: Vec<SearchItem>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Counts per `capability`, `protocol`, `tier` and `namespace` over every match (not just
    /// this page), when asked for with `facets=true`; otherwise empty.
    pub facets: BTreeMap<String, Vec<FacetCount>>,
    /// With `scope=federated`: which peers answered and which did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation: Option<crate::mesh::Federation>,
}

impl From<SearchPage> for SearchResponse {
    fn from(p: SearchPage) -> SearchResponse {
        SearchResponse {
            items: p.items.into_iter().map(SearchItem::from).collect(),
            next_cursor: p.next_cursor,
            facets: p.facets,
            federation: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search_query_str(qs: &str) -> Result<Query, Problem> {
        search_query(Some(qs))
    }

    #[test]
    fn parses_a_full_query_string() {
        let q = search_query_str(
            "q=invoice+pdf&capability=language_processing,10101&capability=ocr&protocol=MCP\
             &min_trust=standard&label=team%3Dfinance&max_input_tokens=8000&gpu=false&limit=500\
             &name=acme/analyst@%5E2.4&facets=true",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.text.as_deref(), Some("invoice pdf"));
        assert_eq!(q.capabilities, vec!["language_processing", "10101", "ocr"]);
        assert_eq!(q.protocols, vec!["mcp"]);
        assert_eq!(q.min_tier, Some(TrustTier::Standard));
        assert_eq!(q.labels, vec![("team".into(), "finance".into())]);
        assert_eq!(q.limit, MAX_LIMIT);
        assert_eq!(q.name.as_deref(), Some("acme/analyst"));
        assert!(matches!(q.version, Some(VersionSpec::Range(_))));
        assert!(q.facets);
    }

    #[test]
    fn errors_name_the_parameter() {
        for (qs, param) in [
            ("limit=ten", "limit"),
            ("limit=0", "limit"),
            ("min_trust=gold", "min_trust"),
            ("digest=sha256:xyz", "digest"),
            ("max_input_tokens=-5", "max_input_tokens"),
            ("mode=magic", "mode"),
            ("bogus=1", "bogus"),
            ("q=a&q=b", "q"),
            ("version=^1", "version"),
            ("name=a/b@not a range", "name"),
            ("cursor=%%%", "cursor"),
            ("gpu=maybe", "gpu"),
            ("label=nokey", "label"),
            ("mode=semantic", "mode"),
        ] {
            let e = search_query_str(qs).err();
            assert_eq!(e.and_then(|e| e.parameter), Some(param.to_string()), "{qs}");
        }
    }

    #[test]
    fn plus_is_a_space_in_search_text_and_percent_2b_a_plus() {
        let q = search_query_str("q=c+%2B%2B+parser").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.text.as_deref(), Some("c ++ parser"));
        let q =
            search_query_str("name=acme/bot@1.0.0%2Bbuild5").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.version, Some(VersionSpec::Exact("1.0.0+build5".into())));
        // An unescaped `+` is a space, and a version holds none.
        let e = search_query_str("name=acme/bot@1.0.0+build5").err();
        assert_eq!(e.and_then(|e| e.parameter), Some("name".to_owned()));
    }

    #[test]
    fn bad_percent_encoding_names_the_parameter() {
        for (qs, param) in [("q=50%", "q"), ("capability=%E2%82", "capability")] {
            let e = search_query_str(qs).err();
            assert_eq!(e.and_then(|e| e.parameter), Some(param.to_owned()), "{qs}");
        }
    }
}
