//! Login throttling: after a few free failures, each further failure locks the account (or the
//! client address) for a delay that doubles, up to a ceiling.
//!
//! The counters live in the store, so every instance on one database sees the same lockouts.
//! The account key is the normalised username whether or not the account exists, so the
//! throttle itself does not reveal which usernames are real.

use std::time::Duration;

/// How failed logins are counted and punished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures an account may have in a window before delays start.
    pub account_free_failures: u32,
    /// Failures one client address may have in a window before delays start. Higher than the
    /// account's because many people can share one address (offices, carrier NAT).
    pub address_free_failures: u32,
    /// The first delay; each later failure doubles it.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_free_failures: 5,
            address_free_failures: 20,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// Which counter a failure is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThrottleKind {
    Account,
    Address,
}

impl ThrottlePolicy {
    /// How long to lock after the `failures`-th failure in the window, if at all.
    pub(crate) fn delay_after(&self, kind: ThrottleKind, failures: u32) -> Option<Duration> {
        let free = match kind {
            ThrottleKind::Account => self.account_free_failures,
            ThrottleKind::Address => self.address_free_failures,
        };
        let over = failures.checked_sub(free).filter(|over| *over > 0)?;
        // 2^(over-1) overflows quickly; the ceiling is reached long before 2^31.
        let factor = 1u32.checked_shl(over - 1).unwrap_or(u32::MAX);
        Some(
            self.base_delay
                .checked_mul(factor)
                .map_or(self.max_delay, |delay| delay.min(self.max_delay)),
        )
    }
}

/// The store key of an account's counter.
pub(crate) fn account_key(normalized_username: &str) -> String {
    format!("user:{normalized_username}")
}

/// The store key of a client address's counter.
pub(crate) fn address_key(address: &str) -> String {
    format!("ip:{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_failures_cost_nothing() {
        let policy = ThrottlePolicy::default();
        for failures in 0..=5 {
            assert_eq!(policy.delay_after(ThrottleKind::Account, failures), None);
        }
        for failures in 0..=20 {
            assert_eq!(policy.delay_after(ThrottleKind::Address, failures), None);
        }
    }

    #[test]
    fn each_failure_past_the_free_ones_doubles_the_delay() {
        let policy = ThrottlePolicy::default();
        let delays: Vec<u64> = (6..=10)
            .map(|n| {
                policy
                    .delay_after(ThrottleKind::Account, n)
                    .unwrap()
                    .as_secs()
            })
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16]);
        assert_eq!(
            policy.delay_after(ThrottleKind::Address, 21),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn the_delay_never_exceeds_the_ceiling_even_for_huge_counts() {
        let policy = ThrottlePolicy::default();
        for failures in [16, 40, 1000, u32::MAX] {
            assert_eq!(
                policy.delay_after(ThrottleKind::Account, failures),
                Some(policy.max_delay)
            );
        }
    }
}
