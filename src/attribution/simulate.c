/* simulate.c: synthetic impression logs with a known truth (`touchpoint simulate`, issue #2 §8).
 * Each user draws everything from private streams (user, visits, one per campaign), so the output
 * does not depend on the thread count and removing a campaign changes only its impressions and
 * its effect: the truth is exact counterfactual re-simulation. Model: docs/simulate.md. */
#include "touchpoint/simulate.h"

#include <jansson.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define DAY 86400.0
#define MEMORY_DAYS 28.0      /* impressions older than this before a visit have no effect */
#define LATE_WINDOW 86400.0   /* the closer works only within 24 h before the visit */
#define RT_LEAD_MEAN 14400.0  /* retargeting leads a visit by ~Exp(4 h) */
#define RT_LEAD_MAX (DAY - 60.0)

// ---- model parameters ----

enum role { ROLE_POSITIVE, ROLE_RETARGET, ROLE_LATE, ROLE_USELESS };
static const char *const role_names[] = {"positive", "retargeting", "late", "useless"};

typedef struct tmpl {
    const char *name;
    enum role role;
    double beta;   /* maximal lift on the log-odds */
    double tau;    /* decay time of an impression's effect, days */
    double reach;  /* share of users in the audience (before targeting) */
    double freq;   /* impressions per day for a user in the audience */
    double kappa;  /* targeting on the latent propensity z */
    double cpm;    /* cost per thousand impressions */
} tmpl;

static const tmpl templates[10] = {
    {"search", ROLE_POSITIVE, 0.9, 2.0, 0.35, 0.12, 0.6, 6.0},
    {"retarget", ROLE_RETARGET, 0.0, 1.0, 0.0, 0.0, 1.2, 3.0},
    {"email", ROLE_LATE, 1.1, 1.0, 0.5, 0.10, 0.3, 0.5},
    {"banner", ROLE_USELESS, 0.0, 1.0, 0.6, 0.10, 0.0, 1.0},
    {"social", ROLE_POSITIVE, 0.5, 3.0, 0.5, 0.08, 0.0, 4.0},
    {"video", ROLE_POSITIVE, 0.7, 7.0, 0.3, 0.06, -0.2, 12.0},
    {"affiliate", ROLE_POSITIVE, 0.35, 2.0, 0.2, 0.10, 0.4, 5.0},
    {"display", ROLE_POSITIVE, 0.2, 3.0, 0.6, 0.10, 0.0, 2.0},
    {"native", ROLE_POSITIVE, 0.3, 4.0, 0.3, 0.08, 0.1, 3.0},
    {"podcast", ROLE_POSITIVE, 0.6, 10.0, 0.15, 0.05, -0.3, 15.0},
};

/* User-level constants (docs/simulate.md §1). */
#define A0 -4.4      /* baseline log-odds of converting at a visit, at z = 0 */
#define SA 0.8       /* its spread */
#define RT_Q0 0.25   /* retargeting: chance a visit is preceded by retargeting, at z = 0 */
#define RT_EXTRA 0.8 /* retargeting: 1 + Poisson(0.8) impressions per such visit */

static const char *const age_bands[5] = {"18-24", "25-34", "35-44", "45-54", "55+"};
static const char *const regions[4] = {"north", "south", "east", "west"};

typedef struct camp {
    enum role role;
    double beta, inv_tau, reach, freq, kappa, cpm;
} camp;

typedef struct model {
    int K, days;
    double T;          /* seconds simulated */
    double s;          /* trap strength */
    int64_t start;
    uint64_t seed_user, seed_visit, seed_camp;
    camp *c;
    uint8_t *enabled;  /* K flags */
    bool truth, want_cid, want_cost, want_feat, events, visits, observable;
} model;

static void fill_campaign(int c, char *name, enum role *role, tmpl *out) {
    tmpl t;
    if (c < 10) {
        t = templates[c];
    } else {
        /* Beyond ten: cycle through the positive templates with varied effect sizes. */
        t = templates[4 + (c - 10) % 6];
        double f = fmod((double)c * 0.6180339887498949, 1.0); /* golden-ratio spread */
        t.beta *= 0.5 + f;
        t.reach *= 0.6 + 0.8 * fmod((double)c * 0.7548776662466927, 1.0);
    }
    if (name) snprintf(name, 32, "c%02d_%s", c, t.name);
    if (role) *role = t.role;
    if (out) *out = t;
}

tp_status tp_sim_campaign_info(int K, int c, char *name, const char **role) {
    if (K < TP_SIM_MIN_CAMPAIGNS || K > TP_SIM_MAX_CAMPAIGNS || c < 0 || c >= K)
        return tp_fail(TP_ERR_ARG, "campaign %d of %d does not exist (campaigns: %d..%d)", c, K,
                       TP_SIM_MIN_CAMPAIGNS, TP_SIM_MAX_CAMPAIGNS);
    enum role r;
    fill_campaign(c, name, &r, NULL);
    if (role) *role = role_names[r];
    return TP_OK;
}

void tp_sim_opts_default(tp_sim_opts *o) {
    memset(o, 0, sizeof *o);
    o->users = 10000;
    o->campaigns = 10;
    o->days = 30;
    o->seed = 1;
    o->start_time = 1704067200; /* 2024-01-01 00:00:00 UTC */
    o->trap_strength = 1.0;
    o->batch_rows = 1000000;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Targeting multiplier with mean 1 over z ~ N(0,1): exp(kappa z - kappa^2/2). */
static double target(double kappa, double z) { return exp(kappa * z - 0.5 * kappa * kappa); }

// ---- per-user simulation ----

typedef struct imp {
    int64_t t;    /* seconds since start */
    int32_t c;    /* campaign */
    uint32_t seq; /* generation order, the last tie-breaker */
    double cost;
} imp;

typedef struct user {
    double z, a;        /* latent propensity, baseline log-odds */
    int32_t age, region, past;
    double vfreq;       /* visits per day */
    size_t nv, ni;
    int64_t *vt;        /* visit times, ascending */
    double *vu;         /* the visit's uniform: converts when vu < p */
    imp *im;            /* impressions sorted by (t, campaign, seq) */
    size_t vcap, icap;
    /* actual-world journeys that converted: [js, je) into im, per conversion, and its time */
    size_t *conv_lo, *conv_hi, ccap, nconv;
    int64_t *conv_t;
} user;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}
static int cmp_imp(const void *a, const void *b) {
    const imp *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    if (x->c != y->c) return x->c < y->c ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* A user has tens of visits and impressions: insertion sort beats qsort's merge sort (which
 * allocates); long lists go to qsort. Both give the one order the comparators define. */
static void sort_i64(int64_t *a, size_t n) {
    if (n > 48) {
        qsort(a, n, sizeof *a, cmp_i64);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        int64_t x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}
static void sort_imp(imp *a, size_t n) {
    if (n > 48) {
        qsort(a, n, sizeof *a, cmp_imp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        imp x = a[i];
        size_t j = i;
        for (; j > 0 && cmp_imp(&a[j - 1], &x) > 0; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

/* Standard-normal quantile bands: index of x among thresholds th[0..n-2]. */
static int32_t band(double x, const double *th, int n) {
    int32_t i = 0;
    while (i < n - 1 && x >= th[i]) i++;
    return i;
}

static tp_status push_imp(user *u, int64_t t, int32_t c, double cost) {
    if (u->ni == u->icap && tp_grow((void **)&u->im, &u->icap, u->ni + 1, sizeof(imp)) != TP_OK)
        return TP_ERR_NOMEM;
    u->im[u->ni] = (imp){t, c, (uint32_t)u->ni, cost};
    u->ni++;
    return TP_OK;
}

static double draw_cost(tp_rng *r, double cpm) {
    /* lognormal around the CPM with sigma 0.3, mean preserved */
    return cpm / 1000.0 * exp(0.3 * tp_rng_normal(r) - 0.045);
}

/* Draw user uid: latent state, features, visits and the impressions of enabled campaigns. */
static tp_status draw_user(const model *m, int64_t uid, user *u) {
    tp_rng r;
    tp_rng_seed_stream(&r, m->seed_user, (uint64_t)uid);
    u->z = tp_rng_normal(&r);
    u->a = A0 + SA * u->z;
    static const double q5[4] = {-0.8416, -0.2533, 0.2533, 0.8416};
    static const double q4[3] = {-0.6745, 0.0, 0.6745};
    u->age = band((0.8 * u->z + tp_rng_normal(&r)) / sqrt(1.64), q5, 5);
    u->region = band((0.3 * u->z + tp_rng_normal(&r)) / sqrt(1.09), q4, 4);
    u->past = (int32_t)tp_rng_poisson(&r, exp(0.2 + 0.7 * u->z));
    u->vfreq = exp(log(0.3) + 0.35 * u->z + 0.3 * tp_rng_normal(&r));

    // visits: their own stream, shared by every counterfactual world
    tp_rng_seed_stream(&r, m->seed_visit, (uint64_t)uid);
    u->nv = tp_rng_poisson(&r, u->vfreq * m->days);
    if (u->nv > u->vcap) {
        size_t cap = u->vcap;
        if (tp_grow((void **)&u->vt, &cap, u->nv, sizeof(int64_t)) != TP_OK) return TP_ERR_NOMEM;
        cap = u->vcap;
        if (tp_grow((void **)&u->vu, &cap, u->nv, sizeof(double)) != TP_OK) return TP_ERR_NOMEM;
        u->vcap = cap;
    }
    for (size_t v = 0; v < u->nv; v++) u->vt[v] = (int64_t)(tp_rng_uniform(&r) * m->T);
    sort_i64(u->vt, u->nv);
    for (size_t v = 0; v < u->nv; v++) u->vu[v] = tp_rng_uniform(&r);

    // impressions: one stream per campaign. Targeting acts on the latent z, or, with
    // --observable-targeting, on the standardised log visit rate (the visit_frequency column,
    // correlation 0.76 with z): what an ad platform can see, so controls can deconfound it.
    const double tz = m->observable ? (log(u->vfreq) - log(0.3)) / sqrt(0.35 * 0.35 + 0.3 * 0.3) : u->z;
    u->ni = 0;
    for (int c = 0; c < m->K; c++) {
        if (!m->enabled[c]) continue;
        const camp *k = &m->c[c];
        tp_rng_seed_stream(&r, m->seed_camp + (uint64_t)c * 0x9e3779b97f4a7c15ULL, (uint64_t)uid);
        if (k->role == ROLE_RETARGET) {
            /* In-market users are retargeted in the hours before they come back to the site. */
            double kappa = k->kappa * m->s;
            double q = RT_Q0 * target(kappa, tz);
            if (q > 0.95) q = 0.95;
            double anchored = m->s < 1.0 ? m->s : 1.0;
            for (size_t v = 0; v < u->nv; v++) {
                if (tp_rng_uniform(&r) >= q) continue;
                uint32_t n = 1 + tp_rng_poisson(&r, RT_EXTRA);
                for (uint32_t j = 0; j < n; j++) {
                    double t;
                    if (tp_rng_uniform(&r) < anchored) {
                        double lead = 60.0 + tp_rng_exponential(&r, 1.0 / RT_LEAD_MEAN);
                        if (lead > RT_LEAD_MAX) lead = RT_LEAD_MAX;
                        t = (double)u->vt[v] - lead;
                        if (t < 0) t = 0;
                    } else {
                        t = tp_rng_uniform(&r) * m->T;
                    }
                    double cost = draw_cost(&r, k->cpm);
                    if (push_imp(u, (int64_t)t, c, cost) != TP_OK) return TP_ERR_NOMEM;
                }
            }
            continue;
        }
        double p_aud = k->reach * target(k->kappa, tz);
        if (tp_rng_uniform(&r) >= p_aud) continue;
        double freq = k->freq;
        if (k->role == ROLE_USELESS) freq *= 1.0 + 3.0 * m->s;
        uint32_t n = tp_rng_poisson(&r, freq * m->days);
        for (uint32_t j = 0; j < n; j++) {
            int64_t t = (int64_t)(tp_rng_uniform(&r) * m->T);
            double cost = draw_cost(&r, k->cpm);
            if (push_imp(u, t, c, cost) != TP_OK) return TP_ERR_NOMEM;
        }
    }
    sort_imp(u->im, u->ni);
    return TP_OK;
}

/* Scratch per worker: per-campaign stocks and the list of campaigns touched in a journey. */
typedef struct scratch {
    double *S;     /* K stocks, zero between calls */
    int *touched;  /* K entries */
} scratch;

/* Log-odds lift at visit time tv from impressions [lo, hi) of the current journey, with campaign
 * `removed` (-1: none) taken out of the world (docs/simulate.md §3). */
static double lift(const model *m, scratch *w, const imp *im, size_t lo, size_t hi, int64_t tv,
                   int removed) {
    double *S = w->S;
    int nt = 0;
    bool warmed = false; /* a working campaign was seen earlier in this journey */
    for (size_t i = lo; i < hi; i++) {
        int c = im[i].c;
        if (c == removed) continue;
        const camp *k = &m->c[c];
        double dt = (double)(tv - im[i].t);
        double add;
        if (k->role == ROLE_POSITIVE) {
            add = exp(-dt * k->inv_tau);
        } else if (k->role == ROLE_LATE) {
            add = (warmed && dt <= LATE_WINDOW) ? 1.0 : 0.0;
        } else {
            continue; /* retargeting and useless: no effect */
        }
        if (k->role == ROLE_POSITIVE && k->beta > 0) warmed = true;
        if (add == 0.0) continue;
        if (S[c] == 0.0) w->touched[nt++] = c;
        S[c] += add;
    }
    double L = 0.0;
    for (int j = 0; j < nt; j++) {
        int c = w->touched[j];
        L += m->c[c].beta * (1.0 - exp(-S[c]));
        S[c] = 0.0;
    }
    return L;
}

/* Conversions of u in the world without campaign `removed` (-1: none removed, -2: every campaign
 * removed). With rec, the converting journeys [lo, hi) into u->im are recorded. */
static tp_status world(const model *m, scratch *w, user *u, int removed, bool rec, int64_t *out) {
    const int64_t memory = (int64_t)(MEMORY_DAYS * DAY);
    size_t js = 0, ie = 0, lo = 0;
    int64_t n = 0;
    if (rec) u->nconv = 0;
    for (size_t v = 0; v < u->nv; v++) {
        int64_t tv = u->vt[v];
        while (ie < u->ni && u->im[ie].t < tv) ie++;
        while (lo < ie && u->im[lo].t <= tv - memory) lo++;
        double L = 0.0;
        if (removed != -2) L = lift(m, w, u->im, lo > js ? lo : js, ie, tv, removed);
        if (u->vu[v] >= sigmoid(u->a + L)) continue;
        n++;
        if (rec) {
            if (u->nconv == u->ccap) {
                size_t cap = u->ccap;
                if (tp_grow((void **)&u->conv_lo, &cap, u->nconv + 1, sizeof(size_t)) != TP_OK)
                    return TP_ERR_NOMEM;
                cap = u->ccap;
                if (tp_grow((void **)&u->conv_hi, &cap, u->nconv + 1, sizeof(size_t)) != TP_OK)
                    return TP_ERR_NOMEM;
                cap = u->ccap;
                if (tp_grow((void **)&u->conv_t, &cap, u->nconv + 1, sizeof(int64_t)) != TP_OK)
                    return TP_ERR_NOMEM;
                u->ccap = cap;
            }
            u->conv_lo[u->nconv] = js;
            u->conv_hi[u->nconv] = ie;
            u->conv_t[u->nconv] = tv;
            u->nconv++;
        }
        js = ie; /* a new journey starts after a conversion */
    }
    *out = n;
    return TP_OK;
}

// ---- workers and batches ----

/* One worker's rows for the current block (a contiguous range of users) and its tallies. */
typedef struct tbuf {
    size_t n, cap;
    int64_t *uid, *ts, *cid;
    int32_t *camp, *age, *region, *past;
    uint8_t *conv;
    double *cost, *vf;
    int64_t n_cid;      /* conversion ids used in this block (local ids 1..n_cid) */
    int64_t conversions, observed, baseline;
    int64_t *inc;       /* K: conversions(all) - conversions(without c) */
    int64_t *imps;      /* K: impressions per campaign */
    int64_t *seen;      /* K: this user's impressions per campaign (scratch) */
    user u;
    scratch w;
} tbuf;

static void tbuf_free(tbuf *b) {
    tp_free(b->uid); tp_free(b->ts); tp_free(b->cid); tp_free(b->camp); tp_free(b->age);
    tp_free(b->region); tp_free(b->past); tp_free(b->conv); tp_free(b->cost); tp_free(b->vf);
    tp_free(b->inc); tp_free(b->imps); tp_free(b->seen);
    tp_free(b->u.vt); tp_free(b->u.vu); tp_free(b->u.im); tp_free(b->u.conv_lo);
    tp_free(b->u.conv_hi); tp_free(b->u.conv_t);
    tp_free(b->w.S); tp_free(b->w.touched);
}

static tp_status tbuf_reserve(tbuf *b, size_t need) {
    if (need <= b->cap) return TP_OK;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need) cap *= 2;
#define GROW(p, T)                                                                         \
    do {                                                                                   \
        T *q_ = tp_realloc(b->p, cap * sizeof(T));                                         \
        if (!q_) return tp_fail(TP_ERR_NOMEM, "simulate: out of memory for %zu rows", cap); \
        b->p = q_;                                                                         \
    } while (0)
    GROW(uid, int64_t); GROW(ts, int64_t); GROW(cid, int64_t); GROW(camp, int32_t);
    GROW(age, int32_t); GROW(region, int32_t); GROW(past, int32_t); GROW(conv, uint8_t);
    GROW(cost, double); GROW(vf, double);
#undef GROW
    b->cap = cap;
    return TP_OK;
}

/* One output row of u: an impression (i < ni) or, with c = -1, an event row at time t. */
static void put_row(const model *m, tbuf *b, int64_t uid, const user *u, int64_t t, int32_t c, double cost,
                    bool conv, int64_t cid) {
    size_t r = b->n++;
    b->uid[r] = uid;
    b->ts[r] = m->start + t;
    b->camp[r] = c;
    b->conv[r] = conv;
    b->cid[r] = cid;
    b->cost[r] = cost;
    b->age[r] = u->age;
    b->region[r] = u->region;
    b->past[r] = u->past;
    b->vf[r] = u->vfreq;
}

/* --conversion-events: the advertiser's own log merged with the ad server's. Every conversion is
 * an event row (null campaign, conversion true) at its visit, its touches carry conversion false,
 * and every user, reached by an ad or not, ends with an observation row (null campaign,
 * conversion false) at the last second of the window. Journeys then include the ones without a
 * touch, which is what pins down a model's no-ad baseline (docs/counterfactual.md). */
static tp_status emit_with_events(const model *m, tbuf *b, int64_t uid) {
    const user *u = &b->u;
    tp_status st = tbuf_reserve(b, b->n + u->ni + u->nconv + u->nv + 1);
    if (st != TP_OK) return st;
    size_t i = 0;
    if (m->visits) { /* --visit-events: every visit, converting or not, and no end row */
        size_t k = 0, lo = 0;
        int64_t id = b->n_cid + 1;
        for (size_t v = 0; v < u->nv; v++) {
            bool conv = k < u->nconv && u->conv_t[k] == u->vt[v];
            for (; i < u->ni && u->im[i].t < u->vt[v]; i++)
                put_row(m, b, uid, u, u->im[i].t, u->im[i].c, u->im[i].cost, false,
                        k < u->nconv && i >= lo ? id : 0);
            put_row(m, b, uid, u, u->vt[v], -1, 0.0, conv, conv ? id : 0);
            if (conv) {
                b->n_cid = id++;
                lo = u->conv_hi[k++];
            }
        }
        for (; i < u->ni; i++) put_row(m, b, uid, u, u->im[i].t, u->im[i].c, u->im[i].cost, false, 0);
        return TP_OK;
    }
    for (size_t k = 0; k < u->nconv; k++) {
        int64_t id = ++b->n_cid;
        for (; i < u->conv_hi[k]; i++)
            put_row(m, b, uid, u, u->im[i].t, u->im[i].c, u->im[i].cost, false, i >= u->conv_lo[k] ? id : 0);
        put_row(m, b, uid, u, u->conv_t[k], -1, 0.0, true, id);
    }
    for (; i < u->ni; i++) put_row(m, b, uid, u, u->im[i].t, u->im[i].c, u->im[i].cost, false, 0);
    put_row(m, b, uid, u, (int64_t)m->T - 1, -1, 0.0, false, 0);
    return TP_OK;
}

typedef struct job {
    const model *m;
    tbuf *bufs;
    int64_t first_uid; /* uid of the block's first user */
} job;

static tp_status work(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    const model *m = j->m;
    tbuf *b = &j->bufs[tid];
    user *u = &b->u;
    for (size_t k = lo; k < hi; k++) {
        int64_t uid = j->first_uid + (int64_t)k;
        if (draw_user(m, uid, u) != TP_OK) return tp_fail(TP_ERR_NOMEM, "simulate: out of memory");
        int64_t conv;
        if (world(m, &b->w, u, -1, true, &conv) != TP_OK)
            return tp_fail(TP_ERR_NOMEM, "simulate: out of memory");
        b->conversions += conv;
        for (size_t i = 0; i < u->nconv; i++) b->observed += u->conv_hi[i] > u->conv_lo[i];
        memset(b->seen, 0, (size_t)m->K * sizeof(int64_t));
        for (size_t i = 0; i < u->ni; i++) b->seen[u->im[i].c]++;
        for (int c = 0; c < m->K; c++) b->imps[c] += b->seen[c];
        /* Removing campaigns never raises a visit's lift before the worlds' first difference
         * (every term of L_v is >= 0 and only loses impressions), so a user who never converts
         * with every campaign never converts without some: no re-simulation needed. */
        if (m->truth && conv > 0) {
            int64_t n;
            for (int c = 0; c < m->K; c++) {
                if (!b->seen[c] || m->c[c].beta == 0.0) continue; /* identical world */
                world(m, &b->w, u, c, false, &n);
                b->inc[c] += conv - n;
            }
            world(m, &b->w, u, -2, false, &n);
            b->baseline += n;
        }
        // rows
        if (m->events) {
            tp_status st = emit_with_events(m, b, uid);
            if (st != TP_OK) return st;
            continue;
        }
        tp_status st = tbuf_reserve(b, b->n + u->ni);
        if (st != TP_OK) return st;
        size_t r0 = b->n;
        for (size_t i = 0; i < u->ni; i++) {
            size_t r = r0 + i;
            b->uid[r] = uid;
            b->ts[r] = m->start + u->im[i].t;
            b->camp[r] = u->im[i].c;
            b->conv[r] = 0;
            b->cid[r] = 0;
            b->cost[r] = u->im[i].cost;
            b->age[r] = u->age;
            b->region[r] = u->region;
            b->past[r] = u->past;
            b->vf[r] = u->vfreq;
        }
        for (size_t i = 0; i < u->nconv; i++) {
            size_t clo = u->conv_lo[i], chi = u->conv_hi[i];
            if (chi == clo) continue; /* a conversion without touches: not in the log */
            b->conv[r0 + chi - 1] = 1;
            int64_t id = ++b->n_cid;
            for (size_t x = clo; x < chi; x++) b->cid[r0 + x] = id;
        }
        b->n += u->ni;
    }
    return TP_OK;
}

/* Event rows (campaign code -1) have no campaign and no cost: null them in column c. */
static tp_status null_on_events(tp_column *c, const tbuf *bufs, int nb) {
    size_t r = 0;
    for (int t = 0; t < nb; t++)
        for (size_t i = 0; i < bufs[t].n; i++, r++)
            if (bufs[t].camp[i] < 0) {
                tp_status rc = tp_column_set_null(c, r, true);
                if (rc != TP_OK) return rc;
            }
    return TP_OK;
}

/* Concatenate the workers' rows (in worker order = user order) into one frame. */
static tp_status build_frame(const model *m, tbuf *bufs, int nb, int64_t cid_base,
                             tp_strdict *dcamp, tp_strdict *dage, tp_strdict *dregion,
                             tp_frame **out) {
    size_t n = 0;
    for (int t = 0; t < nb; t++) n += bufs[t].n;
    tp_frame *f = NULL;
    tp_column *col = NULL;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) goto done;
#define ADD(name, type, dict, field, T, xform)                                           \
    do {                                                                                 \
        rc = dict ? tp_column_new_dict(name, type, dict, n, &col)                        \
                  : tp_column_new(name, type, n, &col);                                  \
        if (rc != TP_OK) goto done;                                                      \
        rc = tp_column_resize(col, n);                                                   \
        if (rc != TP_OK) goto done;                                                      \
        T *dst_ = TP_COL(col, T);                                                        \
        int64_t base_ = 0;                                                               \
        for (int t = 0; t < nb; t++) {                                                   \
            const tbuf *b_ = &bufs[t];                                                   \
            for (size_t i = 0; i < b_->n; i++) { T v_ = (T)b_->field[i]; dst_[i] = xform; } \
            dst_ += b_->n;                                                               \
            base_ += b_->n_cid;                                                          \
        }                                                                                \
        (void)base_;                                                                     \
        rc = tp_frame_add_take(f, col);                                                  \
        col = NULL;                                                                      \
        if (rc != TP_OK) goto done;                                                      \
    } while (0)
    tp_strdict *none = NULL;
    ADD("uid", TP_DTYPE_I64, none, uid, int64_t, v_);
    ADD("timestamp", TP_DTYPE_I64, none, ts, int64_t, v_);
    ADD("campaign", TP_DTYPE_STR, dcamp, camp, int32_t, v_ < 0 ? 0 : v_);
    if (m->events && (rc = null_on_events(tp_frame_find(f, "campaign"), bufs, nb)) != TP_OK) goto done;
    ADD("conversion", TP_DTYPE_BOOL, none, conv, uint8_t, v_);
    if (m->want_cid) ADD("conversion_id", TP_DTYPE_I64, none, cid, int64_t,
                         v_ ? v_ + cid_base + base_ : 0);
    if (m->want_cost) {
        ADD("cost", TP_DTYPE_F64, none, cost, double, v_);
        if (m->events && (rc = null_on_events(tp_frame_find(f, "cost"), bufs, nb)) != TP_OK) goto done;
    }
    if (m->want_feat) {
        ADD("age_band", TP_DTYPE_STR, dage, age, int32_t, v_);
        ADD("region", TP_DTYPE_STR, dregion, region, int32_t, v_);
        ADD("past_purchases", TP_DTYPE_I32, none, past, int32_t, v_);
        ADD("visit_frequency", TP_DTYPE_F64, none, vf, double, v_);
    }
#undef ADD
    *out = f;
    f = NULL;
done:
    tp_column_free(col);
    tp_frame_free(f);
    return rc;
}

static tp_status make_dict(const char *const *names, int n, char (*cnames)[32], tp_strdict **out) {
    tp_strdict *d = NULL;
    tp_status rc = tp_strdict_new(&d);
    for (int i = 0; rc == TP_OK && i < n; i++) {
        const char *s = names ? names[i] : cnames[i];
        int32_t code;
        rc = tp_strdict_intern(d, s, strlen(s), &code);
        TP_ASSERT(rc != TP_OK || code == i);
    }
    if (rc != TP_OK) {
        tp_strdict_unref(d);
        return rc;
    }
    *out = d;
    return TP_OK;
}

/* The sink runs on its own thread, so writing batch b overlaps simulating batch b + 1. Each
 * batch's frame has its own dictionaries: nothing is shared between the two threads. */
typedef struct consumer {
    pthread_t th;
    bool running;
    tp_sim_batch_fn fn;
    void *ud;
    tp_frame *f;
    tp_status rc;
    char err[1024]; /* tp_last_error() is per thread: carried back to the caller's */
} consumer;

static void *consume(void *arg) {
    consumer *c = arg;
    c->rc = c->fn(c->ud, c->f);
    if (c->rc != TP_OK) snprintf(c->err, sizeof c->err, "%s", tp_last_error());
    return NULL;
}

static tp_status consumer_wait(consumer *c) {
    if (!c->running) return TP_OK;
    pthread_join(c->th, NULL);
    c->running = false;
    tp_frame_free(c->f);
    c->f = NULL;
    return c->rc == TP_OK ? TP_OK : tp_fail(c->rc, "%s", c->err);
}

/* Hand f (owned) to the sink once the previous batch is done. */
static tp_status consumer_submit(consumer *c, tp_frame *f) {
    tp_status rc = consumer_wait(c);
    if (rc != TP_OK) {
        tp_frame_free(f);
        return rc;
    }
    c->f = f;
    c->rc = TP_OK;
    if (pthread_create(&c->th, NULL, consume, c) != 0) { /* no thread: write inline */
        consume(c);
        tp_frame_free(c->f);
        c->f = NULL;
        return c->rc == TP_OK ? TP_OK : tp_fail(c->rc, "%s", c->err);
    }
    c->running = true;
    return TP_OK;
}

static tp_status make_dicts(int K, char (*names)[32], tp_strdict **dcamp, tp_strdict **dage,
                            tp_strdict **dregion) {
    tp_status rc = make_dict(NULL, K, names, dcamp);
    if (rc == TP_OK) rc = make_dict(age_bands, 5, NULL, dage);
    if (rc == TP_OK) rc = make_dict(regions, 4, NULL, dregion);
    return rc;
}

void tp_sim_result_free(tp_sim_result *r) {
    if (!r) return;
    tp_free(r->campaigns);
    tp_free(r);
}

static tp_status check_opts(const tp_sim_opts *o) {
    if (o->users <= 0) return tp_fail(TP_ERR_ARG, "simulate: users must be positive (got %lld)",
                                      (long long)o->users);
    if (o->users > ((int64_t)1 << 40))
        return tp_fail(TP_ERR_ARG, "simulate: at most 2^40 users (got %lld)", (long long)o->users);
    if (o->campaigns < TP_SIM_MIN_CAMPAIGNS || o->campaigns > TP_SIM_MAX_CAMPAIGNS)
        return tp_fail(TP_ERR_ARG, "simulate: campaigns must be in %d..%d (got %d)",
                       TP_SIM_MIN_CAMPAIGNS, TP_SIM_MAX_CAMPAIGNS, o->campaigns);
    if (o->days < 1 || o->days > 3650)
        return tp_fail(TP_ERR_ARG, "simulate: days must be in 1..3650 (got %d)", o->days);
    if (!(o->trap_strength >= 0.0 && o->trap_strength <= 3.0))
        return tp_fail(TP_ERR_ARG, "simulate: trap strength must be in 0..3 (got %g)",
                       o->trap_strength);
    return TP_OK;
}

tp_status tp_simulate(const tp_sim_opts *o, tp_sim_batch_fn fn, void *ud, tp_sim_result **out) {
    tp_status rc = check_opts(o);
    if (rc != TP_OK) return rc;
    const int K = o->campaigns;
    model m = {0};
    tbuf *bufs = NULL;
    tp_sim_result *res = NULL;
    tp_strdict *dcamp = NULL, *dage = NULL, *dregion = NULL;
    char (*names)[32] = NULL;
    int nthreads = o->threads > 0 ? o->threads : tp_threads_default();
    if (nthreads < 1) nthreads = 1;
    tp_progress *prog = NULL;
    consumer sink = {.fn = fn, .ud = ud};

    m.K = K;
    m.days = o->days;
    m.T = o->days * DAY;
    m.s = o->trap_strength;
    m.start = o->start_time;
    m.seed_user = tp_hash_u64(o->seed ^ 0x7573657273ULL);   /* "users" */
    m.seed_visit = tp_hash_u64(o->seed ^ 0x7669736974ULL);  /* "visit" */
    m.seed_camp = tp_hash_u64(o->seed ^ 0x63616d70ULL);     /* "camp" */
    m.truth = o->truth;
    m.want_cid = o->conversion_id;
    m.want_cost = o->cost;
    m.want_feat = o->user_features;
    m.events = o->conversion_events || o->visit_events;
    m.visits = o->visit_events;
    m.observable = o->observable_targeting;
    m.c = tp_calloc((size_t)K, sizeof(camp));
    m.enabled = tp_calloc((size_t)K, 1);
    names = tp_calloc((size_t)K, sizeof *names);
    res = tp_calloc(1, sizeof *res);
    if (res) res->campaigns = tp_calloc((size_t)K, sizeof(tp_sim_campaign));
    bufs = tp_calloc((size_t)nthreads, sizeof(tbuf));
    if (!m.c || !m.enabled || !names || !res || !res->campaigns || !bufs) {
        rc = tp_fail(TP_ERR_NOMEM, "simulate: out of memory");
        goto done;
    }
    double rows_per_user = 0.0;
    for (int c = 0; c < K; c++) {
        tmpl t;
        enum role role;
        fill_campaign(c, names[c], &role, &t);
        m.c[c] = (camp){role, t.beta, 1.0 / (t.tau * DAY), t.reach, t.freq, t.kappa, t.cpm};
        m.enabled[c] = !(o->disabled && o->disabled[c]);
        tp_sim_campaign *rc_ = &res->campaigns[c];
        memcpy(rc_->name, names[c], 32);
        rc_->role = role_names[role];
        rc_->effect = t.beta;
        if (!m.enabled[c]) continue;
        if (role == ROLE_RETARGET)
            rows_per_user += 0.33 * o->days * RT_Q0 * (1.0 + RT_EXTRA);
        else
            rows_per_user += t.reach * t.freq * o->days * (role == ROLE_USELESS ? 1 + 3 * m.s : 1);
    }
    for (int t = 0; t < nthreads; t++) {
        tbuf *b = &bufs[t];
        b->inc = tp_calloc((size_t)K, sizeof(int64_t));
        b->imps = tp_calloc((size_t)K, sizeof(int64_t));
        b->seen = tp_calloc((size_t)K, sizeof(int64_t));
        b->w.S = tp_calloc((size_t)K, sizeof(double));
        b->w.touched = tp_calloc((size_t)K, sizeof(int));
        if (!b->inc || !b->imps || !b->seen || !b->w.S || !b->w.touched) {
            rc = tp_fail(TP_ERR_NOMEM, "simulate: out of memory");
            goto done;
        }
    }

    size_t batch_rows = o->batch_rows ? o->batch_rows : 1000000;
    int64_t block = (int64_t)((double)batch_rows / (rows_per_user > 1.0 ? rows_per_user : 1.0));
    if (block < 64) block = 64;
    int64_t cid_base = 0;
    prog = tp_progress_begin("simulate", (uint64_t)o->users, "users");
    for (int64_t b0 = 0; b0 < o->users; b0 += block) {
        int64_t nb = o->users - b0 < block ? o->users - b0 : block;
        for (int t = 0; t < nthreads; t++) {
            bufs[t].n = 0;
            bufs[t].n_cid = 0;
        }
        job j = {&m, bufs, b0 + 1};
        rc = tp_parallel_for((size_t)nb, nthreads, work, &j);
        if (rc != TP_OK) goto done;
        tp_frame *f = NULL;
        rc = make_dicts(K, names, &dcamp, &dage, &dregion);
        if (rc == TP_OK) rc = build_frame(&m, bufs, nthreads, cid_base, dcamp, dage, dregion, &f);
        tp_strdict_unref(dcamp);
        tp_strdict_unref(dage);
        tp_strdict_unref(dregion);
        dcamp = dage = dregion = NULL;
        if (rc != TP_OK) goto done;
        for (int t = 0; t < nthreads; t++) {
            cid_base += bufs[t].n_cid;
            res->impressions += (int64_t)bufs[t].n;
        }
        /* Empty batches are skipped, except that a run without any row still hands over one
         * (empty) frame so the sink learns the schema. */
        if (fn && (tp_frame_n_rows(f) > 0 || (b0 + nb == o->users && res->impressions == 0)))
            rc = consumer_submit(&sink, f);
        else
            tp_frame_free(f);
        if (rc != TP_OK) goto done;
        tp_progress_add(prog, (uint64_t)nb);
    }

    rc = consumer_wait(&sink);
    if (rc != TP_OK) goto done;
    res->users = o->users;
    res->seed = o->seed;
    res->n_campaigns = K;
    res->baseline_conversions = o->truth ? 0 : -1;
    for (int t = 0; t < nthreads; t++) {
        res->conversions += bufs[t].conversions;
        res->observed_conversions += bufs[t].observed;
        if (o->truth) res->baseline_conversions += bufs[t].baseline;
        for (int c = 0; c < K; c++) {
            res->campaigns[c].impressions += bufs[t].imps[c];
            res->campaigns[c].incremental += bufs[t].inc[c];
        }
    }
    res->incremental = o->truth ? res->conversions - res->baseline_conversions : -1;
    if (o->truth) {
        int64_t pos = 0;
        for (int c = 0; c < K; c++)
            if (res->campaigns[c].incremental > 0) pos += res->campaigns[c].incremental;
        for (int c = 0; c < K; c++) {
            int64_t x = res->campaigns[c].incremental;
            res->campaigns[c].true_share = pos > 0 && x > 0 ? (double)x / (double)pos : 0.0;
        }
    }
    if (out) {
        *out = res;
        res = NULL;
    }
done:
    if (sink.running) {
        tp_status rc2 = consumer_wait(&sink);
        if (rc == TP_OK) rc = rc2;
    }
    tp_progress_end(prog);
    if (bufs)
        for (int t = 0; t < nthreads; t++) tbuf_free(&bufs[t]);
    tp_free(bufs);
    tp_strdict_unref(dcamp);
    tp_strdict_unref(dage);
    tp_strdict_unref(dregion);
    tp_free(names);
    tp_free(m.c);
    tp_free(m.enabled);
    tp_sim_result_free(res);
    return rc;
}

// ---- output ----

tp_status tp_sim_truth_write(const tp_sim_result *r, const char *path) {
    if (r->baseline_conversions < 0)
        return tp_fail(TP_ERR_ARG, "simulate: no truth to write to '%s' (run with truth on)", path);
    tp_status rc = TP_OK;
    char *text = NULL;
    json_t *root = json_object(), *arr = json_array();
    if (!root || !arr) goto nomem;
    int bad = json_object_set_new(root, "seed", json_integer((json_int_t)r->seed));
    bad |= json_object_set_new(root, "users", json_integer(r->users));
    bad |= json_object_set_new(root, "impressions", json_integer(r->impressions));
    bad |= json_object_set_new(root, "conversions", json_integer(r->conversions));
    bad |= json_object_set_new(root, "observed_conversions", json_integer(r->observed_conversions));
    bad |= json_object_set_new(root, "baseline_conversions", json_integer(r->baseline_conversions));
    bad |= json_object_set_new(root, "incremental_conversions", json_integer(r->incremental));
    for (int c = 0; c < r->n_campaigns; c++) {
        const tp_sim_campaign *k = &r->campaigns[c];
        json_t *o = json_object();
        if (!o) goto nomem;
        bad |= json_array_append_new(arr, o);
        bad |= json_object_set_new(o, "name", json_string(k->name));
        bad |= json_object_set_new(o, "role", json_string(k->role));
        bad |= json_object_set_new(o, "true_share", json_real(k->true_share));
        bad |= json_object_set_new(o, "incremental_conversions", json_integer(k->incremental));
        bad |= json_object_set_new(o, "effect", json_real(k->effect));
        bad |= json_object_set_new(o, "impressions", json_integer(k->impressions));
    }
    bad |= json_object_set(root, "campaigns", arr);
    if (bad) goto nomem;
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!text) goto nomem;
    size_t len = strlen(text);
    text[len] = '\n'; /* the NUL becomes the final newline; len + 1 bytes are ours */
    rc = tp_atomic_write(path, text, len + 1);
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "simulate: out of memory building '%s'", path);
done:
    free(text);
    json_decref(arr);
    json_decref(root);
    return rc;
}

/* Where batches go: a Parquet writer, or CSV/TSV rows into an atomic temp file (through a
 * gzip stream when the path ends in .gz: each batch is formatted into memory, then deflated). */
typedef struct sink {
    const char *path;
    tp_pq_writer *pq;
    tp_atomic_file af;
    bool csv_open, header_done, gz;
    char delim;
    z_stream z;
    bool z_open;
    char *mem;       /* the batch as text, for gzip */
    size_t mem_len;
    unsigned char zout[1 << 16];
} sink;

/* Deflate n bytes (flush = Z_FINISH at the end) into the temp file. */
static tp_status gz_put(sink *k, const void *p, size_t n, int flush) {
    k->z.next_in = (unsigned char *)(uintptr_t)p;
    k->z.avail_in = (uInt)n;
    do {
        k->z.next_out = k->zout;
        k->z.avail_out = sizeof k->zout;
        int zr = deflate(&k->z, flush);
        if (zr == Z_STREAM_ERROR) return tp_fail(TP_ERR_INTERNAL, "gzip failed writing '%s'", k->path);
        size_t have = sizeof k->zout - k->z.avail_out;
        if (have && fwrite(k->zout, 1, have, k->af.fp) != have)
            return tp_fail(TP_ERR_IO, "cannot write '%s': %s", k->path, strerror(errno));
    } while (k->z.avail_out == 0 || (flush == Z_FINISH && k->z.avail_in > 0));
    return TP_OK;
}

static tp_status sink_write(void *ud, const tp_frame *f) {
    sink *k = ud;
    tp_status rc;
    if (k->pq) {
        rc = tp_pq_writer_write(k->pq, f);
        return rc == TP_OK ? rc : tp_fail_context(rc, "writing '%s'", k->path);
    }
    size_t n = tp_frame_n_rows(f);
    if (!k->gz) {
        rc = tp_csv_write_rows(f, 0, n, k->delim, !k->header_done, k->af.fp);
        k->header_done = true;
        return rc == TP_OK ? rc : tp_fail_context(rc, "writing '%s'", k->path);
    }
    /* gzip: in slices of 64k rows so the text buffer stays small */
    for (size_t lo = 0; lo < n || !k->header_done; lo += 65536) {
        size_t hi = n - lo < 65536 ? n : lo + 65536;
        FILE *mf = open_memstream(&k->mem, &k->mem_len);
        if (!mf) return tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", k->path);
        rc = tp_csv_write_rows(f, lo, hi, k->delim, !k->header_done, mf);
        k->header_done = true;
        if (fclose(mf) != 0 && rc == TP_OK) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        if (rc == TP_OK) rc = gz_put(k, k->mem, k->mem_len, Z_NO_FLUSH);
        free(k->mem);
        k->mem = NULL;
        if (rc != TP_OK) return tp_fail_context(rc, "writing '%s'", k->path);
        if (hi >= n) break;
    }
    return TP_OK;
}

tp_status tp_simulate_impressions(const tp_sim_opts *opts, const char *out_path,
                                  const char *truth_path, tp_sim_result **out) {
    tp_sim_opts o = *opts;
    if (truth_path) o.truth = true;
    tp_status rc = check_opts(&o);
    if (rc != TP_OK) return rc;
    sink k = {.path = out_path};
    tp_sim_result *res = NULL;
    if (out_path) {
        size_t len = strlen(out_path);
        k.gz = len > 3 && strcmp(out_path + len - 3, ".gz") == 0;
        switch (tp_format_of_path(out_path)) {
        case TP_FORMAT_PARQUET: {
            if (k.gz)
                return tp_fail(TP_ERR_ARG, "simulate: '%s': Parquet is compressed inside, "
                               "drop the .gz", out_path);
            tp_pq_write_opts po;
            tp_pq_write_opts_default(&po);
            rc = tp_pq_writer_open(out_path, &po, &k.pq);
            break;
        }
        case TP_FORMAT_CSV:
        case TP_FORMAT_TSV:
            k.delim = tp_format_of_path(out_path) == TP_FORMAT_TSV ? '\t' : ',';
            rc = tp_atomic_open(out_path, &k.af);
            k.csv_open = rc == TP_OK;
            if (rc == TP_OK && k.gz) {
                if (deflateInit2(&k.z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                    rc = tp_fail(TP_ERR_NOMEM, "simulate: cannot start gzip for '%s'", out_path);
                k.z_open = rc == TP_OK;
            }
            break;
        default:
            return tp_fail(TP_ERR_ARG, "simulate: '%s': output must end in .parquet, .csv or .tsv",
                           out_path);
        }
        if (rc != TP_OK) goto done;
    }
    rc = tp_simulate(&o, out_path ? sink_write : NULL, &k, &res);
    if (rc != TP_OK) goto done;
    /* The truth first, then the log: a failure leaves neither behind. */
    if (truth_path && (rc = tp_sim_truth_write(res, truth_path)) != TP_OK) goto done;
    if (k.pq) {
        rc = tp_pq_writer_close(k.pq);
        k.pq = NULL;
    } else if (k.csv_open) {
        if (k.gz) rc = gz_put(&k, NULL, 0, Z_FINISH);
        if (rc == TP_OK) {
            k.csv_open = false;
            rc = tp_atomic_commit(&k.af);
        }
    }
    if (rc != TP_OK) {
        if (truth_path) unlink(truth_path);
        goto done;
    }
    if (rc == TP_OK && out) {
        *out = res;
        res = NULL;
    }
done:
    if (k.pq) tp_pq_writer_abort(k.pq);
    if (k.csv_open) tp_atomic_abort(&k.af);
    if (k.z_open) deflateEnd(&k.z);
    tp_sim_result_free(res);
    return rc;
}
