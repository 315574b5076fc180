//! A publisher's DNS domain, parsed strictly: the name whose `_ossa-*` records vouch for it.
//!
//! The trust anchor of an agent is its record's `publisher.domain` and nothing else: the
//! engine looks up `_ossa-key.<domain>` exactly, never a parent (a subdomain is not its parent)
//! and never a name derived from the namespace, so `acme.com`'s records cannot vouch for
//! `evil.acme.com.attacker.net`, nor `acme.com.evil` for `acme.com`.

use std::fmt;

/// Longest domain name (RFC 1035 §2.3.4, without the root's dot).
pub const MAX_DOMAIN_LEN: usize = 253;

/// A lowercase, fully qualified host name of at least two labels (`acme.com`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(String);

impl Domain {
    /// Parse `acme.com` (one trailing dot allowed; upper case folded). Refuses IP addresses,
    /// single labels, empty labels, labels over 63 bytes, characters outside LDH, a label
    /// starting or ending with `-`, and non-ASCII (IDNs must be given in their `xn--` form, so
    /// that a look-alike never compares equal to the name it imitates).
    pub fn parse(s: &str) -> Result<Domain, String> {
        let s = s.strip_suffix('.').unwrap_or(s);
        if s.is_empty() {
            return Err("publisher.domain is empty".into());
        }
        if s.len() > MAX_DOMAIN_LEN {
            return Err(format!(
                "publisher.domain is {} bytes; a domain name has at most {MAX_DOMAIN_LEN}",
                s.len()
            ));
        }
        if !s.is_ascii() {
            return Err(format!(
                "publisher.domain {s:?} is not ASCII; write an internationalised name in its xn-- form"
            ));
        }
        let lower = s.to_ascii_lowercase();
        let labels: Vec<&str> = lower.split('.').collect();
        if labels.len() < 2 {
            return Err(format!(
                "publisher.domain {s:?} is a single label; a publisher domain has at least two (acme.com)"
            ));
        }
        for l in &labels {
            if l.is_empty() {
                return Err(format!("publisher.domain {s:?} has an empty label"));
            }
            if l.len() > 63 {
                return Err(format!("publisher.domain {s:?} has a label over 63 bytes"));
            }
            if !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!(
                    "publisher.domain {s:?}: label {l:?} may hold only letters, digits and '-'"
                ));
            }
            if l.starts_with('-') || l.ends_with('-') {
                return Err(format!(
                    "publisher.domain {s:?}: label {l:?} starts or ends with '-'"
                ));
            }
        }
        if labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!(
                "publisher.domain {s:?} is an IP address, not a domain"
            ));
        }
        Ok(Domain(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owner name of one of the `_ossa-*` records: `_ossa-key.acme.com.` (fully
    /// qualified, so no resolver search list ever applies).
    pub fn record_name(&self, record: RecordKind) -> String {
        format!("{}.{}.", record.label(), self.0)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The three records of the whitepaper's Table 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Registry,
    Key,
    Policy,
}

impl RecordKind {
    pub const ALL: [RecordKind; 3] = [RecordKind::Registry, RecordKind::Key, RecordKind::Policy];

    pub fn label(self) -> &'static str {
        match self {
            RecordKind::Registry => "_ossa-registry",
            RecordKind::Key => "_ossa-key",
            RecordKind::Policy => "_ossa-policy",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn parses_and_folds() {
        assert_eq!(
            Domain::parse("Acme.COM.").map(|d| d.0),
            Ok("acme.com".into())
        );
        assert_eq!(
            Domain::parse("acme.com").map(|d| d.record_name(RecordKind::Key)),
            Ok("_ossa-key.acme.com.".into())
        );
    }

    #[test]
    fn refuses_what_is_not_a_domain() {
        for bad in [
            "",
            ".",
            "com",
            "acme..com",
            "-acme.com",
            "acme-.com",
            "ac_me.com",
            "acme.com/x",
            "10.0.0.1",
            "аcme.com",
            "acme com",
            "*.acme.com",
        ] {
            assert!(Domain::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(Domain::parse(&format!("{}.com", "a".repeat(64))).is_err());
        let long = std::iter::repeat_n("abcdefghi", 26)
            .collect::<Vec<_>>()
            .join(".");
        assert!(Domain::parse(&long).is_err());
    }

    #[test]
    fn lookalikes_are_other_domains() {
        let acme = Domain::parse("acme.com").unwrap();
        for other in [
            "evil.acme.com.attacker.net",
            "acme.com.evil",
            "sub.acme.com",
            "acme.co",
        ] {
            assert_ne!(Domain::parse(other).unwrap(), acme);
        }
    }
}
