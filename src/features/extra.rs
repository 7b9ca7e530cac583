//! The optional per-customer figures of `custseg features`: gross margin (with a cost or margin column) and the
//! windowed figures (`--window-days`). Kept apart from the fixed state so that a run without them pays nothing:
//! a shard holds an [`Extra`] per customer only when [`Track::extra`](super::state::Track) is on.

use super::state::Sum;

/// A customer's running optional figures (72 bytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra {
    /// Sum of the line margins (amount − cost, or the margin column).
    pub margin: Sum,
    /// In the window: sums of the positive and negative amounts, and of the line margins.
    pub win_pos: Sum,
    pub win_neg: Sum,
    pub win_margin: Sum,
    /// The order last recorded as a window order, to skip consecutive repeats.
    pub last_win_order: Option<u64>,
}

impl Extra {
    /// Adds one row: its day, amount and line margin (0 without a cost or margin column). Returns whether the
    /// row lies in the window (its order, if any, is then a window order).
    #[inline]
    pub fn add(&mut self, day: i32, amount: f64, margin: f64, window_start: Option<i32>) -> bool {
        self.margin.add(margin);
        let in_window = window_start.is_some_and(|w| day >= w);
        if in_window {
            if amount > 0.0 {
                self.win_pos.add(amount);
            } else if amount < 0.0 {
                self.win_neg.add(amount);
            }
            self.win_margin.add(margin);
        }
        in_window
    }
}

/// A customer's final optional figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExtraTotals {
    pub margin: f64,
    /// Net spend in the window.
    pub win_monetary: f64,
    pub win_margin: f64,
    /// Distinct orders in the window, or distinct days without an order column.
    pub win_frequency: u32,
}

/// The first day of a window of `days` days ending on `as_of`.
pub fn window_start(as_of: i32, days: Option<u32>) -> Option<i32> {
    days.map(|n| as_of.saturating_sub(i32::try_from(n).unwrap_or(i32::MAX)) + 1)
}

/// The day of a (slot, day) pair of the shard's day vector.
#[inline]
pub fn pair_day(p: u64) -> i32 {
    p as u32 as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_of_n_days_ends_on_as_of() {
        assert_eq!(window_start(100, Some(1)), Some(100));
        assert_eq!(window_start(100, Some(365)), Some(-264));
        assert_eq!(window_start(100, None), None);
    }

    #[test]
    fn only_rows_in_the_window_add_to_the_window() {
        let mut e = Extra::default();
        assert!(!e.add(9, 50.0, 20.0, Some(10)));
        assert!(e.add(10, 30.0, 10.0, Some(10)));
        assert!(e.add(12, -5.0, -2.0, Some(10)));
        assert_eq!(e.margin.value(), 28.0);
        assert_eq!((e.win_pos.value(), e.win_neg.value(), e.win_margin.value()), (30.0, -5.0, 8.0));
        assert_eq!(pair_day((7u64 << 32) | u64::from(-3i32 as u32)), -3);
    }
}
