//! OASF taxonomies (skills, domains, modules) of the schema versions that publish no JSON
//! Schema (1.0.0 and 1.1.0), loaded once from the embedded lists.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// One taxonomy: slash path ↔ numeric id.
#[derive(Debug, Default)]
pub struct Taxonomy {
    by_name: HashMap<String, Option<u64>>,
    by_id: HashMap<u64, String>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    id: Option<u64>,
}

impl Taxonomy {
    fn load(text: &str) -> Taxonomy {
        let entries: Vec<Entry> = serde_json::from_str(text).unwrap_or_default();
        let mut t = Taxonomy::default();
        for e in entries {
            if let Some(id) = e.id {
                t.by_id.entry(id).or_insert_with(|| e.name.clone());
            }
            t.by_name.insert(e.name, e.id);
        }
        t
    }

    /// The id of a class named by its slash path, if the class exists (`Some(None)`: it exists
    /// without an id).
    pub fn id_of(&self, name: &str) -> Option<Option<u64>> {
        self.by_name.get(name).copied()
    }

    pub fn name_of(&self, id: u64) -> Option<&str> {
        self.by_id.get(&id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Skills,
    Domains,
    Modules,
}

/// The taxonomy of `kind` at OASF `version` (`1.0.0` or `1.1.0`; other 1.x fall back to the
/// newest known). `None` for versions whose classes are checked by their JSON Schema instead.
pub fn get(kind: Kind, version: &str) -> Option<&'static Taxonomy> {
    let v = version.trim_start_matches('v');
    let newer = if v == "1.0.0" {
        false
    } else if v.starts_with("1.") {
        true
    } else {
        return None;
    };
    macro_rules! lazy {
        ($file:literal) => {{
            static T: OnceLock<Taxonomy> = OnceLock::new();
            T.get_or_init(|| Taxonomy::load(include_str!(concat!("../schemas/oasf/", $file))))
        }};
    }
    Some(match (kind, newer) {
        (Kind::Skills, false) => lazy!("skills-1.0.0.json"),
        (Kind::Skills, true) => lazy!("skills-1.1.0.json"),
        (Kind::Domains, false) => lazy!("domains-1.0.0.json"),
        (Kind::Domains, true) => lazy!("domains-1.1.0.json"),
        (Kind::Modules, false) => lazy!("modules-1.0.0.json"),
        (Kind::Modules, true) => lazy!("modules-1.1.0.json"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taxonomies_load_with_the_documented_sizes() {
        let count = |k, v| get(k, v).map(Taxonomy::len).unwrap_or(0);
        assert_eq!(count(Kind::Skills, "1.0.0"), 136);
        assert_eq!(count(Kind::Domains, "1.0.0"), 204);
        assert_eq!(count(Kind::Skills, "1.1.0"), 513);
        assert_eq!(count(Kind::Domains, "1.1.0"), 201);
        assert!(count(Kind::Modules, "1.0.0") > 5);
        let s = get(Kind::Skills, "1.0.0").unwrap_or_else(|| unreachable!());
        assert_eq!(
            s.id_of("natural_language_processing/natural_language_understanding/contextual_comprehension"),
            Some(Some(10101))
        );
        assert!(get(Kind::Skills, "0.8.0").is_none());
    }
}
