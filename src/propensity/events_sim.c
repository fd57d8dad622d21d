/* events_sim.c: `touchpoint simulate --kind events`, an e-commerce event log with a known,
 * deliberately non-linear purchase model (docs/propensity_features.md): purchase intent is up for
 * 10 days after a cart, but only for engaged users (high interest or several recent views); views
 * saturate; very heavy viewers (mostly "browsers", who rarely cart) buy less. Users are simulated
 * on their own random streams, so threads never change output. */
#include "touchpoint/events_sim.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RING 30 /* days of per-group history kept per user */
#define USERS_PER_BATCH 8192

/* The known purchase model (docs/propensity_features.md). */
static const double COEF_VIEWS7 = 0.5,       /* per view in the last 7 days, saturating at VIEWS_CAP */
    COEF_CART_ENGAGED = 5.0,                  /* cart in the last CART_DAYS days and engaged */
    COEF_CART_OTHER = 0.5,                    /* cart in the last CART_DAYS days, not engaged */
    COEF_BROWSER = 0.0,                       /* browsers: no direct effect (only via views and carts) */
    COEF_HEAVY = -0.3,                        /* per view in the last 30 days beyond HEAVY_VIEWS */
    COEF_CYCLE = 6.0,                         /* replenishment: cycle[g] +- CYCLE_HALF days after a purchase */
    BROWSER_SHARE = 0.2, BROWSER_ACTIVITY = 5.0, BROWSER_CART = 0.1,
    ENGAGED_INTEREST = 0.5,                   /* engaged: interest > this or views_7d >= ENGAGED_VIEWS */
    BASE_INTERCEPT = -10.4;
static const int VIEWS_CAP = 3, CART_DAYS = 10, ENGAGED_VIEWS = 6, HEAVY_VIEWS = 15, CYCLE_HALF = 4;

/* Replenishment cycle of group g in days: a buyer is likely to buy again about this long after
 * the last purchase, whether or not they browse; a bump in days-since-last-purchase that no
 * monotone (linear) model of that feature can follow. */
static int cycle_days(int g) { return 50 + 10 * (g % 4); }

void tp_evsim_opts_default(tp_evsim_opts *o) {
    memset(o, 0, sizeof *o);
    o->users = 10000;
    o->groups = 10;
    o->items_per_group = 50;
    o->days = 120;
    o->seed = 1;
    o->start_time = 1704067200;
    o->activity = 0.15;
    o->purchase_rate = 1.0;
    o->batch_rows = 1000000;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

typedef struct evrow {
    int64_t ts;
    int32_t item;  /* global item index: g * items_per_group + i */
    uint8_t type;  /* 0 view, 1 cart, 2 purchase */
} evrow;

typedef struct world {
    const tp_evsim_opts *o;
    double *price;       /* per item */
    double *intercept;   /* per group */
} world;

typedef struct buf {
    int64_t *uid;
    evrow *r;
    size_t n, cap;
    int64_t views, carts, purchases, pairs_bought_30d;
} buf;

static tp_status buf_push(buf *b, int64_t uid, evrow r) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        int64_t *u = tp_realloc(b->uid, cap * sizeof *u);
        if (!u) return tp_fail(TP_ERR_NOMEM, "out of memory simulating events");
        b->uid = u;
        evrow *rr = tp_realloc(b->r, cap * sizeof *rr);
        if (!rr) return tp_fail(TP_ERR_NOMEM, "out of memory simulating events");
        b->r = rr;
        b->cap = cap;
    }
    b->uid[b->n] = uid;
    b->r[b->n++] = r;
    return TP_OK;
}

static int cmp_evrow(const void *a, const void *b) {
    const evrow *x = a, *y = b;
    if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

typedef struct batch_ctx {
    const world *w;
    int64_t u0;      /* first uid - 1 of the batch */
    size_t n_users;
    buf *bufs;       /* per thread */
} batch_ctx;

static tp_status sim_users(void *ctx, size_t lo, size_t hi, int tid) {
    batch_ctx *B = ctx;
    const tp_evsim_opts *o = B->w->o;
    buf *b = &B->bufs[tid];
    int G = o->groups, I = o->items_per_group;
    double *interest = tp_malloc((size_t)G * sizeof *interest), *wcum = tp_malloc((size_t)G * sizeof *wcum);
    int32_t *views = tp_calloc((size_t)G * RING, sizeof *views), *carts = tp_calloc((size_t)G * RING, sizeof *carts);
    int *last_bought = tp_malloc((size_t)G * sizeof *last_bought), *last_cart = tp_malloc((size_t)G * sizeof *last_cart);
    evrow *day = NULL;
    size_t dcap = 0;
    tp_status rc = TP_OK;
    if (!interest || !wcum || !views || !carts || !last_bought || !last_cart) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory simulating events");
        goto done;
    }
    for (size_t k = lo; k < hi && rc == TP_OK; k++) {
        int64_t uid = B->u0 + 1 + (int64_t)k;
        tp_rng rng;
        tp_rng_seed_stream(&rng, o->seed, (uint64_t)uid);
        double act = o->activity * exp(0.7 * tp_rng_normal(&rng) - 0.245); // mean-one lognormal
        bool browser = tp_rng_uniform(&rng) < BROWSER_SHARE; // views a lot, rarely carts or buys
        if (browser) act *= BROWSER_ACTIVITY;
        double tot = 0;
        for (int g = 0; g < G; g++) {
            interest[g] = tp_rng_normal(&rng);
            tot += exp(1.5 * interest[g]);
            wcum[g] = tot;
            last_bought[g] = last_cart[g] = -1000;
        }
        memset(views, 0, (size_t)G * RING * sizeof *views);
        memset(carts, 0, (size_t)G * RING * sizeof *carts);
        for (int d = 0; d < o->days && rc == TP_OK; d++) {
            int slot = d % RING;
            for (int g = 0; g < G; g++) views[g * RING + slot] = carts[g * RING + slot] = 0;
            size_t nd = 0;
            int64_t day0 = o->start_time + (int64_t)d * 86400;
            uint32_t sessions = tp_rng_poisson(&rng, act);
            for (uint32_t s = 0; s < sessions; s++) {
                double x = tp_rng_uniform(&rng) * tot;
                int g = 0;
                while (g < G - 1 && wcum[g] < x) g++;
                int64_t t = day0 + (int64_t)tp_rng_below(&rng, 86400 - 3600);
                uint32_t nv = 1 + tp_rng_poisson(&rng, 2.0);
                int32_t item = 0;
                for (uint32_t v = 0; v < nv; v++) {
                    item = g * I + (int32_t)tp_rng_below(&rng, (uint64_t)I);
                    if (tp_grow((void **)&day, &dcap, nd + 2, sizeof *day) != TP_OK) {
                        rc = TP_ERR_NOMEM;
                        break;
                    }
                    day[nd++] = (evrow){t, item, 0};
                    t += 5 + (int64_t)tp_rng_below(&rng, 120);
                    views[g * RING + slot]++;
                }
                if (rc != TP_OK) break;
                if (tp_rng_uniform(&rng) < (browser ? BROWSER_CART : 1.0) * sigmoid(-2.0 + 0.8 * interest[g])) {
                    day[nd++] = (evrow){t, item, 1};
                    carts[g * RING + slot]++;
                    last_cart[g] = d;
                }
            }
            // Purchases: the known model, for groups viewed in the last 30 days.
            for (int g = 0; g < G && rc == TP_OK; g++) {
                int v7 = 0, v30 = 0;
                for (int k2 = 0; k2 < RING; k2++) {
                    int age = (slot - k2 + RING) % RING; // 0 = today
                    if (age > d) continue;
                    v30 += views[g * RING + k2];
                    if (age < 7) v7 += views[g * RING + k2];
                }
                int since = d - last_bought[g];
                bool cycle = since >= cycle_days(g) - CYCLE_HALF && since <= cycle_days(g) + CYCLE_HALF;
                if (!v30 && !cycle) continue;
                bool engaged = interest[g] > ENGAGED_INTEREST || v7 >= ENGAGED_VIEWS;
                double z = B->w->intercept[g] + COEF_VIEWS7 * (v7 < VIEWS_CAP ? v7 : VIEWS_CAP);
                if (d - last_cart[g] < CART_DAYS) z += engaged ? COEF_CART_ENGAGED : COEF_CART_OTHER;
                if (browser) z += COEF_BROWSER;
                if (v30 > HEAVY_VIEWS) z += COEF_HEAVY * (v30 - HEAVY_VIEWS); // comparison shoppers
                if (since < 7) z -= 2.0; // just bought: less likely again this week
                if (cycle) z += COEF_CYCLE;
                if (tp_rng_uniform(&rng) < sigmoid(z)) {
                    int32_t item = g * I + (int32_t)tp_rng_below(&rng, (uint64_t)I);
                    if (tp_grow((void **)&day, &dcap, nd + 1, sizeof *day) != TP_OK) {
                        rc = TP_ERR_NOMEM;
                        break;
                    }
                    day[nd++] = (evrow){day0 + 82800 + (int64_t)tp_rng_below(&rng, 3600), item, 2};
                    if (last_bought[g] < o->days - 30 && d >= o->days - 30) b->pairs_bought_30d++;
                    last_bought[g] = d;
                }
            }
            if (rc != TP_OK) break;
            if (nd) qsort(day, nd, sizeof *day, cmp_evrow);
            for (size_t i = 0; i < nd && rc == TP_OK; i++) {
                rc = buf_push(b, uid, day[i]);
                b->views += day[i].type == 0;
                b->carts += day[i].type == 1;
                b->purchases += day[i].type == 2;
            }
        }
    }
    if (rc == TP_ERR_NOMEM) rc = tp_fail(TP_ERR_NOMEM, "out of memory simulating events");
done:
    tp_free(interest);
    tp_free(wcum);
    tp_free(views);
    tp_free(carts);
    tp_free(last_bought);
    tp_free(last_cart);
    tp_free(day);
    return rc;
}

typedef struct out_sink {
    tp_pq_writer *pq;
    tp_atomic_file af;
    bool csv, header_done;
    char delim;
    tp_strdict *types, *items, *groups;
} out_sink;

static tp_status new_col(tp_frame *f, const char *name, tp_dtype t, tp_strdict *dict, size_t n, void **data) {
    tp_column *c;
    tp_status rc = dict ? tp_column_new_dict(name, t, dict, n, &c) : tp_column_new(name, t, n, &c);
    if (rc != TP_OK) return rc;
    if ((rc = tp_column_resize(c, n)) != TP_OK || (rc = tp_frame_add_take(f, c)) != TP_OK) {
        tp_column_free(c);
        return rc;
    }
    *data = tp_column_data(c);
    return TP_OK;
}

static tp_status emit(out_sink *s, const world *w, const buf *bufs, int nt) {
    size_t n = 0;
    for (int t = 0; t < nt; t++) n += bufs[t].n;
    if (!n) return TP_OK;
    tp_frame *f = NULL;
    int64_t *uid, *ts;
    int32_t *ty, *it, *gr;
    double *am;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) return rc;
    if ((rc = new_col(f, "uid", TP_DTYPE_I64, NULL, n, (void **)&uid)) != TP_OK ||
        (rc = new_col(f, "timestamp", TP_DTYPE_I64, NULL, n, (void **)&ts)) != TP_OK ||
        (rc = new_col(f, "event_type", TP_DTYPE_STR, s->types, n, (void **)&ty)) != TP_OK ||
        (rc = new_col(f, "item", TP_DTYPE_STR, s->items, n, (void **)&it)) != TP_OK ||
        (rc = new_col(f, "group", TP_DTYPE_STR, s->groups, n, (void **)&gr)) != TP_OK ||
        (rc = new_col(f, "amount", TP_DTYPE_F64, NULL, n, (void **)&am)) != TP_OK)
        goto done;
    tp_column *amc = tp_frame_find(f, "amount");
    size_t k = 0;
    for (int t = 0; t < nt; t++)
        for (size_t i = 0; i < bufs[t].n; i++, k++) {
            const evrow *r = &bufs[t].r[i];
            uid[k] = bufs[t].uid[i];
            ts[k] = r->ts;
            ty[k] = r->type;
            it[k] = r->item;
            gr[k] = r->item / w->o->items_per_group;
            if (r->type == 2) {
                am[k] = w->price[r->item];
            } else if ((rc = tp_column_set_null(amc, k, true)) != TP_OK) {
                goto done;
            }
        }
    if (s->csv) {
        rc = tp_csv_write_rows(f, 0, n, s->delim, !s->header_done, s->af.fp);
        s->header_done = true;
    } else {
        rc = tp_pq_writer_write(s->pq, f);
    }
done:
    tp_frame_free(f);
    return rc;
}

static tp_status write_items(const world *w, const char *path, tp_strdict *items, tp_strdict *groups) {
    const tp_evsim_opts *o = w->o;
    size_t n = (size_t)o->groups * (size_t)o->items_per_group;
    tp_frame *f = NULL;
    int32_t *it, *gr;
    double *pr;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) return rc;
    if ((rc = new_col(f, "item", TP_DTYPE_STR, items, n, (void **)&it)) == TP_OK &&
        (rc = new_col(f, "group", TP_DTYPE_STR, groups, n, (void **)&gr)) == TP_OK &&
        (rc = new_col(f, "price", TP_DTYPE_F64, NULL, n, (void **)&pr)) == TP_OK) {
        for (size_t i = 0; i < n; i++) {
            it[i] = (int32_t)i;
            gr[i] = (int32_t)(i / (size_t)o->items_per_group);
            pr[i] = w->price[i];
        }
        rc = tp_table_write(f, path, NULL);
    }
    tp_frame_free(f);
    return rc;
}

static tp_status write_truth(const world *w, const tp_evsim_result *res, const char *path) {
    const tp_evsim_opts *o = w->o;
    json_t *root = json_object(), *gs = json_array();
    json_object_set_new(root, "kind", json_string("events"));
    json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(root, "users", json_integer(o->users));
    json_object_set_new(root, "groups", json_integer(o->groups));
    json_object_set_new(root, "days", json_integer(o->days));
    json_object_set_new(root, "start_time", json_integer(o->start_time));
    json_object_set_new(root, "events", json_integer(res->events));
    json_object_set_new(root, "views", json_integer(res->views));
    json_object_set_new(root, "carts", json_integer(res->carts));
    json_object_set_new(root, "purchases", json_integer(res->purchases));
    json_object_set_new(root, "purchase_pair_rate_last_30d", json_real(res->purchase_pair_rate_30d));
    json_object_set_new(
        root, "model",
        json_string("daily P(purchase in g) = sigmoid(intercept[g] + coef_views_7d*min(views_7d, views_cap) + "
                    "[carted in g in the last cart_days days]*(engaged ? coef_cart_engaged : coef_cart_other) + "
                    "coef_browser*[browser] + coef_heavy*max(0, views_30d - heavy_views) - 2*[bought in g in the last 7 days] + "
                    "coef_cycle*[|days since the last purchase in g - cycle_days[g]| <= cycle_half]) for groups viewed "
                    "in the last 30 days or in their cycle window (counts include the day); engaged = interest[g] > engaged_interest or views_7d >= "
                    "engaged_views; a browser (browser_share of users) has browser_activity x the sessions and "
                    "browser_cart x the cart probability"));
    json_object_set_new(root, "coef_views_7d", json_real(COEF_VIEWS7));
    json_object_set_new(root, "views_cap", json_integer(VIEWS_CAP));
    json_object_set_new(root, "cart_days", json_integer(CART_DAYS));
    json_object_set_new(root, "coef_cart_engaged", json_real(COEF_CART_ENGAGED));
    json_object_set_new(root, "coef_cart_other", json_real(COEF_CART_OTHER));
    json_object_set_new(root, "engaged_interest", json_real(ENGAGED_INTEREST));
    json_object_set_new(root, "engaged_views", json_integer(ENGAGED_VIEWS));
    json_object_set_new(root, "coef_browser", json_real(COEF_BROWSER));
    json_object_set_new(root, "coef_heavy", json_real(COEF_HEAVY));
    json_object_set_new(root, "heavy_views", json_integer(HEAVY_VIEWS));
    json_object_set_new(root, "coef_cycle", json_real(COEF_CYCLE));
    json_object_set_new(root, "cycle_half", json_integer(CYCLE_HALF));
    json_object_set_new(root, "browser_share", json_real(BROWSER_SHARE));
    json_object_set_new(root, "browser_activity", json_real(BROWSER_ACTIVITY));
    json_object_set_new(root, "browser_cart", json_real(BROWSER_CART));
    for (int g = 0; g < o->groups; g++) {
        char name[16];
        snprintf(name, sizeof name, "g%02d", g);
        json_t *e = json_object();
        json_object_set_new(e, "name", json_string(name));
        json_object_set_new(e, "intercept", json_real(w->intercept[g]));
        json_object_set_new(e, "cycle_days", json_integer(cycle_days(g)));
        json_array_append_new(gs, e);
    }
    json_object_set_new(root, "groups_model", gs);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!text) return tp_fail(TP_ERR_NOMEM, "out of memory writing %s", path);
    size_t len = strlen(text);
    char *t2 = tp_malloc(len + 2);
    tp_status rc = TP_OK;
    if (!t2)
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    else {
        memcpy(t2, text, len);
        t2[len] = '\n';
        rc = tp_atomic_write(path, t2, len + 1);
    }
    free(text);
    tp_free(t2);
    return rc;
}

tp_status tp_evsim_run(const tp_evsim_opts *o, const char *out_path, const char *items_path,
                       const char *truth_path, tp_evsim_result *res) {
    tp_evsim_result r0 = {0};
    if (!res) res = &r0;
    memset(res, 0, sizeof *res);
    if (o->users < 1) return tp_fail(TP_ERR_ARG, "--users must be >= 1");
    if (o->groups < 1 || o->groups > 1000) return tp_fail(TP_ERR_ARG, "--groups must be 1..1000");
    if (o->items_per_group < 1 || o->items_per_group > 100000)
        return tp_fail(TP_ERR_ARG, "items per group must be 1..100000");
    if (o->days < 1 || o->days > 3650) return tp_fail(TP_ERR_ARG, "--days must be 1..3650");
    if (!(o->activity > 0) || !(o->purchase_rate > 0)) return tp_fail(TP_ERR_ARG, "activity and purchase rate must be > 0");
    if (o->start_time % 86400) return tp_fail(TP_ERR_ARG, "start time must be a midnight (multiple of 86400)");
    world w = {.o = o};
    out_sink s = {0};
    buf *bufs = NULL;
    tp_status rc = TP_OK;
    int G = o->groups, I = o->items_per_group;
    int nt = o->threads > 0 ? o->threads : tp_threads_default();
    if (!(w.price = tp_malloc((size_t)G * (size_t)I * sizeof *w.price)) ||
        !(w.intercept = tp_malloc((size_t)G * sizeof *w.intercept)) || !(bufs = tp_calloc((size_t)nt, sizeof *bufs))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    tp_rng wr;
    tp_rng_seed_stream(&wr, o->seed, 0); // world stream; users use streams 1..N
    for (int g = 0; g < G; g++) {
        w.intercept[g] = BASE_INTERCEPT + log(o->purchase_rate) + 0.5 * tp_rng_normal(&wr);
        double base = exp(2.5 + 1.0 * tp_rng_normal(&wr));
        for (int i = 0; i < I; i++)
            w.price[g * I + i] = round(100.0 * base * exp(0.4 * tp_rng_normal(&wr))) / 100.0;
    }
    if ((rc = tp_strdict_new(&s.types)) != TP_OK || (rc = tp_strdict_new(&s.items)) != TP_OK ||
        (rc = tp_strdict_new(&s.groups)) != TP_OK)
        goto done;
    static const char *const tn[] = {"view", "cart", "purchase"};
    int32_t code;
    for (int i = 0; i < 3 && rc == TP_OK; i++) rc = tp_strdict_intern(s.types, tn[i], strlen(tn[i]), &code);
    for (int g = 0; g < G && rc == TP_OK; g++) {
        char name[32];
        snprintf(name, sizeof name, "g%02d", g);
        rc = tp_strdict_intern(s.groups, name, strlen(name), &code);
        for (int i = 0; i < I && rc == TP_OK; i++) {
            snprintf(name, sizeof name, "g%02d_i%04d", g, i);
            rc = tp_strdict_intern(s.items, name, strlen(name), &code);
        }
    }
    if (rc != TP_OK) goto done;
    if (out_path) {
        tp_format fmt = tp_format_of_path(out_path);
        if (fmt == TP_FORMAT_CSV || fmt == TP_FORMAT_TSV) {
            s.csv = true;
            s.delim = fmt == TP_FORMAT_TSV ? '\t' : ',';
            if ((rc = tp_atomic_open(out_path, &s.af)) != TP_OK) goto done;
        } else if (fmt == TP_FORMAT_PARQUET) {
            tp_pq_write_opts po;
            tp_pq_write_opts_default(&po);
            if ((rc = tp_pq_writer_open(out_path, &po, &s.pq)) != TP_OK) goto done;
        } else {
            rc = tp_fail(TP_ERR_ARG, "'%s': output must end in .parquet, .csv or .tsv", out_path);
            goto done;
        }
    }
    tp_progress *pg = tp_progress_begin("simulating events", (uint64_t)o->users, "users");
    for (int64_t u0 = 0; u0 < o->users && rc == TP_OK; u0 += USERS_PER_BATCH) {
        size_t nb = (size_t)(o->users - u0 < USERS_PER_BATCH ? o->users - u0 : USERS_PER_BATCH);
        for (int t = 0; t < nt; t++) bufs[t].n = 0;
        batch_ctx B = {.w = &w, .u0 = u0, .n_users = nb, .bufs = bufs};
        if ((rc = tp_parallel_for(nb, nt, sim_users, &B)) != TP_OK) break;
        if (out_path && (rc = emit(&s, &w, bufs, nt)) != TP_OK) break;
        for (int t = 0; t < nt; t++) res->events += (int64_t)bufs[t].n;
        tp_progress_add(pg, nb);
    }
    tp_progress_end(pg);
    for (int t = 0; t < nt; t++) {
        res->views += bufs[t].views;
        res->carts += bufs[t].carts;
        res->purchases += bufs[t].purchases;
        res->purchase_pair_rate_30d += (double)bufs[t].pairs_bought_30d;
    }
    res->users = o->users;
    res->purchase_pair_rate_30d /= (double)o->users * G;
    if (rc != TP_OK) goto done;
    if (out_path) {
        if (s.csv) {
            if (!s.header_done) rc = tp_fail(TP_ERR_ARG, "no events simulated");
            else rc = tp_atomic_commit(&s.af);
            s.af.fp = NULL;
        } else {
            rc = tp_pq_writer_close(s.pq);
        }
        s.pq = NULL;
        if (rc != TP_OK) goto done;
    }
    if (items_path && (rc = write_items(&w, items_path, s.items, s.groups)) != TP_OK) goto done;
    if (truth_path) rc = write_truth(&w, res, truth_path);
done:
    if (s.pq) tp_pq_writer_abort(s.pq);
    if (s.csv && s.af.fp) tp_atomic_abort(&s.af);
    tp_strdict_unref(s.types);
    tp_strdict_unref(s.items);
    tp_strdict_unref(s.groups);
    if (bufs)
        for (int t = 0; t < nt; t++) {
            tp_free(bufs[t].uid);
            tp_free(bufs[t].r);
        }
    tp_free(bufs);
    tp_free(w.price);
    tp_free(w.intercept);
    return rc;
}
