/* extend.c: audience extension (issue #6 §4, Blue Marlin's lookalike): look the seed dids up in the
 * score table, cluster their vectors with k-means, score every non-seed user by the mean of its
 * top-N cosine similarities to the centres (or to every seed with no_cluster), keep the top M.
 * Also the seed-list parser shared by the CLI and the HTTP service, and the audience writer. */
#include "touchpoint/audience.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

void tp_audience_opts_default(tp_audience_opts *o) {
    memset(o, 0, sizeof *o);
    o->k = 20;
    o->top_n = 10;
    o->extension_pct = 100;
    o->kmeans_iter = 50;
    o->seed = 1;
}

void tp_audience_free(tp_audience *a) {
    if (!a) return;
    tp_free(a->user), tp_free(a->score), tp_free(a);
}

// ---- seed lists ----

void tp_audience_seeds_free(char **seeds, size_t n) {
    if (!seeds) return;
    for (size_t i = 0; i < n; i++) tp_free(seeds[i]);
    tp_free(seeds);
}

tp_status tp_audience_parse_seeds(const char *buf, size_t len, char ***out, size_t *n) {
    char **v = NULL;
    size_t nv = 0, cap = 0, line = 0;
    tp_status rc = TP_OK;
    size_t i = 0;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        i = 3; // UTF-8 byte order mark
    while (i < len) {
        size_t e = i;
        while (e < len && buf[e] != '\n') e++;
        size_t a = i, b = e;
        while (b > a && buf[b - 1] == '\r') b--;
        for (size_t j = a; j < b; j++) // first comma-separated field
            if (buf[j] == ',') {
                b = j;
                break;
            }
        while (a < b && isspace((unsigned char)buf[a])) a++;
        while (b > a && isspace((unsigned char)buf[b - 1])) b--;
        if (b - a >= 2 && buf[a] == '"' && buf[b - 1] == '"') a++, b--;
        line++;
        i = e + 1;
        if (a == b) continue;
        if (line == 1 && b - a == 3 && memcmp(buf + a, "did", 3) == 0) continue; // header
        if (memchr(buf + a, '\0', b - a)) {
            rc = tp_fail(TP_ERR_FORMAT, "seed list line %zu: NUL byte in a did", line);
            goto done;
        }
        if ((rc = tp_grow((void **)&v, &cap, nv + 1, sizeof *v)) != TP_OK) goto done;
        char *s = tp_malloc(b - a + 1);
        if (!s) {
            rc = tp_fail(TP_ERR_NOMEM, "seed list: out of memory");
            goto done;
        }
        memcpy(s, buf + a, b - a);
        s[b - a] = 0;
        v[nv++] = s;
    }
    *out = v;
    *n = nv;
    v = NULL;
done:
    if (v) tp_audience_seeds_free(v, nv);
    return rc;
}

tp_status tp_audience_read_seeds(const char *path, char ***out, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open seed list '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    tp_status rc = TP_OK;
    for (;;) {
        if ((rc = tp_grow((void **)&buf, &cap, len + 65536, 1)) != TP_OK) goto done;
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        rc = tp_fail(TP_ERR_IO, "reading seed list '%s': %s", path, strerror(errno));
        goto done;
    }
    rc = tp_audience_parse_seeds(buf, len, out, n);
    if (rc != TP_OK) tp_fail_context(rc, "'%s'", path);
done:
    tp_free(buf);
    fclose(fp);
    return rc;
}

// ---- seed lookup: open addressing over the (few) distinct seeds ----

typedef struct seed_set {
    size_t cap;       // power of two
    int64_t *slot;    // index into the seed array + 1; 0 = empty
    uint64_t *hash;
} seed_set;

static int64_t set_find(const seed_set *s, const char *const *seeds, const char *k, size_t len,
                        uint64_t h) {
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->slot[i]) return -(int64_t)i - 1; // absent: -(free slot) - 1
        const char *v = seeds[s->slot[i] - 1];
        if (s->hash[i] == h && strlen(v) == len && memcmp(v, k, len) == 0) return s->slot[i] - 1;
    }
}

tp_status tp_audience_extend(const tp_score_table *t, const char *const *seeds, size_t n_seeds,
                             const tp_audience_opts *o, tp_audience **out,
                             tp_audience_stats *stats) {
    tp_audience_opts def;
    if (!o) tp_audience_opts_default(&def), o = &def;
    tp_audience_stats st;
    memset(&st, 0, sizeof st);
    if (!t || !out || (!seeds && n_seeds)) return tp_fail(TP_ERR_ARG, "extend: NULL argument");
    if (o->k < 1 || o->top_n < 1 || o->m < 0 || o->extension_pct < 0 || o->kmeans_iter < 0)
        return tp_fail(TP_ERR_ARG, "extend: k (%d) and top-n (%d) must be >= 1, m and "
                       "extension-pct >= 0", o->k, o->top_n);
    if (t->n_keywords == 0) return tp_fail(TP_ERR_ARG, "extend: the score table has no keywords");
    if (t->n_users > UINT32_MAX) return tp_fail(TP_ERR_ARG, "extend: more than 2^32 users");
    size_t U = (size_t)t->n_users, D = t->n_keywords;
    tp_status rc = TP_OK;
    seed_set set = {0};
    int64_t *row_of = NULL; // per distinct seed: its row in the table, -1 unknown
    uint8_t *skip = NULL;
    float *x = NULL, *cols = NULL, *score = NULL;
    tp_audience *a = NULL;
    const char **uniq = NULL;
    size_t n_uniq = 0;

    set.cap = 16;
    while (set.cap < 2 * n_seeds + 2) set.cap *= 2;
    set.slot = tp_calloc(set.cap, sizeof *set.slot);
    set.hash = tp_calloc(set.cap, sizeof *set.hash);
    uniq = tp_malloc((n_seeds + 1) * sizeof *uniq);
    skip = tp_calloc(U ? U : 1, 1);
    if (!set.slot || !set.hash || !uniq || !skip) goto nomem;
    for (size_t i = 0; i < n_seeds; i++) {
        size_t len = strlen(seeds[i]);
        uint64_t h = tp_hash_bytes(seeds[i], len, 0);
        int64_t f = set_find(&set, uniq, seeds[i], len, h);
        if (f >= 0) continue;
        size_t slot = (size_t)(-f - 1);
        uniq[n_uniq] = seeds[i];
        set.slot[slot] = (int64_t)++n_uniq;
        set.hash[slot] = h;
    }
    st.seeds_given = (int64_t)n_uniq;
    row_of = tp_malloc((n_uniq + 1) * sizeof *row_of);
    if (!row_of) goto nomem;
    for (size_t i = 0; i < n_uniq; i++) row_of[i] = -1;
    for (size_t u = 0; u < U && n_uniq; u++) {
        size_t len = strlen(t->dids[u]);
        int64_t f = set_find(&set, uniq, t->dids[u], len, tp_hash_bytes(t->dids[u], len, 0));
        if (f < 0) continue;
        skip[u] = 1; // every row carrying a seed did is excluded from the audience
        if (row_of[f] < 0) row_of[f] = (int64_t)u;
    }
    size_t S = 0;
    for (size_t i = 0; i < n_uniq; i++) {
        if (row_of[i] >= 0) {
            S++;
        } else {
            if (st.seeds_unknown < TP_AUDIENCE_EXAMPLES)
                snprintf(st.unknown_examples[st.seeds_unknown], sizeof st.unknown_examples[0],
                         "%s", uniq[i]);
            st.seeds_unknown++;
        }
    }
    st.seeds_matched = (int64_t)S;
    st.k_requested = o->k;
    if (S == 0) {
        if (n_uniq)
            rc = tp_fail(TP_ERR_NOTFOUND, "none of the %zu seed dids is in the score table "
                         "(first: '%s')", n_uniq, uniq[0]);
        else
            rc = tp_fail(TP_ERR_NOTFOUND, "the seed list is empty");
        goto done;
    }
    x = tp_malloc(S * D * sizeof *x);
    if (!x) goto nomem;
    for (size_t i = 0, j = 0; i < n_uniq; i++)
        if (row_of[i] >= 0) memcpy(x + (j++) * D, t->scores + (size_t)row_of[i] * D, D * sizeof *x);

    // ---- cluster the seeds ----
    size_t n_cols = S;
    double t0 = tp_now();
    if (!o->no_cluster) {
        st.k_used = (size_t)o->k < S ? o->k : (int)S;
        st.k_high = S < 10 * (size_t)o->k;
        cols = tp_malloc((size_t)st.k_used * D * sizeof *cols);
        if (!cols) goto nomem;
        rc = tp_kmeans(x, S, D, st.k_used, o->kmeans_iter, o->seed, cols, NULL, &st.kmeans_inertia,
                       &st.kmeans_iterations);
        if (rc != TP_OK) goto done;
        n_cols = (size_t)st.k_used;
    }
    st.kmeans_seconds = tp_now() - t0;

    // ---- score every non-seed user ----
    score = tp_malloc((U ? U : 1) * sizeof *score);
    if (!score) goto nomem;
    tp_similarity_opts so;
    tp_similarity_opts_default(&so);
    so.top_n = o->top_n;
    so.threads = o->threads;
    if (o->block_users) so.block_users = o->block_users;
    t0 = tp_now();
    rc = tp_similarity_topn_mean(t->scores, U, D, skip, o->no_cluster ? x : cols, n_cols, &so,
                                 score, &st.pairs);
    if (rc != TP_OK) goto done;
    st.similarity_seconds = tp_now() - t0;
    st.candidates = (int64_t)U;
    for (size_t u = 0; u < U; u++) st.candidates -= skip[u];

    // ---- select the top M ----
    t0 = tp_now();
    double mm = o->m > 0 ? (double)o->m : floor(o->extension_pct / 100.0 * (double)S + 0.5);
    size_t M = mm > (double)st.candidates ? (size_t)st.candidates : (size_t)mm;
    a = tp_calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->user = tp_malloc((M ? M : 1) * sizeof *a->user);
    a->score = tp_malloc((M ? M : 1) * sizeof *a->score);
    if (!a->user || !a->score) goto nomem;
    rc = tp_select_top_m(score, U, M, a->user, &a->n);
    if (rc != TP_OK) goto done;
    for (size_t i = 0; i < a->n; i++) a->score[i] = score[a->user[i]];
    st.selected = (int64_t)a->n;
    st.select_seconds = tp_now() - t0;
    *out = a;
    a = NULL;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "extend: out of memory (%zu users x %zu keywords)", U, D);
done:
    if (stats) *stats = st;
    tp_free(set.slot), tp_free(set.hash), tp_free(row_of), tp_free(skip), tp_free(x);
    tp_free(cols), tp_free(score), tp_free(uniq);
    tp_audience_free(a);
    return rc;
}

// ---- output ----

tp_status tp_audience_write(const tp_audience *a, const tp_score_table *t, const char *path) {
    tp_frame *f = NULL;
    tp_column *did = NULL, *sc = NULL;
    tp_status rc;
    tp_format fmt = tp_format_of_path(path);
    if (fmt == TP_FORMAT_UNKNOWN)
        return tp_fail(TP_ERR_ARG, "audience output '%s': use .parquet, .csv or .tsv", path);
    if ((rc = tp_frame_new(&f)) != TP_OK) goto done;
    if ((rc = tp_column_new("did", TP_DTYPE_STR, a->n, &did)) != TP_OK) goto done;
    if ((rc = tp_column_new("score", TP_DTYPE_F64, a->n, &sc)) != TP_OK) goto done;
    for (size_t i = 0; i < a->n; i++) {
        const char *s = t->dids[a->user[i]];
        if ((rc = tp_column_push_str(did, s, strlen(s))) != TP_OK) goto done;
        if ((rc = tp_column_push_f64(sc, a->score[i])) != TP_OK) goto done;
    }
    rc = tp_frame_add_take(f, did); // takes ownership even on failure
    did = NULL;
    if (rc != TP_OK) goto done;
    rc = tp_frame_add_take(f, sc);
    sc = NULL;
    if (rc != TP_OK) goto done;
    rc = tp_table_write(f, path, NULL);
done:
    tp_column_free(did), tp_column_free(sc);
    tp_frame_free(f);
    return rc;
}
