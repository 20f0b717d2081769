//! A circuit per new service: `failures` consecutive failures open it for `open_for`; then it is
//! half-open and lets `trials` requests through; as many successes close it, one failure opens it
//! again. While it is open, the service's domain goes to Magento. Atomics only: no lock on the
//! request path.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The circuit's settings.
#[derive(Debug, Clone, Copy)]
pub struct CircuitSettings {
    /// Consecutive failures that open the circuit.
    pub failures: u32,
    /// How long it stays open before trial requests.
    pub open_for: Duration,
    /// Trial requests let through when half-open; as many successes close it.
    pub trials: u32,
}

/// What the circuit is doing, for metrics and the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Traffic flows.
    Closed,
    /// Traffic goes to Magento.
    Open,
    /// A few trial requests flow.
    HalfOpen,
}

impl CircuitState {
    /// 0 closed, 1 open, 2 half-open (the metric's value).
    pub fn as_number(self) -> u8 {
        match self {
            CircuitState::Closed => 0,
            CircuitState::Open => 1,
            CircuitState::HalfOpen => 2,
        }
    }
}

/// One service's circuit.
#[derive(Debug)]
pub struct Circuit {
    settings: CircuitSettings,
    epoch: Instant,
    /// Consecutive failures while closed.
    failures: AtomicU32,
    /// When it opened, in ms since `epoch` plus one; 0 while closed.
    opened_at: AtomicU64,
    /// Trial requests let through since it became half-open.
    trials: AtomicU32,
    /// Trial successes since it became half-open.
    successes: AtomicU32,
}

impl Circuit {
    /// A closed circuit.
    pub fn new(settings: CircuitSettings) -> Self {
        Self {
            settings,
            epoch: Instant::now(),
            failures: AtomicU32::new(0),
            opened_at: AtomicU64::new(0),
            trials: AtomicU32::new(0),
            successes: AtomicU32::new(0),
        }
    }

    fn now_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64 + 1
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> CircuitState {
        let opened = self.opened_at.load(Ordering::Acquire);
        if opened == 0 {
            CircuitState::Closed
        } else if self.now_ms(now) < opened + self.settings.open_for.as_millis() as u64 {
            CircuitState::Open
        } else {
            CircuitState::HalfOpen
        }
    }

    /// Whether a request may go to the service now (a half-open circuit counts it as a trial).
    pub fn allow(&self, now: Instant) -> bool {
        match self.state(now) {
            CircuitState::Closed => true,
            CircuitState::Open => false,
            CircuitState::HalfOpen => {
                self.trials.fetch_add(1, Ordering::AcqRel) < self.settings.trials
            }
        }
    }

    /// Records a request the service answered well.
    pub fn success(&self, now: Instant) {
        match self.state(now) {
            // Read before written: a store on every success would move the line between the
            // cores of every proxy thread, though it holds 0 nearly always.
            CircuitState::Closed => {
                if self.failures.load(Ordering::Acquire) != 0 {
                    self.failures.store(0, Ordering::Release);
                }
            }
            CircuitState::Open => {}
            CircuitState::HalfOpen => {
                if self.successes.fetch_add(1, Ordering::AcqRel) + 1 >= self.settings.trials {
                    self.failures.store(0, Ordering::Release);
                    self.trials.store(0, Ordering::Release);
                    self.successes.store(0, Ordering::Release);
                    self.opened_at.store(0, Ordering::Release);
                }
            }
        }
    }

    /// Records a failure (a refused connection, a 5xx). Returns true when this failure opened it.
    pub fn failure(&self, now: Instant) -> bool {
        match self.state(now) {
            CircuitState::Closed => {
                if self.failures.fetch_add(1, Ordering::AcqRel) + 1 >= self.settings.failures {
                    self.open(now);
                    return true;
                }
                false
            }
            CircuitState::Open => false,
            CircuitState::HalfOpen => {
                self.open(now);
                true
            }
        }
    }

    fn open(&self, now: Instant) {
        self.trials.store(0, Ordering::Release);
        self.successes.store(0, Ordering::Release);
        self.failures.store(0, Ordering::Release);
        self.opened_at.store(self.now_ms(now), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuit() -> Circuit {
        Circuit::new(CircuitSettings {
            failures: 5,
            open_for: Duration::from_secs(60),
            trials: 5,
        })
    }

    #[test]
    fn five_failures_open_sixty_seconds_then_five_trials_close() {
        let c = circuit();
        let t0 = Instant::now();
        for _ in 0..4 {
            assert!(!c.failure(t0));
        }
        c.success(t0); // a success resets the count
        for i in 0..5 {
            assert_eq!(c.failure(t0), i == 4, "failure {i}");
        }
        assert_eq!(c.state(t0), CircuitState::Open);
        assert!(!c.allow(t0 + Duration::from_secs(59)));
        let half = t0 + Duration::from_secs(61);
        assert_eq!(c.state(half), CircuitState::HalfOpen);
        let allowed = (0..8).filter(|_| c.allow(half)).count();
        assert_eq!(allowed, 5, "five trial requests");
        for _ in 0..4 {
            c.success(half);
            assert_eq!(c.state(half), CircuitState::HalfOpen);
        }
        c.success(half);
        assert_eq!(c.state(half), CircuitState::Closed);
        assert!(c.allow(half));
    }

    #[test]
    fn a_failed_trial_opens_it_again() {
        let c = circuit();
        let t0 = Instant::now();
        for _ in 0..5 {
            c.failure(t0);
        }
        let half = t0 + Duration::from_secs(61);
        assert!(c.allow(half));
        c.success(half);
        assert!(c.failure(half));
        assert_eq!(c.state(half), CircuitState::Open);
        assert_eq!(c.state(half + Duration::from_secs(59)), CircuitState::Open);
        assert_eq!(
            c.state(half + Duration::from_secs(61)),
            CircuitState::HalfOpen
        );
    }
}
