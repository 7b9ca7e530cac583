//! Decoding a CSV file's rows into record batches of the projected columns, in parallel, and arrow's parse errors
//! turned into one line naming the file, the line and the column.
//!
//! arrow's CSV decoder runs on one thread. To use every core on one big file, the file is read in blocks of
//! [`BLOCK`] bytes (through gzip for `.csv.gz`), each cut after its last line end that lies outside quotes (an even
//! number of `"` before it: RFC 4180 doubles a quote inside a quoted field, so the parity of the count says
//! whether a newline ends a record). Each piece is a whole number of records, and a wave of pieces is decoded in
//! parallel, each by its own arrow `Decoder` with the same schema; their batches are kept in file order, so the
//! result does not depend on the thread count. Only the header piece skips a line.
//!
//! Line numbers in errors count the header as line 1 and each record as one line (a quoted field that holds a
//! line break does not add one).

use std::io::Read;
use std::path::Path;

use arrow::csv::ReaderBuilder;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use super::csv::{not_csv, open, type_name, SAMPLE_ROWS};
use crate::error::{one_line, Error, Result};

/// Bytes read per piece (the last line end in it decides the cut).
const BLOCK: usize = 8 << 20;

/// Decodes the CSV file at `path` (read with `schema`, its header first) into batches of at most `batch_size`
/// rows holding the columns `projection` (ascending indices into `schema`), in file order.
pub(crate) fn read_csv(
    path: &Path,
    schema: &SchemaRef,
    projection: &[usize],
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    let mut reader = open(path)?;
    let wave = rayon::current_num_threads().max(1) * 2;
    let mut batches: Vec<RecordBatch> = Vec::new();
    // Records before the next piece: the header counts as one.
    let mut records = 0usize;
    let mut pieces = Pieces::default();
    let mut first = true;
    loop {
        let mut todo: Vec<Vec<u8>> = Vec::with_capacity(wave);
        while todo.len() < wave {
            match pieces.next(&mut reader).map_err(|e| not_csv(path, e))? {
                Some(p) => todo.push(p),
                None => break,
            }
        }
        if todo.is_empty() {
            break;
        }
        let header_at = if first { Some(0) } else { None };
        first = false;
        let outs: Vec<std::result::Result<Vec<RecordBatch>, ArrowError>> = todo
            .par_iter()
            .enumerate()
            .map(|(i, bytes)| decode_piece(bytes, schema, projection, batch_size, header_at == Some(i)))
            .collect();
        for (i, out) in outs.into_iter().enumerate() {
            // The first line of this piece, counting the header (which the header piece's decoder counts itself).
            let before = if header_at == Some(i) { 0 } else { records };
            match out {
                Ok(bs) => {
                    records =
                        before + bs.iter().map(|b| b.num_rows()).sum::<usize>() + usize::from(header_at == Some(i));
                    batches.extend(bs);
                }
                Err(e) => return Err(parse_error(path, schema, &e, before)),
            }
        }
    }
    if records == 0 {
        return Err(not_csv(path, "the file is empty (no header line)"));
    }
    Ok(batches)
}

/// Decodes one piece (whole records) with its own decoder.
fn decode_piece(
    bytes: &[u8],
    schema: &SchemaRef,
    projection: &[usize],
    batch_size: usize,
    header: bool,
) -> std::result::Result<Vec<RecordBatch>, ArrowError> {
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_header(header)
        .with_batch_size(batch_size)
        .with_projection(projection.to_vec())
        .build_decoder();
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let n = decoder.decode(&bytes[pos..])?;
        pos += n;
        if decoder.capacity() == 0 {
            out.extend(decoder.flush()?);
            continue;
        }
        if pos == bytes.len() {
            // An empty input tells the decoder the stream has ended (a last record without a line end).
            decoder.decode(&[])?;
            out.extend(decoder.flush()?);
            return Ok(out);
        }
        if n == 0 {
            return Err(ArrowError::CsvError("the decoder made no progress".into()));
        }
    }
}

/// Cuts a byte stream into pieces of whole records.
#[derive(Default)]
struct Pieces {
    /// Bytes read past the last cut.
    carry: Vec<u8>,
    /// Whether the end of `carry` is inside a quoted field.
    in_quotes: bool,
    done: bool,
}

impl Pieces {
    /// The next piece: at least [`BLOCK`] bytes read, cut after the last record end; the rest of the stream at the
    /// end; `None` once it is exhausted.
    fn next(&mut self, r: &mut dyn Read) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if self.done {
                return Ok((!self.carry.is_empty()).then(|| std::mem::take(&mut self.carry)));
            }
            let scanned = self.carry.len();
            self.carry.resize(scanned + BLOCK, 0);
            let mut filled = scanned;
            while filled < self.carry.len() {
                match r.read(&mut self.carry[filled..]) {
                    Ok(0) => {
                        self.done = true;
                        break;
                    }
                    Ok(k) => filled += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.carry.truncate(filled);
            if self.done {
                continue;
            }
            if let Some(cut) = self.last_record_end(scanned) {
                let rest = self.carry.split_off(cut);
                return Ok(Some(std::mem::replace(&mut self.carry, rest)));
            }
        }
    }

    /// Scans `carry[from..]`, updating the quote state, and returns the offset just past the last `\n` outside
    /// quotes, if any. The state is then that of the end of `carry`.
    fn last_record_end(&mut self, from: usize) -> Option<usize> {
        let tail = &self.carry[from..];
        if !self.in_quotes && memchr::memchr(b'"', tail).is_none() {
            return memchr::memrchr(b'\n', tail).map(|i| from + i + 1);
        }
        let mut cut = None;
        for i in memchr::memchr2_iter(b'"', b'\n', tail) {
            if tail[i] == b'"' {
                self.in_quotes = !self.in_quotes;
            } else if !self.in_quotes {
                cut = Some(from + i + 1);
            }
        }
        cut
    }
}

/// arrow's error for a piece whose first line is `before + 1`, as one line naming the file, the line and the
/// column, with what to do.
fn parse_error(path: &Path, schema: &SchemaRef, e: &ArrowError, before: usize) -> Error {
    let msg = e.to_string();
    // A value's error counts data lines from the header's 0; a record's (field count, UTF-8) from the header's 1.
    let line = number_after(&msg, "at line ")
        .map(|n| before + n + 1)
        .or_else(|| number_after(&msg, "for line ").map(|n| before + n));
    let column = number_after(&msg, "for column ")
        .or_else(|| number_after(&msg, "Error parsing column "))
        .and_then(|i| schema.fields().get(i))
        .map(|f| (f.name().clone(), f.data_type().clone()));
    let at = |l: Option<usize>| l.map(|l| format!("line {l}")).unwrap_or_else(|| "a line".into());
    if let Some((name, t)) = column {
        let value = between(&msg, "value '", "' as type").map(|v| {
            let v = one_line(v);
            if v.chars().count() > 40 {
                format!("{}...", v.chars().take(40).collect::<String>())
            } else {
                v
            }
        });
        let suggest = match &value {
            Some(v) if t.is_integer() && v.trim().parse::<f64>().is_ok() => "float64",
            _ => "utf8",
        };
        let what = value.map(|v| format!("'{v}'")).unwrap_or_else(|| "the value".into());
        return Error::Usage(format!(
            "{}: {}, column '{name}': cannot read {what} as {} (the type inferred from the first {SAMPLE_ROWS} \
             rows); fix the value, or give the column's type with --csv-schema {name}:{suggest}",
            path.display(),
            at(line),
            type_name(&t)
        ));
    }
    let got = number_after(&msg, "got more than ").or_else(|| number_after(&msg, " got "));
    if let (Some(expected), Some(got)) = (number_after(&msg, "expected "), got) {
        let more = if msg.contains("got more than") { "more than " } else { "" };
        return Error::Usage(format!(
            "{}: {} has {more}{got} fields, but the header has {expected}; every line needs one value per column",
            path.display(),
            at(line)
        ));
    }
    if msg.contains("UTF-8") {
        let field = number_after(&msg, "and field ")
            .and_then(|f| schema.fields().get(f.saturating_sub(1)))
            .map(|f| format!(", column '{}'", f.name()))
            .unwrap_or_default();
        return Error::Usage(format!(
            "{}: {}{field} is not valid UTF-8; save the file as UTF-8",
            path.display(),
            at(line)
        ));
    }
    not_csv(path, msg)
}

/// The decimal number right after the first `pat` in `s`.
fn number_after(s: &str, pat: &str) -> Option<usize> {
    let rest = &s[s.find(pat)? + pat.len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The text between the first `open` and the next `close` after it.
fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use arrow::array::{AsArray, Float64Array, Int64Array};
    use arrow::datatypes::{Float64Type, Int64Type};

    use crate::io::csv::infer_schema;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn read_all(path: &Path, batch: usize) -> Result<Vec<RecordBatch>> {
        let schema = infer_schema(path, &[])?;
        let all: Vec<usize> = (0..schema.fields().len()).collect();
        read_csv(path, &schema, &all, batch)
    }

    fn col_i64(bs: &[RecordBatch], c: usize) -> Vec<i64> {
        bs.iter().flat_map(|b| b.column(c).as_primitive::<Int64Type>().values().to_vec()).collect()
    }

    #[test]
    fn pieces_cut_only_after_record_ends_outside_quotes() {
        let text = b"a,b\n1,\"x\ny\"\n2,\"q\"\"\n\"\n3,z";
        let mut p = Pieces { carry: text.to_vec(), ..Pieces::default() };
        // The last newline outside quotes is the one before "3,z".
        assert_eq!(p.last_record_end(0), Some(text.len() - 3));
        assert!(!p.in_quotes);
        let mut p = Pieces { carry: b"1,\"open\nstill".to_vec(), ..Pieces::default() };
        assert_eq!(p.last_record_end(0), None);
        assert!(p.in_quotes);
    }

    #[test]
    fn a_big_file_is_decoded_in_many_pieces_in_order() {
        let dir = tempfile::tempdir().unwrap();
        // Over two blocks, with quoted fields holding line breaks and quotes across the cuts.
        let mut text = String::from("id,x,note\n");
        let mut i = 0i64;
        while text.len() < 2 * BLOCK + 1000 {
            text.push_str(&format!("{i},{}.5,\"a \"\"q\"\"\nb, c\"\n", i * 2));
            i += 1;
        }
        let f = write(dir.path(), "big.csv", &text);
        let bs = read_all(&f, 4096).unwrap();
        assert!(bs.len() > 3);
        assert_eq!(col_i64(&bs, 0), (0..i).collect::<Vec<_>>());
        let x: Vec<f64> = bs.iter().flat_map(|b| b.column(1).as_primitive::<Float64Type>().values().to_vec()).collect();
        assert_eq!(x, (0..i).map(|v| v as f64 * 2.0 + 0.5).collect::<Vec<_>>());
        assert!(bs.iter().all(|b| b.column(2).as_string::<i32>().iter().all(|s| s == Some("a \"q\"\nb, c"))));
    }

    #[test]
    fn a_projection_keeps_the_columns_asked_for_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "p.csv", "a,b,c\n1,2,3\n4,5,6");
        let schema = infer_schema(&f, &[]).unwrap();
        let bs = read_csv(&f, &schema, &[0, 2], 10).unwrap();
        assert_eq!(bs[0].num_columns(), 2);
        assert_eq!(bs[0].column(1).as_primitive::<Int64Type>(), &Int64Array::from(vec![3, 6]));
    }

    #[test]
    fn empty_cells_are_null() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "n.csv", "id,x\n1,\n2,3.5\n");
        let bs = read_all(&f, 10).unwrap();
        assert_eq!(bs[0].column(1).as_primitive::<Float64Type>(), &Float64Array::from(vec![None, Some(3.5)]));
    }

    #[test]
    fn a_bad_cell_names_the_file_line_and_column_with_the_flag_that_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id,x\n");
        for i in 0..SAMPLE_ROWS + 5 {
            text.push_str(&format!("{i},{i}\n"));
        }
        text.push_str("777,2.5\n");
        let f = write(dir.path(), "late.csv", &text);
        let e = read_all(&f, 1000).unwrap_err();
        let line = SAMPLE_ROWS + 5 + 2;
        assert!(e.is_usage());
        assert_eq!(
            e.to_string(),
            format!(
                "{}: line {line}, column 'x': cannot read '2.5' as int64 (the type inferred from the first 10000 \
                 rows); fix the value, or give the column's type with --csv-schema x:float64",
                f.display()
            )
        );
    }

    #[test]
    fn a_bad_cell_in_a_later_piece_has_its_line_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id,x\n");
        let mut n = 0;
        while text.len() < BLOCK * 3 {
            text.push_str(&format!("{n},1.25\n"));
            n += 1;
        }
        text.push_str("5,oops\n");
        let f = write(dir.path(), "far.csv", &text);
        let e = read_all(&f, 65536).unwrap_err().to_string();
        assert!(e.contains(&format!("line {}, column 'x': cannot read 'oops' as float64", n + 2)), "{e}");
        assert!(e.ends_with("--csv-schema x:utf8"), "{e}");
    }

    #[test]
    fn a_short_or_long_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        // Past the sample, so that arrow's decoder (not the inference) finds them.
        let mut good = String::from("id,x,y\n");
        for i in 0..SAMPLE_ROWS + 3 {
            good.push_str(&format!("{i},2,3\n"));
        }
        let line = SAMPLE_ROWS + 3 + 2;
        let f = write(dir.path(), "short.csv", &format!("{good}7,8\n"));
        let e = read_all(&f, 1000).unwrap_err().to_string();
        assert!(e.contains(&format!("short.csv: line {line} has 2 fields, but the header has 3")), "{e}");
        let f = write(dir.path(), "long.csv", &format!("{good}7,8,9,10\n"));
        let e = read_all(&f, 1000).unwrap_err().to_string();
        assert!(e.contains(&format!("long.csv: line {line} has 4 fields, but the header has 3")), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn invalid_utf8_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("latin1.csv");
        std::fs::write(&p, b"id,name\n1,ok\n2,caf\xe9\n").unwrap();
        let schema = infer_schema(&p, &[("name".into(), arrow::datatypes::DataType::Utf8)]);
        // arrow's inference may already refuse the bytes; either way the message names the file and is one line.
        let e = match schema {
            Ok(s) => read_csv(&p, &s, &[0, 1], 10).unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("latin1.csv") && e.contains("UTF-8") && !e.contains('\n'), "{e}");
    }
}
