//! A request budget shared by every request of an export (`--max-requests`).
//!
//! Self-contained: the engine asks [`RequestBudget::take`] before each HTTP
//! request (first attempts and retries alike) and stops when it says no.

use std::sync::atomic::{AtomicU64, Ordering};

/// At most `max` requests, counted across every task of a process.
#[derive(Debug, Default)]
pub struct RequestBudget {
    max: Option<u64>,
    used: AtomicU64,
}

/// The budget is used up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the request budget of {max} requests is used up")]
pub struct BudgetExhausted {
    /// The budget.
    pub max: u64,
}

impl RequestBudget {
    /// A budget of `max` requests (`None`: unlimited).
    pub fn new(max: Option<u64>) -> Self {
        Self {
            max,
            used: AtomicU64::new(0),
        }
    }

    /// Takes one request from the budget, or says it is used up (then
    /// nothing is taken).
    pub fn take(&self) -> Result<(), BudgetExhausted> {
        let Some(max) = self.max else {
            self.used.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < max).then_some(used + 1)
            })
            .map(|_| ())
            .map_err(|_| BudgetExhausted { max })
    }

    /// Requests taken so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// The budget, if any.
    pub fn max(&self) -> Option<u64> {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_exactly_max_even_from_many_threads() {
        let budget = std::sync::Arc::new(RequestBudget::new(Some(100)));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = budget.clone();
                std::thread::spawn(move || (0..100).filter(|_| b.take().is_ok()).count())
            })
            .collect();
        let taken: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(taken, 100);
        assert_eq!(budget.used(), 100);
        assert_eq!(budget.take(), Err(BudgetExhausted { max: 100 }));
    }

    #[test]
    fn unlimited_counts() {
        let budget = RequestBudget::new(None);
        for _ in 0..5 {
            budget.take().unwrap();
        }
        assert_eq!(budget.used(), 5);
    }
}
