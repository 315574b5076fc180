//! Facet counts over a result set.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use roaring::RoaringBitmap;

use super::check_deadline;
use super::state::{FACETS, State};
use crate::error::SearchResult;
use crate::response::FacetCount;

pub(super) fn facets(
    st: &State,
    base: &RoaringBitmap,
    deadline: Option<Instant>,
    start: Instant,
) -> SearchResult<BTreeMap<String, Vec<FacetCount>>> {
    let mut out = BTreeMap::new();
    for (g, (name, prefix)) in FACETS.iter().enumerate() {
        check_deadline(deadline, start)?;
        let terms = &st.facet_terms[g];
        let mut counts: Vec<FacetCount> = if g == 3 && (base.len() as usize) < terms.len() * 4 {
            // Few matches, many namespaces: count per matching agent instead.
            let mut m: HashMap<&str, u64> = HashMap::new();
            for k in base {
                if let Some(d) = st.doc(k) {
                    *m.entry(d.namespace()).or_default() += 1;
                }
            }
            m.into_iter()
                .map(|(v, count)| FacetCount {
                    value: v.to_owned(),
                    count,
                })
                .collect()
        } else {
            terms
                .iter()
                .filter_map(|&t| {
                    let count = st.postings[t as usize].intersection_len(base);
                    (count > 0).then(|| FacetCount {
                        value: st.term_names[t as usize][prefix.len()..].to_owned(),
                        count,
                    })
                })
                .collect()
        };
        counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        counts.truncate(50);
        out.insert((*name).to_owned(), counts);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::{agent, state_of};

    fn counts(f: &BTreeMap<String, Vec<FacetCount>>, group: &str) -> Vec<(String, u64)> {
        f.get(group)
            .map(|v| v.iter().map(|c| (c.value.clone(), c.count)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn counts_are_over_the_base_sorted_by_count_then_value() {
        let st = state_of(&[
            agent(
                "b/one",
                "1.0.0",
                "x",
                &[("s", Some("nlp/summarization/deep"))],
            ),
            agent("a/two", "1.0.0", "x", &[("s", Some("nlp/translation"))]),
            agent("a/three", "1.0.0", "x", &[("s", Some("vision"))]),
            agent("c/four", "1.0.0", "x", &[]),
        ]);
        let base: RoaringBitmap = [0u32, 1, 2].into_iter().collect();
        let f = facets(&st, &base, None, Instant::now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            counts(&f, "capability"),
            vec![
                ("nlp".into(), 2),
                ("nlp/summarization".into(), 1),
                ("nlp/translation".into(), 1),
                ("vision".into(), 1),
            ],
            "categories and their direct children only"
        );
        assert_eq!(
            counts(&f, "namespace"),
            vec![("a".into(), 2), ("b".into(), 1)]
        );
        assert_eq!(counts(&f, "protocol"), vec![("a2a".into(), 3)]);
        assert_eq!(counts(&f, "tier"), vec![("basic".into(), 3)]);
    }

    #[test]
    fn namespace_counts_agree_whichever_way_they_are_counted() {
        // Few matches among many namespaces are counted per agent, many matches per posting
        // list: both ways must give the same answer.
        let agents: Vec<_> = (0..40)
            .map(|i| agent(&format!("ns{}/a{i}", i % 10), "1.0.0", "x", &[]))
            .collect();
        let st = state_of(&agents);
        let few: RoaringBitmap = [1u32, 11, 12].into_iter().collect();
        let many: RoaringBitmap = (0u32..40).collect();
        let f = facets(&st, &few, None, Instant::now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            counts(&f, "namespace"),
            vec![("ns1".into(), 2), ("ns2".into(), 1)]
        );
        let f = facets(&st, &many, None, Instant::now()).unwrap_or_else(|e| panic!("{e}"));
        let ns = counts(&f, "namespace");
        assert_eq!(ns.len(), 10);
        assert!(ns.iter().all(|(_, c)| *c == 4), "{ns:?}");
    }

    #[test]
    fn a_passed_deadline_stops_counting() {
        let st = state_of(&[agent("a/b", "1.0.0", "x", &[])]);
        let start = Instant::now();
        let past = start.checked_sub(std::time::Duration::from_millis(1));
        let r = facets(&st, &st.alive, past, start);
        assert!(matches!(r, Err(crate::SearchError::Timeout(_))), "{r:?}");
    }
}
