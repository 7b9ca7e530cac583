//! The per-customer aggregation state: customers sharded by key hash, a fixed-size state per customer, and the
//! distinct (customer, day / order / category) pairs kept as sorted, deduplicated vectors.
//!
//! Memory, per shard and so in total:
//! - per customer: its key (8 bytes, or the string plus 16), a hash-map slot (~12 bytes at the map's load) and
//!   a [`CustState`] of 64 bytes;
//! - per distinct (customer, purchase day): 8 bytes; per distinct (customer, order): 12 bytes;
//! - categories: each shard numbers the category values it sees (a small map); a customer's categories with
//!   numbers below 64 are bits of its state, and only (customer, category) pairs with higher numbers take 8
//!   bytes each (none unless a shard sees more than 64 categories);
//! - each pair vector holds at most 1.5 times its distinct pairs: when its tail of new pairs fills the
//!   capacity, the tail is sorted, deduplicated and merged into a new vector. While one shard compacts, it
//!   briefly holds its old vector, the tail and the new one (about 4 times that shard's pairs; a shard is
//!   1/[`SHARDS`] of the customers).
//!
//! Rows reach a customer in file order (see `aggregate`), and consecutive repeats of a customer's day or order
//! never reach the pair vectors (the state remembers the last one), so an order's lines, or a customer's
//! purchases in a date-sorted log, cost nothing there.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int16Array, Int32Array, Int64Array, Int8Array, LargeStringArray, StringArray,
    StringViewArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow::datatypes::{
    DataType, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use rayon::slice::ParallelSliceMut;

use super::extra::{pair_day, Extra, ExtraTotals};
use crate::generate::fmix64;

/// Number of customer shards: a power of two. 256 keeps one shard's customer map and states (about 1/256 of
/// them) mostly in cache while the shard applies its rows, keeps every core busy, and makes one shard's
/// compaction scratch small (docs/PERFORMANCE.md, "Features from transactions", has the comparison).
pub const SHARDS: usize = 256;

/// A fast hasher for customer keys: a multiply-rotate over 8-byte words with the MurmurHash3 finaliser
/// ([`fmix64`], shared with the transaction generator), so every
/// output bit depends on every input bit (hashbrown takes its bucket from the low bits and its tag from the top).
/// Equal keys are compared in full, so its quality affects speed only.
#[derive(Default, Clone, Copy)]
pub struct MixHasher(u64);

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for MixHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut b = [0u8; 8];
            b[..tail.len()].copy_from_slice(tail);
            self.write_u64(u64::from_le_bytes(b) ^ ((tail.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(23) ^ i).wrapping_mul(MIX);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        fmix64(self.0)
    }
}

pub type Mix = BuildHasherDefault<MixHasher>;

/// The shard of a key hash: bits 40..46, which hashbrown uses neither for its tag (the top 7 bits) nor for the
/// bucket of any table below 2^40 buckets.
#[inline]
pub fn shard_of(hash: u64) -> usize {
    (hash >> 40) as usize & (SHARDS - 1)
}

/// A 64-bit hash of an order or category value that is not an integer: SipHash-1-3 with fixed keys, so equal
/// values always agree and two different values collide with probability about 2^-64.
pub fn value_hash(bytes: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    h.write(bytes);
    h.write_usize(bytes.len());
    h.finish()
}

/// How customer keys are read from a column, stored, and written back.
pub trait KeyKind: Send + Sync + 'static {
    /// A key as stored in the customer map.
    type Owned: Hash + Eq + Ord + Borrow<Self::Ref> + Send + Sync;
    /// A borrowed key; hashes like `Owned`.
    type Ref: ?Sized + Hash + Eq + Ord;
    /// The keys of rows waiting in a shard buffer.
    type Buf: Default + Send + Sync;

    fn buf_push(buf: &mut Self::Buf, k: &Self::Ref);
    fn buf_get(buf: &Self::Buf, i: usize) -> &Self::Ref;
    fn to_owned(k: &Self::Ref) -> Self::Owned;
    /// Calls `f(j, key)` for each row `rows[j]` of `col` (already dictionary-decoded; the rows are not null).
    fn visit(col: &dyn Array, rows: &[u32], f: impl FnMut(usize, &Self::Ref));
    /// The keys as an array of type `ty` (the column's type in the input).
    fn to_array(keys: Vec<Self::Owned>, ty: &DataType) -> ArrayRef;
    /// Sorts customers by key as the output lists them: integers numerically (signed or not, as `ty`), strings
    /// by their bytes.
    fn sort_pairs(v: &mut [(Self::Owned, Totals)], ty: &DataType);
}

/// Integer customer IDs of any width, held as `u64` (signed values sign-extended, so `-1` and `u64::MAX` cannot
/// meet: all files share one type).
pub struct IntKeys;

impl KeyKind for IntKeys {
    type Owned = u64;
    type Ref = u64;
    type Buf = Vec<u64>;

    #[inline]
    fn buf_push(buf: &mut Vec<u64>, k: &u64) {
        buf.push(*k);
    }
    #[inline]
    fn buf_get(buf: &Vec<u64>, i: usize) -> &u64 {
        &buf[i]
    }
    fn to_owned(k: &u64) -> u64 {
        *k
    }
    fn visit(col: &dyn Array, rows: &[u32], mut f: impl FnMut(usize, &u64)) {
        macro_rules! go {
            ($t:ty, $conv:expr) => {{
                let v = col.as_primitive::<$t>().values();
                for (j, &r) in rows.iter().enumerate() {
                    f(j, &$conv(v[r as usize]));
                }
            }};
        }
        match col.data_type() {
            DataType::Int8 => go!(Int8Type, |x: i8| x as i64 as u64),
            DataType::Int16 => go!(Int16Type, |x: i16| x as i64 as u64),
            DataType::Int32 => go!(Int32Type, |x: i32| x as i64 as u64),
            DataType::Int64 => go!(Int64Type, |x: i64| x as u64),
            DataType::UInt8 => go!(UInt8Type, |x: u8| x as u64),
            DataType::UInt16 => go!(UInt16Type, |x: u16| x as u64),
            DataType::UInt32 => go!(UInt32Type, |x: u32| x as u64),
            DataType::UInt64 => go!(UInt64Type, |x: u64| x),
            t => unreachable!("integer keys of type {t}"),
        }
    }
    fn to_array(keys: Vec<u64>, ty: &DataType) -> ArrayRef {
        let it = keys.into_iter();
        match ty {
            DataType::Int8 => Arc::new(Int8Array::from_iter_values(it.map(|k| k as i8))),
            DataType::Int16 => Arc::new(Int16Array::from_iter_values(it.map(|k| k as i16))),
            DataType::Int32 => Arc::new(Int32Array::from_iter_values(it.map(|k| k as i32))),
            DataType::Int64 => Arc::new(Int64Array::from_iter_values(it.map(|k| k as i64))),
            DataType::UInt8 => Arc::new(UInt8Array::from_iter_values(it.map(|k| k as u8))),
            DataType::UInt16 => Arc::new(UInt16Array::from_iter_values(it.map(|k| k as u16))),
            DataType::UInt32 => Arc::new(UInt32Array::from_iter_values(it.map(|k| k as u32))),
            _ => Arc::new(UInt64Array::from_iter_values(it)),
        }
    }
    fn sort_pairs(v: &mut [(u64, Totals)], ty: &DataType) {
        if signed_int(ty) {
            v.par_sort_unstable_by_key(|p| p.0 as i64);
        } else {
            v.par_sort_unstable_by_key(|p| p.0);
        }
    }
}

/// Whether integer customer keys of type `ty` sort as signed numbers.
pub fn signed_int(ty: &DataType) -> bool {
    matches!(ty, DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64)
}

/// String customer IDs (`Utf8`, `LargeUtf8`, `Utf8View`).
pub struct StrKeys;

/// String keys of buffered rows: concatenated bytes and end offsets.
#[derive(Default)]
pub struct StrBuf {
    ends: Vec<usize>,
    bytes: String,
}

impl KeyKind for StrKeys {
    type Owned = Box<str>;
    type Ref = str;
    type Buf = StrBuf;

    #[inline]
    fn buf_push(buf: &mut StrBuf, k: &str) {
        buf.bytes.push_str(k);
        buf.ends.push(buf.bytes.len());
    }
    #[inline]
    fn buf_get(buf: &StrBuf, i: usize) -> &str {
        let start = if i == 0 { 0 } else { buf.ends[i - 1] };
        &buf.bytes[start..buf.ends[i]]
    }
    fn to_owned(k: &str) -> Box<str> {
        k.into()
    }
    fn visit(col: &dyn Array, rows: &[u32], mut f: impl FnMut(usize, &str)) {
        match col.data_type() {
            DataType::Utf8 => {
                let s = col.as_string::<i32>();
                for (j, &r) in rows.iter().enumerate() {
                    f(j, s.value(r as usize));
                }
            }
            DataType::LargeUtf8 => {
                let s = col.as_string::<i64>();
                for (j, &r) in rows.iter().enumerate() {
                    f(j, s.value(r as usize));
                }
            }
            DataType::Utf8View => {
                let s = col.as_string_view();
                for (j, &r) in rows.iter().enumerate() {
                    f(j, s.value(r as usize));
                }
            }
            t => unreachable!("string keys of type {t}"),
        }
    }
    fn to_array(keys: Vec<Box<str>>, ty: &DataType) -> ArrayRef {
        let it = keys.iter().map(|k| Some(&**k));
        match ty {
            DataType::LargeUtf8 => Arc::new(LargeStringArray::from_iter(it)),
            DataType::Utf8View => Arc::new(StringViewArray::from_iter(it)),
            _ => Arc::new(StringArray::from_iter(it)),
        }
    }
    fn sort_pairs(v: &mut [(Box<str>, Totals)], _ty: &DataType) {
        v.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
}

/// Rows of one unit that belong to one shard, in file order, waiting to be applied.
pub struct ShardRows<K: KeyKind> {
    pub keys: K::Buf,
    pub day: Vec<i32>,
    pub amount: Vec<f64>,
    /// Empty without an order column.
    pub order: Vec<u64>,
    /// Empty without a category column; `cat_ok[i]` is false for a null category.
    pub cat: Vec<u64>,
    pub cat_ok: Vec<bool>,
    /// The line margins; empty without a cost or margin column.
    pub margin: Vec<f64>,
}

impl<K: KeyKind> Default for ShardRows<K> {
    fn default() -> Self {
        ShardRows {
            keys: K::Buf::default(),
            day: Vec::new(),
            amount: Vec::new(),
            order: Vec::new(),
            cat: Vec::new(),
            cat_ok: Vec::new(),
            margin: Vec::new(),
        }
    }
}

impl<K: KeyKind> ShardRows<K> {
    pub fn len(&self) -> usize {
        self.day.len()
    }
}

/// A compensated (Neumaier) sum: exact to within a rounding of the result for any realistic number of amounts,
/// and the same for the same amounts in the same order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sum {
    s: f64,
    c: f64,
}

impl Sum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.s + x;
        if self.s.abs() >= x.abs() {
            self.c += (self.s - t) + x;
        } else {
            self.c += (x - t) + self.s;
        }
        self.s = t;
    }
    pub fn value(&self) -> f64 {
        self.s + self.c
    }
}

/// The fixed-size state of one customer (64 bytes).
#[derive(Debug, Clone, Copy)]
pub struct CustState {
    pub first: i32,
    pub last: i32,
    /// The day and order last recorded in the pair vectors, to skip consecutive repeats.
    last_day: i32,
    has_order: bool,
    /// Sum of the positive amounts (purchases) and of the negative ones (returns).
    pub pos: Sum,
    pub neg: Sum,
    last_order: u64,
    /// The categories seen whose shard-local ID is below 64, one bit each.
    cat_bits: u64,
}

/// A vector of distinct pairs: a sorted, deduplicated prefix and a tail of new pairs. When it is full (its
/// capacity is 1.5 times the pairs it held after the last compaction, at least [`PairBuf::MIN`]) the tail is
/// sorted, deduplicated and merged into the prefix, in a new vector of the next capacity.
#[derive(Debug)]
pub struct PairBuf<T> {
    v: Vec<T>,
    /// Length of the sorted, deduplicated prefix.
    sorted: usize,
    limit: usize,
}

impl<T: Ord + Copy> Default for PairBuf<T> {
    fn default() -> Self {
        PairBuf { v: Vec::new(), sorted: 0, limit: Self::MIN }
    }
}

impl<T: Ord + Copy> PairBuf<T> {
    const MIN: usize = 1024;

    #[inline]
    pub fn push(&mut self, x: T) {
        if self.v.len() >= self.limit {
            self.compact();
        }
        self.v.push(x);
    }

    /// Sorts and deduplicates the tail and merges it into the prefix. The merged vector gets a capacity of 1.5
    /// times its length bound, and the next compaction happens when that is full, so pushes never reallocate.
    pub fn compact(&mut self) {
        if self.sorted == self.v.len() {
            return;
        }
        let mut tail = self.v.split_off(self.sorted);
        tail.sort_unstable();
        tail.dedup();
        let prefix = std::mem::take(&mut self.v);
        let bound = prefix.len() + tail.len();
        let mut out = Vec::with_capacity((bound + bound / 2).max(Self::MIN));
        let (mut i, mut j) = (0, 0);
        while i < prefix.len() && j < tail.len() {
            match prefix[i].cmp(&tail[j]) {
                std::cmp::Ordering::Less => {
                    out.push(prefix[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(tail[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(prefix[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&prefix[i..]);
        out.extend_from_slice(&tail[j..]);
        self.sorted = out.len();
        self.limit = out.capacity();
        self.v = out;
    }

    /// The distinct pairs, sorted.
    pub fn finish(mut self) -> Vec<T> {
        self.compact();
        self.v.shrink_to_fit();
        self.v
    }
}

/// What to record per row besides the fixed state.
#[derive(Debug, Clone, Copy)]
pub struct Track {
    pub orders: bool,
    pub categories: bool,
    /// Line margins are given ([`ShardRows::margin`]).
    pub margin: bool,
    /// The first day of the `--window-days` window, if any.
    pub window_start: Option<i32>,
}

impl Track {
    /// Whether the optional figures of [`super::extra`] are kept.
    pub fn extra(&self) -> bool {
        self.margin || self.window_start.is_some()
    }
}

/// One shard of the customers: those whose key hash has this shard's bits.
pub struct Shard<K: KeyKind> {
    index: HashMap<K::Owned, u32, Mix>,
    states: Vec<CustState>,
    days: PairBuf<u64>,
    orders: PairBuf<[u32; 3]>,
    /// (slot, category ID) for category IDs of 64 and more (those below are in `CustState::cat_bits`).
    cats: PairBuf<u64>,
    /// Shard-local dense IDs of the category values seen, in order of first appearance.
    cat_ids: HashMap<u64, u32, Mix>,
    /// Per customer, with `Track::extra`: margin and windowed figures.
    extra: Vec<Extra>,
    /// (slot, order) of the orders with a line in the window.
    win_orders: PairBuf<[u32; 3]>,
}

impl<K: KeyKind> Default for Shard<K> {
    fn default() -> Self {
        Shard {
            index: HashMap::default(),
            states: Vec::new(),
            days: PairBuf::default(),
            orders: PairBuf::default(),
            cats: PairBuf::default(),
            cat_ids: HashMap::default(),
            extra: Vec::new(),
            win_orders: PairBuf::default(),
        }
    }
}

#[inline]
fn split(slot: u32, v: u64) -> [u32; 3] {
    [slot, (v >> 32) as u32, v as u32]
}

impl<K: KeyKind> Shard<K> {
    /// Applies buffered rows, in order.
    pub fn apply(&mut self, rows: &ShardRows<K>, track: Track) {
        let mut prev: Option<(usize, u32)> = None;
        let mut last_cat: Option<(u64, u32)> = None;
        for i in 0..rows.len() {
            let key = K::buf_get(&rows.keys, i);
            let slot = match prev {
                Some((j, s)) if K::buf_get(&rows.keys, j) == key => s,
                _ => self.slot(key),
            };
            prev = Some((i, slot));
            let (day, amount) = (rows.day[i], rows.amount[i]);
            if track.extra() {
                if self.extra.len() <= slot as usize {
                    self.extra.resize(slot as usize + 1, Extra::default());
                }
                let e = &mut self.extra[slot as usize];
                let margin = if track.margin { rows.margin[i] } else { 0.0 };
                if e.add(day, amount, margin, track.window_start) && track.orders {
                    let o = rows.order[i];
                    if e.last_win_order != Some(o) {
                        e.last_win_order = Some(o);
                        self.win_orders.push(split(slot, o));
                    }
                }
            }
            let st = &mut self.states[slot as usize];
            st.first = st.first.min(day);
            st.last = st.last.max(day);
            if amount > 0.0 {
                st.pos.add(amount);
            } else if amount < 0.0 {
                st.neg.add(amount);
            }
            if st.last_day != day {
                st.last_day = day;
                self.days.push((u64::from(slot) << 32) | u64::from(day as u32));
            }
            if track.orders {
                let o = rows.order[i];
                if !st.has_order || st.last_order != o {
                    st.has_order = true;
                    st.last_order = o;
                    self.orders.push(split(slot, o));
                }
            }
            if track.categories && rows.cat_ok[i] {
                let c = rows.cat[i];
                let id = match last_cat {
                    Some((v, id)) if v == c => id,
                    _ => {
                        let next = self.cat_ids.len() as u32;
                        let id = *self.cat_ids.entry(c).or_insert(next);
                        last_cat = Some((c, id));
                        id
                    }
                };
                if id < 64 {
                    st.cat_bits |= 1 << id;
                } else {
                    self.cats.push((u64::from(slot) << 32) | u64::from(id));
                }
            }
        }
    }

    /// The slot of `key`, a new one (with the state of no rows) if it is new.
    #[inline]
    fn slot(&mut self, key: &K::Ref) -> u32 {
        if let Some(&s) = self.index.get(key) {
            return s;
        }
        let s = u32::try_from(self.states.len()).expect("fewer than 2^32 customers per shard");
        self.index.insert(K::to_owned(key), s);
        self.states.push(CustState {
            first: i32::MAX,
            last: i32::MIN,
            pos: Sum::default(),
            neg: Sum::default(),
            last_day: i32::MIN,
            has_order: false,
            last_order: 0,
            cat_bits: 0,
        });
        s
    }

    pub fn customers(&self) -> usize {
        self.states.len()
    }

    /// The shard's customers with their final figures, in no particular order.
    pub fn finish(self, track: Track) -> Vec<(K::Owned, Totals)> {
        let n = self.states.len();
        let mut days = vec![0u32; n];
        let mut win_days = vec![0u32; n];
        for p in self.days.finish() {
            days[(p >> 32) as usize] += 1;
            if track.window_start.is_some_and(|w| pair_day(p) >= w) {
                win_days[(p >> 32) as usize] += 1;
            }
        }
        let count = |pairs: Vec<[u32; 3]>| {
            let mut c = vec![0u32; n];
            for p in pairs {
                c[p[0] as usize] += 1;
            }
            c
        };
        let orders = count(self.orders.finish());
        let win_orders = count(self.win_orders.finish());
        let extra = self.extra;
        let mut cats: Vec<u32> = self.states.iter().map(|s| s.cat_bits.count_ones()).collect();
        for p in self.cats.finish() {
            cats[(p >> 32) as usize] += 1;
        }
        let states = self.states;
        self.index
            .into_iter()
            .map(|(k, s)| {
                let s = s as usize;
                let st = &states[s];
                (
                    k,
                    Totals {
                        first: st.first,
                        last: st.last,
                        pos: st.pos.value(),
                        neg: st.neg.value(),
                        days: days[s],
                        orders: orders[s],
                        categories: cats[s],
                        extra: extra.get(s).map_or_else(ExtraTotals::default, |e| ExtraTotals {
                            margin: e.margin.value(),
                            win_monetary: e.win_pos.value() + e.win_neg.value(),
                            win_margin: e.win_margin.value(),
                            win_frequency: if track.orders { win_orders[s] } else { win_days[s] },
                        }),
                    },
                )
            })
            .collect()
    }
}

/// One customer's aggregated figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub first: i32,
    pub last: i32,
    /// Sum of positive amounts and of negative amounts (≤ 0).
    pub pos: f64,
    pub neg: f64,
    /// Distinct purchase days, orders and non-null categories.
    pub days: u32,
    pub orders: u32,
    pub categories: u32,
    /// Margin and windowed figures (zero unless asked for).
    pub extra: ExtraTotals,
}

/// The hash of a customer key, as the customer maps compute it.
#[inline]
pub fn key_hash<R: ?Sized + Hash>(k: &R) -> u64 {
    Mix::default().hash_one(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_buffers_count_distinct_pairs_exactly() {
        let mut b = PairBuf::<u64>::default();
        let mut want = std::collections::BTreeSet::new();
        let mut x = 12345u64;
        for _ in 0..50_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = x >> 52; // 4096 distinct values, many repeats
            b.push(v);
            want.insert(v);
        }
        assert_eq!(b.finish(), want.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn compaction_bounds_the_buffer() {
        let mut b = PairBuf::<u64>::default();
        for i in 0..100_000u64 {
            b.push(i % 10_000);
            assert!(b.v.capacity() <= 2 * 10_000 * 3 / 2, "{}", b.v.capacity());
        }
        assert_eq!(b.finish(), (0..10_000).collect::<Vec<_>>());
    }

    #[test]
    fn neumaier_sum_is_exact_where_naive_is_not() {
        let mut s = Sum::default();
        for x in [1e16, 1.0, -1e16, 1.0] {
            s.add(x);
        }
        assert_eq!(s.value(), 2.0);
    }

    #[test]
    fn string_buffers_round_trip() {
        let mut b = StrBuf::default();
        for k in ["a", "", "ccc"] {
            StrKeys::buf_push(&mut b, k);
        }
        assert_eq!((0..3).map(|i| StrKeys::buf_get(&b, i)).collect::<Vec<_>>(), ["a", "", "ccc"]);
    }

    #[test]
    fn str_and_box_str_hash_alike() {
        let owned: Box<str> = "customer-17".into();
        assert_eq!(key_hash("customer-17"), key_hash(&owned));
        assert_ne!(key_hash(&1u64), key_hash(&2u64));
    }
}
