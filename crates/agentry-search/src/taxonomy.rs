//! The OASF skill taxonomy, used to expand a category into its sub-skills and to resolve
//! numeric class ids.
//!
//! A class is identified by its slash path (`language_processing/language_generation`); its
//! ancestors are the path's prefixes, so "asking for a category also finds its sub-skills" is
//! implemented by indexing every record skill under its own path *and* each ancestor path.
//! Numeric ids are unique within one taxonomy version but reused across versions (id 103 is a
//! different class in 1.0.0 and 1.1.0), so ids are indexed as the record states them, paired
//! with the record's own path, never resolved through a guessed version.

use std::collections::HashMap;

use agentry_types::record::TaxonomyRef;
use serde::Deserialize;

const SKILLS_1_0_0: &str = include_str!("../data/skills-1.0.0.json");
const SKILLS_1_1_0: &str = include_str!("../data/skills-1.1.0.json");

/// Taxonomy versions shipped with agentry, newest last.
pub const VERSIONS: [&str; 2] = ["1.0.0", "1.1.0"];

/// One class of a taxonomy.
#[derive(Debug, Clone, Deserialize)]
pub struct TaxonomyClass {
    pub id: u64,
    /// Slash path.
    pub name: String,
    pub caption: String,
    /// Categories of 1.0.0 have none (`null`).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub description: String,
    pub level: u32,
    #[serde(default)]
    pub is_category: bool,
    #[serde(default)]
    pub deprecated: bool,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// One version of the OASF skill taxonomy.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    pub version: &'static str,
    pub classes: Vec<TaxonomyClass>,
    by_path: HashMap<String, usize>,
    by_id: HashMap<u64, usize>,
}

impl Taxonomy {
    fn parse(version: &'static str, json: &str) -> Taxonomy {
        // The files are compiled in and checked by a unit test; an unparsable file is a build
        // defect, and an empty taxonomy still leaves every other query kind working.
        let classes: Vec<TaxonomyClass> = serde_json::from_str(json).unwrap_or_default();
        let by_path = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        let by_id = classes.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        Taxonomy {
            version,
            classes,
            by_path,
            by_id,
        }
    }

    pub fn by_path(&self, path: &str) -> Option<&TaxonomyClass> {
        self.by_path.get(path).map(|&i| &self.classes[i])
    }

    pub fn by_id(&self, id: u64) -> Option<&TaxonomyClass> {
        self.by_id.get(&id).map(|&i| &self.classes[i])
    }
}

/// Every shipped taxonomy version.
#[derive(Debug, Clone)]
pub struct Taxonomies {
    pub versions: Vec<Taxonomy>,
}

impl Default for Taxonomies {
    fn default() -> Self {
        Taxonomies::shipped()
    }
}

impl Taxonomies {
    /// The OASF skill taxonomies compiled into agentry (1.0.0 and 1.1.0).
    pub fn shipped() -> Taxonomies {
        Taxonomies {
            versions: vec![
                Taxonomy::parse("1.0.0", SKILLS_1_0_0),
                Taxonomy::parse("1.1.0", SKILLS_1_1_0),
            ],
        }
    }

    pub fn version(&self, v: &str) -> Option<&Taxonomy> {
        self.versions.iter().find(|t| t.version == v)
    }

    /// The newest version that knows `path`.
    pub fn class_by_path(&self, path: &str) -> Option<&TaxonomyClass> {
        self.versions.iter().rev().find_map(|t| t.by_path(path))
    }

    /// The id of `path` in the newest version that knows it.
    fn id_of_path(&self, path: &str) -> Option<u64> {
        self.class_by_path(path).map(|c| c.id)
    }

    /// Which version names the pair (`id`, `path`) consistently, newest first.
    fn version_of_pair(&self, id: u64, path: &str) -> Option<&Taxonomy> {
        self.versions
            .iter()
            .rev()
            .find(|t| t.by_id(id).is_some_and(|c| c.name == path))
    }

    /// Canonical index terms for one taxonomy reference of a record: the path and every
    /// ancestor path (`cap:` terms), the leaf name (`leaf:`), and the id with every ancestor id
    /// (`id:`), where the ancestor ids come from the taxonomy version in which the record's
    /// own (id, path) pair is consistent.
    pub fn terms_for_ref(&self, r: &TaxonomyRef, out: &mut Vec<String>) {
        let path = r
            .name
            .as_deref()
            .map(normalize_path)
            .filter(|p| !p.is_empty());
        let path = match (&path, r.id) {
            (Some(p), _) => Some(p.clone()),
            // Id without a name: use the newest version that has the id.
            (None, Some(id)) => self
                .versions
                .iter()
                .rev()
                .find_map(|t| t.by_id(id))
                .map(|c| c.name.clone()),
            (None, None) => None,
        };
        if let Some(id) = r.id {
            out.push(format!("id:{id}"));
        }
        let Some(path) = path else { return };
        let pair_version = r.id.and_then(|id| self.version_of_pair(id, &path));
        let segments: Vec<&str> = path.split('/').collect();
        for depth in 1..=segments.len() {
            let prefix = segments[..depth].join("/");
            if depth < segments.len() {
                let ancestor_id = match pair_version {
                    Some(t) => t.by_path(&prefix).map(|c| c.id),
                    None => self.id_of_path(&prefix),
                };
                if let Some(aid) = ancestor_id {
                    out.push(format!("id:{aid}"));
                }
            }
            out.push(format!("cap:{prefix}"));
        }
        if let Some(leaf) = segments.last() {
            out.push(format!("leaf:{leaf}"));
        }
    }
}

/// Lower-case, trim, drop a schema URL prefix and leading/trailing slashes.
pub fn normalize_path(s: &str) -> String {
    let s = s.trim().to_ascii_lowercase();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    // `schema.oasf.agntcy.org/skills/natural_language_understanding` (OASF 0.5).
    let s = match s.find("/skills/") {
        Some(i) if s[..i].contains('.') => &s[i + "/skills/".len()..],
        _ => s,
    };
    s.trim_matches('/').to_owned()
}

/// A free-form skill name as an index term: lower case, runs of spaces and `-` become `_`.
pub fn normalize_skill_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut sep = false;
    for ch in s.trim().chars() {
        if ch.is_whitespace() || ch == '-' || ch == '_' {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('_');
            }
            sep = false;
            out.extend(ch.to_lowercase());
        }
    }
    out
}

/// Query terms for one `capability=` value: a numeric id, a taxonomy path or leaf, or a
/// free-form skill name. Each alternative is an index term; a record matches the capability
/// if it carries any of them.
pub fn query_terms(value: &str) -> Vec<String> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return vec![format!("id:{v}")];
    }
    let path = normalize_path(v);
    let mut terms = vec![format!("cap:{path}")];
    if !path.contains('/') {
        terms.push(format!("leaf:{path}"));
        terms.push(format!("skill:{}", normalize_skill_name(v)));
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_taxonomies_parse_with_expected_sizes() {
        let t = Taxonomies::shipped();
        assert_eq!(t.version("1.0.0").map(|t| t.classes.len()), Some(136));
        assert_eq!(t.version("1.1.0").map(|t| t.classes.len()), Some(513));
    }

    #[test]
    fn ref_terms_cover_ancestors_with_consistent_ids() {
        let t = Taxonomies::shipped();
        let r = TaxonomyRef {
            id: Some(10101),
            name: Some(
                "natural_language_processing/natural_language_understanding/contextual_comprehension"
                    .into(),
            ),
        };
        let mut out = Vec::new();
        t.terms_for_ref(&r, &mut out);
        assert!(out.contains(&"cap:natural_language_processing".to_string()));
        assert!(
            out.contains(&"cap:natural_language_processing/natural_language_understanding".into())
        );
        assert!(out.contains(&"id:10101".to_string()));
        assert!(out.contains(&"id:101".to_string()), "{out:?}");
        assert!(out.contains(&"id:1".to_string()));
        assert!(out.contains(&"leaf:contextual_comprehension".to_string()));
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize_path("schema.oasf.agntcy.org/skills/natural_language_understanding"),
            "natural_language_understanding"
        );
        assert_eq!(
            normalize_skill_name("  Currency -- Conversion "),
            "currency_conversion"
        );
        assert_eq!(query_terms("101"), vec!["id:101"]);
        assert_eq!(query_terms("A/B")[0], "cap:a/b");
    }
}
