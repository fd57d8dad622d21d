#!/usr/bin/python3
"""dnamta_torch.py: the DNAMTA attention model of src/attribution/dnamta_core.c in PyTorch, the
reference for correctness (--check) and the peer for speed (--bench). Debian python3-torch only.

  --check FILE   FILE is written by tests/test_nn.c: config, weights (the C parameter tensors by
                 name), one batch, and C's loss, probabilities, attention and gradients. Runs the
                 same batch in float64 and exits 1 if anything differs by more than --tol (1e-4).
                 Exits 77 when torch cannot be imported (the C test then reports a skip).
  --bench        trains --epochs epochs over journeys and prints journeys/s (forward+backward+Adam)
                 and prediction journeys/s. Data: synthetic (the same generator as
                 bench/dnamta_bench.c: --journeys N --campaigns V --len T [--full]) or --csv FILE in the journeys
                 wide layout (campaign_nm_at_index_i, seconds_to_end_at_index_i, conversion_status).
                 Model size --embed 20 --hidden 64, --batch 256, --threads 2, --seed. Prints one
                 line `RESULT key=value ...` for scripts, and the per-epoch loss; with --val-csv the
                 ROC-AUC on that file after training (for "same AUC after the same epochs").

Model: embedding (V,E) -> LSTM (PyTorch gate order i f g o; bias_ih = the C bias, bias_hh fixed at
0) -> s_t = w.h_t - softplus(rate) age_days_t -> softmax over real steps (padding masked to exactly
0) -> ctx = sum a_t h_t -> dropout -> cat(ctx, control z) -> linear -> sigmoid; control
u = cat(numeric, emb_k(code_k)), z = relu(Wc u + bc) when control_hidden > 0, else z = u.
Journeys are left-aligned, so running the LSTM over the trailing padding changes no real step
(it is causal) and the masked attention gives padding zero weight and zero gradient.
"""
import argparse
import math
import os
import sys
import time

# OpenMP's default spin-waiting collapses on a shared machine (2 threads went 50x slower than 1
# under load); passive waiting is what makes torch's 2-thread figure meaningful there.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    print("dnamta_torch.py: python3-torch is not installed (apt-get install python3-torch)",
          file=sys.stderr)
    sys.exit(77)


class DNAMTA(torch.nn.Module):
    def __init__(self, V, T, E, H, decay=False, n_num=0, cat_card=(), cat_embed=0,
                 control_hidden=0, dropout=0.0):
        super().__init__()
        self.T, self.H, self.decay, self.n_num = T, H, decay, n_num
        self.embedding = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, batch_first=True)
        with torch.no_grad():
            self.lstm.bias_hh_l0.zero_()
        self.lstm.bias_hh_l0.requires_grad_(False)
        self.att_w = torch.nn.Parameter(torch.zeros(H))
        self.rate = torch.nn.Parameter(torch.tensor(math.log(math.expm1(0.1)))) if decay else None
        self.cat = torch.nn.ModuleList([torch.nn.Embedding(c, cat_embed) for c in cat_card])
        U = n_num + len(cat_card) * cat_embed
        self.control = torch.nn.Linear(U, control_hidden) if U > 0 and control_hidden > 0 else None
        Z = (control_hidden if self.control is not None else U)
        self.out = torch.nn.Linear(H + Z, 1)
        self.dropout = torch.nn.Dropout(dropout)

    # name -> parameter, in the C block's naming (see dnamta_core.c)
    def c_tensors(self):
        t = {"embedding": self.embedding.weight, "lstm.w_x": self.lstm.weight_ih_l0,
             "lstm.w_h": self.lstm.weight_hh_l0, "lstm.bias": self.lstm.bias_ih_l0,
             "attention.w": self.att_w}
        if self.rate is not None:
            t["time_decay.rate"] = self.rate
        for k, e in enumerate(self.cat):
            t["control.embedding.%d" % k] = e.weight
        if self.control is not None:
            t["control.w"], t["control.bias"] = self.control.weight, self.control.bias
        t["output.w"], t["output.bias"] = self.out.weight, self.out.bias
        return t

    def forward(self, campaign, age=None, numeric=None, categorical=None):
        """campaign (B,T) long with -1 padding; returns logits (B) and attention (B,T)."""
        mask = campaign >= 0
        x = self.embedding(campaign.clamp(min=0))
        h, _ = self.lstm(x)                                   # (B,T,H)
        s = h @ self.att_w                                    # (B,T)
        if self.decay:
            s = s - F.softplus(self.rate) * age
        s = s.masked_fill(~mask, -1e30)
        a = torch.softmax(s, dim=1) * mask                    # all-padding rows: 0
        ctx = self.dropout((a.unsqueeze(-1) * h).sum(1))
        parts = []
        if self.n_num > 0:
            parts.append(numeric)
        for k, e in enumerate(self.cat):
            parts.append(e(categorical[:, k]))
        if parts:
            u = torch.cat(parts, 1)
            z = torch.relu(self.control(u)) if self.control is not None else u
            ctx = torch.cat([ctx, z], 1)
        return self.out(ctx).squeeze(1), a


def bce(logits, y, w=None):
    return F.binary_cross_entropy_with_logits(logits, y, weight=w, reduction="mean")


# ---- --check ----

def read_check(path):
    vals = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if p:
                vals[p[0]] = [float(v) for v in p[2:]]
                assert len(vals[p[0]]) == int(p[1]), p[0]
    return vals


def check(path, tol):
    torch.set_default_dtype(torch.float64)
    d = read_check(path)
    cfg = {k: int(d[k][0]) for k in ("V", "T", "E", "H", "decay", "n_num", "n_cat", "cat_embed",
                                     "control_hidden", "B")}
    card = [int(c) for c in d.get("cat_card", [])]
    m = DNAMTA(cfg["V"], cfg["T"], cfg["E"], cfg["H"], bool(cfg["decay"]), cfg["n_num"], card,
               cfg["cat_embed"], cfg["control_hidden"])
    m.eval()
    with torch.no_grad():
        for name, p in m.c_tensors().items():
            p.copy_(torch.tensor(d["param." + name]).reshape(p.shape))
    B, T = cfg["B"], cfg["T"]
    camp = torch.tensor(d["campaign"]).long().reshape(B, T)
    age = torch.tensor(d["age"]).reshape(B, T) if cfg["decay"] else None
    num = torch.tensor(d["numeric"]).reshape(B, cfg["n_num"]) if cfg["n_num"] else None
    cat = torch.tensor(d["categorical"]).long().reshape(B, cfg["n_cat"]) if cfg["n_cat"] else None
    y, w = torch.tensor(d["label"]), torch.tensor(d["weight"])
    logits, a = m(camp, age, num, cat)
    loss = bce(logits, y, w)
    loss.backward()
    worst = 0.0
    rows = [("loss", loss.detach().reshape(1), d["c.loss"]),
            ("probabilities", torch.sigmoid(logits).detach(), d["c.probs"]),
            ("attention", a.detach().reshape(-1), d["c.attention"])]
    for name, p in m.c_tensors().items():
        rows.append(("grad " + name, p.grad.reshape(-1), d["c.grad." + name]))
    for name, ref, c in rows:
        diff = (ref - torch.tensor(c)).abs().max().item()
        worst = max(worst, diff)
        print("  %-28s %5d values  max |torch - C| %.3g" % (name, ref.numel(), diff))
    pad = (camp < 0).reshape(-1)
    cz = torch.tensor(d["c.attention"])[pad]
    if cz.numel() and cz.abs().max().item() != 0:
        print("C attention on padding is not exactly zero")
        return 1
    print("max difference %.3g (tolerance %g): %s" % (worst, tol, "ok" if worst <= tol else "FAIL"))
    return 0 if worst <= tol else 1


# ---- --bench ----

def synthetic(n, V, T, seed, full=False):
    """The generator of bench/dnamta_bench.c (an LCG, so both sides build the same journeys)."""
    import numpy as np
    state = (seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
    camp = np.full((n, T), -1, dtype=np.int64)
    age = np.zeros((n, T), dtype=np.float32)
    y = np.zeros(n, dtype=np.float32)
    # vectorised version of: per journey, len = 1 + r % T; touch t: campaign r % V, age r % 30
    idx = np.arange(n, dtype=np.uint64)
    def h(k):
        x = (idx * np.uint64(0x9E3779B97F4A7C15) + np.uint64(k) * np.uint64(0xBF58476D1CE4E5B9)
             + np.uint64(state)) & np.uint64(2**64 - 1)
        x ^= x >> np.uint64(31)
        x = (x * np.uint64(0x94D049BB133111EB)) & np.uint64(2**64 - 1)
        x ^= x >> np.uint64(29)
        return x
    with np.errstate(over="ignore"):
        length = (1 + h(0) % np.uint64(T)).astype(np.int64) if not full else np.full(n, T, np.int64)
        for t in range(T):
            c = (h(1 + t) % np.uint64(V)).astype(np.int64)
            live = t < length
            camp[live, t] = c[live]
            age[live, t] = ((length[live] - 1 - t) * 1.5).astype(np.float32)
        # converts more often when campaign 0 or 1 is in the journey
        hit = ((camp == 0) | (camp == 1)).any(1)
        u = (h(999) % np.uint64(1000)).astype(np.float64) / 1000
        y[:] = (u < np.where(hit, 0.3, 0.05)).astype(np.float32)
    return camp, age, y


def csv_vocab(paths, T):
    """Campaign names -> index: mapper.json next to the first file when present (what touchpoint
    uses), else the sorted union of names over all files (train and validation share it)."""
    import json
    import os
    import pandas as pd
    mapper = os.path.join(os.path.dirname(os.path.abspath(paths[0])), "mapper.json")
    if os.path.exists(mapper):
        with open(mapper) as f:
            names = [str(v) for v in json.load(f)["campaigns"]]
    else:
        seen = set()
        for path in paths:
            df = pd.read_csv(path, dtype=str)
            for c in [c for c in df.columns if c.startswith("campaign_nm_at_index_")][:T]:
                seen.update(df[c].dropna())
        names = sorted(seen)
    return {v: i for i, v in enumerate(names)}


def read_csv(path, T, code):
    import numpy as np
    import pandas as pd
    df = pd.read_csv(path, dtype={"campaign_nm_at_index_%d" % t: str for t in range(T)})
    cols = [c for c in df.columns if c.startswith("campaign_nm_at_index_")]
    L = min(T, len(cols))
    camp = np.full((len(df), T), -1, dtype=np.int64)
    age = np.zeros((len(df), T), dtype=np.float32)
    for t in range(L):
        s = df["campaign_nm_at_index_%d" % t]
        live = s.notna().values
        camp[live, t] = [code[str(v)] for v in s[live]]
        a = df.get("seconds_to_end_at_index_%d" % t)
        if a is not None:
            age[live, t] = (a[live].values / 86400.0).astype(np.float32)
    y = df["conversion_status"].astype(str).str.lower().isin(["true", "1", "1.0"]).values
    return camp, age, y.astype(np.float32)


def roc_auc(p, y):
    import numpy as np
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    # average ranks of ties
    ps = p[order]
    i = 0
    while i < len(ps):
        j = i
        while j + 1 < len(ps) and ps[j + 1] == ps[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2.0
        i = j + 1
    npos = y.sum()
    nneg = len(y) - npos
    return float((ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def bench(a):
    import numpy as np
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.csv:
        code = csv_vocab([a.csv] + ([a.val_csv] if a.val_csv else []), a.len)
        camp, age, y = read_csv(a.csv, a.len, code)
        V = len(code)
    else:
        V = a.campaigns
        camp, age, y = synthetic(a.journeys, V, a.len, a.seed, a.full)
    n = len(y)
    m = DNAMTA(V, a.len, a.embed, a.hidden, decay=a.decay, dropout=a.dropout)
    opt = torch.optim.Adam(m.parameters(), lr=a.lr)
    tc, ta, ty = torch.from_numpy(camp), torch.from_numpy(age), torch.from_numpy(y)
    rng = np.random.default_rng(a.seed)
    total = cpu = 0.0
    best = 0.0
    print("torch %s, %d threads, %d journeys, V=%d T=%d E=%d H=%d batch %d" %
          (torch.__version__, torch.get_num_threads(), n, V, a.len, a.embed, a.hidden, a.batch))
    for ep in range(a.epochs):
        m.train()
        perm = torch.from_numpy(rng.permutation(n))
        t0, c0 = time.perf_counter(), time.process_time()
        lsum = 0.0
        for s in range(0, n, a.batch):
            i = perm[s:s + a.batch]
            opt.zero_grad()
            logits, _ = m(tc[i], ta[i] if a.decay else None)
            loss = bce(logits, ty[i])
            loss.backward()
            if a.clip > 0:
                torch.nn.utils.clip_grad_norm_(m.parameters(), a.clip)
            opt.step()
            lsum += loss.item() * len(i)
        dt = time.perf_counter() - t0
        total += dt
        cpu += time.process_time() - c0
        best = max(best, n / dt)
        print("epoch %d: loss %.5f, %.0f journeys/s" % (ep + 1, lsum / n, n / dt))
    m.eval()
    t0 = time.perf_counter()
    probs = []
    with torch.no_grad():
        for s in range(0, n, a.batch):
            logits, _ = m(tc[s:s + a.batch], ta[s:s + a.batch] if a.decay else None)
            probs.append(torch.sigmoid(logits))
    pdt = time.perf_counter() - t0
    extra = ""
    if a.val_csv:
        vc, va, vy = read_csv(a.val_csv, a.len, code)
        with torch.no_grad():
            lg, _ = m(torch.from_numpy(vc), torch.from_numpy(va) if a.decay else None)
        extra = " val_auc=%.4f" % roc_auc(torch.sigmoid(lg).numpy(), vy)
    # train_cpu_jps: journeys per CPU-second of the whole process (all threads); on a loaded
    # machine it is steadier than wall time for single-thread runs
    print("RESULT impl=torch threads=%d T=%d batch=%d journeys=%d train_jps=%.0f best_epoch_jps=%.0f "
          "train_cpu_jps=%.0f predict_jps=%.0f%s"
          % (torch.get_num_threads(), a.len, a.batch, n, n * a.epochs / total, best,
             n * a.epochs / cpu, n / pdt, extra))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", metavar="FILE")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--csv")
    ap.add_argument("--val-csv")
    ap.add_argument("--journeys", type=int, default=100000)
    ap.add_argument("--full", action="store_true", help="synthetic journeys all of length --len")
    ap.add_argument("--campaigns", type=int, default=50)
    ap.add_argument("--len", type=int, default=10)
    ap.add_argument("--embed", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--decay", action="store_true", help="time-decay attention (ages from the data)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.check:
        return check(a.check, a.tol)
    if a.bench:
        if a.val_csv and not a.csv:
            ap.error("--val-csv needs --csv (the training journeys)")
        return bench(a)
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
