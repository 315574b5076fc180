//! The context specification of an agent and Formula 2 of the whitepaper (§3.3).
//!
//! ```text
//! OptimalBudget = min(MaxInput, Required + Sliding + Retrieval + OutputReserve)
//! OutputReserve = 0.10 * MaxInput
//! Required <= 0.25 * MaxInput, Sliding <= 0.50 * MaxInput, Retrieval <= 0.25 * MaxInput
//! Utilization = OptimalBudget / MaxInput   (healthy: 40–70 %)
//! ```
//!
//! The formula as printed omits the output reserve from the sum, but the whitepaper's worked
//! example (financial-analyst: 66,048 tokens, 51.6 %) includes it; agentry follows the example,
//! since a budget that leaves no room for output is not a budget.

use serde::{Deserialize, Serialize};

/// Token sizes an agent declares for its context window. All sizes are tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSpec {
    /// Largest input the agent is designed for (the target model's window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Fixed context: system prompt and few-shot examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_tokens: Option<u64>,
    /// Conversation-history window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding_window_tokens: Option<u64>,
    /// Retrieval-augmented context per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval_augmented: Option<bool>,
}

/// The outcome of Formula 2 for one context spec and one input window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextBudget {
    pub max_input_tokens: u64,
    pub output_reserve_tokens: u64,
    /// Required + sliding + retrieval + output reserve, before the `min` with the window.
    pub demand_tokens: u64,
    pub optimal_budget_tokens: u64,
    /// optimal budget / max input, in 0..=1.
    pub utilization: f64,
    /// True when utilisation lies in the whitepaper's healthy range of 40–70 %.
    pub healthy: bool,
    /// Each constraint of Formula 2 that the spec breaks, in plain words.
    pub violations: Vec<String>,
}

impl ContextBudget {
    /// True when the demand fits in the window and no constraint is broken.
    pub fn fits(&self) -> bool {
        self.violations.is_empty() && self.demand_tokens <= self.max_input_tokens
    }
}

impl ContextSpec {
    fn parts(&self) -> (u64, u64, u64) {
        (
            self.required_tokens.unwrap_or(0),
            self.sliding_window_tokens.unwrap_or(0),
            self.retrieval_tokens.unwrap_or(0),
        )
    }

    /// Formula 2 against the agent's own declared window. `None` when no window is declared.
    pub fn budget(&self) -> Option<ContextBudget> {
        self.max_input_tokens.map(|m| self.budget_for(m))
    }

    /// Formula 2 against a runtime offering `max_input` tokens (context-compatibility filtering).
    pub fn budget_for(&self, max_input: u64) -> ContextBudget {
        let (required, sliding, retrieval) = self.parts();
        let reserve = max_input / 10;
        let demand = required
            .saturating_add(sliding)
            .saturating_add(retrieval)
            .saturating_add(reserve);
        let optimal = demand.min(max_input);
        let utilization = if max_input == 0 {
            1.0
        } else {
            optimal as f64 / max_input as f64
        };
        let mut violations = Vec::new();
        let mut check = |name: &str, value: u64, share: u64| {
            // value <= share% of max_input, in integers: value * 100 <= share * max_input
            if (value as u128) * 100 > (share as u128) * (max_input as u128) {
                violations.push(format!(
                    "{name} ({value} tokens) exceeds {share}% of max_input_tokens ({max_input})"
                ));
            }
        };
        check("required_tokens", required, 25);
        check("sliding_window_tokens", sliding, 50);
        check("retrieval_tokens", retrieval, 25);
        if demand > max_input {
            violations.push(format!(
                "required + sliding + retrieval + output reserve ({demand} tokens) exceeds max_input_tokens ({max_input})"
            ));
        }
        ContextBudget {
            max_input_tokens: max_input,
            output_reserve_tokens: reserve,
            demand_tokens: demand,
            optimal_budget_tokens: optimal,
            utilization,
            healthy: (0.40..=0.70).contains(&utilization),
            violations,
        }
    }

    /// Does the agent run within a window of `max_input` tokens?
    pub fn fits_within(&self, max_input: u64) -> bool {
        self.budget_for(max_input).fits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitepaper_financial_analyst_example() {
        let spec = ContextSpec {
            max_input_tokens: Some(128_000),
            max_output_tokens: Some(16_384),
            required_tokens: Some(4_096),
            sliding_window_tokens: Some(32_768),
            retrieval_tokens: Some(16_384),
            retrieval_augmented: Some(true),
        };
        let b = spec.budget().unwrap_or_else(|| panic!("window declared"));
        assert_eq!(b.output_reserve_tokens, 12_800);
        assert_eq!(b.optimal_budget_tokens, 66_048);
        assert!((b.utilization - 0.516).abs() < 0.001);
        assert!(b.healthy);
        assert!(b.fits());
        // 8K runtime: required alone is 50% of the window.
        let small = spec.budget_for(8_000);
        assert!(!small.fits());
        assert!(
            small
                .violations
                .iter()
                .any(|v| v.contains("required_tokens"))
        );
    }
}
