/* parquet_inspect.c: human-readable Parquet metadata, as parquet-tools shows it: schema with the
 * dtype each column reads as, row groups, and per column chunk the codec, encodings, sizes and
 * statistics decoded to readable values (numbers, strings, timestamps) rather than raw bytes. */
#include "io/parquet_internal.h"

#include <math.h>
#include <string.h>

static void put_escaped(FILE *fp, const uint8_t *p, size_t n, bool text) {
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '"' || ch == '\\') fprintf(fp, "\\%c", ch);
        else if (ch >= 32 && ch < 127) fputc(ch, fp);
        else if (text && ch >= 0x80) fputc(ch, fp); // UTF-8 passes through in text columns
        else fprintf(fp, "\\x%02X", ch);
    }
    fputc('"', fp);
}

static void put_time(FILE *fp, int64_t v, int64_t per_s, int digits) {
    int64_t per_day = 86400 * per_s;
    int64_t d = v / per_day - ((v % per_day) < 0);
    int64_t rem = v - d * per_day;
    int y, m, dd;
    tp_days_to_civil(d, &y, &m, &dd);
    int64_t s = rem / per_s, frac = rem % per_s;
    fprintf(fp, "%04d-%02d-%02d %02d:%02d:%02d", y, m, dd, (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    if (frac) fprintf(fp, ".%0*lld", digits, (long long)frac);
}

/* One statistics value of a column, decoded by its physical and logical type. */
static void put_stat(FILE *fp, const pq_schema_elem *e, const pq_bytes *b) {
    char buf[64];
    bool dec = e->logical == PQ_LT_DECIMAL || (e->logical == 0 && e->converted == PQ_CT_DECIMAL);
    int scale = e->logical == PQ_LT_DECIMAL ? e->lt_scale : e->scale;
    double div = 1;
    for (int k = 0; k < scale && k < 40; k++) div *= 10;
    switch (e->type) {
    case PQ_BOOLEAN:
        if (b->len >= 1) {
            fputs(b->p[0] ? "true" : "false", fp);
            return;
        }
        break;
    case PQ_INT32:
        if (b->len == 4) {
            int32_t v;
            memcpy(&v, b->p, 4);
            if (dec) {
                tp_format_f64(v / div, buf);
                fputs(buf, fp);
            } else if (e->logical == PQ_LT_DATE || (e->logical == 0 && e->converted == PQ_CT_DATE)) {
                int y, m, d;
                tp_days_to_civil(v, &y, &m, &d);
                fprintf(fp, "%04d-%02d-%02d", y, m, d);
            } else if (e->converted == PQ_CT_UINT_32 || (e->logical == PQ_LT_INTEGER && !e->lt_signed))
                fprintf(fp, "%u", (uint32_t)v);
            else fprintf(fp, "%d", v);
            return;
        }
        break;
    case PQ_INT64:
        if (b->len == 8) {
            int64_t v;
            memcpy(&v, b->p, 8);
            int unit = e->logical == PQ_LT_TIMESTAMP ? e->lt_unit
                       : e->converted == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS
                       : e->converted == PQ_CT_TIMESTAMP_MICROS ? PQ_UNIT_MICROS : 0;
            if (dec) {
                tp_format_f64((double)v / div, buf);
                fputs(buf, fp);
            } else if (unit == PQ_UNIT_MILLIS) put_time(fp, v, 1000, 3);
            else if (unit == PQ_UNIT_MICROS) put_time(fp, v, 1000000, 6);
            else if (unit == PQ_UNIT_NANOS) put_time(fp, v, 1000000000, 9);
            else if (e->converted == PQ_CT_UINT_64 || (e->logical == PQ_LT_INTEGER && !e->lt_signed))
                fprintf(fp, "%llu", (unsigned long long)v);
            else fprintf(fp, "%lld", (long long)v);
            return;
        }
        break;
    case PQ_INT96:
        if (b->len == 12) {
            int64_t ns;
            int32_t jd;
            memcpy(&ns, b->p, 8);
            memcpy(&jd, b->p + 8, 4);
            put_time(fp, (int64_t)((uint64_t)((int64_t)jd - 2440588) * 86400000000ull + (uint64_t)(ns / 1000)),
                     1000000, 6);
            return;
        }
        break;
    case PQ_FLOAT:
        if (b->len == 4) {
            float v;
            memcpy(&v, b->p, 4);
            tp_format_f32(v, buf);
            fputs(buf, fp);
            return;
        }
        break;
    case PQ_DOUBLE:
        if (b->len == 8) {
            double v;
            memcpy(&v, b->p, 8);
            tp_format_f64(v, buf);
            fputs(buf, fp);
            return;
        }
        break;
    case PQ_BYTE_ARRAY:
    case PQ_FLBA:
        if (e->logical == PQ_LT_FLOAT16 && b->len == 2) {
            uint16_t h = (uint16_t)(b->p[0] | b->p[1] << 8);
            int ex = (h >> 10) & 0x1f, mant = h & 0x3ff;
            double v = ex == 0 ? ldexp(mant, -24) : ex == 31 ? (mant ? NAN : INFINITY) : ldexp(mant | 0x400, ex - 25);
            tp_format_f64(h >> 15 ? -v : v, buf);
            fputs(buf, fp);
            return;
        }
        if (dec && b->len <= 8) {
            uint64_t u = b->len && (b->p[0] & 0x80) ? ~0ull : 0;
            for (uint32_t k = 0; k < b->len; k++) u = u << 8 | b->p[k];
            tp_format_f64((double)(int64_t)u / div, buf);
            fputs(buf, fp);
            return;
        }
        {
            bool text = e->logical == PQ_LT_STRING || e->logical == PQ_LT_ENUM || e->logical == PQ_LT_JSON ||
                        e->converted == PQ_CT_UTF8 || e->converted == PQ_CT_ENUM || e->converted == PQ_CT_JSON;
            size_t n = b->len > 64 ? 64 : b->len;
            put_escaped(fp, b->p, n, text);
            if (n < b->len) fprintf(fp, "...(%u bytes)", b->len);
            return;
        }
    }
    fprintf(fp, "<%u bytes>", b->len);
}

static void put_stats(FILE *fp, const pq_schema_elem *e, const pq_stats *s) {
    bool any = false;
    fputs("      statistics: ", fp);
    if (s->has_min && e) {
        fputs("min ", fp);
        put_stat(fp, e, &s->min);
        any = true;
    }
    if (s->has_max && e) {
        fputs(any ? ", max " : "max ", fp);
        put_stat(fp, e, &s->max);
        any = true;
    }
    if (s->has_null_count) {
        fprintf(fp, "%snulls %lld", any ? ", " : "", (long long)s->null_count);
        any = true;
    }
    if (s->has_distinct_count) {
        fprintf(fp, "%sdistinct %lld", any ? ", " : "", (long long)s->distinct_count);
        any = true;
    }
    if (s->legacy) fputs(" (legacy min/max fields)", fp);
    if (!any) fputs("none", fp);
    fputc('\n', fp);
}

static const char *codec_upper(int c) {
    static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
    return c >= 0 && c < 8 ? names[c] : "?";
}

static const char *unit_name(int u) {
    return u == PQ_UNIT_MILLIS ? "millis" : u == PQ_UNIT_MICROS ? "micros" : u == PQ_UNIT_NANOS ? "nanos" : "?";
}

tp_status tp_pq_inspect(const char *path, FILE *fp) {
    tp_pq_reader *r = NULL;
    tp_status rc = tp_pq_open(path, &r);
    if (rc != TP_OK) return rc;
    const pq_file_meta *m = tp_pq_meta(r);
    fprintf(fp, "file: %s\n", path);
    fprintf(fp, "created by: %s\n", m->created_by ? m->created_by : "(unknown)");
    fprintf(fp, "format version: %d\n", m->version);
    fprintf(fp, "rows: %lld\n", (long long)m->num_rows);
    fprintf(fp, "row groups: %u\n", m->n_row_groups);
    fprintf(fp, "columns: %zu\n", tp_pq_n_columns(r));
    fputs("schema:\n", fp);
    // the schema tree, indented by depth
    int depth_left[80] = {0};
    int depth = 0;
    const pq_schema_elem **leaves = tp_calloc(m->n_schema + 1, sizeof *leaves);
    size_t n_leaves = 0;
    if (!leaves) {
        tp_pq_close(r);
        return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < m->n_schema; i++) {
        const pq_schema_elem *e = &m->schema[i];
        if (i > 0) {
            fprintf(fp, "%*s%s", 2 * depth, "", e->name);
            if (e->num_children > 0) fprintf(fp, " (group, %d fields)", e->num_children);
            else fprintf(fp, ": %s", tp_pq_type_name(e->type));
            if (e->type == PQ_FLBA) fprintf(fp, "(%d)", e->type_length);
            if (e->logical) {
                fprintf(fp, " %s", tp_pq_logical_name(e->logical));
                if (e->logical == PQ_LT_DECIMAL) fprintf(fp, "(%d,%d)", e->lt_precision, e->lt_scale);
                if (e->logical == PQ_LT_TIMESTAMP || e->logical == PQ_LT_TIME)
                    fprintf(fp, "(%s%s)", unit_name(e->lt_unit), e->lt_utc ? ", UTC" : "");
                if (e->logical == PQ_LT_INTEGER) fprintf(fp, "(%d, %s)", e->lt_bits, e->lt_signed ? "signed" : "unsigned");
            } else if (e->converted >= 0) {
                fprintf(fp, " %s", tp_pq_converted_name(e->converted));
                if (e->converted == PQ_CT_DECIMAL) fprintf(fp, "(%d,%d)", e->precision, e->scale);
            }
            fprintf(fp, " %s", e->repetition == 0 ? "required" : e->repetition == 1 ? "optional" : e->repetition == 2 ? "repeated" : "");
            if (depth == 1) {
                for (size_t c = 0; c < tp_pq_n_columns(r); c++) {
                    if (strcmp(tp_pq_column_name(r, c), e->name) != 0) continue;
                    tp_dtype t;
                    tp_time_unit u;
                    if (tp_pq_column_type(r, c, &t, &u) == TP_OK) {
                        fprintf(fp, " -> %s", tp_dtype_name(t));
                        if (t == TP_DTYPE_TIMESTAMP)
                            fprintf(fp, "[%s]", u == TP_UNIT_MILLIS ? "ms" : u == TP_UNIT_MICROS ? "us" : u == TP_UNIT_NANOS ? "ns" : "s");
                    } else fputs(" -> (nested: not readable)", fp);
                    break;
                }
            }
            fputc('\n', fp);
            if (e->num_children == 0) leaves[n_leaves++] = e;
        }
        // maintain the depth stack
        if (e->num_children > 0 && depth < 79) depth_left[++depth] = e->num_children;
        else {
            while (depth > 0 && --depth_left[depth] == 0) depth--;
        }
    }
    for (uint32_t g = 0; g < m->n_row_groups; g++) {
        const pq_row_group *rg = &m->row_groups[g];
        fprintf(fp, "row group %u: %lld rows, %lld bytes uncompressed", g, (long long)rg->num_rows,
                (long long)rg->total_byte_size);
        if (rg->total_compressed_size) fprintf(fp, ", %lld compressed", (long long)rg->total_compressed_size);
        fputc('\n', fp);
        for (uint32_t k = 0; k < rg->n_columns; k++) {
            const pq_column_meta *cm = &rg->columns[k];
            fprintf(fp, "  column '%s':", cm->path ? cm->path : "?");
            if (!cm->present) {
                fputs(" (no metadata)\n", fp);
                continue;
            }
            fprintf(fp, " %s, codec %s, %lld values, %lld bytes compressed, %lld uncompressed\n", tp_pq_type_name(cm->type),
                    codec_upper(cm->codec),
                    (long long)cm->num_values, (long long)cm->total_compressed, (long long)cm->total_uncompressed);
            fputs("      encodings:", fp);
            for (uint32_t e = 0; e < cm->n_encodings; e++) fprintf(fp, " %s", tp_pq_encoding_name(cm->encodings[e]));
            fprintf(fp, "\n      data page offset %lld", (long long)cm->data_page_offset);
            if (cm->has_dictionary_page_offset) fprintf(fp, ", dictionary page offset %lld", (long long)cm->dictionary_page_offset);
            fputc('\n', fp);
            if (cm->has_stats) put_stats(fp, k < n_leaves ? leaves[k] : NULL, &cm->stats);
        }
    }
    if (m->n_kv) {
        fputs("key/value metadata:\n", fp);
        for (uint32_t i = 0; i < m->n_kv; i++) {
            const char *v = m->kv[i].value ? m->kv[i].value : "";
            size_t l = strlen(v);
            fprintf(fp, "  %s: %.*s%s\n", m->kv[i].key ? m->kv[i].key : "?", (int)(l > 120 ? 120 : l), v,
                    l > 120 ? "..." : "");
        }
    }
    tp_free(leaves);
    tp_pq_close(r);
    return ferror(fp) ? tp_fail(TP_ERR_IO, "writing the description of '%s' failed", path) : TP_OK;
}
