//! The search form's state, and the shareable URLs built from it.

/// The filters of a search as the user gave them (already accepted by the REST parser, which
/// the server runs first): the parameters of `GET /api/v1/agents`, under the same names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub q: String,
    pub semantic: String,
    pub capability: Vec<String>,
    pub protocol: Vec<String>,
    pub min_trust: String,
    pub namespace: String,
    pub os: String,
    pub arch: String,
    pub gpu: String,
    pub max_input_tokens: String,
    pub scope: String,
}

impl Filters {
    /// `(name, value)` pairs, empty values left out, in a fixed order.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        let scalars = [
            ("q", &self.q),
            ("semantic", &self.semantic),
            ("min_trust", &self.min_trust),
            ("namespace", &self.namespace),
            ("os", &self.os),
            ("arch", &self.arch),
            ("gpu", &self.gpu),
            ("max_input_tokens", &self.max_input_tokens),
            ("scope", &self.scope),
        ];
        out.extend(scalars[..2].iter().map(|(k, v)| (*k, v.as_str())));
        out.extend(self.capability.iter().map(|c| ("capability", c.as_str())));
        out.extend(self.protocol.iter().map(|p| ("protocol", p.as_str())));
        out.extend(scalars[2..].iter().map(|(k, v)| (*k, v.as_str())));
        out.retain(|(_, v)| !v.is_empty());
        out
    }

    /// The query string of these filters (without `?`).
    pub fn query(&self) -> String {
        join(self.pairs().into_iter())
    }

    /// `/?…` for these filters.
    pub fn href(&self) -> String {
        let q = self.query();
        if q.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{q}")
        }
    }

    /// These filters with `field` set to `value` (list fields: added; an already present
    /// value is removed instead, so a facet link toggles).
    pub fn toggled(&self, field: &str, value: &str) -> Filters {
        let mut f = self.clone();
        let list = match field {
            "capability" => Some(&mut f.capability),
            "protocol" => Some(&mut f.protocol),
            _ => None,
        };
        if let Some(list) = list {
            if let Some(i) = list.iter().position(|v| v == value) {
                list.remove(i);
            } else {
                list.push(value.to_owned());
            }
            return f;
        }
        let slot = match field {
            "q" => &mut f.q,
            "semantic" => &mut f.semantic,
            "min_trust" | "tier" => &mut f.min_trust,
            "namespace" => &mut f.namespace,
            "os" => &mut f.os,
            "arch" => &mut f.arch,
            "gpu" => &mut f.gpu,
            "max_input_tokens" => &mut f.max_input_tokens,
            "scope" => &mut f.scope,
            _ => return f,
        };
        if slot == value {
            slot.clear();
        } else {
            value.clone_into(slot);
        }
        f
    }

    /// Whether `field` currently holds `value`.
    pub fn has(&self, field: &str, value: &str) -> bool {
        match field {
            "capability" => self.capability.iter().any(|v| v == value),
            "protocol" => self.protocol.iter().any(|v| v == value),
            "min_trust" | "tier" => self.min_trust == value,
            "namespace" => self.namespace == value,
            _ => false,
        }
    }

    /// The URL of the page after this one.
    pub fn next_href(&self, cursor: &str) -> String {
        let mut q = self.query();
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str("cursor=");
        q.push_str(&encode_component(cursor));
        format!("/?{q}")
    }
}

fn join<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&encode_component(v));
    }
    out
}

/// Percent-encode a query-string value or a path segment (everything but unreserved bytes).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn query_strings_leave_out_empty_fields_and_encode_values() {
        let f = Filters {
            q: "invoice & pdf".into(),
            capability: vec!["nlp/summarization".into()],
            min_trust: "basic".into(),
            ..Filters::default()
        };
        assert_eq!(
            f.href(),
            "/?q=invoice%20%26%20pdf&capability=nlp%2Fsummarization&min_trust=basic"
        );
        assert_eq!(Filters::default().href(), "/");
        assert!(f.next_href("a+b").ends_with("&cursor=a%2Bb"));
    }

    #[test]
    fn facet_links_toggle() {
        let f = Filters::default().toggled("protocol", "mcp");
        assert!(f.has("protocol", "mcp"));
        assert!(!f.toggled("protocol", "mcp").has("protocol", "mcp"));
        let t = f.toggled("tier", "verified");
        assert_eq!(t.min_trust, "verified");
        assert_eq!(t.toggled("tier", "verified").min_trust, "");
    }
}
