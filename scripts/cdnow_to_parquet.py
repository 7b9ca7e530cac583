"""Converts the CDNOW transaction log that the `lifetimes` package ships (lifetimes/datasets/CDNOW_master.txt:
23,570 customers, 69,659 purchase lines, Jan 1997 to Jun 1998; whitespace-separated columns customer id, date as
YYYYMMDD, number of CDs, dollar value) into a Parquet transaction log for `custseg features`.

Usage: python scripts/cdnow_to_parquet.py OUT.parquet [CDNOW_master.txt]
Without the second argument the file is taken from an installed `lifetimes`, or from the wheel that
`pip download --no-deps lifetimes` saved in the current folder. The data is not committed (1.9 MB).
Needs pyarrow. Columns written: customer_id (int64), date (YYYYMMDD int32), amount (float64), units (int32).
"""
import glob
import io
import sys
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq


def master_text(path):
    if path:
        return open(path, encoding="ascii").read()
    try:
        import lifetimes.datasets as d  # noqa: F401
        import os

        return open(os.path.join(os.path.dirname(d.__file__), "CDNOW_master.txt"), encoding="ascii").read()
    except ImportError:
        pass
    wheels = glob.glob("[Ll]ifetimes-*.whl")
    if not wheels:
        sys.exit("no CDNOW_master.txt: pip install lifetimes, or pip download --no-deps lifetimes here")
    with zipfile.ZipFile(wheels[0]) as z:
        return z.read("lifetimes/datasets/CDNOW_master.txt").decode("ascii")


def main():
    out = sys.argv[1]
    text = master_text(sys.argv[2] if len(sys.argv) > 2 else None)
    ids, dates, units, amounts = [], [], [], []
    for line in io.StringIO(text):
        f = line.split()
        if len(f) != 4 or not f[0].isdigit():
            continue
        ids.append(int(f[0]))
        dates.append(int(f[1]))
        units.append(int(f[2]))
        amounts.append(float(f[3]))
    t = pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "date": pa.array(dates, pa.int32()),
            "amount": pa.array(amounts, pa.float64()),
            "units": pa.array(units, pa.int32()),
        }
    )
    pq.write_table(t, out)
    print(f"{len(ids)} lines, {len(set(ids))} customers, {min(dates)}..{max(dates)} -> {out}")


if __name__ == "__main__":
    main()
