//! Quotas per caller (R33): what one end user or visitor may do in a fixed window, counted in
//! one atomic counter item per (caller, quota, window), and how address-based limits name an
//! address (an IPv6 /64 is one address: a host gets a whole /64 from its provider).

use std::net::IpAddr;

/// A quota: counters that may not pass their limits within a fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The quota's name in the counter's key (`conversations`, `uploads`).
    pub name: &'static str,
    pub window_ms: i64,
    /// Each counter's name and limit.
    pub limits: &'static [(&'static str, u64)],
}

/// An end user or visitor starts at most 20 conversations an hour.
pub const CONVERSATIONS_PER_HOUR: Quota = Quota {
    name: "conversations",
    window_ms: 3_600_000,
    limits: &[("started", 20)],
};

/// An end user or visitor uploads at most 100 files or 500 MB a day (declared sizes, counted
/// when the upload is admitted).
pub const UPLOADS_PER_DAY: Quota = Quota {
    name: "uploads",
    window_ms: 86_400_000,
    limits: &[("files", 100), ("bytes", 500 * 1024 * 1024)],
};

/// One caller's use of a quota, to be added to its counters if no limit would be passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaCharge {
    pub account_id: String,
    /// The caller (an end user's or visitor's id).
    pub subject: String,
    pub quota: &'static str,
    pub window_start_ms: i64,
    /// Counter name, amount added, the most the counter may hold before this charge.
    pub counters: Vec<(&'static str, u64, u64)>,
    /// When the counter may go (epoch seconds; a window after it closed).
    pub expires_at: i64,
}

impl Quota {
    /// The charge of `amounts` (one per counter, in `limits` order) at `now_ms`, and the
    /// seconds until the window ends (the `Retry-After` of a refusal).
    pub fn charge(
        &self,
        account_id: &str,
        subject: &str,
        amounts: &[u64],
        now_ms: i64,
    ) -> (QuotaCharge, u64) {
        let start = now_ms - now_ms.rem_euclid(self.window_ms);
        let left_ms = start + self.window_ms - now_ms;
        let counters = self
            .limits
            .iter()
            .zip(amounts)
            .map(|((name, limit), amount)| (*name, *amount, limit.saturating_sub(*amount)))
            .collect();
        let charge = QuotaCharge {
            account_id: account_id.to_string(),
            subject: subject.to_string(),
            quota: self.name,
            window_start_ms: start,
            counters,
            expires_at: (start + 2 * self.window_ms) / 1000,
        };
        (charge, (left_ms as u64).div_ceil(1000).max(1))
    }

    /// Whether `amounts` alone pass a limit (refused without a write).
    pub fn exceeded_alone(&self, amounts: &[u64]) -> bool {
        self.limits
            .iter()
            .zip(amounts)
            .any(|((_, limit), amount)| amount > limit)
    }
}

/// The name an address-based limit counts `source` under: an IPv4 address as it is (an
/// IPv4-mapped IPv6 address as its IPv4), an IPv6 address as its /64, anything else as given.
pub fn address_key(source: &str) -> String {
    match source.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_64_is_one_address_and_ipv4_stays_itself() {
        let a = address_key("2001:db8:1:2:aaaa::1");
        let b = address_key("2001:db8:1:2:ffff:ffff:ffff:ffff");
        let other = address_key("2001:db8:1:3::1");
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_ne!(a, other);
        assert_eq!(address_key("203.0.113.7"), "203.0.113.7");
        assert_eq!(address_key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_ne!(address_key("203.0.113.7"), address_key("203.0.113.8"));
    }

    #[test]
    fn a_charge_leaves_room_for_itself_and_says_when_the_window_ends() {
        let (charge, retry) = UPLOADS_PER_DAY.charge("acme", "alice", &[1, 10], 86_400_000 + 1_000);
        assert_eq!(charge.window_start_ms, 86_400_000);
        assert_eq!(
            charge.counters,
            vec![("files", 1, 99), ("bytes", 10, 500 * 1024 * 1024 - 10)]
        );
        assert_eq!(retry, 86_399);
        assert!(UPLOADS_PER_DAY.exceeded_alone(&[1, 501 * 1024 * 1024]));
        assert!(!UPLOADS_PER_DAY.exceeded_alone(&[1, 50 * 1024 * 1024]));
    }
}
