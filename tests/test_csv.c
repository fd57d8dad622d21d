/* test_csv.c: the CSV reader and writer. Hand-written files for every rule of issue #2 section 6
 * (quoting, line endings, BOM, delimiters, inference and widening, nulls, schema errors naming
 * file/line/column, ragged rows, unterminated quotes, projection, gzip incl. multi-member), and
 * write-then-read round trips of every type with nulls, quotes, newlines and unicode. */
#include "test.h"
#include "touchpoint/io.h"

#include <stdlib.h>
#include <zlib.h>

static const char *put_file(const char *name, const char *text) {
    const char *path = tp_test_path(name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return path;
    fwrite(text, 1, strlen(text), fp);
    fclose(fp);
    return path;
}

static tp_frame *read_text(const char *name, const char *text, const tp_csv_opts *o) {
    tp_frame *f = NULL;
    tp_status rc = tp_csv_read_file(put_file(name, text), o, &f);
    if (rc != TP_OK) {
        tp_test_fail(__FILE__, __LINE__, "reading %s: %s", name, tp_last_error());
        return NULL;
    }
    return f;
}

/* Read must fail with code and a message containing every one of the given fragments. */
static void expect_error(const char *name, const char *text, const tp_csv_opts *o, tp_status code,
                         const char *frag1, const char *frag2, const char *frag3) {
    tp_frame *f = NULL;
    tp_status rc = tp_csv_read_file(put_file(name, text), o, &f);
    CHECK(rc == code);
    CHECK(f == NULL);
    const char *msg = tp_last_error();
    const char *frags[] = {frag1, frag2, frag3};
    for (int i = 0; i < 3; i++)
        if (frags[i] && !strstr(msg, frags[i]))
            tp_test_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", name, msg, frags[i]);
    tp_frame_free(f);
}

static const char *str_at(const tp_frame *f, size_t col, size_t row) {
    static char buf[4][256];
    static int k;
    char *b = buf[k++ & 3];
    size_t len = 0;
    const char *s = tp_column_get_str(tp_frame_col(f, col), row, &len);
    if (len > 255) len = 255;
    memcpy(b, s, len);
    b[len] = 0;
    return b;
}

static tp_dtype type_at(const tp_frame *f, size_t col) { return tp_column_type(tp_frame_col(f, col)); }

// ---- RFC 4180 ----

static void test_rfc4180(void) {
    /* quoted fields, doubled quotes, embedded delimiter and newlines, CRLF, no trailing newline */
    const char *text = "id,name,note\r\n"
                       "1,\"Smith, John\",\"said \"\"hi\"\"\"\r\n"
                       "2,plain,\"two\r\nlines\"\r\n"
                       "3,\"\",x\"y";
    tp_frame *f = read_text("rfc.csv", text, NULL);
    if (!f) return;
    CHECK(tp_frame_n_rows(f) == 3);
    CHECK(tp_frame_n_cols(f) == 3);
    CHECK_STR(tp_column_name(tp_frame_col(f, 1)), "name");
    CHECK(type_at(f, 0) == TP_DTYPE_I32);
    CHECK(type_at(f, 1) == TP_DTYPE_STR);
    CHECK_STR(str_at(f, 1, 0), "Smith, John");
    CHECK_STR(str_at(f, 2, 0), "said \"hi\"");
    CHECK_STR(str_at(f, 2, 1), "two\r\nlines");
    CHECK_STR(str_at(f, 1, 2), ""); /* quoted empty: an empty string, not null */
    CHECK(!tp_column_is_null(tp_frame_col(f, 1), 2));
    CHECK_STR(str_at(f, 2, 2), "x\"y"); /* a quote inside an unquoted field is literal */
    tp_frame_free(f);

    /* LF, trailing newline, UTF-8 BOM skipped, unicode kept */
    f = read_text("bom.csv", "\xEF\xBB\xBFk,v\nä,\"日本\"\nb,2\n", NULL);
    if (!f) return;
    CHECK_STR(tp_column_name(tp_frame_col(f, 0)), "k");
    CHECK(tp_frame_n_rows(f) == 2);
    CHECK_STR(str_at(f, 0, 0), "ä");
    CHECK_STR(str_at(f, 1, 0), "日本");
    tp_frame_free(f);

    /* text after a closing quote is kept, as Python's csv module does */
    f = read_text("afterq.csv", "a,b\n\"x\"yz,1\n", NULL);
    if (!f) return;
    CHECK_STR(str_at(f, 0, 0), "xyz");
    CHECK(tp_column_get_i64(tp_frame_col(f, 1), 0) == 1);
    tp_frame_free(f);

    /* blank lines are skipped in a multi-column file */
    f = read_text("blank.csv", "a,b\n\n1,2\r\n\r\n3,4\n\n", NULL);
    if (!f) return;
    CHECK(tp_frame_n_rows(f) == 2);
    CHECK(tp_column_get_i64(tp_frame_col(f, 1), 1) == 4);
    tp_frame_free(f);

    /* in a one-column file a blank line is a null (the writer's form of a null) */
    f = read_text("onecol.csv", "v\n1\n\n3\n", NULL);
    if (!f) return;
    CHECK(tp_frame_n_rows(f) == 3);
    CHECK(tp_column_is_null(tp_frame_col(f, 0), 1));
    CHECK(tp_column_get_i64(tp_frame_col(f, 0), 2) == 3);
    tp_frame_free(f);

    /* header only; and an empty file */
    f = read_text("hdronly.csv", "a,b\n", NULL);
    if (!f) return;
    CHECK(tp_frame_n_cols(f) == 2 && tp_frame_n_rows(f) == 0);
    tp_frame_free(f);
    f = read_text("empty.csv", "", NULL);
    if (!f) return;
    CHECK(tp_frame_n_cols(f) == 0 && tp_frame_n_rows(f) == 0);
    tp_frame_free(f);

    /* a trailing delimiter means an empty last field */
    f = read_text("trail.csv", "a,b\n1,\n", NULL);
    if (!f) return;
    CHECK(tp_column_is_null(tp_frame_col(f, 1), 0));
    tp_frame_free(f);
}

// ---- delimiters and header ----

static void test_delimiters(void) {
    static const struct {
        const char *text;
        char want;
    } cases[] = {{"a\tb\tc\n1\t2\t3\n", '\t'},
                 {"a;b;c\n1;2;3\n", ';'},
                 {"a|b|c\n1|2|3\n", '|'},
                 {"\"x,y\"|b|c\n1|2|3\n", '|'}, /* commas inside quotes do not count */
                 {"a,b,c\n1,2,3\n", ','}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tp_frame *f = read_text("delim.csv", cases[i].text, NULL);
        if (!f) continue;
        CHECK(tp_frame_n_cols(f) == 3);
        CHECK(tp_column_get_i64(tp_frame_col(f, 2), 0) == 3);
        tp_frame_free(f);
    }
    /* explicit delimiter overrides detection */
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    o.delimiter = ';';
    tp_frame *f = read_text("explicit.csv", "a,b;c\n1,5;2\n", &o);
    if (f) {
        CHECK(tp_frame_n_cols(f) == 2);
        CHECK_STR(tp_column_name(tp_frame_col(f, 0)), "a,b");
        CHECK_STR(str_at(f, 0, 0), "1,5");
        tp_frame_free(f);
    }
    /* no header: names column_1.., the first line is data */
    tp_csv_opts_default(&o);
    o.header = false;
    f = read_text("nohdr.csv", "1,x\n2,y\n", &o);
    if (f) {
        CHECK(tp_frame_n_rows(f) == 2);
        CHECK_STR(tp_column_name(tp_frame_col(f, 0)), "column_1");
        CHECK_STR(tp_column_name(tp_frame_col(f, 1)), "column_2");
        CHECK(tp_column_get_i64(tp_frame_col(f, 0), 0) == 1);
        tp_frame_free(f);
    }
    /* duplicate and empty header names */
    f = read_text("dup.csv", "a,a,,a\n1,2,3,4\n", NULL);
    if (f) {
        CHECK_STR(tp_column_name(tp_frame_col(f, 0)), "a");
        CHECK_STR(tp_column_name(tp_frame_col(f, 1)), "a.1");
        CHECK_STR(tp_column_name(tp_frame_col(f, 2)), "column_3");
        CHECK_STR(tp_column_name(tp_frame_col(f, 3)), "a.2");
        tp_frame_free(f);
    }
}

// ---- type inference ----

static void test_inference(void) {
    const char *text = "b,i,l,d,ts,ts2,dt,s,n\n"
                       "true,1,3000000000,1.5,2024-01-02 03:04:05,2024-01-02T03:04:05Z,2024-02-29,x,\n"
                       "FALSE,-2147483648,-1,-2e-3,2024-01-02 03:04:05.25,2024-01-02T03:04:05.123456789Z,"
                       "1970-01-01,y,\n"
                       "True,2147483647,9223372036854775807,NaN,1969-12-31 23:59:59.999999,"
                       "2024-01-02T05:04:05+02:00,1969-12-31,,\n"
                       ",7,-9223372036854775808,-inf,,,,z,\n";
    tp_frame *f = read_text("infer.csv", text, NULL);
    if (!f) return;
    CHECK(tp_frame_n_rows(f) == 4);
    CHECK(type_at(f, 0) == TP_DTYPE_BOOL);
    CHECK(type_at(f, 1) == TP_DTYPE_I32);
    CHECK(type_at(f, 2) == TP_DTYPE_I64);
    CHECK(type_at(f, 3) == TP_DTYPE_F64);
    CHECK(type_at(f, 4) == TP_DTYPE_TIMESTAMP);
    CHECK(type_at(f, 5) == TP_DTYPE_TIMESTAMP);
    CHECK(type_at(f, 6) == TP_DTYPE_DATE);
    CHECK(type_at(f, 7) == TP_DTYPE_STR);
    CHECK(type_at(f, 8) == TP_DTYPE_STR); /* all null */
    CHECK(tp_column_unit(tp_frame_col(f, 4)) == TP_UNIT_MICROS);

    const tp_column *b = tp_frame_col(f, 0);
    CHECK(TP_CCOL(b, uint8_t)[0] == 1 && TP_CCOL(b, uint8_t)[1] == 0 && TP_CCOL(b, uint8_t)[2] == 1);
    CHECK(tp_column_is_null(b, 3));
    CHECK(tp_column_null_count(b) == 1);
    const tp_column *i = tp_frame_col(f, 1);
    CHECK(TP_CCOL(i, int32_t)[1] == INT32_MIN && TP_CCOL(i, int32_t)[2] == INT32_MAX);
    const tp_column *l = tp_frame_col(f, 2);
    CHECK(TP_CCOL(l, int64_t)[0] == 3000000000LL);
    CHECK(TP_CCOL(l, int64_t)[2] == INT64_MAX && TP_CCOL(l, int64_t)[3] == INT64_MIN);
    const tp_column *d = tp_frame_col(f, 3);
    CHECK(TP_CCOL(d, double)[0] == 1.5 && TP_CCOL(d, double)[1] == -2e-3);
    CHECK(isnan(TP_CCOL(d, double)[2]) && isinf(TP_CCOL(d, double)[3]) && TP_CCOL(d, double)[3] < 0);
    /* 2024-01-02 03:04:05 UTC = 1704164645 s (hand-computed: 19724 days * 86400 + 11045) */
    const tp_column *ts = tp_frame_col(f, 4);
    CHECK(TP_CCOL(ts, int64_t)[0] == 1704164645LL * 1000000);
    CHECK(TP_CCOL(ts, int64_t)[1] == 1704164645LL * 1000000 + 250000);
    CHECK(TP_CCOL(ts, int64_t)[2] == -1);
    CHECK(tp_column_is_null(ts, 3));
    const tp_column *ts2 = tp_frame_col(f, 5);
    CHECK(TP_CCOL(ts2, int64_t)[0] == 1704164645LL * 1000000);
    CHECK(TP_CCOL(ts2, int64_t)[1] == 1704164645LL * 1000000 + 123456); /* 9 digits truncated */
    CHECK(TP_CCOL(ts2, int64_t)[2] == 1704164645LL * 1000000);          /* +02:00 folded into UTC */
    const tp_column *dt = tp_frame_col(f, 6);
    CHECK(TP_CCOL(dt, int32_t)[0] == 19782); /* 2024-02-29 */
    CHECK(TP_CCOL(dt, int32_t)[1] == 0 && TP_CCOL(dt, int32_t)[2] == -1);
    CHECK(tp_column_is_null(tp_frame_col(f, 7), 2));
    CHECK_STR(str_at(f, 7, 3), "z");
    CHECK(tp_column_null_count(tp_frame_col(f, 8)) == 4);
    tp_frame_free(f);

    /* floats: exponents, leading dot, long mantissas (strtod path), signs */
    f = read_text("floats.csv",
                  "x\n0.1\n.5\n1.\n-1E+3\n1e300\n2.2250738585072014e-308\n123456789012345678901\n"
                  "3.141592653589793238462643383279\n+7\n-0.0\n1e-400\nInfinity\n",
                  NULL);
    if (!f) return;
    const double *x = TP_CCOL(tp_frame_col(f, 0), double);
    CHECK(type_at(f, 0) == TP_DTYPE_F64);
    CHECK(x[0] == 0.1 && x[1] == 0.5 && x[2] == 1.0 && x[3] == -1000.0 && x[4] == 1e300);
    CHECK(x[5] == 2.2250738585072014e-308 && x[6] == 123456789012345678901.0);
    CHECK(x[7] == 3.141592653589793 && x[8] == 7.0 && x[9] == 0.0 && signbit(x[9]));
    CHECK(x[10] == 0.0 && isinf(x[11]));
    tp_frame_free(f);

    /* not numbers: stay strings */
    f = read_text("notnum.csv", "x\n1-2\n", NULL);
    if (f) {
        CHECK(type_at(f, 0) == TP_DTYPE_STR);
        tp_frame_free(f);
    }
    f = read_text("notnum2.csv", "x,y,z\n1e,2024-13-01,tru\n-,2023-02-29,0x10\n", NULL);
    if (f) {
        CHECK(type_at(f, 0) == TP_DTYPE_STR && type_at(f, 1) == TP_DTYPE_STR && type_at(f, 2) == TP_DTYPE_STR);
        tp_frame_free(f);
    }
    /* null token; quoted empty in a typed column is null */
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    o.null_token = "NA";
    f = read_text("na.csv", "a,b\n1,NA\nNA,x\n\"\",\"NA\"\n", &o);
    if (f) {
        CHECK(type_at(f, 0) == TP_DTYPE_I32);
        CHECK(tp_column_null_count(tp_frame_col(f, 0)) == 2);
        CHECK(tp_column_is_null(tp_frame_col(f, 1), 0));
        CHECK_STR(str_at(f, 1, 2), "NA"); /* quoted: the literal text */
        tp_frame_free(f);
    }
}

// ---- widening past the inference sample ----

static void test_widening(void) {
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    o.infer_rows = 2;
    const char *text = "a,b,c,d,e,f,g\n"
                       "1,1,1,007,2024-01-01,,true\n"
                       "2,2,2,8,2024-01-02,,false\n"
                       ",5000000000,2.5,abc,2024-01-03 12:00:00,4,x\n"
                       "4,3,1e400,9,,5.5,true\n";
    tp_frame *f = read_text("widen.csv", text, &o);
    if (!f) return;
    CHECK(tp_frame_n_rows(f) == 4);
    CHECK(type_at(f, 0) == TP_DTYPE_I32); /* null does not widen */
    CHECK(tp_column_is_null(tp_frame_col(f, 0), 2));
    CHECK(tp_column_get_i64(tp_frame_col(f, 0), 3) == 4);
    CHECK(type_at(f, 1) == TP_DTYPE_I64);
    CHECK(tp_column_get_i64(tp_frame_col(f, 1), 0) == 1 && tp_column_get_i64(tp_frame_col(f, 1), 2) == 5000000000LL);
    CHECK(type_at(f, 2) == TP_DTYPE_F64);
    CHECK(TP_CCOL(tp_frame_col(f, 2), double)[1] == 2.0 && TP_CCOL(tp_frame_col(f, 2), double)[2] == 2.5);
    CHECK(isinf(TP_CCOL(tp_frame_col(f, 2), double)[3]));
    CHECK(type_at(f, 3) == TP_DTYPE_STR); /* re-parsed from the text: "007" stays "007" */
    CHECK_STR(str_at(f, 3, 0), "007");
    CHECK_STR(str_at(f, 3, 1), "8");
    CHECK_STR(str_at(f, 3, 2), "abc");
    CHECK_STR(str_at(f, 3, 3), "9");
    CHECK(type_at(f, 4) == TP_DTYPE_TIMESTAMP); /* date -> timestamp */
    CHECK(tp_column_get_i64(tp_frame_col(f, 4), 1) == (int64_t)19724 * 86400000000LL);
    CHECK(tp_column_get_i64(tp_frame_col(f, 4), 2) == ((int64_t)19725 * 86400 + 43200) * 1000000LL);
    CHECK(tp_column_is_null(tp_frame_col(f, 4), 3));
    CHECK(type_at(f, 5) == TP_DTYPE_F64); /* null in the sample, then int, then double */
    CHECK(tp_column_is_null(tp_frame_col(f, 5), 0) && tp_column_is_null(tp_frame_col(f, 5), 1));
    CHECK(TP_CCOL(tp_frame_col(f, 5), double)[2] == 4.0 && TP_CCOL(tp_frame_col(f, 5), double)[3] == 5.5);
    CHECK(type_at(f, 6) == TP_DTYPE_STR); /* bool -> string keeps the original text */
    CHECK_STR(str_at(f, 6, 0), "true");
    CHECK_STR(str_at(f, 6, 2), "x");
    tp_frame_free(f);

    /* widening to string with quoted values and embedded newlines before it */
    f = read_text("widen2.csv", "a,b\n1,\"p\nq\"\n\"2\",r\nzz,s\n", &o);
    if (f) {
        CHECK(type_at(f, 0) == TP_DTYPE_STR);
        CHECK_STR(str_at(f, 0, 1), "2");
        CHECK_STR(str_at(f, 0, 2), "zz");
        CHECK_STR(str_at(f, 1, 0), "p\nq");
        tp_frame_free(f);
    }
    /* a whole column of quoted empty strings is a string column of "" */
    f = read_text("qempty.csv", "a,b\n\"\",1\n\"\",2\n", NULL);
    if (f) {
        CHECK(type_at(f, 0) == TP_DTYPE_STR && tp_column_null_count(tp_frame_col(f, 0)) == 0);
        CHECK_STR(str_at(f, 0, 1), "");
        tp_frame_free(f);
    }
}

// ---- explicit schema and errors ----

static void test_schema_and_errors(void) {
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    const char *schema[] = {"id:int64", "score:float", "day:string", "flag:bool", "when:timestamp"};
    o.schema = schema;
    o.n_schema = 5;
    tp_frame *f = read_text("schema.csv", "id,score,day,flag,when\n1,0.5,2024-01-01,TRUE,2024-01-01\n", &o);
    if (f) {
        CHECK(type_at(f, 0) == TP_DTYPE_I64);
        CHECK(type_at(f, 1) == TP_DTYPE_F32);
        CHECK(type_at(f, 2) == TP_DTYPE_STR);
        CHECK(type_at(f, 3) == TP_DTYPE_BOOL);
        CHECK(type_at(f, 4) == TP_DTYPE_TIMESTAMP);
        CHECK(TP_CCOL(tp_frame_col(f, 1), float)[0] == 0.5f);
        CHECK_STR(str_at(f, 2, 0), "2024-01-01");
        CHECK(tp_column_get_i64(tp_frame_col(f, 4), 0) == (int64_t)19723 * 86400000000LL);
        tp_frame_free(f);
    }
    /* a value the schema type does not fit: file, physical line (the quoted newline counts), column */
    const char *s2[] = {"n:int32"};
    o.schema = s2;
    o.n_schema = 1;
    expect_error("badval.csv", "s,n\n\"a\nb\",1\nc,2\nd,x7\n", &o, TP_ERR_FORMAT, "badval.csv'", "line 5",
                 "column 'n'");
    expect_error("badval2.csv", "s,n\nd,3000000000\n", &o, TP_ERR_FORMAT, "line 2", "column 'n'", "int32");
    const char *s3[] = {"nope:int32"};
    o.schema = s3;
    expect_error("badschema.csv", "s,n\n1,2\n", &o, TP_ERR_NOTFOUND, "nope", "badschema.csv", NULL);
    const char *s4[] = {"n:integer"};
    o.schema = s4;
    expect_error("badtype.csv", "s,n\n1,2\n", &o, TP_ERR_ARG, "integer", NULL, NULL);

    /* ragged rows: file, line, expected and actual counts */
    tp_csv_opts_default(&o);
    expect_error("ragged.csv", "a,b,c\n1,2,3\n4,5\n", NULL, TP_ERR_FORMAT, "ragged.csv", "line 3",
                 "2 fields, expected 3");
    expect_error("ragged2.csv", "a,b\n1,\"x\ny\"\n1,2,3\n", NULL, TP_ERR_FORMAT, "line 4", "3 fields", NULL);
    /* beyond the inference sample too */
    o.infer_rows = 1;
    expect_error("ragged3.csv", "a,b\n1,2\n3,4\n5\n", &o, TP_ERR_FORMAT, "line 4", "1 field, expected 2", NULL);

    /* unterminated quote: the line where the quoted field began */
    expect_error("unterm.csv", "a,b\n1,2\n3,\"abc\ndef\n\n", NULL, TP_ERR_FORMAT, "unterminated", "line 3",
                 "unterm.csv', line 3, column 'b'");
    expect_error("unterm_hdr.csv", "a,\"b\n1,2\n", NULL, TP_ERR_FORMAT, "unterminated", "line 1", NULL);
    expect_error("unterm2.csv", "a,b\n1,\"x\"\"\n", NULL, TP_ERR_FORMAT, "unterminated", "line 2", NULL);

    /* missing file, projection of a missing column */
    tp_frame *g = NULL;
    CHECK_STATUS(tp_csv_read_file(tp_test_path("does-not-exist.csv"), NULL, &g), TP_ERR_IO);
    CHECK(strstr(tp_last_error(), "does-not-exist.csv") != NULL);
    const char *cols[] = {"b", "zz"};
    tp_csv_opts_default(&o);
    o.columns = cols;
    o.n_columns = 2;
    expect_error("proj_missing.csv", "a,b\n1,2\n", &o, TP_ERR_NOTFOUND, "'zz'", "proj_missing.csv", NULL);
}

// ---- projection ----

static void test_projection(void) {
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    const char *cols[] = {"c", "a"};
    o.columns = cols;
    o.n_columns = 2;
    tp_frame *f = read_text("proj.csv", "a,b,c\n1,x,2.5\n3,y,4\n", &o);
    if (!f) return;
    CHECK(tp_frame_n_cols(f) == 2);
    CHECK_STR(tp_column_name(tp_frame_col(f, 0)), "c");
    CHECK_STR(tp_column_name(tp_frame_col(f, 1)), "a");
    CHECK(type_at(f, 0) == TP_DTYPE_F64);
    CHECK(TP_CCOL(tp_frame_col(f, 0), double)[1] == 4.0);
    CHECK(tp_column_get_i64(tp_frame_col(f, 1), 1) == 3);
    tp_frame_free(f);
}

// ---- gzip input ----

static void gz_write(const char *path, const char *mode, const char *text) {
    gzFile g = gzopen(path, mode);
    CHECK(g != NULL);
    if (!g) return;
    CHECK(gzwrite(g, text, (unsigned)strlen(text)) == (int)strlen(text));
    CHECK(gzclose(g) == Z_OK);
}

static void test_gzip(void) {
    const char *path = tp_test_path("in.csv.gz");
    gz_write(path, "wb", "a,b\n1,x\n2,y\n");
    tp_frame *f = NULL;
    CHECK_OK(tp_csv_read_file(path, NULL, &f));
    if (f) {
        CHECK(tp_frame_n_rows(f) == 2);
        CHECK_STR(str_at(f, 1, 1), "y");
        tp_frame_free(f);
    }
    /* two members (gzip -c a >> b): the second member continues mid-record */
    const char *path2 = tp_test_path("multi.gz"); /* detection is by magic bytes, not the name */
    gz_write(path2, "wb", "a,b\n1,x\n2,");
    gz_write(path2, "ab", "y\n3,z\n");
    f = NULL;
    CHECK_OK(tp_csv_read_file(path2, NULL, &f));
    if (f) {
        CHECK(tp_frame_n_rows(f) == 3);
        CHECK_STR(str_at(f, 1, 1), "y");
        CHECK(tp_column_get_i64(tp_frame_col(f, 0), 2) == 3);
        tp_frame_free(f);
    }
    /* a bigger stream than one inflate buffer, many members */
    const char *path3 = tp_test_path("big.csv.gz");
    gz_write(path3, "wb", "k,v\n");
    char line[64];
    for (int m = 0; m < 4; m++) {
        gzFile g = gzopen(path3, "ab");
        for (int i = 0; i < 100000; i++) {
            int n = snprintf(line, sizeof line, "%d,%d\n", m * 100000 + i, i % 7);
            gzwrite(g, line, (unsigned)n);
        }
        gzclose(g);
    }
    f = NULL;
    CHECK_OK(tp_csv_read_file(path3, NULL, &f));
    if (f) {
        CHECK(tp_frame_n_rows(f) == 400000);
        CHECK(tp_column_get_i64(tp_frame_col(f, 0), 399999) == 399999);
        CHECK(tp_column_get_i64(tp_frame_col(f, 1), 12345) == 12345 % 7);
        tp_frame_free(f);
    }
    /* truncated gzip is an error naming the file */
    FILE *fp = fopen(path, "rb");
    unsigned char buf[256];
    size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp) fclose(fp);
    const char *path4 = tp_test_path("trunc.csv.gz");
    fp = fopen(path4, "wb");
    if (fp) {
        fwrite(buf, 1, n > 12 ? n - 12 : n, fp);
        fclose(fp);
    }
    f = NULL;
    CHECK_STATUS(tp_csv_read_file(path4, NULL, &f), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "trunc.csv.gz") != NULL);
}

// ---- writer ----

static char *write_to_string(const tp_frame *f, char delim, bool header) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    CHECK_OK(tp_csv_write_rows(f, 0, tp_frame_n_rows(f), delim, header, fp));
    fclose(fp);
    return buf;
}

/* A frame with every type, nulls, and strings that need quoting. */
static tp_frame *make_all_types(void) {
    tp_frame *f = NULL;
    tp_column *c;
    if (tp_frame_new(&f) != TP_OK) return NULL;
    tp_column_new("flag", TP_DTYPE_BOOL, 0, &c);
    tp_column_push_bool(c, true), tp_column_push_null(c), tp_column_push_bool(c, false), tp_column_push_bool(c, true);
    tp_frame_add_take(f, c);
    tp_column_new("i32", TP_DTYPE_I32, 0, &c);
    tp_column_push_i32(c, -7), tp_column_push_i32(c, INT32_MAX), tp_column_push_null(c), tp_column_push_i32(c, 0);
    tp_frame_add_take(f, c);
    tp_column_new("i64", TP_DTYPE_I64, 0, &c);
    tp_column_push_i64(c, INT64_MIN), tp_column_push_i64(c, 1LL << 40), tp_column_push_i64(c, -1), tp_column_push_null(c);
    tp_frame_add_take(f, c);
    tp_column_new("f64", TP_DTYPE_F64, 0, &c);
    tp_column_push_f64(c, 0.1), tp_column_push_f64(c, -1e-310), tp_column_push_f64(c, 1.0 / 3),
        tp_column_push_f64(c, 1e22);
    tp_frame_add_take(f, c);
    tp_column_new("f32", TP_DTYPE_F32, 0, &c);
    tp_column_push_f32(c, 0.1f), tp_column_push_null(c), tp_column_push_f32(c, 3.4e38f), tp_column_push_f32(c, -2.5f);
    tp_frame_add_take(f, c);
    tp_column_new("s", TP_DTYPE_STR, 0, &c);
    tp_column_push_str(c, "plain", 5), tp_column_push_str(c, "a,b \"q\"", 7), tp_column_push_str(c, "", 0),
        tp_column_push_null(c);
    tp_frame_add_take(f, c);
    tp_column_new("u", TP_DTYPE_STR, 0, &c);
    tp_column_push_str(c, "line1\nline2", 11), tp_column_push_str(c, "ünïcødé ✓", strlen("ünïcødé ✓")),
        tp_column_push_str(c, "cr\r\nlf", 6), tp_column_push_str(c, "x", 1);
    tp_frame_add_take(f, c);
    tp_column_new("ts", TP_DTYPE_TIMESTAMP, 0, &c);
    tp_column_set_unit(c, TP_UNIT_MICROS);
    tp_column_push_i64(c, 1704164645LL * 1000000 + 5), tp_column_push_i64(c, -1), tp_column_push_null(c),
        tp_column_push_i64(c, 0);
    tp_frame_add_take(f, c);
    tp_column_new("day", TP_DTYPE_DATE, 0, &c);
    tp_column_push_i32(c, 19782), tp_column_push_i32(c, -719468), tp_column_push_i32(c, 0), tp_column_push_null(c);
    tp_frame_add_take(f, c);
    return f;
}

static void check_same(const tp_frame *a, const tp_frame *b) {
    CHECK(tp_frame_n_cols(a) == tp_frame_n_cols(b));
    CHECK(tp_frame_n_rows(a) == tp_frame_n_rows(b));
    if (tp_frame_n_cols(a) != tp_frame_n_cols(b) || tp_frame_n_rows(a) != tp_frame_n_rows(b)) return;
    for (size_t j = 0; j < tp_frame_n_cols(a); j++) {
        const tp_column *x = tp_frame_col(a, j), *y = tp_frame_col(b, j);
        CHECK_STR(tp_column_name(x), tp_column_name(y));
        CHECK(tp_column_type(x) == tp_column_type(y));
        if (tp_column_type(x) != tp_column_type(y)) {
            tp_test_fail(__FILE__, __LINE__, "column %s: type %s vs %s", tp_column_name(x),
                         tp_dtype_name(tp_column_type(x)), tp_dtype_name(tp_column_type(y)));
            continue;
        }
        for (size_t i = 0; i < tp_frame_n_rows(a); i++) {
            CHECK(tp_column_is_null(x, i) == tp_column_is_null(y, i));
            if (tp_column_is_null(x, i)) continue;
            char b1[64], b2[64];
            const char *s1 = NULL, *s2 = NULL;
            size_t l1 = 0, l2 = 0;
            size_t n1 = tp_column_format(x, i, b1, &s1, &l1), n2 = tp_column_format(y, i, b2, &s2, &l2);
            if (s1) n1 = l1;
            else s1 = b1;
            if (s2) n2 = l2;
            else s2 = b2;
            if (n1 != n2 || memcmp(s1, s2, n1) != 0)
                tp_test_fail(__FILE__, __LINE__, "column %s row %zu: \"%.*s\" vs \"%.*s\"", tp_column_name(x), i,
                             (int)n1, s1, (int)n2, s2);
            tp_test_checks++;
        }
    }
}

static void test_writer(void) {
    tp_frame *f = make_all_types();
    if (!f) return;
    char *text = write_to_string(f, ',', true);
    const char *want = "flag,i32,i64,f64,f32,s,u,ts,day\n"
                       "true,-7,-9223372036854775808,0.1,0.1,plain,\"line1\nline2\",2024-01-02 03:04:05.000005,"
                       "2024-02-29\n"
                       ",2147483647,1099511627776,-1e-310,,\"a,b \"\"q\"\"\",ünïcødé ✓,1969-12-31 23:59:59.999999,"
                       "0000-03-01\n"
                       "false,,-1,0.3333333333333333,3.4e+38,\"\",\"cr\r\nlf\",,1970-01-01\n"
                       "true,0,,1e+22,-2.5,,x,1970-01-01 00:00:00,\n";
    CHECK_STR(text, want);
    free(text);
    /* rows [1, 2) without header, tab-delimited (the quotes still need quoting) */
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    CHECK_OK(tp_csv_write_rows(f, 1, 2, '\t', false, fp));
    fclose(fp);
    CHECK_STR(buf, "\t2147483647\t1099511627776\t-1e-310\t\t\"a,b \"\"q\"\"\"\tünïcødé ✓\t1969-12-31 23:59:59.999999\t"
                   "0000-03-01\n");
    free(buf);

    /* round trip through a file, inferred types (f32 needs the schema to come back as float) */
    const char *schema[] = {"f32:float"};
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    o.schema = schema;
    o.n_schema = 1;
    const char *path = tp_test_path("rt.csv");
    CHECK_OK(tp_csv_write_file(f, path, NULL));
    tp_frame *g = NULL;
    CHECK_OK(tp_csv_read_file(path, &o, &g));
    if (g) check_same(f, g);
    tp_frame_free(g);
    /* gzip by extension, TSV */
    tp_csv_write_opts wo;
    tp_csv_write_opts_default(&wo);
    wo.delimiter = '\t';
    const char *pathgz = tp_test_path("rt.tsv.gz");
    CHECK_OK(tp_csv_write_file(f, pathgz, &wo));
    FILE *gp = fopen(pathgz, "rb");
    unsigned char magic[2] = {0, 0};
    if (gp) {
        CHECK(fread(magic, 1, 2, gp) == 2);
        fclose(gp);
    }
    CHECK(magic[0] == 0x1f && magic[1] == 0x8b);
    g = NULL;
    CHECK_OK(tp_csv_read_file(pathgz, &o, &g));
    if (g) check_same(f, g);
    tp_frame_free(g);
    tp_frame_free(f);

    /* a header name and a value starting with a BOM survive (quoted, so not taken for the file's) */
    f = read_text("bom2.csv", "\xEF\xBB\xBF\"\xEF\xBB\xBF" "a\"\n\"\xEF\xBB\xBFx\"\n", NULL);
    if (f) {
        CHECK_STR(tp_column_name(tp_frame_col(f, 0)), "\xEF\xBB\xBF" "a");
        CHECK_OK(tp_csv_write_file(f, tp_test_path("bom2_out.csv"), NULL));
        g = NULL;
        CHECK_OK(tp_csv_read_file(tp_test_path("bom2_out.csv"), NULL, &g));
        if (g) check_same(f, g);
        tp_frame_free(g);
        tp_frame_free(f);
    }

    /* one string column with a null and an empty string: blank line vs "" */
    tp_column *c;
    tp_frame_new(&f);
    tp_column_new("only", TP_DTYPE_STR, 0, &c);
    tp_column_push_str(c, "a", 1), tp_column_push_null(c), tp_column_push_str(c, "", 0), tp_column_push_str(c, "b", 1);
    tp_frame_add_take(f, c);
    CHECK_OK(tp_csv_write_file(f, tp_test_path("one.csv"), NULL));
    g = NULL;
    CHECK_OK(tp_csv_read_file(tp_test_path("one.csv"), NULL, &g));
    if (g) check_same(f, g);
    tp_frame_free(g);
    tp_frame_free(f);

    /* the writer's own date/timestamp formatting matches tp_column_format in every unit, including
     * years outside 0000-9999 (which fall back to the table's formatter) */
    {
        static const int64_t vals[] = {0, -1, 1, 999, 1000, 1704164645123456789LL, -62167219200000000LL,
                                       253402300799999999LL, 253402300800000000LL, -62167219200000001LL};
        static const tp_time_unit units[] = {TP_UNIT_SECONDS, TP_UNIT_MILLIS, TP_UNIT_MICROS, TP_UNIT_NANOS};
        tp_frame_new(&f);
        for (size_t u = 0; u < 4; u++) {
            char name[8];
            snprintf(name, sizeof name, "t%zu", u);
            tp_column_new(name, TP_DTYPE_TIMESTAMP, 0, &c);
            tp_column_set_unit(c, units[u]);
            for (size_t k = 0; k < sizeof vals / sizeof *vals; k++)
                tp_column_push_i64(c, u == 0 ? vals[k] / 1000000 : u == 1 ? vals[k] / 1000 : vals[k]);
            tp_frame_add_take(f, c);
        }
        tp_column_new("d", TP_DTYPE_DATE, 0, &c);
        static const int32_t days[] = {0, -1, 2932896, 2932897, -719528, -719529, 19782, 100, -100, 7};
        for (size_t k = 0; k < 10; k++) tp_column_push_i32(c, days[k]);
        tp_frame_add_take(f, c);
        char *out = write_to_string(f, ';', false);
        char want[4096] = "", buf[64];
        for (size_t i = 0; i < 10; i++) {
            for (size_t j = 0; j < 5; j++) {
                size_t n = tp_column_format(tp_frame_col(f, j), i, buf, NULL, NULL);
                buf[n] = 0;
                if (j) strcat(want, ";");
                strcat(want, buf);
            }
            strcat(want, "\n");
        }
        CHECK_STR(out, want);
        free(out);
        tp_frame_free(f);
    }

    /* a failed write leaves nothing behind: unwritable directory */
    tp_frame_new(&f);
    CHECK(tp_csv_write_file(f, tp_test_path("no/such/dir/x.csv"), NULL) == TP_ERR_IO);
    tp_frame_free(f);
}

// ---- larger round trip: many rows, random values, widening across the sample ----

static void test_random_round_trip(void) {
    tp_rng rng;
    tp_rng_seed(&rng, 42);
    tp_frame *f = NULL;
    tp_column *a, *b, *s;
    tp_frame_new(&f);
    tp_column_new("uid", TP_DTYPE_I64, 0, &a);
    tp_column_new("x", TP_DTYPE_F64, 0, &b);
    tp_column_new("name", TP_DTYPE_STR, 0, &s);
    char buf[64];
    for (int i = 0; i < 50000; i++) {
        tp_column_push_i64(a, (int64_t)(tp_rng_u64(&rng) >> (i < 20000 ? 34 : 1)));
        double v = (tp_rng_uniform(&rng) - 0.5) * pow(10, (double)tp_rng_below(&rng, 40) - 20);
        if (tp_rng_below(&rng, 10) == 0) tp_column_push_null(b);
        else tp_column_push_f64(b, v);
        int n = snprintf(buf, sizeof buf, "n%d,\"%d\"", (int)tp_rng_below(&rng, 1000), i % 3);
        tp_column_push_str(s, buf, (size_t)n);
    }
    tp_frame_add_take(f, a);
    tp_frame_add_take(f, b);
    tp_frame_add_take(f, s);
    const char *path = tp_test_path("rand.csv");
    CHECK_OK(tp_csv_write_file(f, path, NULL));
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    o.infer_rows = 100; /* uid starts as int32 and must widen to int64 */
    tp_frame *g = NULL;
    CHECK_OK(tp_csv_read_file(path, &o, &g));
    if (g) check_same(f, g);
    tp_frame_free(g);
    tp_frame_free(f);
}

// ---- parallel parsing (bodies >= 4 MiB) must equal the sequential read ----

extern size_t tp_csv_parallel_min_bytes; /* csv_read.c's internal threshold for parallel parsing */

static void test_parallel(void) {
    const char *path = tp_test_path("par.csv");
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    const int N = 240000;
    fprintf(fp, "id,big,mixed,name,late,d\n");
    for (int i = 0; i < N; i++) {
        /* part-dependent types: big is int32 until late, mixed gets text late, late is all null
         * in the first half, d gets a timestamp late; names appear in a different order late */
        int64_t big = i == 200000 ? 5000000000LL : i;
        char mixed[16], late[24];
        if (i == 230000) snprintf(mixed, sizeof mixed, "abc");
        else snprintf(mixed, sizeof mixed, "%d", i % 97);
        if (i < N / 2) late[0] = 0;
        else snprintf(late, sizeof late, "%d.5", i);
        int y = 2000 + i % 20;
        fprintf(fp, "%d,%lld,%s,s%d,%s,%04d-01-02%s\n", i, (long long)big, mixed,
                i < N / 2 ? i % 1000 : 999 - i % 1200, late, y, i == 235000 ? " 10:00:00" : "");
    }
    fclose(fp);
    tp_frame *seq = NULL, *par = NULL, *par3 = NULL;
    tp_threads_set_default(1);
    CHECK_OK(tp_csv_read_file(path, NULL, &seq));
    tp_threads_set_default(2);
    CHECK_OK(tp_csv_read_file(path, NULL, &par));
    tp_threads_set_default(3);
    CHECK_OK(tp_csv_read_file(path, NULL, &par3));
    tp_threads_set_default(0);
    if (!seq || !par || !par3) goto done;
    CHECK(tp_frame_n_rows(seq) == (size_t)N);
    CHECK(type_at(seq, 0) == TP_DTYPE_I32);
    CHECK(type_at(seq, 1) == TP_DTYPE_I64);
    CHECK(type_at(seq, 2) == TP_DTYPE_STR);
    CHECK(type_at(seq, 4) == TP_DTYPE_F64);
    CHECK(type_at(seq, 5) == TP_DTYPE_TIMESTAMP);
    CHECK(tp_column_null_count(tp_frame_col(seq, 4)) == (size_t)N / 2);
    CHECK_STR(str_at(seq, 2, 230000), "abc");
    CHECK_STR(str_at(seq, 2, 5), "5");
    check_same(seq, par);
    check_same(seq, par3);
    /* dictionary codes identical too (merged in part order = first appearance) */
    for (size_t j = 2; j <= 3; j++) {
        const tp_column *a = tp_frame_col(seq, j), *b = tp_frame_col(par, j), *c = tp_frame_col(par3, j);
        CHECK(tp_strdict_size(tp_column_dict(a)) == tp_strdict_size(tp_column_dict(b)));
        CHECK(memcmp(TP_CCOL(a, int32_t), TP_CCOL(b, int32_t), (size_t)N * 4) == 0);
        CHECK(memcmp(TP_CCOL(a, int32_t), TP_CCOL(c, int32_t), (size_t)N * 4) == 0);
    }

    /* errors in a later part name the same line as a sequential read */
    fp = fopen(path, "ab");
    if (fp) {
        fprintf(fp, "1,2,3\n");
        fclose(fp);
    }
    for (int nt = 1; nt <= 3; nt++) {
        tp_frame *g = NULL;
        tp_threads_set_default(nt);
        CHECK_STATUS(tp_csv_read_file(path, NULL, &g), TP_ERR_FORMAT);
        CHECK(strstr(tp_last_error(), "line 240002") != NULL);
        CHECK(strstr(tp_last_error(), "3 fields, expected 6") != NULL);
    }
    tp_threads_set_default(0);
done:
    tp_frame_free(seq);
    tp_frame_free(par);
    tp_frame_free(par3);
}

/* Files with quoting (delimiters, newlines and "" inside quotes), with and without stray quotes,
 * read with 1..4 threads and a tiny parallel threshold: same frame, or the same error message. */
static void test_parallel_quoted(void) {
    tp_rng rng;
    tp_rng_seed(&rng, 7);
    static const char *const pieces[] = {"a", "b,c", "x\ny", "q\"\"r", "", " ", "\r\n", "7", "2024-01-01"};
    char path[512];
    for (int variant = 0; variant < 6; variant++) {
        snprintf(path, sizeof path, "%s", tp_test_path("parq.csv"));
        FILE *fp = fopen(path, "wb");
        if (!fp) return;
        fprintf(fp, "id,txt,n\n");
        for (int i = 0; i < 3000; i++) {
            fprintf(fp, "%d,", i);
            if (tp_rng_below(&rng, 3)) { /* a quoted field made of pieces */
                fputc('"', fp);
                for (int k = (int)tp_rng_below(&rng, 4); k >= 0; k--) fputs(pieces[tp_rng_below(&rng, 9)], fp);
                fputc('"', fp);
            } else {
                fprintf(fp, "plain%d", (int)tp_rng_below(&rng, 50));
            }
            fprintf(fp, ",%d\n", (int)tp_rng_below(&rng, 1000));
            /* variant 1: a stray quote inside an unquoted field; 2: text after a closing quote;
             * 3: a ragged row late; 4: an unterminated quote at the end; 5: CRLF rows */
            if (variant == 1 && i == 1500) fprintf(fp, "%d,ab\"c,1\n", i);
            if (variant == 2 && i == 700) fprintf(fp, "%d,\"ab\"c\"d\"\",1\n", i);
            if (variant == 3 && i == 2900) fprintf(fp, "%d,\"x\ny\"\n", i);
            if (variant == 5) fprintf(fp, "%d,\"p\r\nq\",5\r\n", i);
        }
        if (variant == 4) fprintf(fp, "9,\"open,1\n2,3,4\n");
        fclose(fp);
        tp_frame *seq = NULL;
        char msg[1024];
        tp_threads_set_default(1);
        tp_status rc = tp_csv_read_file(path, NULL, &seq);
        snprintf(msg, sizeof msg, "%s", tp_last_error());
        CHECK((rc == TP_OK) == (variant != 3 && variant != 4));
        tp_csv_parallel_min_bytes = 64;
        for (int nt = 2; nt <= 4; nt++) {
            tp_frame *par = NULL;
            tp_threads_set_default(nt);
            tp_status rc2 = tp_csv_read_file(path, NULL, &par);
            CHECK(rc2 == rc);
            if (rc != TP_OK) CHECK_STR(tp_last_error(), msg);
            if (rc == TP_OK && rc2 == TP_OK) {
                check_same(seq, par);
                const tp_column *a = tp_frame_col(seq, 1), *b = tp_frame_col(par, 1);
                CHECK(memcmp(TP_CCOL(a, int32_t), TP_CCOL(b, int32_t), tp_frame_n_rows(seq) * 4) == 0);
            }
            tp_frame_free(par);
        }
        tp_csv_parallel_min_bytes = 4u << 20;
        tp_threads_set_default(0);
        tp_frame_free(seq);
    }
}

// ---- allocation failures: every failing allocation gives NOMEM (no crash, no leak under ASan) ----


static void test_alloc_failures(void) {
    char path[512], path2[512], out[512]; /* tp_test_path's buffers rotate: keep copies */
    snprintf(path, sizeof path, "%s",
             put_file("oom.csv", "a,b,c,d\n1,\"x,y\",2024-01-01,t\n2,\"q\"\"r\",2024-01-02,u\n"
                                 "3000000000,z,2024-01-03 10:00:00,1.5\n,,,\n"));
    snprintf(path2, sizeof path2, "%s",
             put_file("oom2.csv", "a,b,c\n1,x,2024-01-01\n2,y,2024-01-02\n3000000000,z,w\n4,x,\n"));
    snprintf(out, sizeof out, "%s", tp_test_path("oom_out.csv.gz"));
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    o.infer_rows = 1;
    int bad = 0, ok_seen = 0, ok_pass[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) { /* the parallel path on a small quote-free file */
            tp_csv_parallel_min_bytes = 8;
            tp_threads_set_default(2);
        }
        for (long n = 1; n < 200; n++) {
            tp_frame *f = NULL;
            tp_alloc_fail_after(n);
            tp_status rc = tp_csv_read_file(pass ? path2 : path, &o, &f);
            tp_alloc_fail_after(0);
            if (rc != TP_OK && rc != TP_ERR_NOMEM) bad++;
            if (rc == TP_OK) ok_pass[pass]++;
            if (rc == TP_OK && ok_seen++ == 0) {
                /* and the writer, failing at every allocation too (once: each write fsyncs) */
                for (long m = 1; m < 12; m++) {
                    tp_alloc_fail_after(m);
                    tp_status w = tp_csv_write_file(f, out, NULL);
                    tp_alloc_fail_after(0);
                    if (w != TP_OK && w != TP_ERR_NOMEM) bad++;
                }
            }
            tp_frame_free(f);
        }
    }
    tp_csv_parallel_min_bytes = 4u << 20;
    tp_threads_set_default(0);
    CHECK(bad == 0);
    CHECK(ok_pass[0] > 0 && ok_pass[1] > 0); /* each loop went past the last allocation */
}

void suite_csv(void) {
    test_rfc4180();
    test_delimiters();
    test_inference();
    test_widening();
    test_schema_and_errors();
    test_projection();
    test_gzip();
    test_writer();
    test_random_round_trip();
    test_parallel();
    test_parallel_quoted();
    test_alloc_failures();
}
