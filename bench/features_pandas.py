#!/usr/bin/python3
"""features_pandas.py: the vectorised pandas peer of `touchpoint features` for the definitions in
examples/features.yaml (written out here as pandas a competent user would write: filtered frames,
groupby/agg, unstack; no Python loop over rows). Debian's pandas has no Parquet engine, so it reads
CSV; read time and computation time are reported separately.

  features_pandas.py run EVENTS.csv AS_OF OUT_DIR [--write]   features; --write saves CSVs
  features_pandas.py compare PANDAS_DIR TOUCHPOINT_CSV_DIR     same rows, same values (1e-9)
"""
import sys
import time

import numpy as np
import pandas as pd

DAY = 86400
TYPES = ["view", "cart", "purchase"]
WINDOWS = [7, 30, 90]


def ratio(num, den, zero=0.0):
    """num/den; 0/0 -> zero; x/0 -> x (touchpoint's documented div_zero default)."""
    num = num.astype(float)
    den = den.astype(float)
    out = num / den.where(den != 0, 1.0)
    out[den == 0] = num[den == 0]
    out[(den == 0) & (num == 0)] = zero
    return out


def metrics(df, keys, windows, types, want_items=True):
    """count, distinct days, distinct items per (keys, event_type, window), wide."""
    parts = []
    for w in windows:
        sub = df[df["timestamp"] >= df.attrs["T"] - w * DAY]
        aggs = {"count": ("timestamp", "size"), "distinct_days": ("day", "nunique")}
        if want_items:
            aggs["distinct_items"] = ("item", "nunique")
        g = sub.groupby(keys + ["event_type"], observed=True).agg(**aggs)
        g = g.unstack("event_type")
        g.columns = [f"{t}_{m}_{w}d" for m, t in g.columns]
        parts.append(g)
    out = pd.concat(parts, axis=1)
    return out


def compute(df, T):
    df = df[df["timestamp"] < T]  # point in time
    df.attrs["T"] = T
    df = df.assign(day=df["timestamp"] // DAY)
    df.attrs["T"] = T
    names_base = [f"{t}_{m}_{w}d" for m in ["count", "distinct_days", "distinct_items"] for t in TYPES for w in WINDOWS]

    # ---- user level ----
    users = metrics(df, ["uid"], WINDOWS, TYPES)
    p90 = df[(df["event_type"] == "purchase") & (df["timestamp"] >= T - 90 * DAY)]
    amt = p90.groupby("uid")["amount"].agg(["sum", "count"])
    last_any = df.groupby("uid")["timestamp"].max()
    last_pur = df[df["event_type"] == "purchase"].groupby("uid")["timestamp"].max()
    idx = last_any.index
    users = users.reindex(idx)
    u = pd.DataFrame(index=idx)
    for m in ["count", "distinct_days", "distinct_items"]:
        for t in TYPES:
            for w in WINDOWS:
                c = f"{t}_{m}_{w}d"
                u[c] = users[c].fillna(0) if c in users else 0.0
    # the YAML order: metrics x types x windows
    u = u[[f"{t}_{m}_{w}d" for m in ["count", "distinct_days", "distinct_items"] for t in TYPES for w in WINDOWS]]
    s = amt["sum"].reindex(idx).fillna(0)
    n = amt["count"].reindex(idx).fillna(0)
    u["purchase_sum_amount_90d"] = s
    u["purchase_mean_amount_90d"] = (s / n.where(n > 0, 1)).where(n > 0, 0.0)
    u["any_days_since_last_all"] = (T - last_any) / DAY
    u["purchase_days_since_last_all"] = ((T - last_pur.reindex(idx)) / DAY).fillna(3650.0)

    # ---- user x group level ----
    ug = metrics(df, ["uid", "group"], WINDOWS, TYPES)
    keys = df.groupby(["uid", "group"], observed=True).size().index
    ug = ug.reindex(keys)
    g = pd.DataFrame(index=keys)
    for c in names_base:
        g[c] = ug[c].fillna(0) if c in ug else 0.0
    last = df[df["timestamp"] >= T - 90 * DAY].groupby(["uid", "group", "event_type"], observed=True)["timestamp"].max().unstack("event_type")
    for t in TYPES:
        col = last[t].reindex(keys) if t in last else pd.Series(np.nan, index=keys)
        g[f"{t}_days_since_last_90d"] = ((T - col) / DAY).fillna(90.0)
    uid_level = g.index.get_level_values("uid")
    for t in ["view", "cart"]:
        num = g[f"{t}_count_30d"]
        den = pd.Series(u[f"{t}_count_30d"].reindex(uid_level).to_numpy(), index=g.index)
        g[f"{t}_share_30d"] = (num / den.where(den > 0, 1)).where(num > 0, 0.0)
    for w in WINDOWS:
        g[f"cart_to_view_{w}d"] = ratio(g[f"cart_count_{w}d"], g[f"view_count_{w}d"])
    g["view_count_trend_7d_30d"] = ratio(g["view_count_7d"], g["view_count_30d"])
    ps = p90.groupby(["uid", "group"], observed=True)["amount"].sum()
    g["purchase_sum_amount_90d"] = ps.reindex(keys).fillna(0)

    # ---- group level ----
    groups = pd.Index(sorted(df.attrs.get("all_groups", df["group"].unique())), name="group")
    gr = pd.DataFrame(index=groups)
    for m in ["count", "distinct_users"]:
        for t in ["view", "purchase"]:
            for w in [7, 30]:
                sub = df[(df["event_type"] == t) & (df["timestamp"] >= T - w * DAY)]
                if m == "count":
                    v = sub.groupby("group", observed=True).size()
                else:
                    v = sub.groupby("group", observed=True)["uid"].nunique()
                gr[f"{t}_{m}_{w}d"] = v.reindex(groups).fillna(0).astype(float)
    tot = gr["purchase_count_30d"].sum()
    gr["purchase_share_30d"] = (gr["purchase_count_30d"] / (tot if tot > 0 else 1)).where(gr["purchase_count_30d"] > 0, 0.0)
    return u, g, gr


def run(path, as_of, out, write):
    t0, c0 = time.perf_counter(), time.process_time()
    df = pd.read_csv(path, usecols=["uid", "timestamp", "event_type", "item", "group", "amount"],
                     dtype={"uid": "int64", "timestamp": "int64", "event_type": "category",
                            "item": "category", "group": "category", "amount": "float64"})
    t1, c1 = time.perf_counter(), time.process_time()
    T = int(pd.Timestamp(as_of, tz="UTC").timestamp())
    all_groups = list(df["group"].cat.categories)
    df.attrs["all_groups"] = all_groups
    u, g, gr = compute(df, T)
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"pandas: read {t1 - t0:.2f} s (cpu {c1 - c0:.2f} s), features {t2 - t1:.2f} s (cpu {c2 - c1:.2f} s): user {len(u)} x {u.shape[1]}, "
          f"user_group {len(g)} x {g.shape[1]}, group {len(gr)} x {gr.shape[1]}")
    if write:
        import os
        os.makedirs(out, exist_ok=True)
        u.sort_index().to_csv(f"{out}/user.csv")
        g.sort_index().to_csv(f"{out}/user_group.csv")
        gr.sort_index().to_csv(f"{out}/group.csv")


def compare(pdir, tdir):
    bad = 0
    for level, keys in [("user", ["uid"]), ("user_group", ["uid", "group"]), ("group", ["group"])]:
        a = pd.read_csv(f"{pdir}/{level}.csv").sort_values(keys).reset_index(drop=True)
        b = pd.read_csv(f"{tdir}/{level}.csv").sort_values(keys).reset_index(drop=True)
        if list(a.columns) != list(b.columns):
            print(f"{level}: columns differ:\n  pandas     {list(a.columns)}\n  touchpoint {list(b.columns)}")
            bad += 1
            continue
        if len(a) != len(b) or not (a[keys].astype(str).values == b[keys].astype(str).values).all():
            print(f"{level}: rows differ ({len(a)} vs {len(b)})")
            bad += 1
            continue
        feats = [c for c in a.columns if c not in keys]
        diff = np.abs(a[feats].to_numpy(float) - b[feats].to_numpy(float))
        worst = np.nanmax(diff) if diff.size else 0.0
        nan_mismatch = (np.isnan(a[feats].to_numpy(float)) != np.isnan(b[feats].to_numpy(float))).sum()
        print(f"{level}: {len(a)} rows x {len(feats)} features, max |difference| {worst:.3g}")
        if worst > 1e-9 or nan_mismatch:
            i, j = np.unravel_index(np.nanargmax(diff), diff.shape)
            print(f"  worst: row {i} {feats[j]}: pandas {a[feats[j]][i]} touchpoint {b[feats[j]][i]}")
            bad += 1
    if bad:
        print("MISMATCH")
        sys.exit(1)
    print("pandas and touchpoint agree")


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], "--write" in sys.argv)
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
