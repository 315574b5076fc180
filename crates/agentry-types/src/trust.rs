//! Trust tiers, ordered from least to most trusted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much the pod trusts an artifact, additive as in the whitepaper's Table 3 (§2.5).
///
/// * `None`: nothing was proven beyond the digest every stored artifact has. Every agent is
///   `None` until the trust engine proves more; `min_trust=basic` excludes it.
/// * `Basic`: the publisher's domain publishes valid `_ossa-*` DNS records and the manifest is
///   signed by a key listed in its `_ossa-key` record.
/// * `Standard`: Basic, plus a signing certificate chained to the organisation's CA,
///   capability schemas and an SBOM referrer.
/// * `Verified`: Standard, plus a Sigstore bundle verified offline, SLSA provenance and a
///   compliance attestation.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TrustTier {
    #[default]
    None,
    Basic,
    Standard,
    Verified,
}

impl TrustTier {
    pub const ALL: [TrustTier; 4] = [
        TrustTier::None,
        TrustTier::Basic,
        TrustTier::Standard,
        TrustTier::Verified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrustTier::None => "none",
            TrustTier::Basic => "basic",
            TrustTier::Standard => "standard",
            TrustTier::Verified => "verified",
        }
    }
}

impl fmt::Display for TrustTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrustTier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(TrustTier::None),
            "basic" => Ok(TrustTier::Basic),
            "standard" => Ok(TrustTier::Standard),
            "verified" => Ok(TrustTier::Verified),
            _ => Err(format!(
                "unknown trust tier {s:?} (expected none, basic, standard or verified)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_order_from_none_and_round_trip() {
        assert_eq!(TrustTier::default(), TrustTier::None);
        assert!(TrustTier::None < TrustTier::Basic);
        assert!(TrustTier::Basic < TrustTier::Standard);
        assert!(TrustTier::Standard < TrustTier::Verified);
        for t in TrustTier::ALL {
            assert_eq!(t.as_str().parse::<TrustTier>(), Ok(t));
            assert_eq!(
                serde_json::to_string(&t).ok(),
                Some(format!("\"{}\"", t.as_str()))
            );
        }
        assert!("gold".parse::<TrustTier>().is_err());
    }
}
