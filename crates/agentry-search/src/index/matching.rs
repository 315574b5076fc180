//! `POST /agents/match`: hard requirements filter, soft ones rank, and every result says why.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::filter::filter;
use super::state::DocMeta;
use super::{SearchIndex, item};
use crate::error::{ParamError, SearchResult};
use crate::query::{CapabilityMatch, MAX_LIMIT, Query};
use crate::response::{MatchRequest, SearchPage};
use crate::taxonomy;

impl SearchIndex {
    /// `POST /agents/match`: hard requirements filter, soft ones rank; each result says why
    /// it matched.
    pub fn match_agents(&self, req: &MatchRequest) -> SearchResult<SearchPage> {
        let limit = req.limit.unwrap_or(10).clamp(1, MAX_LIMIT);
        for (field, list) in [
            ("capabilities.all", &req.capabilities.all),
            ("capabilities.any", &req.capabilities.any),
        ] {
            if list.iter().any(|c| c.trim().is_empty() || c.len() > 200) {
                return Err(ParamError::new(field, "capabilities must be 1..=200 bytes").into());
            }
        }
        if req.max_input_tokens == Some(0) {
            return Err(ParamError::new("max_input_tokens", "must be at least 1").into());
        }
        let mut q = Query::new();
        q.capabilities = req.capabilities.all.clone();
        q.capability_match = CapabilityMatch::All;
        q.protocols = req
            .protocols
            .iter()
            .map(|p| p.to_ascii_lowercase())
            .collect();
        q.min_tier = req.min_trust_tier;
        q.max_input_tokens = req.max_input_tokens;
        q.os = req.os.as_ref().map(|s| s.to_ascii_lowercase());
        q.arch = req.arch.as_ref().map(|s| s.to_ascii_lowercase());
        q.gpu = req.gpu.filter(|g| !*g); // a runtime without GPU excludes GPU agents
        q.namespace = req.namespace.as_ref().map(|s| s.to_ascii_lowercase());
        q.labels = req
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let st = self.state.read();
        let mut cand = filter(&st, &q).unwrap_or_else(|| st.alive.clone());
        let any_sets: Vec<(String, RoaringBitmap)> = req
            .capabilities
            .any
            .iter()
            .map(|c| {
                let mut u = RoaringBitmap::new();
                for t in taxonomy::query_terms(c) {
                    if let Some(b) = st.term(&t) {
                        u |= b;
                    }
                }
                (c.clone(), u)
            })
            .collect();
        if req.capability_mode() == CapabilityMatch::Any && !any_sets.is_empty() {
            let union = any_sets
                .iter()
                .fold(RoaringBitmap::new(), |a, (_, b)| a | b);
            cand &= union;
        }
        // Text relevance among candidates, normalised to 0..1.
        let text_scores: HashMap<u32, f32> = match req.text.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => {
                let (hits, _) =
                    self.text
                        .search(t, Some(Arc::new(cand.clone())), 1000, false, None)?;
                let max = hits.first().map_or(1.0, |h| h.0.max(f32::EPSILON));
                hits.into_iter().map(|(s, k)| (k, s / max)).collect()
            }
            _ => HashMap::new(),
        };
        let has_text = req.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        let mut scored: Vec<(f32, u32)> = if has_text {
            text_scores.iter().map(|(k, s)| (*s, *k)).collect()
        } else if !any_sets.is_empty() {
            let mut union = any_sets
                .iter()
                .fold(RoaringBitmap::new(), |a, (_, b)| a | b);
            union &= &cand;
            union.iter().map(|k| (0.0, k)).collect()
        } else {
            cand.iter().take(limit).map(|k| (1.0, k)).collect()
        };
        if !any_sets.is_empty() {
            for (s, k) in &mut scored {
                let hits = any_sets.iter().filter(|(_, b)| b.contains(*k)).count();
                *s += hits as f32 / any_sets.len() as f32;
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(limit);
        let items = scored
            .into_iter()
            .filter_map(|(s, k)| {
                let d = st.doc(k)?;
                let mut it = item(d, s);
                it.why = why(k, d, req, &any_sets, text_scores.get(&k).copied());
                Some(it)
            })
            .collect();
        Ok(SearchPage {
            items,
            next_cursor: None,
            facets: Default::default(),
        })
    }
}

fn why(
    key: u32,
    d: &DocMeta,
    req: &MatchRequest,
    any_sets: &[(String, RoaringBitmap)],
    text: Option<f32>,
) -> Vec<String> {
    let mut why = Vec::new();
    let via = |c: &str| -> String {
        let p = taxonomy::normalize_path(c);
        let found = d
            .capabilities
            .iter()
            .find(|have| have.as_ref() == p || have.starts_with(&format!("{p}/")));
        match found {
            Some(h) if h.as_ref() != p => format!("has capability {c} (via {h})"),
            _ => format!("has capability {c}"),
        }
    };
    for c in &req.capabilities.all {
        why.push(via(c));
    }
    for (c, b) in any_sets {
        if b.contains(key) {
            why.push(via(c));
        }
    }
    if !req.protocols.is_empty() {
        let speaks: Vec<&str> = d
            .protocols
            .iter()
            .filter(|p| {
                req.protocols
                    .iter()
                    .any(|r| agentry_types::record::ProtocolKind::parse(r).as_str() == p.as_ref())
            })
            .map(|p| p.as_ref())
            .collect();
        why.push(format!("speaks {}", speaks.join(", ")));
    }
    if let Some(min) = req.min_trust_tier {
        why.push(format!("trust tier {} meets minimum {min}", d.tier));
    }
    if let Some(n) = req.max_input_tokens {
        if d.min_window == 0 {
            why.push(format!("declares no context demand; fits {n} tokens"));
        } else {
            why.push(format!(
                "context budget fits {n} tokens (Formula 2 needs at least {})",
                d.min_window
            ));
        }
    }
    if let (Some(os), Some(arch)) = (&req.os, &req.arch) {
        why.push(format!("runs on {os}/{arch}"));
    } else if let Some(os) = &req.os {
        why.push(format!("runs on {os}"));
    } else if let Some(arch) = &req.arch {
        why.push(format!("runs on {arch}"));
    }
    if req.gpu == Some(false) {
        why.push("needs no GPU".into());
    }
    if let Some(ns) = &req.namespace {
        why.push(format!("in namespace {ns}"));
    }
    for (k, v) in &req.labels {
        why.push(format!("label {k}={v}"));
    }
    if let Some(t) = text {
        why.push(format!("text relevance {t:.2}"));
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::{agent, state_of};
    use crate::response::CapabilityRequirement;
    use agentry_types::TrustTier;

    #[test]
    fn reasons_name_the_class_a_category_matched_through() {
        let st = state_of(&[agent(
            "acme/bot",
            "1.0.0",
            "x",
            &[("s", Some("nlp/summarization"))],
        )]);
        let d = st.doc(0).unwrap_or_else(|| panic!("doc"));
        let req = MatchRequest {
            capabilities: CapabilityRequirement {
                all: vec!["nlp".into()],
                any: vec!["vision".into(), "nlp/summarization".into()],
            },
            protocols: vec!["A2A".into()],
            min_trust_tier: Some(TrustTier::None),
            max_input_tokens: Some(8_000),
            gpu: Some(false),
            ..MatchRequest::default()
        };
        let any: Vec<(String, RoaringBitmap)> = vec![
            ("vision".into(), RoaringBitmap::new()),
            ("nlp/summarization".into(), [0u32].into_iter().collect()),
        ];
        assert_eq!(
            why(0, d, &req, &any, Some(0.5)),
            vec![
                "has capability nlp (via nlp/summarization)",
                "has capability nlp/summarization",
                "speaks a2a",
                "trust tier basic meets minimum none",
                "declares no context demand; fits 8000 tokens",
                "needs no GPU",
                "text relevance 0.50",
            ]
        );
    }
}
