//! Requests counted per key in one-minute windows, in this process: what the public
//! payment portal uses to answer 429 to a link or an address that asks too often. A
//! few server processes each count their own, which only multiplies the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Keys kept before the stale ones are swept, so that the map cannot grow without end.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Default)]
pub struct RateLimits {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimits {
    /// Counts a request under `key`; false once the key went past `per_minute` in its
    /// current window.
    pub fn allow(&self, key: &str, per_minute: u32, now: Instant) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *count) = (now, 0);
        }
        *count = count.saturating_add(1);
        *count <= per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_window() {
        let limits = RateLimits::default();
        let t = Instant::now();
        assert!((0..3).all(|_| limits.allow("a", 3, t)));
        assert!(!limits.allow("a", 3, t));
        assert!(limits.allow("b", 3, t), "another key is counted apart");
        assert!(limits.allow("a", 3, t + WINDOW), "a new window starts over");
    }

    #[test]
    fn stale_keys_are_swept() {
        let limits = RateLimits::default();
        let t = Instant::now();
        for i in 0..SWEEP_AT {
            limits.allow(&i.to_string(), 1, t);
        }
        limits.allow("new", 1, t + WINDOW);
        assert_eq!(limits.windows.lock().unwrap().len(), 1);
    }
}
