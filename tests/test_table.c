/* test_table.c: columns, string dictionaries, null bitmaps, frames (append, take, project) and
 * value formatting (shortest round-trip floats, timestamps, dates). */
#include "test.h"
#include "touchpoint/table.h"

#include <stdlib.h>

static void test_strdict(void) {
    tp_strdict *d;
    CHECK_OK(tp_strdict_new(&d));
    int32_t a, b, a2, e;
    CHECK_OK(tp_strdict_intern(d, "alpha", 5, &a));
    CHECK_OK(tp_strdict_intern(d, "beta", 4, &b));
    CHECK_OK(tp_strdict_intern(d, "alpha", 5, &a2));
    CHECK_OK(tp_strdict_intern(d, "", 0, &e));
    CHECK(a == 0 && b == 1 && a2 == 0 && e == 2);
    CHECK(tp_strdict_size(d) == 3);
    CHECK(tp_strdict_find(d, "beta", 4) == 1);
    CHECK(tp_strdict_find(d, "gamma", 5) == -1);
    size_t len;
    CHECK_STR(tp_strdict_get(d, 1, &len), "beta");
    CHECK(len == 4);
    /* Many strings force rehashing; codes stay dense and stable. Embedded NULs are kept. */
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, "s%d", i);
        int32_t c;
        CHECK_OK(tp_strdict_intern(d, buf, (size_t)n, &c));
        if (c != i + 3) {
            CHECK(c == i + 3);
            break;
        }
    }
    int32_t z1, z2;
    CHECK_OK(tp_strdict_intern(d, "a\0b", 3, &z1));
    CHECK_OK(tp_strdict_intern(d, "a\0c", 3, &z2));
    CHECK(z1 != z2);
    CHECK(tp_strdict_find(d, "s77777", 6) == 77780);
    tp_strdict_unref(d);
}

static void test_column_basics(void) {
    tp_column *c;
    CHECK_OK(tp_column_new("x", TP_DTYPE_I64, 0, &c));
    for (int64_t i = 0; i < 1000; i++) {
        if (i % 7 == 3) CHECK_OK(tp_column_push_null(c));
        else CHECK_OK(tp_column_push_i64(c, i * 1000000007LL));
    }
    CHECK(tp_column_len(c) == 1000);
    CHECK(tp_column_null_count(c) == 143);
    CHECK(tp_column_is_null(c, 3) && !tp_column_is_null(c, 4));
    CHECK(tp_column_get_i64(c, 999) == 999 * 1000000007LL);
    CHECK_OK(tp_column_set_null(c, 3, false));
    CHECK(tp_column_null_count(c) == 142);
    CHECK_OK(tp_column_resize(c, 10));
    CHECK(tp_column_null_count(c) == 0); /* row 3 is present again; the next null (row 10) is cut off */
    CHECK_OK(tp_column_resize(c, 20));
    CHECK(!tp_column_is_null(c, 17) && tp_column_get_i64(c, 17) == 0);

    uint32_t idx[3] = {9, 0, 9};
    tp_column *t;
    CHECK_OK(tp_column_take(c, idx, 3, &t));
    CHECK(tp_column_len(t) == 3 && tp_column_get_i64(t, 0) == 9 * 1000000007LL && tp_column_get_i64(t, 1) == 0);
    tp_column_free(t);
    tp_column_free(c);
}

static void test_strings_across_dicts(void) {
    tp_column *a, *b;
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_STR, 0, &a));
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_STR, 0, &b));
    CHECK_OK(tp_column_push_str(a, "x", 1));
    CHECK_OK(tp_column_push_str(b, "y", 1));
    CHECK_OK(tp_column_push_null(b));
    CHECK_OK(tp_column_push_str(b, "x", 1));
    CHECK_OK(tp_column_append(a, b, 0, 3));
    size_t len;
    CHECK(tp_column_len(a) == 4);
    CHECK_STR(tp_column_get_str(a, 1, &len), "y");
    CHECK(tp_column_is_null(a, 2));
    CHECK(TP_CCOL(a, int32_t)[3] == TP_CCOL(a, int32_t)[0]); /* "x" re-interned to the same code */
    CHECK(tp_strdict_size(tp_column_dict(a)) == 2);
    tp_column *i32;
    CHECK_OK(tp_column_new("n", TP_DTYPE_I32, 0, &i32));
    CHECK_STATUS(tp_column_append(a, i32, 0, 0), TP_ERR_SHAPE);
    tp_column_free(i32);
    tp_column_free(a);
    tp_column_free(b);
}

static void test_frame(void) {
    tp_frame *f;
    CHECK_OK(tp_frame_new(&f));
    tp_column *uid, *camp, *bad;
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, 0, &uid));
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_STR, 0, &camp));
    for (int i = 0; i < 5; i++) {
        CHECK_OK(tp_column_push_i64(uid, 10 - i));
        CHECK_OK(tp_column_push_str(camp, i % 2 ? "odd" : "even", i % 2 ? 3 : 4));
    }
    CHECK_OK(tp_frame_add_take(f, uid));
    CHECK_OK(tp_frame_add_take(f, camp));
    CHECK(tp_frame_n_rows(f) == 5 && tp_frame_n_cols(f) == 2);
    CHECK_OK(tp_column_new("short", TP_DTYPE_I32, 0, &bad));
    CHECK_STATUS(tp_frame_add_take(f, bad), TP_ERR_SHAPE); /* length mismatch; column freed */
    tp_column *dup;
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, 0, &dup));
    CHECK_OK(tp_column_resize(dup, 5));
    CHECK_STATUS(tp_frame_add_take(f, dup), TP_ERR_ARG);

    tp_column *got;
    CHECK_STATUS(tp_frame_require(f, "timestamp", "x.parquet", &got), TP_ERR_NOTFOUND);
    CHECK(strstr(tp_last_error(), "'timestamp'") && strstr(tp_last_error(), "x.parquet") &&
          strstr(tp_last_error(), "uid, campaign"));

    const char *names[] = {"campaign"};
    tp_frame *p;
    CHECK_OK(tp_frame_project(f, names, 1, &p));
    CHECK(tp_frame_n_cols(p) == 1 && tp_frame_n_rows(p) == 5);
    size_t len;
    CHECK_STR(tp_column_get_str(tp_frame_col(p, 0), 1, &len), "odd");

    tp_frame *g;
    CHECK_OK(tp_frame_new(&g));
    CHECK_OK(tp_frame_append(g, f));
    CHECK_OK(tp_frame_append(g, f));
    CHECK(tp_frame_n_rows(g) == 10);
    CHECK_STATUS(tp_frame_append(g, p), TP_ERR_SHAPE);

    uint32_t idx[] = {4, 3};
    tp_frame *t;
    CHECK_OK(tp_frame_take(g, idx, 2, &t));
    CHECK(tp_column_get_i64(tp_frame_find(t, "uid"), 0) == 6);
    CHECK_STR(tp_column_get_str(tp_frame_find(t, "campaign"), 1, &len), "odd");

    tp_frame *cl;
    CHECK_OK(tp_frame_clone(t, &cl));
    CHECK(tp_frame_n_rows(cl) == 2 && tp_frame_n_cols(cl) == 2);
    tp_column_free(tp_frame_remove(cl, 0));
    CHECK(tp_frame_n_cols(cl) == 1 && tp_frame_find(cl, "uid") == NULL);

    tp_frame_free(cl);
    tp_frame_free(t);
    tp_frame_free(g);
    tp_frame_free(p);
    tp_frame_free(f);
}

static void test_formatting(void) {
    char buf[64];
    tp_format_f64(0.1, buf);
    CHECK_STR(buf, "0.1");
    tp_format_f64(1.0, buf);
    CHECK_STR(buf, "1.0");
    tp_format_f64(10.1, buf);
    CHECK_STR(buf, "10.1");
    tp_format_f64(1.0 / 3.0, buf);
    CHECK(strtod(buf, NULL) == 1.0 / 3.0 && strlen(buf) == 18);
    tp_format_f64(1e300, buf);
    CHECK_STR(buf, "1e+300");
    tp_format_f64(-0.0, buf);
    CHECK_STR(buf, "-0.0");
    tp_format_f32(1.1f, buf);
    CHECK_STR(buf, "1.1");
    tp_format_f64((double)1.1f, buf);
    CHECK_STR(buf, "1.100000023841858"); /* what DuckDB prints for a widened float */

    int y, m, d;
    tp_days_to_civil(0, &y, &m, &d);
    CHECK(y == 1970 && m == 1 && d == 1);
    tp_days_to_civil(-1, &y, &m, &d);
    CHECK(y == 1969 && m == 12 && d == 31);
    CHECK(tp_civil_to_days(2000, 3, 1) == 11017);
    for (int64_t z = -800000; z < 800000; z += 997) {
        tp_days_to_civil(z, &y, &m, &d);
        if (tp_civil_to_days(y, m, d) != z) {
            CHECK(tp_civil_to_days(y, m, d) == z);
            break;
        }
    }

    tp_column *ts;
    CHECK_OK(tp_column_new("t", TP_DTYPE_TIMESTAMP, 0, &ts));
    tp_column_set_unit(ts, TP_UNIT_MICROS);
    CHECK_OK(tp_column_push_i64(ts, 1235865660000000LL)); /* 2009-03-01 00:01:00 */
    CHECK_OK(tp_column_push_i64(ts, 1500000000123456LL));
    CHECK_OK(tp_column_push_i64(ts, -1));
    CHECK_OK(tp_column_push_i64(ts, 1500000000120000LL));
    const char *s;
    size_t sl;
    tp_column_format(ts, 0, buf, &s, &sl);
    CHECK_STR(buf, "2009-03-01 00:01:00");
    tp_column_format(ts, 1, buf, &s, &sl);
    CHECK_STR(buf, "2017-07-14 02:40:00.123456");
    tp_column_format(ts, 2, buf, &s, &sl);
    CHECK_STR(buf, "1969-12-31 23:59:59.999999");
    tp_column_format(ts, 3, buf, &s, &sl);
    CHECK_STR(buf, "2017-07-14 02:40:00.12");
    tp_column_free(ts);

    tp_column *dt;
    CHECK_OK(tp_column_new("d", TP_DTYPE_DATE, 0, &dt));
    CHECK_OK(tp_column_push_i32(dt, 11017));
    CHECK_OK(tp_column_push_null(dt));
    tp_column_format(dt, 0, buf, &s, &sl);
    CHECK_STR(buf, "2000-03-01");
    CHECK(tp_column_format(dt, 1, buf, &s, &sl) == 0);
    tp_column_free(dt);
}

void suite_table(void) {
    test_strdict();
    test_column_basics();
    test_strings_across_dicts();
    test_frame();
    test_formatting();
}
