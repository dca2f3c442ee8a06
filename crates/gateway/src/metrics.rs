//! Counters of gateway decisions and token verifications by outcome, for the server's metrics
//! endpoint and for tests that check a repeated token skips verification.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Lock-free counters for the hot path, and a small map for denial codes.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Tokens answered from the verified-token cache.
    pub cache_hits: AtomicU64,
    /// Tokens whose signature was checked.
    pub verifications: AtomicU64,
    /// Requests allowed (public or authorized).
    pub allowed: AtomicU64,
    /// Requests matching no route.
    pub no_route: AtomicU64,
    /// Authenticated requests refused by the policy.
    pub forbidden: AtomicU64,
    denials: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Counts one denial by its code.
    pub fn count_denial(&self, code: &'static str) {
        if let Ok(mut denials) = self.denials.lock() {
            *denials.entry(code).or_default() += 1;
        }
    }

    /// Every counter as `(name, value)`, e.g. `("denied_expired", 3)`.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let mut out = vec![
            (
                "token_cache_hits".to_owned(),
                self.cache_hits.load(Ordering::Relaxed),
            ),
            (
                "token_verifications".to_owned(),
                self.verifications.load(Ordering::Relaxed),
            ),
            ("allowed".to_owned(), self.allowed.load(Ordering::Relaxed)),
            ("no_route".to_owned(), self.no_route.load(Ordering::Relaxed)),
            (
                "forbidden".to_owned(),
                self.forbidden.load(Ordering::Relaxed),
            ),
        ];
        if let Ok(denials) = self.denials.lock() {
            out.extend(
                denials
                    .iter()
                    .map(|(code, n)| (format!("denied_{code}"), *n)),
            );
        }
        out
    }

    /// The counters in the Prometheus text exposition format (version 0.0.4):
    /// `gatehouse_gateway_decisions_total{outcome, reason}` (reason: the denial code, for
    /// `outcome="denied"`), `gatehouse_gateway_token_verifications_total` and
    /// `gatehouse_gateway_token_cache_hits_total`.
    pub fn prometheus_text(&self) -> String {
        use std::fmt::Write as _;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "# HELP gatehouse_gateway_decisions_total Gateway requests by outcome.\n\
             # TYPE gatehouse_gateway_decisions_total counter"
        );
        for (outcome, counter) in [
            ("allowed", &self.allowed),
            ("forbidden", &self.forbidden),
            ("no_route", &self.no_route),
        ] {
            let _ = writeln!(
                out,
                "gatehouse_gateway_decisions_total{{outcome=\"{outcome}\"}} {}",
                load(counter)
            );
        }
        if let Ok(denials) = self.denials.lock() {
            for (code, n) in denials.iter() {
                let _ = writeln!(
                    out,
                    "gatehouse_gateway_decisions_total{{outcome=\"denied\",reason=\"{}\"}} {n}",
                    label_value(code)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP gatehouse_gateway_token_verifications_total Tokens whose signature was checked.\n\
             # TYPE gatehouse_gateway_token_verifications_total counter\n\
             gatehouse_gateway_token_verifications_total {}\n\
             # HELP gatehouse_gateway_token_cache_hits_total Tokens answered from the verified-token cache.\n\
             # TYPE gatehouse_gateway_token_cache_hits_total counter\n\
             gatehouse_gateway_token_cache_hits_total {}",
            load(&self.verifications),
            load(&self.cache_hits)
        );
        out
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A Prometheus label value: backslash, double quote and line feed escaped.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counters_render_as_prometheus_text() {
        let metrics = Metrics::default();
        Metrics::bump(&metrics.allowed);
        Metrics::bump(&metrics.allowed);
        Metrics::bump(&metrics.verifications);
        metrics.count_denial("expired");
        let text = metrics.prometheus_text();
        for line in [
            "# TYPE gatehouse_gateway_decisions_total counter",
            "gatehouse_gateway_decisions_total{outcome=\"allowed\"} 2",
            "gatehouse_gateway_decisions_total{outcome=\"forbidden\"} 0",
            "gatehouse_gateway_decisions_total{outcome=\"denied\",reason=\"expired\"} 1",
            "gatehouse_gateway_token_verifications_total 1",
            "gatehouse_gateway_token_cache_hits_total 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn label_values_cannot_break_out_of_their_quotes() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
