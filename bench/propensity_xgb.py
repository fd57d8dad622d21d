#!/usr/bin/python3
"""propensity_xgb.py: the Python peer of `touchpoint propensity train` (issue #5 §8).

  gen DIR N F SEED     write DIR/matrix.csv (uid, label, f0..f{F-1}) and DIR/matrix.npz (the same
                       values as float32, parsed from the CSV text so both sides see equal bits)
  train DIR THREADS    train with xgboost.train on the same rows touchpoint uses (its user split:
                       the same splitmix64 hash of uid, seed 1: 15% test, 15% validation), the same
                       parameters (trial 0 = touchpoint's defaults), early stopping on validation
                       aucpr; prints JSON: seconds (DMatrix construction + training + slice to the
                       best iteration, what touchpoint's trial time covers), rounds, test PR-AUC.
Debian python3-xgboost, numpy and scikit-learn only (no pip)."""
import json
import sys
import time

import numpy as np

M64 = (1 << 64) - 1


def mix(x):  # tp_hash_u64: the splitmix64 finaliser
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & M64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & M64
    return x ^ (x >> 31)


def roles(uid, seed, valid_frac=0.15, test_frac=0.15):
    """0 train, 1 valid, 2 test: touchpoint's user_unit(uid, seed) in train.c."""
    s = mix((seed ^ 0x5EED) & M64)
    u = np.array([(mix((int(x) & M64) ^ s) >> 11) * 2.0 ** -53 for x in uid])
    r = np.zeros(len(uid), dtype=np.int8)
    r[u < test_frac + valid_frac] = 1
    r[u < test_frac] = 2
    return r


def gen(d, n, f, seed):
    rng = np.random.default_rng(seed)
    # count-like and rate-like features; the label follows a nonlinear rule on a few of them with
    # a rare (~1-2%) positive class, as in a purchase-propensity matrix
    lam = rng.gamma(0.5, 2.0, size=(1, f))
    X = rng.poisson(lam, size=(n, f)).astype(np.float64)
    X[:, f // 2:] = np.round(rng.random((n, f - f // 2)) * X[:, : f - f // 2], 3)
    k = min(f, 12)
    z = -6.0 + 1.2 * np.minimum(X[:, 0], 4) + 2.0 * (X[:, 1] > 1) * (X[:, 2] > 0)
    for j in range(3, k):  # many weak, saturating effects: boosting needs many rounds
        z += 0.7 * np.tanh(X[:, j] - lam[0, j % lam.shape[1]]) * (1 if j % 2 else -1)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int8)
    uid = np.arange(1, n + 1, dtype=np.int64)
    cols = ["uid", "label"] + [f"f{j}" for j in range(f)]
    with open(f"{d}/matrix.csv", "w") as fp:
        fp.write(",".join(cols) + "\n")
        for i in range(n):
            fp.write(f"{uid[i]},{y[i]}," + ",".join(repr(float(v)) for v in X[i]) + "\n")
    # parse the text back: the float32 matrix is what touchpoint gets from the CSV
    Xp = np.loadtxt(f"{d}/matrix.csv", delimiter=",", skiprows=1, dtype=np.float64)
    np.savez(f"{d}/matrix.npz", uid=Xp[:, 0].astype(np.int64), y=Xp[:, 1].astype(np.uint8),
             X=Xp[:, 2:].astype(np.float32))
    print(json.dumps({"rows": n, "features": f, "positives": int(y.sum())}))


def train(d, threads):
    import xgboost as xgb
    from sklearn.metrics import average_precision_score

    t_all = time.perf_counter()
    z = np.load(f"{d}/matrix.npz")
    uid, y, X = z["uid"], z["y"], z["X"]
    r = roles(uid, 1)
    tr, va, te = r == 0, r == 1, r == 2
    Xt, yt, Xv, yv, Xs, ys = X[tr], y[tr], X[va], y[va], X[te], y[te]
    params = {"objective": "binary:logistic", "tree_method": "hist", "eval_metric": "aucpr",
              "max_depth": 6, "eta": 0.1, "min_child_weight": 1, "subsample": 0.8,
              "colsample_bytree": 0.8, "scale_pos_weight": 1, "lambda": 1, "max_bin": 256,
              "nthread": threads, "seed": 1, "verbosity": 0,
              # touchpoint starts from the training positive rate (tp_gbm_params.base_score = 0)
              "base_score": min(max(float(yt.sum()) / len(yt), 1e-6), 1 - 1e-6)}
    c0 = time.process_time()
    t0 = time.perf_counter()
    dt = xgb.DMatrix(Xt, label=yt, missing=np.nan, nthread=threads)
    dv = xgb.DMatrix(Xv, label=yv, missing=np.nan, nthread=threads)
    b = xgb.train(params, dt, num_boost_round=500, evals=[(dv, "valid")],
                  early_stopping_rounds=30, verbose_eval=False)
    best = b.best_iteration + 1
    b = b[:best]
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    p = b.predict(xgb.DMatrix(Xs, missing=np.nan, nthread=threads))
    print(json.dumps({"seconds": secs, "cpu_seconds": cpu, "rounds": best,
                      "pr_auc": float(average_precision_score(ys, p)),
                      "train_rows": int(tr.sum()), "test_rows": int(te.sum()),
                      "seconds_total": time.perf_counter() - t_all}))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "train":
        train(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
