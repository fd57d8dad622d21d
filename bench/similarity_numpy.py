#!/usr/bin/python3
"""similarity_numpy.py: the numpy peer of `touchpoint lookalike extend --no-cluster` (issue #6 §7).

Reads the same .tpsm score table, scores every non-seed user by the mean of its top-N cosine
similarities to the seeds (blocked matmul, np.partition for the top N), selects the top M with
np.argpartition (ties by user index) and writes did,score CSV. Debian python3-numpy only.
Usage: similarity_numpy.py SCORES.tpsm SEEDS.csv --top-n N --m M --out OUT.csv [--block B]
"""
import argparse
import struct
import sys
import time

import numpy as np


def read_tpsm(path):
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != b"TPSCORE1":
        sys.exit(f"{path}: not a .tpsm file")
    version, n_users, n_kw, _ = struct.unpack_from("<IQII", buf, 8)
    off = 8 + 20
    kws = []
    for _ in range(n_kw):
        (ln,) = struct.unpack_from("<I", buf, off)
        kws.append(buf[off + 4:off + 4 + ln].decode())
        off += 4 + ln
    dids = []
    for _ in range(n_users):
        (ln,) = struct.unpack_from("<I", buf, off)
        dids.append(buf[off + 4:off + 4 + ln].decode())
        off += 4 + ln
    mat = np.frombuffer(buf, dtype="<f4", count=n_users * n_kw, offset=off).reshape(n_users, n_kw)
    return kws, dids, mat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scores")
    ap.add_argument("seeds")
    ap.add_argument("--top-n", type=int, default=10)
    ap.add_argument("--m", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--block", type=int, default=65536)
    a = ap.parse_args()

    t0 = time.perf_counter()
    _, dids, mat = read_tpsm(a.scores)
    with open(a.seeds) as f:
        wanted = [ln.split(",")[0].strip() for ln in f if ln.strip()]
    if wanted and wanted[0] == "did":
        wanted = wanted[1:]
    index = {d: i for i, d in enumerate(dids)}
    rows = sorted({index[s] for s in wanted if s in index})
    t_load = time.perf_counter() - t0

    t1 = time.perf_counter()
    seeds = mat[rows]
    seeds = seeds / np.maximum(np.linalg.norm(seeds, axis=1, keepdims=True), 1e-30)
    n = mat.shape[0]
    n_top = min(a.top_n, len(rows))
    score = np.empty(n, dtype=np.float32)
    for lo in range(0, n, a.block):
        blk = mat[lo:lo + a.block]
        norm = np.linalg.norm(blk, axis=1)
        inv = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1), 0).astype(np.float32)
        sims = (blk @ seeds.T) * inv[:, None]
        top = np.partition(sims, sims.shape[1] - n_top, axis=1)[:, -n_top:]
        score[lo:lo + a.block] = top.mean(axis=1)
    t_sim = time.perf_counter() - t1

    t2 = time.perf_counter()
    score[rows] = -np.inf
    m = min(a.m, n - len(rows))
    cand = np.argpartition(-score, m - 1)[:m] if m < n else np.arange(n)
    # boundary ties: take every user tied with the M-th score, then order by (-score, index)
    kth = score[cand].min()
    cand = np.union1d(cand, np.nonzero(score == kth)[0])
    order = np.lexsort((cand, -score[cand]))[:m]
    chosen = cand[order]
    t_sel = time.perf_counter() - t2

    with open(a.out, "w") as f:
        f.write("did,score\n")
        for i in chosen:
            f.write(f"{dids[i]},{float(score[i])!r}\n")
    total = time.perf_counter() - t0
    pairs = float(n - len(rows)) * len(rows)
    print(f"numpy: {n} users x {len(rows)} seeds x {mat.shape[1]} keywords: load {t_load:.2f} s, "
          f"similarity+top-{n_top} {t_sim:.2f} s ({pairs / t_sim:.3g} pairs/s), select {t_sel:.3f} s, "
          f"total {total:.2f} s")
    print(f"RESULT numpy_similarity_seconds={t_sim:.4f} numpy_pairs_per_second={pairs / t_sim:.4g} "
          f"numpy_total_seconds={total:.3f}")


if __name__ == "__main__":
    main()
