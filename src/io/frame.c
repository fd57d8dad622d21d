/* frame.c: a frame is an ordered list of owned columns of equal length, looked up by name. */
#include "touchpoint/table.h"

#include <string.h>

struct tp_frame {
    tp_column **cols;
    size_t n_cols, cap;
    size_t n_rows;
};

tp_status tp_frame_new(tp_frame **out) {
    tp_frame *f = tp_calloc(1, sizeof *f);
    if (!f) return tp_fail(TP_ERR_NOMEM, "out of memory allocating a frame");
    *out = f;
    return TP_OK;
}

void tp_frame_free(tp_frame *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_cols; i++) tp_column_free(f->cols[i]);
    tp_free(f->cols);
    tp_free(f);
}

size_t tp_frame_n_rows(const tp_frame *f) { return f->n_cols ? tp_column_len(f->cols[0]) : f->n_rows; }
size_t tp_frame_n_cols(const tp_frame *f) { return f->n_cols; }

tp_column *tp_frame_col(const tp_frame *f, size_t i) {
    TP_ASSERT(i < f->n_cols);
    return f->cols[i];
}

tp_column *tp_frame_find(const tp_frame *f, const char *name) {
    for (size_t i = 0; i < f->n_cols; i++)
        if (strcmp(tp_column_name(f->cols[i]), name) == 0) return f->cols[i];
    return NULL;
}

tp_status tp_frame_require(const tp_frame *f, const char *name, const char *source, tp_column **out) {
    tp_column *c = tp_frame_find(f, name);
    if (!c) {
        char have[512];
        size_t n = 0;
        have[0] = 0;
        for (size_t i = 0; i < f->n_cols && n < sizeof have - 64; i++)
            n += (size_t)snprintf(have + n, sizeof have - n, "%s%s", i ? ", " : "", tp_column_name(f->cols[i]));
        return tp_fail(TP_ERR_NOTFOUND, "%s%s%sno column '%s' (columns: %s)", source ? "'" : "",
                       source ? source : "", source ? "': " : "", name, have);
    }
    *out = c;
    return TP_OK;
}

tp_status tp_frame_add_take(tp_frame *f, tp_column *c) {
    if (tp_frame_find(f, tp_column_name(c))) {
        tp_status rc = tp_fail(TP_ERR_ARG, "duplicate column name '%s'", tp_column_name(c));
        tp_column_free(c);
        return rc;
    }
    if (f->n_cols && tp_column_len(c) != tp_frame_n_rows(f)) {
        tp_status rc = tp_fail(TP_ERR_SHAPE, "column '%s' has %zu rows, the frame has %zu", tp_column_name(c),
                               tp_column_len(c), tp_frame_n_rows(f));
        tp_column_free(c);
        return rc;
    }
    tp_status rc = tp_grow((void **)&f->cols, &f->cap, f->n_cols + 1, sizeof *f->cols);
    if (rc != TP_OK) {
        tp_column_free(c);
        return rc;
    }
    f->cols[f->n_cols++] = c;
    f->n_rows = tp_column_len(c);
    return TP_OK;
}

tp_column *tp_frame_remove(tp_frame *f, size_t i) {
    TP_ASSERT(i < f->n_cols);
    tp_column *c = f->cols[i];
    memmove(f->cols + i, f->cols + i + 1, (f->n_cols - i - 1) * sizeof *f->cols);
    f->n_cols--;
    return c;
}

static tp_status copy_column(const tp_column *src, tp_column **out) {
    tp_column *c;
    tp_status rc = tp_column_new_dict(tp_column_name(src), tp_column_type(src), tp_column_dict(src),
                                      tp_column_len(src), &c);
    if (rc != TP_OK) return rc;
    tp_column_set_unit(c, tp_column_unit(src));
    if ((rc = tp_column_append(c, src, 0, tp_column_len(src))) != TP_OK) {
        tp_column_free(c);
        return rc;
    }
    *out = c;
    return TP_OK;
}

tp_status tp_frame_project(const tp_frame *f, const char *const *names, size_t n, tp_frame **out) {
    tp_frame *g = NULL;
    tp_status rc = tp_frame_new(&g);
    for (size_t i = 0; rc == TP_OK && i < n; i++) {
        tp_column *src = NULL, *c;
        if ((rc = tp_frame_require(f, names[i], NULL, &src)) != TP_OK) break;
        if ((rc = copy_column(src, &c)) != TP_OK) break;
        rc = tp_frame_add_take(g, c);
    }
    if (rc != TP_OK) {
        tp_frame_free(g);
        return rc;
    }
    *out = g;
    return TP_OK;
}

tp_status tp_frame_clone(const tp_frame *f, tp_frame **out) {
    tp_frame *g = NULL;
    tp_status rc = tp_frame_new(&g);
    for (size_t i = 0; rc == TP_OK && i < f->n_cols; i++) {
        tp_column *c;
        if ((rc = copy_column(f->cols[i], &c)) == TP_OK) rc = tp_frame_add_take(g, c);
    }
    if (rc != TP_OK) {
        tp_frame_free(g);
        return rc;
    }
    g->n_rows = tp_frame_n_rows(f);
    *out = g;
    return TP_OK;
}

tp_status tp_frame_append(tp_frame *dst, const tp_frame *src) {
    if (dst->n_cols == 0) {
        for (size_t i = 0; i < src->n_cols; i++) {
            tp_column *c;
            tp_status rc = tp_column_new_dict(tp_column_name(src->cols[i]), tp_column_type(src->cols[i]),
                                              tp_column_dict(src->cols[i]), 16, &c);
            if (rc != TP_OK) return rc;
            tp_column_set_unit(c, tp_column_unit(src->cols[i]));
            if ((rc = tp_frame_add_take(dst, c)) != TP_OK) return rc;
        }
    }
    if (dst->n_cols != src->n_cols)
        return tp_fail(TP_ERR_SHAPE, "appending a frame of %zu columns to one of %zu", src->n_cols, dst->n_cols);
    for (size_t i = 0; i < src->n_cols; i++)
        if (strcmp(tp_column_name(dst->cols[i]), tp_column_name(src->cols[i])) != 0)
            return tp_fail(TP_ERR_SHAPE, "column %zu is '%s' in one part and '%s' in another", i,
                           tp_column_name(dst->cols[i]), tp_column_name(src->cols[i]));
    for (size_t i = 0; i < src->n_cols; i++) {
        tp_status rc = tp_column_append(dst->cols[i], src->cols[i], 0, tp_column_len(src->cols[i]));
        if (rc != TP_OK) return rc;
    }
    dst->n_rows = tp_frame_n_rows(dst);
    return TP_OK;
}

tp_status tp_frame_take(const tp_frame *f, const uint32_t *idx, size_t n, tp_frame **out) {
    tp_frame *g = NULL;
    tp_status rc = tp_frame_new(&g);
    for (size_t i = 0; rc == TP_OK && i < f->n_cols; i++) {
        tp_column *c;
        if ((rc = tp_column_take(f->cols[i], idx, n, &c)) == TP_OK) rc = tp_frame_add_take(g, c);
    }
    if (rc != TP_OK) {
        tp_frame_free(g);
        return rc;
    }
    g->n_rows = n;
    *out = g;
    return TP_OK;
}

tp_status tp_frame_validate(const tp_frame *f) {
    for (size_t i = 1; i < f->n_cols; i++)
        if (tp_column_len(f->cols[i]) != tp_column_len(f->cols[0]))
            return tp_fail(TP_ERR_SHAPE, "column '%s' has %zu rows but '%s' has %zu", tp_column_name(f->cols[i]),
                           tp_column_len(f->cols[i]), tp_column_name(f->cols[0]), tp_column_len(f->cols[0]));
    return TP_OK;
}
