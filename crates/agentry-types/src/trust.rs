//! Trust tiers, ordered from least to most trusted.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much the pod trusts an artifact.
///
/// * `Basic`: content addressed and digest-verified, nothing more.
/// * `Standard`: additionally carries a valid signature.
/// * `Verified`: the signing key is anchored in the publisher's DNS (`_ossa-key`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TrustTier {
    #[default]
    Basic,
    Standard,
    Verified,
}

impl TrustTier {
    pub const ALL: [TrustTier; 3] = [TrustTier::Basic, TrustTier::Standard, TrustTier::Verified];

    pub fn as_str(self) -> &'static str {
        match self {
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
            "basic" => Ok(TrustTier::Basic),
            "standard" => Ok(TrustTier::Standard),
            "verified" => Ok(TrustTier::Verified),
            _ => Err(format!(
                "unknown trust tier {s:?} (expected basic, standard or verified)"
            )),
        }
    }
}
