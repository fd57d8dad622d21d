/* test_report.c: job 5 on hand-made frames. The campaign attention join and aggregation on a case
 * computed by hand (padding excluded, attention weighted by conversions, unjoined journeys left
 * out of the averages), the error paths of the join, HTML escaping, the credit chart having
 * exactly one bar per campaign x series, and the whole job through Parquet files. */
#include "test.h"
#include "touchpoint/io.h"
#include "touchpoint/report.h"

#include <stdlib.h>

// ---- fixtures ----

/* Campaigns a < b < c, L = 3.
 *   id 10 converted, length 4 (cut), kept a b a
 *   id 20 not converted, length 2, kept b c
 *   id 30 converted, length 1, kept c
 *   id 40 converted, length 2, kept a c   (never in the credit: must not count in averages) */
static tp_journeys *make_journeys(void) {
    tp_journeys *j = NULL;
    if (tp_journeys_alloc(4, 8, 3, false, &j) != TP_OK) return NULL;
    const char *names[3] = {"a", "b", "c"};
    for (int c = 0; c < 3; c++) j->campaigns[c] = tp_strdup(names[c]);
    int64_t ids[4] = {10, 20, 30, 40};
    uint8_t conv[4] = {1, 0, 1, 1};
    int32_t len[4] = {4, 2, 1, 2};
    uint64_t off[5] = {0, 3, 5, 6, 8};
    int32_t camp[8] = {0, 1, 0, 1, 2, 2, 0, 2};
    for (int i = 0; i < 4; i++) {
        j->journey_id[i] = ids[i];
        j->uid[i] = 100 + i;
        j->converted[i] = conv[i];
        j->length[i] = len[i];
    }
    for (int i = 0; i < 5; i++) j->off[i] = off[i];
    for (int t = 0; t < 8; t++) {
        j->campaign[t] = camp[t];
        j->seconds_to_end[t] = 10 * (8 - t);
    }
    j->max_len = 3;
    return j;
}

static tp_column *col_i64(const char *name, const int64_t *v, size_t n) {
    tp_column *c = NULL;
    if (tp_column_new(name, TP_DTYPE_I64, n, &c) != TP_OK) return NULL;
    for (size_t i = 0; i < n; i++) tp_column_push_i64(c, v[i]);
    return c;
}
static tp_column *col_i32(const char *name, const int32_t *v, size_t n) {
    tp_column *c = NULL;
    if (tp_column_new(name, TP_DTYPE_I32, n, &c) != TP_OK) return NULL;
    for (size_t i = 0; i < n; i++) tp_column_push_i32(c, v[i]);
    return c;
}
/* NaN in v means null. */
static tp_column *col_f64(const char *name, const double *v, size_t n) {
    tp_column *c = NULL;
    if (tp_column_new(name, TP_DTYPE_F64, n, &c) != TP_OK) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]))
            tp_column_push_null(c);
        else
            tp_column_push_f64(c, v[i]);
    }
    return c;
}
static tp_column *col_str(const char *name, const char *const *v, size_t n) {
    tp_column *c = NULL;
    if (tp_column_new(name, TP_DTYPE_STR, n, &c) != TP_OK) return NULL;
    for (size_t i = 0; i < n; i++) tp_column_push_str(c, v[i], strlen(v[i]));
    return c;
}

static tp_frame *touches_frame(const int64_t *id, const int32_t *idx, const char *const *camp,
                               const double *credit, size_t n) {
    tp_frame *f = NULL;
    tp_frame_new(&f);
    tp_frame_add_take(f, col_i64("journey_id", id, n));
    tp_frame_add_take(f, col_i32("index", idx, n));
    if (camp) tp_frame_add_take(f, col_str("campaign_nm", camp, n));
    tp_frame_add_take(f, col_f64("credit", credit, n));
    return f;
}

static tp_frame *credit_frame(const char *const *camp, const double *share, size_t n) {
    tp_frame *f = NULL;
    double conv[16];
    for (size_t i = 0; i < n; i++) conv[i] = 1000 * share[i];
    tp_frame_new(&f);
    tp_frame_add_take(f, col_str("campaign_nm", camp, n));
    tp_frame_add_take(f, col_f64("attributed_conversions", conv, n));
    tp_frame_add_take(f, col_f64("share", share, n));
    return f;
}

/* Row of campaign name in an attention frame, or -1. */
static long att_row(const tp_frame *f, const char *name) {
    tp_column *cn = tp_frame_find(f, "campaign_nm");
    for (size_t r = 0; r < tp_frame_n_rows(f); r++)
        if (strcmp(tp_column_get_str(cn, r, NULL), name) == 0) return (long)r;
    return -1;
}
static double att_get(const tp_frame *f, const char *name, const char *col) {
    long r = att_row(f, name);
    tp_column *c = tp_frame_find(f, col);
    if (r < 0 || !c) return NAN;
    return tp_column_get_f64(c, (size_t)r);
}

static size_t count_sub(const char *hay, const char *needle) {
    size_t n = 0, k = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)); p += k) n++;
    return n;
}

// ---- the join ----

static void test_scores_join(void) {
    tp_journeys *j = make_journeys();
    CHECK(j != NULL);
    /* rows out of journey order; padding positions carry junk that must be ignored */
    int64_t id[3] = {20, 10, 30};
    double a0[3] = {0.6, 0.5, 1.0}, a1[3] = {0.4, 0.2, 0.7}, a2[3] = {0.9, 0.3, NAN};
    tp_frame *f = NULL, *out = NULL;
    tp_frame_new(&f);
    tp_frame_add_take(f, col_i64("journey_id", id, 3));
    tp_frame_add_take(f, col_f64("attention_at_index_0", a0, 3));
    tp_frame_add_take(f, col_f64("attention_at_index_1", a1, 3));
    tp_frame_add_take(f, col_f64("attention_at_index_2", a2, 3));
    CHECK_OK(tp_report_attention_from_scores(j, f, "scores", &out));
    CHECK(out && tp_frame_n_rows(out) == 3);
    if (out && tp_frame_n_rows(out) == 3) {
        tp_column *cn = tp_frame_col(out, 0);
        CHECK_STR(tp_column_name(cn), "campaign_nm");
        CHECK_STR(tp_column_name(tp_frame_col(out, 1)), "total_attention");
        CHECK_STR(tp_column_name(tp_frame_col(out, 2)), "average_attention");
        CHECK_STR(tp_column_name(tp_frame_col(out, 3)), "attributed_conversions");
        CHECK_STR(tp_column_get_str(cn, 0, NULL), "a");
        CHECK_STR(tp_column_get_str(cn, 2, NULL), "c");
        /* a: 0.5 (10@0) + 0.3 (10@2) = 0.8 over 2 touches; journey 10 converted */
        CHECK_CLOSE(att_get(out, "a", "total_attention"), 0.8, 1e-12);
        CHECK_CLOSE(att_get(out, "a", "average_attention"), 0.4, 1e-12);
        CHECK_CLOSE(att_get(out, "a", "attributed_conversions"), 0.8, 1e-12);
        /* b: 0.2 (10@1, converted) + 0.6 (20@0, not converted) over 2 touches */
        CHECK_CLOSE(att_get(out, "b", "total_attention"), 0.8, 1e-12);
        CHECK_CLOSE(att_get(out, "b", "average_attention"), 0.4, 1e-12);
        CHECK_CLOSE(att_get(out, "b", "attributed_conversions"), 0.2, 1e-12);
        /* c: 0.4 (20@1) + 1.0 (30@0); 20@2 = 0.9 and 30@1 = 0.7 are padding; journey 40 unjoined */
        CHECK_CLOSE(att_get(out, "c", "total_attention"), 1.4, 1e-12);
        CHECK_CLOSE(att_get(out, "c", "average_attention"), 0.7, 1e-12);
        CHECK_CLOSE(att_get(out, "c", "attributed_conversions"), 1.0, 1e-12);
    }
    tp_frame_free(out);
    out = NULL;

    /* a journey listed twice */
    int64_t id2[3] = {20, 10, 20};
    tp_frame *g = NULL;
    tp_frame_new(&g);
    tp_frame_add_take(g, col_i64("journey_id", id2, 3));
    tp_frame_add_take(g, col_f64("attention_at_index_0", a0, 3));
    tp_frame_add_take(g, col_f64("attention_at_index_1", a1, 3));
    tp_frame_add_take(g, col_f64("attention_at_index_2", a2, 3));
    CHECK_STATUS(tp_report_attention_from_scores(j, g, "scores", &out), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "row 2") != NULL);
    tp_frame_free(g);

    /* scores narrower than a journey's kept touches (journey 10 keeps 3) */
    tp_frame *h = NULL;
    tp_frame_new(&h);
    tp_frame_add_take(h, col_i64("journey_id", id, 3));
    tp_frame_add_take(h, col_f64("attention_at_index_0", a0, 3));
    tp_frame_add_take(h, col_f64("attention_at_index_1", a1, 3));
    CHECK_STATUS(tp_report_attention_from_scores(j, h, "scores", &out), TP_ERR_SHAPE);
    tp_frame_free(h);

    /* no attention columns at all */
    tp_frame *e = NULL;
    tp_frame_new(&e);
    tp_frame_add_take(e, col_i64("journey_id", id, 3));
    CHECK_STATUS(tp_report_attention_from_scores(j, e, "scores", &out), TP_ERR_NOTFOUND);
    tp_frame_free(e);

    tp_frame_free(f);
    tp_journeys_free(j);
}

static void test_touches_join(void) {
    tp_journeys *j = make_journeys();
    tp_frame *out = NULL;
    /* index 5 of journey 10 is beyond its 3 kept touches: padding, excluded */
    int64_t id[5] = {10, 30, 10, 20, 10};
    int32_t idx[5] = {0, 0, 2, 1, 5};
    const char *camp[5] = {"a", "c", "a", "c", "zzz"};
    double credit[5] = {0.25, 1.0, 0.75, 0.0, 9.0};
    tp_frame *f = touches_frame(id, idx, camp, credit, 5);
    CHECK_OK(tp_report_attention_from_touches(j, f, "last_touches.parquet", &out));
    CHECK(out && tp_frame_n_rows(out) == 3);
    if (out) {
        /* joined journeys: 10, 20, 30. a: touches 2 (both in 10); b: 10@1 + 20@0; c: 20@1 + 30@0 */
        CHECK_CLOSE(att_get(out, "a", "total_attention"), 1.0, 1e-12);
        CHECK_CLOSE(att_get(out, "a", "average_attention"), 0.5, 1e-12);
        CHECK_CLOSE(att_get(out, "a", "attributed_conversions"), 1.0, 1e-12);
        CHECK_CLOSE(att_get(out, "b", "total_attention"), 0.0, 1e-12);
        CHECK_CLOSE(att_get(out, "b", "average_attention"), 0.0, 1e-12);
        CHECK_CLOSE(att_get(out, "c", "total_attention"), 1.0, 1e-12);
        CHECK_CLOSE(att_get(out, "c", "average_attention"), 0.5, 1e-12);
        CHECK_CLOSE(att_get(out, "c", "attributed_conversions"), 1.0, 1e-12);
    }
    tp_frame_free(out);
    out = NULL;
    tp_frame_free(f);

    /* credit on a non-converting journey counts in total but not in attributed conversions */
    int64_t id1[2] = {20, 20};
    int32_t idx1[2] = {0, 1};
    double cr1[2] = {0.3, 0.7};
    f = touches_frame(id1, idx1, NULL, cr1, 2);
    CHECK_OK(tp_report_attention_from_touches(j, f, NULL, &out));
    if (out) {
        CHECK(tp_frame_n_rows(out) == 2); /* only b and c occur in journey 20 */
        CHECK_CLOSE(att_get(out, "b", "total_attention"), 0.3, 1e-12);
        CHECK_CLOSE(att_get(out, "b", "attributed_conversions"), 0.0, 1e-12);
        CHECK(att_row(out, "a") == -1);
    }
    tp_frame_free(out);
    out = NULL;
    tp_frame_free(f);

    /* errors: unknown journey, duplicate touch, campaign that disagrees with the journeys */
    int64_t bad_id[2] = {10, 99};
    int32_t bad_idx[2] = {0, 0};
    const char *bad_camp[2] = {"a", "a"};
    double bad_cr[2] = {1, 1};
    f = touches_frame(bad_id, bad_idx, bad_camp, bad_cr, 2);
    CHECK_STATUS(tp_report_attention_from_touches(j, f, "t.parquet", &out), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "t.parquet") && strstr(tp_last_error(), "row 1") &&
          strstr(tp_last_error(), "99"));
    tp_frame_free(f);

    int64_t dup_id[2] = {10, 10};
    f = touches_frame(dup_id, bad_idx, bad_camp, bad_cr, 2);
    CHECK_STATUS(tp_report_attention_from_touches(j, f, "t.parquet", &out), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "twice") != NULL);
    tp_frame_free(f);

    int32_t mis_idx[2] = {0, 1}; /* 10@1 is b, not a */
    f = touches_frame(dup_id, mis_idx, bad_camp, bad_cr, 2);
    CHECK_STATUS(tp_report_attention_from_touches(j, f, "t.parquet", &out), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "campaign_nm") && strstr(tp_last_error(), "row 1"));
    tp_frame_free(f);

    tp_frame *g = NULL; /* missing column */
    tp_frame_new(&g);
    tp_frame_add_take(g, col_i64("journey_id", dup_id, 2));
    CHECK_STATUS(tp_report_attention_from_touches(j, g, "t.parquet", &out), TP_ERR_NOTFOUND);
    tp_frame_free(g);
    tp_journeys_free(j);
}

// ---- HTML ----

static void test_escape(void) {
    char *e = tp_report_html_escape("<a href=\"x\">&'y'</a>");
    CHECK_STR(e, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;y&#39;&lt;/a&gt;");
    tp_free(e);
    e = tp_report_html_escape("plain text \xC3\xA9");
    CHECK_STR(e, "plain text \xC3\xA9");
    tp_free(e);
    e = tp_report_html_escape("");
    CHECK_STR(e, "");
    tp_free(e);
}

static void test_html(void) {
    tp_journeys *j = make_journeys();
    const char *evil = "<script>alert('x')</script>";
    const char *camp[3] = {"a", evil, "c & d"};
    double s1[3] = {0.5, 0.3, 0.2}, s2[3] = {0.1, 0.0, 0.9};
    tp_frame *f1 = credit_frame(camp, s1, 3),
             *f2 = credit_frame(camp, s2, 2); /* m2 lacks "c & d" */
    tp_report_series series[2] = {{"last", f1}, {"m\"2<", f2}};
    tp_report_html_input in = {
        .title = "Report <b>&",
        .journeys_path = "/data/j<1>",
        .journeys = j,
        .series = series,
        .n_series = 2,
    };
    char *html = NULL;
    CHECK_OK(tp_report_html_render(&in, &html));
    if (html) {
        CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0);
        CHECK(strstr(html, "<script") == NULL);
        CHECK(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != NULL);
        CHECK(strstr(html, "Report &lt;b&gt;&amp;") != NULL);
        CHECK(strstr(html, "/data/j&lt;1&gt;") != NULL);
        CHECK(strstr(html, "m&quot;2&lt;") != NULL);
        CHECK(strstr(html, "c &amp; d") != NULL);
        CHECK(strstr(html, "http://") == NULL ||
              count_sub(html, "http://") ==
                  count_sub(html, "xmlns=\"http://www.w3.org/2000/svg\"")); /* no links out */
        /* one bar per campaign x method: 3 x 2, even where a method has no row for a campaign */
        CHECK(count_sub(html, "class=\"bar\"") == 6);
        CHECK(count_sub(html, "data-series=\"last\"") == 3);
        CHECK(count_sub(html, "data-series=\"m&quot;2&lt;\"") == 3);
        CHECK(count_sub(html, "data-campaign=\"c &amp; d\"") == 2);
        /* length histogram: lengths 1, 2, 4 (3 absent) -> 4 bins; rate points only where counted */
        CHECK(count_sub(html, "class=\"hbar\"") == 4);
        CHECK(count_sub(html, "class=\"pt\"") == 3);
        /* summary: 4 journeys, 3 conversions, 75.0% */
        CHECK(strstr(html, ">75.0%<") != NULL);
        /* journey 10 was cut at L = 3: a vertical dashed line after the third bin */
        CHECK(strstr(html, "last 3 touches") != NULL);
        const char *cut = strstr(html, "stroke-dasharray");
        while (cut && cut > html && strncmp(cut, "<line", 5) != 0) cut--;
        double x1 = -1, x2 = -2, y1 = 0, y2 = 0;
        CHECK(cut && sscanf(cut, "<line x1=\"%lf\" x2=\"%lf\" y1=\"%lf\" y2=\"%lf\"", &x1, &x2, &y1,
                            &y2) == 4);
        CHECK(x1 == x2 && y2 > y1);
        CHECK(strstr(html, "accuracy") == NULL); /* no truth, no error table */
    }
    tp_free(html);
    html = NULL;

    /* with the truth: its own series (3 more bars) and the error table, best first */
    tp_truth t = {0};
    char *tc[3] = {"a", (char *)evil, "c & d"};
    double ts[3] = {0.45, 0.35, 0.2}, ti[3] = {45, 35, 20};
    t.n = 3;
    t.names = tc;
    t.true_share = ts;
    t.incremental = ti;
    in.truth = &t;
    /* a big attention table to check number formatting */
    const char *ac[2] = {"a", "c & d"};
    double tot[2] = {1234567.25, 0.5}, avg[2] = {0.123456, 0.5}, att[2] = {9876.54, 0.04};
    tp_frame *af = NULL;
    tp_frame_new(&af);
    tp_frame_add_take(af, col_str("campaign_nm", ac, 2));
    tp_frame_add_take(af, col_f64("total_attention", tot, 2));
    tp_frame_add_take(af, col_f64("average_attention", avg, 2));
    tp_frame_add_take(af, col_f64("attributed_conversions", att, 2));
    in.attention = af;
    in.attention_source = "attention <scores>";
    CHECK_OK(tp_report_html_render(&in, &html));
    if (html) {
        CHECK(count_sub(html, "class=\"bar\"") == 9);
        CHECK(count_sub(html, "data-series=\"truth\"") == 3);
        CHECK(strstr(html, "id=\"accuracy\"") != NULL);
        /* TVD: last = (.05 + .05 + 0) / 2 = 5.0%; m2 = (.35 + .35 + .2) / 2 = 45.0% */
        const char *p_last = strstr(html, ">5.0%</td>"), *p_m2 = strstr(html, ">45.0%</td>");
        CHECK(p_last && p_m2 && p_last < p_m2);
        CHECK(strstr(html, "1,234,567.2") != NULL || strstr(html, "1,234,567.3") != NULL);
        CHECK(strstr(html, "9,876.5") != NULL);
        CHECK(strstr(html, "attention &lt;scores&gt;") != NULL);
    }
    tp_free(html);

    /* the file is written atomically and is the rendered page */
    const char *path = tp_test_path("report.html");
    CHECK_OK(tp_report_html_write(&in, path));
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (fp) {
        char head[16] = {0};
        CHECK(fread(head, 1, 15, fp) == 15);
        CHECK_STR(head, "<!DOCTYPE html>");
        fclose(fp);
    }
    tp_frame_free(af);
    tp_frame_free(f1);
    tp_frame_free(f2);
    tp_journeys_free(j);
}

/* Many campaigns: the chart keeps the largest max_campaigns, the table keeps all. */
static void test_html_many_campaigns(void) {
    tp_journeys *j = make_journeys();
    enum { N = 12 };
    char names[N][16];
    const char *camp[N];
    double share[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "k%02d", i);
        camp[i] = names[i];
        share[i] = (double)(i + 1) / 78.0;
    }
    tp_frame *f = credit_frame(camp, share, N);
    tp_report_series s = {"linear", f};
    tp_report_html_input in = {.journeys = j, .series = &s, .n_series = 1, .max_campaigns = 5};
    char *html = NULL;
    CHECK_OK(tp_report_html_render(&in, &html));
    if (html) {
        CHECK(count_sub(html, "class=\"bar\"") == 5);
        CHECK(strstr(html, "data-campaign=\"k11\"") != NULL); /* largest shown */
        CHECK(strstr(html, "data-campaign=\"k00\"") == NULL); /* smallest not drawn */
        CHECK(strstr(html, ">k00</td>") != NULL);             /* but in the table */
    }
    tp_free(html);
    tp_frame_free(f);
    tp_journeys_free(j);
}

/* No journeys and no credit: still a valid page, no division by zero. */
static void test_html_empty(void) {
    tp_journeys *j = NULL;
    CHECK_OK(tp_journeys_alloc(0, 0, 0, false, &j));
    if (!j) return;
    tp_report_html_input in = {.journeys = j};
    char *html = NULL;
    CHECK_OK(tp_report_html_render(&in, &html));
    if (html) {
        CHECK(strstr(html, "No credit tables") != NULL);
        /* no NaN or infinity printed as text or into an attribute */
        const char *bad[] = {">nan", ">-nan", "nan%", ">inf", "\"nan\"", "\"-nan\"", "\"inf\""};
        for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) CHECK(strstr(html, bad[k]) == NULL);
        CHECK(strstr(html, "</html>") != NULL);
    }
    tp_free(html);
    tp_journeys_free(j);
}

// ---- the whole job through files ----

/* The fixture journeys in the wide Parquet layout (what `touchpoint journeys` writes). */
static tp_status write_journeys(const tp_journeys *j, const char *path) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    tp_status rc = tp_frame_new(&f);
    char name[64];
    if (rc != TP_OK) return rc;
    tp_frame_add_take(f, col_i64("journey_id", j->journey_id, j->n));
    tp_frame_add_take(f, col_i64("uid", j->uid, j->n));
    tp_column_new("conversion_status", TP_DTYPE_BOOL, j->n, &c);
    for (size_t i = 0; i < j->n; i++) tp_column_push_bool(c, j->converted[i]);
    tp_frame_add_take(f, c);
    tp_frame_add_take(f, col_i32("journey_length", j->length, j->n));
    for (size_t p = 0; p < j->max_len; p++) {
        snprintf(name, sizeof name, "campaign_nm_at_index_%zu", p);
        tp_column_new(name, TP_DTYPE_STR, j->n, &c);
        for (size_t i = 0; i < j->n; i++) {
            uint64_t t = j->off[i] + p;
            if (t < j->off[i + 1]) {
                const char *s = j->campaigns[j->campaign[t]];
                tp_column_push_str(c, s, strlen(s));
            } else {
                tp_column_push_null(c);
            }
        }
        tp_frame_add_take(f, c);
    }
    for (size_t p = 0; p < j->max_len; p++) {
        snprintf(name, sizeof name, "seconds_to_end_at_index_%zu", p);
        tp_column_new(name, TP_DTYPE_I64, j->n, &c);
        for (size_t i = 0; i < j->n; i++) {
            uint64_t t = j->off[i] + p;
            if (t < j->off[i + 1])
                tp_column_push_i64(c, j->seconds_to_end[t]);
            else
                tp_column_push_null(c);
        }
        tp_frame_add_take(f, c);
    }
    rc = tp_table_write(f, path, NULL);
    tp_frame_free(f);
    return rc;
}

static void write_text(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    if (!fp) return;
    fputs(text, fp);
    fclose(fp);
}

static void test_run(void) {
    tp_journeys *j = make_journeys();
    char jdir[512], cdir[512], edir[512], out[512], scores[512], truth[512], p[600];
    snprintf(jdir, sizeof jdir, "%s", tp_test_path("run_journeys"));
    snprintf(cdir, sizeof cdir, "%s", tp_test_path("run_credit"));
    snprintf(edir, sizeof edir, "%s", tp_test_path("run_empty"));
    snprintf(out, sizeof out, "%s", tp_test_path("run_out"));
    snprintf(scores, sizeof scores, "%s", tp_test_path("attention_score.parquet"));
    snprintf(truth, sizeof truth, "%s", tp_test_path("run_truth.json"));
    CHECK_OK(tp_mkdirs(jdir));
    CHECK_OK(tp_mkdirs(cdir));
    CHECK_OK(tp_mkdirs(edir));
    snprintf(p, sizeof p, "%s/all.parquet", jdir);
    CHECK_OK(write_journeys(j, p));

    /* credit folder: last (with per-touch credit) and markov; other files are ignored */
    const char *camp[3] = {"a", "b", "c"};
    double last[3] = {0.5, 0.0, 0.5}, markov[3] = {0.25, 0.25, 0.5};
    tp_frame *f = credit_frame(camp, last, 3);
    snprintf(p, sizeof p, "%s/last.parquet", cdir);
    CHECK_OK(tp_table_write(f, p, NULL));
    tp_frame_free(f);
    f = credit_frame(camp, markov, 3);
    snprintf(p, sizeof p, "%s/markov.parquet", cdir);
    CHECK_OK(tp_table_write(f, p, NULL));
    snprintf(p, sizeof p, "%s/_scratch.parquet", cdir);
    CHECK_OK(tp_table_write(f, p, NULL));
    tp_frame_free(f);
    snprintf(p, sizeof p, "%s/notes.txt", cdir);
    write_text(p, "not a credit table\n");
    int64_t id[5] = {10, 30, 10, 20, 10};
    int32_t idx[5] = {0, 0, 2, 1, 5};
    const char *tc[5] = {"a", "c", "a", "c", "zzz"};
    double credit[5] = {0.25, 1.0, 0.75, 0.0, 9.0};
    f = touches_frame(id, idx, tc, credit, 5);
    snprintf(p, sizeof p, "%s/last_touches.parquet", cdir);
    CHECK_OK(tp_table_write(f, p, NULL));
    tp_frame_free(f);
    write_text(truth, "{\"campaigns\": [{\"name\": \"a\", \"true_share\": 0.5},"
                      " {\"name\": \"b\", \"true_share\": 0.25},"
                      " {\"name\": \"c\", \"true_share\": 0.25}]}");

    const char *credit_dirs[1] = {cdir};
    tp_report_opts o = {
        .journeys = jdir, .credit = credit_dirs, .n_credit = 1, .out_dir = out, .truth = truth};
    tp_report_result res;
    CHECK_OK(tp_report_run(&o, &res));
    CHECK(res.n_methods == 2);
    if (res.n_methods == 2) {
        CHECK_STR(res.methods[0], "last");
        CHECK_STR(res.methods[1], "markov");
        /* last: (0 + .25 + .25) / 2; markov: (.25 + 0 + .25) / 2 */
        CHECK(res.tvd != NULL);
        if (res.tvd) {
            CHECK_CLOSE(res.tvd[0], 0.25, 1e-12);
            CHECK_CLOSE(res.tvd[1], 0.25, 1e-12);
        }
    }
    CHECK_STR(res.attention_source, "per-touch credit of method 'last'");
    tp_frame *att = NULL;
    if (res.attention_path) CHECK_OK(tp_table_read(res.attention_path, NULL, 0, &att));
    CHECK(att && tp_frame_n_rows(att) == 3 && tp_frame_n_cols(att) == 4);
    if (att) {
        CHECK_CLOSE(att_get(att, "a", "total_attention"), 1.0, 1e-12);
        CHECK_CLOSE(att_get(att, "a", "average_attention"), 0.5, 1e-12);
        CHECK_CLOSE(att_get(att, "c", "attributed_conversions"), 1.0, 1e-12);
    }
    tp_frame_free(att);
    att = NULL;
    FILE *fp = res.html_path ? fopen(res.html_path, "rb") : NULL;
    CHECK(fp != NULL);
    if (fp) {
        static char html[1 << 20];
        size_t n = fread(html, 1, sizeof html - 1, fp);
        html[n] = 0;
        fclose(fp);
        CHECK(count_sub(html, "class=\"bar\"") == 9); /* (truth + 2 methods) x 3 campaigns */
        CHECK(strstr(html, "_scratch") == NULL);
    }
    tp_report_result_clear(&res);

    /* the model's attention scores: their own series, and the attention table from them */
    int64_t sid[3] = {20, 10, 30};
    double a0[3] = {0.6, 0.5, 1.0}, a1[3] = {0.4, 0.2, 0.7}, a2[3] = {0.9, 0.3, NAN};
    tp_frame_new(&f);
    tp_frame_add_take(f, col_i64("journey_id", sid, 3));
    tp_frame_add_take(f, col_f64("attention_at_index_0", a0, 3));
    tp_frame_add_take(f, col_f64("attention_at_index_1", a1, 3));
    tp_frame_add_take(f, col_f64("attention_at_index_2", a2, 3));
    CHECK_OK(tp_table_write(f, scores, NULL));
    tp_frame_free(f);
    o.attention = scores;
    o.truth = NULL;
    CHECK_OK(tp_report_run(&o, &res));
    CHECK(res.n_methods == 3 && res.tvd == NULL);
    if (res.n_methods == 3) CHECK_STR(res.methods[2], "attention");
    CHECK_STR(res.attention_source, "attention scores");
    if (res.attention_path) CHECK_OK(tp_table_read(res.attention_path, NULL, 0, &att));
    if (att) {
        CHECK_CLOSE(att_get(att, "c", "total_attention"), 1.4, 1e-12);
        CHECK_CLOSE(att_get(att, "b", "attributed_conversions"), 0.2, 1e-12);
    }
    tp_frame_free(att);
    tp_report_result_clear(&res);

    /* errors: a method without per-touch credit, both sources, no credit at all, a method twice */
    o.attention = NULL;
    o.attention_method = "markov";
    CHECK_STATUS(tp_report_run(&o, &res), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "markov_touches.parquet") != NULL);
    o.attention = scores;
    CHECK_STATUS(tp_report_run(&o, &res), TP_ERR_ARG);
    o.attention = NULL;
    o.attention_method = NULL;
    const char *empty[1] = {edir};
    o.credit = empty;
    CHECK_STATUS(tp_report_run(&o, &res), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "run_empty") != NULL);
    snprintf(p, sizeof p, "%s/last.parquet", cdir);
    const char *twice[2] = {cdir, p};
    o.credit = twice;
    o.n_credit = 2;
    CHECK_STATUS(tp_report_run(&o, &res), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "'last'") != NULL);
    tp_journeys_free(j);
}

void suite_report(void) {
    test_scores_join();
    test_touches_join();
    test_escape();
    test_html();
    test_html_many_campaigns();
    test_html_empty();
    test_run();
}
