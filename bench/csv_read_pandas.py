#!/usr/bin/python3
"""csv_read_pandas.py: the pandas peer of the CSV read benchmark. Reads FILE with pandas.read_csv
(default C engine), best of REPEAT runs, once as pandas reads by default (timestamps stay
strings) and once parsing the timestamp column as we do. Prints one line per mode:
`pandas <mode> rows=<n> seconds=<wall> cpu_seconds=<cpu> rows_per_s=<r> cpu_rows_per_s=<r>`. Usage: csv_read_pandas.py FILE [REPEAT]"""
import sys
import time

import pandas as pd


def best(fn, repeat):
    t_best, c_best, n = None, None, 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        df = fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        n = len(df)
        del df
        t_best = dt if t_best is None or dt < t_best else t_best
        c_best = dc if c_best is None or dc < c_best else c_best
    return n, t_best, c_best


def main():
    path = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    modes = [("default", lambda: pd.read_csv(path)),
             ("parse_dates", lambda: pd.read_csv(path, parse_dates=["timestamp"]))]
    for name, fn in modes:
        n, t, c = best(fn, repeat)
        print("pandas %s rows=%d seconds=%.3f cpu_seconds=%.3f rows_per_s=%.0f cpu_rows_per_s=%.0f"
              % (name, n, t, c, n / t, n / c), flush=True)


if __name__ == "__main__":
    main()
