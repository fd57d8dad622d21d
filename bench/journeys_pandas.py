#!/usr/bin/python3
"""journeys_pandas.py: the peer of `touchpoint journeys` in vectorised pandas (Debian's
python3-pandas; no pyarrow here, so it reads CSV and writes pickles), written as a competent
pandas user would: sort_values, groupby/cumsum/cumcount, pivot. Same job: per user in time order
(ties by input order), a journey ends at and includes a converting impression, touches after the
last conversion form an open journey, keep the LAST L touches with label and length before the
cut, seconds_to_end per touch, split by a hash of (uid, seed) (the same splitmix64 hash as
touchpoint, so the splits agree), mapper.json and stats.json.

  journeys_pandas.py generate N OUT.csv [--seed S] [--parts P]   simulated impressions (a
                       time-ordered log; with P > 1, OUT is a folder of P CSV parts)
  journeys_pandas.py run IN.csv OUTDIR [--max-len L] [--split 1|0.8,0.1,0.1] [--seed S]
  journeys_pandas.py compare PANDAS_OUTDIR TOUCHPOINT_ALL.csv   check both give the same journeys
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def splitmix(x):
    """tp_hash_u64 (the splitmix64 finaliser) on a uint64 array."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def split_of(uid, fractions, seed):
    if len(fractions) == 1:
        return np.zeros(len(uid), dtype=np.int8)
    s = splitmix(np.array([np.uint64(seed) ^ np.uint64(0x9E3779B97F4A7C15)]))[0]
    h = splitmix(uid.astype(np.int64).view(np.uint64) ^ s)
    u = (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    tot = sum(fractions)
    return np.where(u < fractions[0] / tot, 0, np.where(u < (fractions[0] + fractions[1]) / tot, 1, 2)).astype(np.int8)


def generate(n, out, seed, parts=1):
    """n impressions over 30 days; with parts > 1, OUT is a folder of time-ordered CSV parts
    (as daily log files would be), generated one at a time so memory stays small."""
    rng = np.random.default_rng(seed)
    users = max(1, n // 10)
    # Skewed activity (log-normal weights): a few heavy users, many light ones; scattered ids.
    w = rng.lognormal(0.0, 1.0, users)
    w /= w.sum()
    names = np.array(["campaign_%02d" % i for i in range(40)])
    cw = 1.0 / np.arange(1, 41)
    cw /= cw.sum()
    if parts > 1:
        os.makedirs(out, exist_ok=True)
    span = 30 * 86400 // parts
    for p in range(parts):
        m = n // parts + (1 if p < n % parts else 0)
        uid = rng.choice(users, m, p=w).astype(np.int64) * 2654435761 % (1 << 40)
        ts = 1704067200 + p * span + rng.integers(0, span, m)
        camp = names[rng.choice(40, m, p=cw)]
        conv = (rng.random(m) < 0.03).astype(np.int8)
        df = pd.DataFrame({"timestamp": ts, "uid": uid, "campaign": camp, "conversion": conv})
        df = df.sort_values("timestamp", kind="stable")  # a log arrives in time order
        df.to_csv(out if parts == 1 else os.path.join(out, "part-%03d.csv" % p), index=False)


def run(inp, outdir, max_len, fractions, seed):
    t0 = time.time()
    df = pd.read_csv(inp, dtype={"uid": "int64", "timestamp": "int64", "campaign": "category",
                                 "conversion": "int8"})
    t_read = time.time() - t0
    t1 = time.time()
    n_imp = len(df)
    df["row"] = np.arange(n_imp)
    df = df.sort_values(["uid", "timestamp", "row"], ignore_index=True)
    conv = df["conversion"]
    # Journey number within the user: conversions strictly before this touch.
    df["jn"] = df.groupby("uid", sort=False)["conversion"].cumsum() - conv
    g = df.groupby(["uid", "jn"], sort=False)
    df["jid"] = g.ngroup() + 1
    df["length"] = g["timestamp"].transform("size")
    df["s2e"] = g["timestamp"].transform("last") - df["timestamp"]
    from_end = g.cumcount(ascending=False)
    keep = from_end < max_len
    kept = df.loc[keep, ["jid", "campaign", "s2e", "length"]].copy()
    kept["pos"] = kept["length"].clip(upper=max_len) - 1 - from_end[keep]
    jt = g.agg(conversion_status=("conversion", "last"), journey_length=("timestamp", "size")).reset_index()
    jt["journey_id"] = np.arange(1, len(jt) + 1)
    jt["conversion_status"] = jt["conversion_status"].astype(bool)
    wc = kept.pivot(index="jid", columns="pos", values="campaign")
    ws = kept.pivot(index="jid", columns="pos", values="s2e")
    wc = wc.reindex(columns=range(max_len))
    ws = ws.reindex(columns=range(max_len)).astype("Int64")
    wc.columns = ["campaign_nm_at_index_%d" % i for i in range(max_len)]
    ws.columns = ["seconds_to_end_at_index_%d" % i for i in range(max_len)]
    out = pd.concat([jt[["journey_id", "uid", "conversion_status", "journey_length"]].set_index(jt["journey_id"]),
                     wc, ws], axis=1)
    out["split"] = split_of(out["uid"].to_numpy(), fractions, seed)
    t_compute = time.time() - t1
    t2 = time.time()
    os.makedirs(outdir, exist_ok=True)
    names = ["all"] if len(fractions) == 1 else ["train", "val", "test"]
    for s, name in enumerate(names):
        out[out["split"] == s].drop(columns="split").to_pickle(os.path.join(outdir, name + ".pkl"))
    campaigns = sorted(df["campaign"].astype(str).unique().tolist(), key=lambda s: s.encode())
    with open(os.path.join(outdir, "mapper.json"), "w") as f:
        json.dump({"campaigns": campaigns}, f, indent=2)
    lengths = jt["journey_length"].to_numpy()
    hist = np.bincount(lengths)
    cum = np.cumsum(hist) / len(lengths)
    stats = {"impressions": n_imp, "journeys": int(len(jt)), "conversions": int(jt["conversion_status"].sum()),
             "conversion_rate": float(jt["conversion_status"].mean()),
             "share_cut": float((lengths > max_len).mean()),
             "len_keeping_80pct": int(np.searchsorted(cum, 0.8 - 1e-12)),
             "len_keeping_95pct": int(np.searchsorted(cum, 0.95 - 1e-12)),
             "length_histogram": {str(k): int(v) for k, v in enumerate(hist) if v}}
    with open(os.path.join(outdir, "stats.json"), "w") as f:
        json.dump(stats, f, indent=2)
    t_write = time.time() - t2
    print("pandas: read %.2f s, compute %.2f s, write %.2f s, total %.2f s; %d journeys, %d conversions"
          % (t_read, t_compute, t_write, time.time() - t0, stats["journeys"], stats["conversions"]))


def compare(pdir, tp_csv, max_len):
    """Both implementations must agree journey by journey (ids differ by design: touchpoint
    numbers journeys in user-hash order), so compare on (uid, end ordinal within user)."""
    a = pd.read_pickle(os.path.join(pdir, "all.pkl")).reset_index(drop=True)
    b = pd.read_csv(tp_csv, dtype={"uid": "int64"}, keep_default_na=True)
    cols = ["uid", "conversion_status", "journey_length"] + \
        ["campaign_nm_at_index_%d" % i for i in range(max_len)] + \
        ["seconds_to_end_at_index_%d" % i for i in range(max_len)]
    b["conversion_status"] = b["conversion_status"].astype(str).str.lower().isin(["true", "1"])

    def canon(d):
        d = d[cols].copy()
        for i in range(max_len):
            c = "campaign_nm_at_index_%d" % i
            d[c] = d[c].astype(object).where(d[c].notna(), "")
            s = "seconds_to_end_at_index_%d" % i
            d[s] = pd.to_numeric(d[s]).fillna(-1).astype(np.int64)
        d["conversion_status"] = d["conversion_status"].astype(bool)
        d["journey_length"] = d["journey_length"].astype(np.int64)
        return d.sort_values(cols, ignore_index=True)

    ca, cb = canon(a), canon(b)
    if len(ca) != len(cb):
        print("MISMATCH: pandas %d journeys, touchpoint %d" % (len(ca), len(cb)))
        return 1
    diff = (ca != cb).any(axis=1)
    if diff.any():
        i = int(np.argmax(diff.to_numpy()))
        print("MISMATCH at sorted row %d:\n%s\n%s" % (i, ca.iloc[i].to_dict(), cb.iloc[i].to_dict()))
        return 1
    if b["journey_id"].duplicated().any():
        print("MISMATCH: touchpoint journey_id not unique")
        return 1
    print("compare: %d journeys identical between pandas and touchpoint" % len(ca))
    return 0


def main(argv):
    args = list(argv[1:])

    def opt(name, default):
        if name in args:
            i = args.index(name)
            v = args[i + 1]
            del args[i:i + 2]
            return v
        return default
    seed = int(opt("--seed", "42"))
    max_len = int(opt("--max-len", "10"))
    split = [float(x) for x in opt("--split", "0.8,0.1,0.1").split(",")]
    parts = int(opt("--parts", "1"))
    if args and args[0] == "generate" and len(args) == 3:
        generate(int(float(args[1])), args[2], seed, parts)
    elif args and args[0] == "run" and len(args) == 3:
        run(args[1], args[2], max_len, split, seed)
    elif args and args[0] == "compare" and len(args) == 3:
        return compare(args[1], args[2], max_len)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
