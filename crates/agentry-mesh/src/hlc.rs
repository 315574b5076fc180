//! Hybrid logical clock (Kulkarni et al., 2014), sans-I/O: the physical time is an argument.
//!
//! Why not `uhlc`: its clock source is a plain `fn() -> NTP64` chosen at build time, so every
//! pod of one process shares one physical clock; the simulator needs one skewed clock per
//! pod, and the pod's runtime wants to pass the time in like every other input of the core.
//! The algorithm is twenty lines; the drift bound (a peer's stamp far in the future is
//! refused, so a hostile or broken peer cannot drag every clock forward) is uhlc's idea too.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One timestamp: milliseconds since the Unix epoch as the clock saw them, and a counter
/// that orders events within one millisecond (or while physical time lags the clock).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    pub wall_ms: u64,
    pub logical: u32,
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.wall_ms, self.logical)
    }
}

/// A remote timestamp too far ahead of this pod's physical clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "timestamp {remote} is {ahead_ms} ms ahead of this pod's clock (at most {max_ms} ms allowed)"
)]
pub struct ClockAhead {
    pub remote: Hlc,
    pub ahead_ms: u64,
    pub max_ms: u64,
}

/// The clock of one pod.
#[derive(Clone, Debug)]
pub struct Clock {
    last: Hlc,
    max_drift_ms: u64,
}

impl Clock {
    /// `max_drift_ms`: how far ahead of our physical time a peer's stamp may be.
    pub fn new(max_drift_ms: u64) -> Clock {
        Clock {
            last: Hlc::default(),
            max_drift_ms,
        }
    }

    /// The last timestamp issued or observed (persisted by the pod so a restart never
    /// issues a smaller one).
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// Restore after a restart: never go below what was issued before.
    pub fn restore(&mut self, last: Hlc) {
        self.last = self.last.max(last);
    }

    /// A timestamp for a local event at physical time `phys_ms`.
    pub fn now(&mut self, phys_ms: u64) -> Hlc {
        let next = if phys_ms > self.last.wall_ms {
            Hlc {
                wall_ms: phys_ms,
                logical: 0,
            }
        } else {
            self.bump(self.last)
        };
        self.last = next;
        next
    }

    /// Merge a remote timestamp seen at physical time `phys_ms`.
    pub fn observe(&mut self, remote: Hlc, phys_ms: u64) -> Result<(), ClockAhead> {
        let ahead = remote.wall_ms.saturating_sub(phys_ms);
        if ahead > self.max_drift_ms {
            return Err(ClockAhead {
                remote,
                ahead_ms: ahead,
                max_ms: self.max_drift_ms,
            });
        }
        let wall = phys_ms.max(self.last.wall_ms).max(remote.wall_ms);
        let logical = if wall == self.last.wall_ms && wall == remote.wall_ms {
            self.last.logical.max(remote.logical).saturating_add(1)
        } else if wall == self.last.wall_ms {
            self.last.logical.saturating_add(1)
        } else if wall == remote.wall_ms {
            remote.logical.saturating_add(1)
        } else {
            0
        };
        self.last = Hlc {
            wall_ms: wall,
            logical,
        };
        Ok(())
    }

    fn bump(&self, h: Hlc) -> Hlc {
        match h.logical.checked_add(1) {
            Some(l) => Hlc {
                wall_ms: h.wall_ms,
                logical: l,
            },
            // 4 billion events in one millisecond: move the wall part on instead.
            None => Hlc {
                wall_ms: h.wall_ms + 1,
                logical: 0,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn monotonic_when_physical_time_goes_back() {
        let mut c = Clock::new(1000);
        let a = c.now(100);
        let b = c.now(50);
        let d = c.now(100);
        assert!(a < b && b < d);
        assert_eq!(
            b,
            Hlc {
                wall_ms: 100,
                logical: 1
            }
        );
    }

    #[test]
    fn observe_moves_past_remote() {
        let mut c = Clock::new(1000);
        c.now(10);
        c.observe(
            Hlc {
                wall_ms: 500,
                logical: 7,
            },
            20,
        )
        .unwrap();
        let next = c.now(30);
        assert!(
            next > Hlc {
                wall_ms: 500,
                logical: 7
            }
        );
    }

    #[test]
    fn far_future_refused_and_clock_unchanged() {
        let mut c = Clock::new(1000);
        let before = c.now(10);
        let err = c
            .observe(
                Hlc {
                    wall_ms: 5000,
                    logical: 0,
                },
                10,
            )
            .unwrap_err();
        assert_eq!(err.ahead_ms, 4990);
        assert_eq!(c.last(), before);
    }
}
