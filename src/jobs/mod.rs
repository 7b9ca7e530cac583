//! The jobs the commands run, one call each: `segment` (fit and write segments), `assign` (score new customers
//! with a saved model) and `compare` (migration between two periods).

pub mod assign;
pub mod choose_k;
pub mod compare;
pub mod segment;
pub mod summary;
