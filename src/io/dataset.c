/* dataset.c: tables by path. A path is a Parquet or CSV/TSV file, or a folder of part files,
 * possibly Hive-partitioned (key=value/ folders, whose keys become string columns). A scan yields
 * one batch at a time (a Parquet row group, a whole CSV file) and keeps one string dictionary per
 * column across all batches, so codes are comparable for the whole scan. */
#include "touchpoint/io.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

tp_format tp_format_of_path(const char *path) {
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0) n -= 3;
    const char *dot = NULL;
    for (size_t i = n; i-- > 0;) {
        if (path[i] == '.') {
            dot = path + i;
            break;
        }
        if (path[i] == '/') break;
    }
    if (!dot) return TP_FORMAT_UNKNOWN;
    size_t el = (size_t)(path + n - dot);
    if (el == 8 && strncmp(dot, ".parquet", 8) == 0) return TP_FORMAT_PARQUET;
    if (el == 4 && strncmp(dot, ".pqt", 4) == 0) return TP_FORMAT_PARQUET;
    if (el == 4 && strncmp(dot, ".csv", 4) == 0) return TP_FORMAT_CSV;
    if (el == 4 && (strncmp(dot, ".tsv", 4) == 0 || strncmp(dot, ".tab", 4) == 0)) return TP_FORMAT_TSV;
    if (el == 4 && strncmp(dot, ".txt", 4) == 0) return TP_FORMAT_CSV;
    return TP_FORMAT_UNKNOWN;
}

// ---- part discovery ----

typedef struct part {
    char *path;
    char **keys, **values; /* Hive partition keys from the folders between the root and the file */
    size_t n_keys;
} part;

typedef struct part_list {
    part *items;
    size_t n, cap;
} part_list;

static void part_list_free(part_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        for (size_t k = 0; k < l->items[i].n_keys; k++) {
            tp_free(l->items[i].keys[k]);
            tp_free(l->items[i].values[k]);
        }
        tp_free(l->items[i].keys);
        tp_free(l->items[i].values);
        tp_free(l->items[i].path);
    }
    tp_free(l->items);
    memset(l, 0, sizeof *l);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Walk dir in sorted order; rel_keys carries the key=value pairs seen on the way down. */
static tp_status walk(const char *dir, char **keys, char **values, size_t n_keys, part_list *out) {
    DIR *d = opendir(dir);
    if (!d) return tp_fail(TP_ERR_IO, "cannot open folder '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    tp_status rc = TP_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_name[0] == '_') continue; /* hidden, _SUCCESS, _metadata */
        if ((rc = tp_grow((void **)&names, &cap, n + 1, sizeof *names)) != TP_OK) break;
        if (!(names[n] = tp_strdup(e->d_name))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory listing '%s'", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == TP_OK) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; rc == TP_OK && i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = tp_malloc(len);
        if (!path) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            rc = tp_fail(TP_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            char *eq = strchr(names[i], '=');
            if (eq && n_keys < 16) {
                char *k2[16], *v2[16];
                if (n_keys) memcpy(k2, keys, n_keys * sizeof *keys); // keys is NULL at the top level
                if (n_keys) memcpy(v2, values, n_keys * sizeof *values);
                *eq = 0;
                k2[n_keys] = names[i];
                v2[n_keys] = eq + 1;
                rc = walk(path, k2, v2, n_keys + 1, out);
                *eq = '=';
            } else {
                rc = walk(path, keys, values, n_keys, out);
            }
        } else if (tp_format_of_path(path) != TP_FORMAT_UNKNOWN) {
            if ((rc = tp_grow((void **)&out->items, &out->cap, out->n + 1, sizeof *out->items)) == TP_OK) {
                part *p = &out->items[out->n++];
                memset(p, 0, sizeof *p);
                p->path = path;
                path = NULL;
                p->n_keys = n_keys;
                p->keys = tp_calloc(n_keys + 1, sizeof *p->keys);
                p->values = tp_calloc(n_keys + 1, sizeof *p->values);
                if (!p->keys || !p->values) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                for (size_t k = 0; rc == TP_OK && k < n_keys; k++) {
                    p->keys[k] = tp_strdup(keys[k]);
                    p->values[k] = tp_strdup(values[k]);
                    if (!p->keys[k] || !p->values[k]) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                }
            }
        }
        tp_free(path);
    }
    for (size_t i = 0; i < n; i++) tp_free(names[i]);
    tp_free(names);
    return rc;
}

// ---- scan ----

struct tp_scan {
    char *root;
    part_list parts;
    size_t next_part;
    char **cols;           /* requested columns (NULL = all of the first part) */
    size_t n_cols;
    tp_pq_reader *pq;      /* the open Parquet part */
    size_t next_rg;
    tp_frame *pending;     /* a CSV part read whole */
    /* Scan-wide dictionaries, by output column name. */
    char **dict_names;
    tp_strdict **dicts;
    size_t n_dicts, dicts_cap;
    char **schema_names;   /* the first batch's column names and types, checked on later parts */
    tp_dtype *schema_types;
    size_t n_schema;
};

void tp_scan_close(tp_scan *s) {
    if (!s) return;
    tp_pq_close(s->pq);
    tp_frame_free(s->pending);
    part_list_free(&s->parts);
    for (size_t i = 0; i < s->n_cols; i++) tp_free(s->cols[i]);
    tp_free(s->cols);
    for (size_t i = 0; i < s->n_dicts; i++) {
        tp_free(s->dict_names[i]);
        tp_strdict_unref(s->dicts[i]);
    }
    tp_free(s->dict_names);
    tp_free(s->dicts);
    for (size_t i = 0; i < s->n_schema; i++) tp_free(s->schema_names[i]);
    tp_free(s->schema_names);
    tp_free(s->schema_types);
    tp_free(s->root);
    tp_free(s);
}

tp_status tp_scan_open(const char *path, const char *const *cols, size_t n_cols, tp_scan **out) {
    tp_scan *s = tp_calloc(1, sizeof *s);
    if (!s) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_status rc = TP_OK;
    s->root = tp_strdup(path);
    if (n_cols) {
        s->cols = tp_calloc(n_cols, sizeof *s->cols);
        if (!s->cols) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        for (size_t i = 0; rc == TP_OK && i < n_cols; i++, s->n_cols++)
            if (!(s->cols[i] = tp_strdup(cols[i]))) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    struct stat st;
    if (rc == TP_OK && stat(path, &st) != 0) rc = tp_fail(TP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (rc == TP_OK && S_ISDIR(st.st_mode)) {
        if ((rc = walk(path, NULL, NULL, 0, &s->parts)) == TP_OK && s->parts.n == 0)
            rc = tp_fail(TP_ERR_NOTFOUND, "folder '%s' has no .parquet, .csv or .tsv files", path);
    } else if (rc == TP_OK) {
        if ((rc = tp_grow((void **)&s->parts.items, &s->parts.cap, 1, sizeof *s->parts.items)) == TP_OK) {
            memset(&s->parts.items[0], 0, sizeof(part));
            s->parts.n = 1;
            if (!(s->parts.items[0].path = tp_strdup(path))) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        }
    }
    if (rc != TP_OK) {
        tp_scan_close(s);
        return rc;
    }
    *out = s;
    return TP_OK;
}

static bool is_parquet_file(const char *path) {
    tp_format f = tp_format_of_path(path);
    if (f == TP_FORMAT_PARQUET) return true;
    if (f != TP_FORMAT_UNKNOWN) return false;
    FILE *fp = fopen(path, "rb");
    char magic[4] = {0};
    if (fp) {
        if (fread(magic, 1, 4, fp) != 4) magic[0] = 0;
        fclose(fp);
    }
    return memcmp(magic, "PAR1", 4) == 0;
}

/* Columns of the current part to ask its reader for: the requested ones minus partition keys. */
static tp_status file_columns(const tp_scan *s, const part *p, const char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    if (!s->n_cols) return TP_OK;
    const char **v = tp_calloc(s->n_cols, sizeof *v);
    if (!v) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n_cols; i++) {
        bool is_key = false;
        for (size_t k = 0; k < p->n_keys; k++) is_key |= strcmp(p->keys[k], s->cols[i]) == 0;
        if (!is_key) v[(*n)++] = s->cols[i];
    }
    *names = v;
    return TP_OK;
}

static tp_status open_part(tp_scan *s, const part *p) {
    const char **names;
    size_t n;
    tp_status rc = file_columns(s, p, &names, &n);
    if (rc != TP_OK) return rc;
    if (is_parquet_file(p->path)) {
        if ((rc = tp_pq_open(p->path, &s->pq)) == TP_OK && s->n_cols) rc = tp_pq_select(s->pq, names, n);
        s->next_rg = 0;
    } else {
        tp_csv_opts o;
        tp_csv_opts_default(&o);
        if (tp_format_of_path(p->path) == TP_FORMAT_TSV) o.delimiter = '\t';
        o.columns = names;
        o.n_columns = n;
        rc = tp_csv_read_file(p->path, &o, &s->pending);
    }
    tp_free(names);
    return rc;
}

/* Give batch the scan-wide dictionary of each string column (re-interning when it differs),
 * append partition key columns, order columns as requested, and check the schema. */
static tp_status normalise(tp_scan *s, const part *p, tp_frame **batch) {
    tp_frame *f = *batch;
    size_t rows = tp_frame_n_rows(f);
    tp_status rc = TP_OK;
    for (size_t k = 0; k < p->n_keys && rc == TP_OK; k++) {
        if (tp_frame_find(f, p->keys[k])) continue; /* the file itself has the column: keep it */
        bool wanted = s->n_cols == 0;
        for (size_t i = 0; i < s->n_cols; i++) wanted |= strcmp(s->cols[i], p->keys[k]) == 0;
        if (!wanted) continue;
        tp_column *c;
        if ((rc = tp_column_new(p->keys[k], TP_DTYPE_STR, rows, &c)) != TP_OK) break;
        int32_t code = 0;
        if ((rc = tp_strdict_intern(tp_column_dict(c), p->values[k], strlen(p->values[k]), &code)) == TP_OK &&
            (rc = tp_column_resize(c, rows)) == TP_OK) {
            int32_t *d = TP_COL(c, int32_t);
            for (size_t r = 0; r < rows; r++) d[r] = code;
        }
        if (rc == TP_OK) rc = tp_frame_add_take(f, c);
        else tp_column_free(c);
    }
    if (rc != TP_OK) return rc;
    if (s->n_cols) { /* reorder to the requested order */
        tp_frame *g;
        if ((rc = tp_frame_new(&g)) != TP_OK) return rc;
        for (size_t i = 0; i < s->n_cols && rc == TP_OK; i++) {
            tp_column *c = NULL;
            for (size_t j = 0; j < tp_frame_n_cols(f); j++)
                if (strcmp(tp_column_name(tp_frame_col(f, j)), s->cols[i]) == 0) {
                    c = tp_frame_remove(f, j);
                    break;
                }
            if (!c) rc = tp_fail(TP_ERR_NOTFOUND, "'%s': no column '%s'", p->path, s->cols[i]);
            else rc = tp_frame_add_take(g, c);
        }
        if (rc != TP_OK) {
            tp_frame_free(g);
            return rc;
        }
        tp_frame_free(f);
        *batch = f = g;
    }
    /* Schema check against the first batch. */
    size_t nc = tp_frame_n_cols(f);
    if (!s->schema_names) {
        s->schema_names = tp_calloc(nc + 1, sizeof *s->schema_names);
        s->schema_types = tp_calloc(nc + 1, sizeof *s->schema_types);
        if (!s->schema_names || !s->schema_types) return tp_fail(TP_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < nc; i++) {
            if (!(s->schema_names[i] = tp_strdup(tp_column_name(tp_frame_col(f, i)))))
                return tp_fail(TP_ERR_NOMEM, "out of memory");
            s->schema_types[i] = tp_column_type(tp_frame_col(f, i));
            s->n_schema++;
        }
    } else {
        if (nc != s->n_schema)
            return tp_fail(TP_ERR_SHAPE, "'%s' has %zu columns but the first part of '%s' has %zu", p->path, nc,
                           s->root, s->n_schema);
        for (size_t i = 0; i < nc; i++) {
            const tp_column *c = tp_frame_col(f, i);
            if (strcmp(tp_column_name(c), s->schema_names[i]) != 0 || tp_column_type(c) != s->schema_types[i])
                return tp_fail(TP_ERR_SHAPE, "'%s': column %zu is '%s' (%s) but '%s' (%s) in the first part", p->path,
                               i, tp_column_name(c), tp_dtype_name(tp_column_type(c)), s->schema_names[i],
                               tp_dtype_name(s->schema_types[i]));
        }
    }
    /* Scan-wide dictionaries. */
    for (size_t i = 0; i < nc; i++) {
        tp_column *c = tp_frame_col(f, i);
        if (!tp_dtype_is_string(tp_column_type(c))) continue;
        size_t d = 0;
        while (d < s->n_dicts && strcmp(s->dict_names[d], tp_column_name(c)) != 0) d++;
        if (d == s->n_dicts) {
            size_t cap = s->dicts_cap;
            if ((rc = tp_grow((void **)&s->dicts, &s->dicts_cap, d + 1, sizeof *s->dicts)) != TP_OK) return rc;
            if ((rc = tp_grow((void **)&s->dict_names, &cap, d + 1, sizeof *s->dict_names)) != TP_OK) return rc;
            if (!(s->dict_names[d] = tp_strdup(tp_column_name(c)))) return tp_fail(TP_ERR_NOMEM, "out of memory");
            s->dicts[d] = tp_strdict_ref(tp_column_dict(c));
            s->n_dicts++;
            continue;
        }
        if (tp_column_dict(c) == s->dicts[d]) continue;
        tp_column *r;
        if ((rc = tp_column_new_dict(tp_column_name(c), tp_column_type(c), s->dicts[d], tp_column_len(c), &r)) != TP_OK)
            return rc;
        if ((rc = tp_column_append(r, c, 0, tp_column_len(c))) != TP_OK) {
            tp_column_free(r);
            return rc;
        }
        /* Swap r in at position i. */
        tp_frame *g;
        if ((rc = tp_frame_new(&g)) != TP_OK) {
            tp_column_free(r);
            return rc;
        }
        while (tp_frame_n_cols(f) && rc == TP_OK) {
            tp_column *x = tp_frame_remove(f, 0);
            if (tp_frame_n_cols(g) == i) {
                tp_column_free(x);
                rc = tp_frame_add_take(g, r);
                r = NULL;
            } else {
                rc = tp_frame_add_take(g, x);
            }
        }
        tp_column_free(r);
        tp_frame_free(f);
        *batch = f = g;
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

tp_status tp_scan_next(tp_scan *s, tp_frame **out) {
    *out = NULL;
    for (;;) {
        part *p = s->next_part ? &s->parts.items[s->next_part - 1] : NULL;
        tp_frame *batch = NULL;
        tp_status rc = TP_OK;
        if (s->pending) {
            batch = s->pending;
            s->pending = NULL;
        } else if (s->pq && s->next_rg < tp_pq_n_row_groups(s->pq)) {
            rc = tp_pq_read_row_group(s->pq, s->next_rg++, &batch);
        } else {
            tp_pq_close(s->pq);
            s->pq = NULL;
            if (s->next_part >= s->parts.n) return TP_OK; /* end */
            p = &s->parts.items[s->next_part++];
            if ((rc = open_part(s, p)) != TP_OK) return rc;
            continue;
        }
        if (rc != TP_OK) return rc;
        if ((rc = normalise(s, p, &batch)) != TP_OK) {
            tp_frame_free(batch);
            return rc;
        }
        *out = batch;
        return TP_OK;
    }
}

tp_status tp_table_read(const char *path, const char *const *cols, size_t n_cols, tp_frame **out) {
    tp_scan *s;
    tp_frame *all = NULL, *batch = NULL;
    tp_status rc = tp_scan_open(path, cols, n_cols, &s);
    if (rc != TP_OK) return rc;
    if ((rc = tp_frame_new(&all)) != TP_OK) goto done;
    while ((rc = tp_scan_next(s, &batch)) == TP_OK && batch) {
        rc = tp_frame_append(all, batch);
        tp_frame_free(batch);
        batch = NULL;
        if (rc != TP_OK) break;
    }
done:
    tp_scan_close(s);
    if (rc != TP_OK) {
        tp_frame_free(all);
        return rc;
    }
    *out = all;
    return TP_OK;
}

// ---- write ----

void tp_write_opts_default(tp_write_opts *o) {
    tp_pq_write_opts_default(&o->parquet);
    tp_csv_write_opts_default(&o->csv);
}

tp_status tp_table_write(const tp_frame *f, const char *path, const tp_write_opts *opts) {
    tp_write_opts def;
    if (!opts) {
        tp_write_opts_default(&def);
        opts = &def;
    }
    switch (tp_format_of_path(path)) {
    case TP_FORMAT_PARQUET: return tp_pq_write_file(f, path, &opts->parquet);
    case TP_FORMAT_CSV:
    case TP_FORMAT_TSV: {
        tp_csv_write_opts o = opts->csv;
        if (tp_format_of_path(path) == TP_FORMAT_TSV) o.delimiter = '\t';
        size_t n = strlen(path);
        if (n > 3 && strcmp(path + n - 3, ".gz") == 0) o.gzip = true;
        return tp_csv_write_file(f, path, &o);
    }
    default:
        return tp_fail(TP_ERR_ARG, "cannot tell the format of '%s' (use .parquet, .csv, .tsv or .csv.gz)", path);
    }
}
