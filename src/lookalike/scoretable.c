/* scoretable.c: the user x keyword score table (issue #6 §3): L2 normalisation, the .tpsm compact
 * binary matrix (format in BRIEF.md / docs/lookalike.md, validated on read so a corrupt or
 * truncated file is a clear error, never a crash) and the Parquet form (did, kw_<keyword>...). */
#include "touchpoint/lookalike.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char TPSM_MAGIC[8] = {'T', 'P', 'S', 'C', 'O', 'R', 'E', '1'};
#define TPSM_VERSION 1u
#define TPSM_HEADER 28 /* magic 8 + version 4 + n_users 8 + n_keywords 4 + reserved 4 */

void tp_score_table_free(tp_score_table *t) {
    if (!t) return;
    if (t->keywords)
        for (uint32_t k = 0; k < t->n_keywords; k++) tp_free(t->keywords[k]);
    if (t->dids)
        for (uint64_t u = 0; u < t->n_users; u++) tp_free(t->dids[u]);
    tp_free(t->keywords);
    tp_free(t->dids);
    tp_free(t->scores);
    tp_free(t);
}

void tp_score_table_normalise(tp_score_table *t) {
    const size_t K = t->n_keywords;
    for (uint64_t u = 0; u < t->n_users; u++) {
        float *r = t->scores + u * K;
        double s = 0;
        for (size_t k = 0; k < K; k++) s += (double)r[k] * r[k];
        if (s <= 0) continue;
        const float inv = (float)(1 / sqrt(s));
        for (size_t k = 0; k < K; k++) r[k] *= inv;
    }
}

// ---- .tpsm writer: the bytes are built in memory, hashed, written atomically ----

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static tp_status put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = tp_realloc(b->p, cap);
        if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory building a score table");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    return TP_OK;
}
// the format is little-endian; every supported target is (x86-64, aarch64)
static tp_status put_u32(buf *b, uint32_t v) { return put(b, &v, 4); }
static tp_status put_u64(buf *b, uint64_t v) { return put(b, &v, 8); }
static tp_status put_str(buf *b, const char *s) {
    size_t n = strlen(s);
    if (n > UINT32_MAX) return tp_fail(TP_ERR_ARG, "string too long for .tpsm");
    tp_status rc = put_u32(b, (uint32_t)n);
    return rc ? rc : put(b, s, n);
}

tp_status tp_score_table_write_tpsm(const tp_score_table *t, const char *path) {
    buf b = {0};
    tp_status rc = put(&b, TPSM_MAGIC, 8);
    if (!rc) rc = put_u32(&b, TPSM_VERSION);
    if (!rc) rc = put_u64(&b, t->n_users);
    if (!rc) rc = put_u32(&b, t->n_keywords);
    if (!rc) rc = put_u32(&b, 0);
    for (uint32_t k = 0; !rc && k < t->n_keywords; k++) rc = put_str(&b, t->keywords[k]);
    for (uint64_t u = 0; !rc && u < t->n_users; u++) rc = put_str(&b, t->dids[u]);
    if (!rc) rc = put(&b, t->scores, (size_t)t->n_users * t->n_keywords * sizeof(float));
    if (!rc) rc = put_u64(&b, tp_hash_bytes(b.p, b.n, 0));
    if (!rc) rc = tp_atomic_write(path, b.p, b.n);
    tp_free(b.p);
    return rc;
}

// ---- .tpsm reader ----

typedef struct cursor {
    const uint8_t *p;
    size_t n, off;
    const char *path;
} cursor;

static tp_status take(cursor *c, void *dst, size_t n, const char *what) {
    if (n > c->n - c->off)
        return tp_fail(TP_ERR_FORMAT, "'%s': truncated .tpsm file: %s at byte %zu needs %zu bytes, "
                       "%zu left", c->path, what, c->off, n, c->n - c->off);
    memcpy(dst, c->p + c->off, n);
    c->off += n;
    return TP_OK;
}

static tp_status take_str(cursor *c, char **out, const char *what, uint64_t i) {
    uint32_t len;
    char tag[64];
    snprintf(tag, sizeof tag, "length of %s %llu", what, (unsigned long long)i);
    tp_status rc = take(c, &len, 4, tag);
    if (rc) return rc;
    if (len > c->n - c->off)
        return tp_fail(TP_ERR_FORMAT, "'%s': %s %llu claims %u bytes at byte %zu, only %zu left",
                       c->path, what, (unsigned long long)i, len, c->off, c->n - c->off);
    char *s = tp_malloc((size_t)len + 1);
    if (!s) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", c->path);
    memcpy(s, c->p + c->off, len);
    s[len] = 0;
    c->off += len;
    *out = s;
    return TP_OK;
}

tp_status tp_score_table_read_tpsm(const char *path, tp_score_table **out) {
    tp_status rc = TP_OK;
    uint8_t *data = NULL;
    tp_score_table *t = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        rc = tp_fail(TP_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto done;
    }
    size_t size = (size_t)st.st_size;
    if (size < TPSM_HEADER + 8) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': not a .tpsm file (%zu bytes, shorter than the header)",
                     path, size);
        goto done;
    }
    data = tp_malloc(size);
    if (!data) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s' (%zu bytes)", path, size);
        goto done;
    }
    if (fread(data, 1, size, fp) != size) {
        rc = tp_fail(TP_ERR_IO, "short read on '%s'", path);
        goto done;
    }
    if (memcmp(data, TPSM_MAGIC, 8) != 0) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': bad magic (not a TPSCORE1 score table)", path);
        goto done;
    }
    cursor c = {data, size - 8, 8, path};
    uint32_t version, n_kw, reserved;
    uint64_t n_users;
    take(&c, &version, 4, "version");
    take(&c, &n_users, 8, "n_users");
    take(&c, &n_kw, 4, "n_keywords");
    take(&c, &reserved, 4, "reserved");
    if (version != TPSM_VERSION) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': .tpsm version %u, this build reads version %u", path,
                     version, TPSM_VERSION);
        goto done;
    }
    // every user needs at least 4 bytes of did length and 4 n_kw bytes of scores
    if (n_users > size / 4 || n_kw > size / 4 ||
        (n_kw && n_users > (size / 4) / n_kw)) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': header claims %llu users x %u keywords, more than the "
                     "file's %zu bytes can hold", path, (unsigned long long)n_users, n_kw, size);
        goto done;
    }
    uint64_t stored;
    memcpy(&stored, data + size - 8, 8);
    uint64_t actual = tp_hash_bytes(data, size - 8, 0);
    t = tp_calloc(1, sizeof *t);
    if (!t) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    t->keywords = tp_calloc(n_kw ? n_kw : 1, sizeof(char *));
    t->dids = tp_calloc(n_users ? n_users : 1, sizeof(char *));
    if (!t->keywords || !t->dids) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    t->n_keywords = n_kw;
    t->n_users = n_users;
    for (uint32_t k = 0; k < n_kw; k++)
        if ((rc = take_str(&c, &t->keywords[k], "keyword", k))) goto done;
    for (uint64_t u = 0; u < n_users; u++)
        if ((rc = take_str(&c, &t->dids[u], "did", u))) goto done;
    size_t mat = (size_t)n_users * n_kw * sizeof(float);
    if (c.n - c.off != mat) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': score matrix of %llu x %u floats needs %zu bytes at byte "
                     "%zu, the file has %zu before the checksum", path,
                     (unsigned long long)n_users, n_kw, mat, c.off, c.n - c.off);
        goto done;
    }
    if (stored != actual) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': checksum mismatch (stored %016llx, computed %016llx): "
                     "the file is corrupt", path, (unsigned long long)stored,
                     (unsigned long long)actual);
        goto done;
    }
    t->scores = tp_malloc(mat ? mat : 1);
    if (!t->scores) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    memcpy(t->scores, c.p + c.off, mat);
    *out = t;
    t = NULL;
done:
    tp_score_table_free(t);
    tp_free(data);
    fclose(fp);
    return rc;
}

// ---- Parquet ----

tp_status tp_score_table_write_parquet(const tp_score_table *t, const char *path) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    char name[1024];
    tp_status rc = tp_frame_new(&f);
    if (rc) return rc;
    if ((rc = tp_column_new("did", TP_DTYPE_STR, t->n_users, &c))) goto done;
    for (uint64_t u = 0; u < t->n_users; u++)
        if ((rc = tp_column_push_str(c, t->dids[u], strlen(t->dids[u])))) goto done;
    if ((rc = tp_frame_add_take(f, c))) goto done;
    c = NULL;
    for (uint32_t k = 0; k < t->n_keywords; k++) {
        snprintf(name, sizeof name, "kw_%s", t->keywords[k]);
        if ((rc = tp_column_new(name, TP_DTYPE_F32, t->n_users, &c))) goto done;
        if ((rc = tp_column_resize(c, t->n_users))) goto done;
        float *v = TP_COL(c, float);
        for (uint64_t u = 0; u < t->n_users; u++) v[u] = t->scores[u * t->n_keywords + k];
        if ((rc = tp_frame_add_take(f, c))) goto done;
        c = NULL;
    }
    rc = tp_pq_write_file(f, path, NULL);
done:
    tp_column_free(c);
    tp_frame_free(f);
    return rc;
}

tp_status tp_score_table_read_parquet(const char *path, tp_score_table **out) {
    tp_frame *f = NULL;
    tp_score_table *t = NULL;
    tp_status rc = tp_table_read(path, NULL, 0, &f);
    if (rc) return rc;
    tp_column *did = NULL;
    if ((rc = tp_frame_require(f, "did", path, &did))) goto done;
    if (!tp_dtype_is_string(tp_column_type(did))) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': column did must be a string", path);
        goto done;
    }
    size_t nc = tp_frame_n_cols(f), n = tp_frame_n_rows(f);
    t = tp_calloc(1, sizeof *t);
    if (!t || !(t->keywords = tp_calloc(nc, sizeof(char *))) ||
        !(t->dids = tp_calloc(n ? n : 1, sizeof(char *))) ||
        !(t->scores = tp_calloc(n * nc + 1, sizeof(float)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    t->n_users = n;
    for (size_t i = 0; i < n; i++) {
        if (tp_column_is_null(did, i)) {
            rc = tp_fail(TP_ERR_FORMAT, "'%s': column did, row %zu: null did", path, i);
            goto done;
        }
        if (!(t->dids[i] = tp_strdup(tp_column_get_str(did, i, NULL)))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
            goto done;
        }
    }
    uint32_t K = 0;
    for (size_t j = 0; j < nc; j++) {
        tp_column *c = tp_frame_col(f, j);
        const char *name = tp_column_name(c);
        if (strncmp(name, "kw_", 3) != 0) continue;
        tp_dtype ty = tp_column_type(c);
        if (ty != TP_DTYPE_F32 && ty != TP_DTYPE_F64) {
            rc = tp_fail(TP_ERR_FORMAT, "'%s': column %s must be float", path, name);
            goto done;
        }
        if (!(t->keywords[K] = tp_strdup(name + 3))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
            goto done;
        }
        K++;
    }
    t->n_keywords = K;
    uint32_t k = 0;
    for (size_t j = 0; j < nc; j++) {
        tp_column *c = tp_frame_col(f, j);
        if (strncmp(tp_column_name(c), "kw_", 3) != 0) continue;
        for (size_t i = 0; i < n; i++)
            t->scores[i * K + k] = tp_column_is_null(c, i) ? 0.0f : (float)tp_column_get_f64(c, i);
        k++;
    }
    *out = t;
    t = NULL;
done:
    tp_score_table_free(t);
    tp_frame_free(f);
    return rc;
}

tp_status tp_score_table_read(const char *path, tp_score_table **out) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/scores.tpsm", path);
        return tp_score_table_read_tpsm(p, out);
    }
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".tpsm")) return tp_score_table_read_tpsm(path, out);
    if (tp_format_of_path(path) != TP_FORMAT_UNKNOWN) return tp_score_table_read_parquet(path, out);
    return tp_fail(TP_ERR_ARG, "'%s': a score table is a .tpsm or .parquet file or a folder "
                   "holding scores.tpsm", path);
}
