#!/usr/bin/python3
"""csv_gen_impressions.py: write an impressions-like CSV (uid,timestamp,campaign,conversion) for the
CSV read benchmark. Deterministic given the seed. Usage: csv_gen_impressions.py OUT ROWS [SEED]"""
import random
import sys
import time


def main():
    out, rows = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    t0 = 1704067200  # 2024-01-01 00:00:00 UTC
    with open(out, "w", newline="") as fp:
        fp.write("uid,timestamp,campaign,conversion\n")
        buf = []
        for i in range(rows):
            uid = rng.getrandbits(40)
            ts = t0 + rng.randrange(0, 30 * 86400)
            tm = time.gmtime(ts)
            camp = rng.randrange(0, 700)
            conv = 1 if rng.random() < 0.03 else 0
            buf.append("%d,%04d-%02d-%02d %02d:%02d:%02d,campaign_%d,%d\n" % (
                uid, tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, camp, conv))
            if len(buf) == 100000:
                fp.write("".join(buf))
                buf = []
        fp.write("".join(buf))


if __name__ == "__main__":
    main()
