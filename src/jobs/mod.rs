//! The jobs the commands run, one call each: `segment` (fit and write segments), `assign` (score new customers
//! with a saved model), `choose_k` (judge a range of K), `compare` (migration between two periods); `columns`
//! reads the categorical, profiled and kept columns that `segment` and `assign` read beside the features.

pub mod assign;
pub mod choose_k;
pub mod columns;
pub mod compare;
pub mod segment;
pub mod summary;
