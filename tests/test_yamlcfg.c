/* test_yamlcfg.c: core/yamlcfg, the YAML config helper every config reader uses. Messages are
 * compared whole (file, line, key, wanted and found), so a wrong line number or wording fails;
 * ranges at and just past both ends; null handling; flow and block lists. */
#include "test.h"
#include "core/yamlcfg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static tp_status load(tp_ycfg *y, const char *text) {
    *y = (tp_ycfg){.path = "dir/c.yaml", .what = "test config"};
    return tp_ycfg_load_text(y, text, strlen(text));
}

/* The value of key k in the root mapping (NULL if absent). */
static yaml_node_t *get(tp_ycfg *y, const char *k) {
    yaml_node_t *root = tp_ycfg_root(y), *kn, *v;
    const char *key;
    tp_ycfg_foreach(y, root, i, key, kn, v) if (!strcmp(key, k)) return v;
    return NULL;
}

// ---- loading ----

static void test_load(void) {
    tp_ycfg y;
    CHECK_STATUS(load(&y, "a: 1\nb: [x, y\nc: 3\n"), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 3, column 2: did not find expected "
                               "',' or ']' (while parsing a flow sequence started at line 2)");
    tp_ycfg_close(&y);
    y = (tp_ycfg){.path = "w.yaml", .what = "workflow", .short_loc = true};
    CHECK_STATUS(tp_ycfg_load_text(&y, "a: 1\n  b: 2\n", 11), TP_ERR_FORMAT);
    CHECK(strncmp(tp_last_error(), "w.yaml:2:4: ", 12) == 0);
    tp_ycfg_close(&y);
    CHECK_STATUS(tp_ycfg_load_text(&y, "# only a comment\n", 17), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "w.yaml: empty workflow");
    tp_ycfg_close(&y);
    CHECK_STATUS(load(&y, "a: 1\nb: \xff\n"), TP_ERR_FORMAT); /* not UTF-8 */
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', byte 8: invalid leading UTF-8 octet");
    tp_ycfg_close(&y);
    CHECK_STATUS(load(&y, ""), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml' is empty");
    tp_ycfg_close(&y);
    tp_ycfg_close(&y); /* twice is harmless */

    y = (tp_ycfg){.path = tp_test_path("nothere.yaml"), .what = "test config"};
    CHECK_STATUS(tp_ycfg_load_file(&y), TP_ERR_IO);
    CHECK(strstr(tp_last_error(), "cannot open test config '") && strstr(tp_last_error(), "nothere.yaml"));
    tp_ycfg_close(&y);

    const char *path = tp_test_path("cfg.yaml");
    FILE *fp = fopen(path, "w");
    if (fp) fputs("# a config\nn: 5\nlist:\n  - a\n  - b\n", fp), fclose(fp);
    y = (tp_ycfg){.path = path, .what = "test config"};
    CHECK_OK(tp_ycfg_load_file(&y));
    int n = 0;
    CHECK_OK(tp_ycfg_int(&y, "n", get(&y, "n"), 0, 9, &n));
    CHECK(n == 5);
    CHECK(tp_ycfg_len(get(&y, "list")) == 2);
    CHECK(get(&y, "list") && get(&y, "list")->start_mark.line + 1 == 4);
    tp_ycfg_close(&y);
}

// ---- errors, mappings ----

static void test_fail_and_map(void) {
    tp_ycfg y;
    CHECK_OK(load(&y, "a: 1\nb:\n  c: 2\n  d: [1, 2]\n"));
    CHECK(tp_ycfg_fail(&y, get(&y, "a"), "bad %s %d", "thing", 7) == TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 1: bad thing 7");
    tp_ycfg_fail(&y, NULL, "no node");
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 1: no node");
    yaml_node_t *b = get(&y, "b");
    CHECK_OK(tp_ycfg_map(&y, b, "b", NULL));
    const char *keys[2] = {0};
    int lines[2] = {0};
    const char *k;
    yaml_node_t *kn, *v;
    tp_ycfg_foreach(&y, b, i, k, kn, v) {
        keys[i] = k;
        lines[i] = (int)v->start_mark.line + 1;
    }
    CHECK_STR(keys[0], "c");
    CHECK_STR(keys[1], "d");
    CHECK(lines[0] == 3 && lines[1] == 4);
    CHECK_STATUS(tp_ycfg_map(&y, get(&y, "a"), "a", "x, y"), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 1: key 'a' wants a mapping (x, y)");
    yaml_node_t *d = get(&y, "d");
    CHECK(d == NULL); /* only the root's keys */
    tp_ycfg_close(&y);

    CHECK_OK(load(&y, "- a\n- b\n"));
    CHECK_STATUS(tp_ycfg_map(&y, tp_ycfg_root(&y), NULL, NULL), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 1: the test config must be a mapping of keys");
    tp_ycfg_close(&y);
    CHECK_OK(load(&y, "a: 1\nb: 2\n\na: 3\n"));
    CHECK_STATUS(tp_ycfg_map(&y, tp_ycfg_root(&y), NULL, NULL), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 4: key 'a' is given twice");
    tp_ycfg_close(&y);
    CHECK_OK(load(&y, "a: 1\n? [x, y]\n: 2\n"));
    CHECK_STATUS(tp_ycfg_map(&y, tp_ycfg_root(&y), NULL, NULL), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 2: keys must be plain names");
    tp_ycfg_close(&y);
    y = (tp_ycfg){.path = "f.yaml", .what = "defs", .short_loc = true};
    CHECK_OK(tp_ycfg_load_text(&y, "\n\nx: [1]\n", 8));
    tp_ycfg_fail(&y, get(&y, "x"), "oops");
    CHECK_STR(tp_last_error(), "f.yaml:3: oops");
    tp_ycfg_close(&y);
}

// ---- typed values ----

static void test_numbers(void) {
    tp_ycfg y;
    CHECK_OK(load(&y, "lo: 1\nhi: 10\nbelow: 0\nabove: 11\nbig: 99999999999999999999\nfrac: 1.5\n"
                      "list: [1]\nneg: -3\nx: 0.25\nnan: nan\ninf: 1e999\nempty: ''\nword: ten\n"));
    int64_t v = -1;
    CHECK_OK(tp_ycfg_i64(&y, "lo", get(&y, "lo"), 1, 10, &v));
    CHECK(v == 1);
    CHECK_OK(tp_ycfg_i64(&y, "hi", get(&y, "hi"), 1, 10, &v));
    CHECK(v == 10);
    CHECK_STATUS(tp_ycfg_i64(&y, "below", get(&y, "below"), 1, 10, &v), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 3: key 'below' wants an integer from 1 to 10, not '0'");
    CHECK(v == 10); /* untouched on error */
    CHECK_STATUS(tp_ycfg_i64(&y, "above", get(&y, "above"), 1, 10, &v), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 4:") != NULL);
    CHECK_STATUS(tp_ycfg_i64(&y, "big", get(&y, "big"), 0, INT64_MAX, &v), TP_ERR_FORMAT);
    CHECK_STATUS(tp_ycfg_i64(&y, "frac", get(&y, "frac"), 0, 10, &v), TP_ERR_FORMAT);
    CHECK_STATUS(tp_ycfg_i64(&y, "empty", get(&y, "empty"), 0, 10, &v), TP_ERR_FORMAT);
    CHECK_STATUS(tp_ycfg_i64(&y, "list", get(&y, "list"), 0, 10, &v), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 7: key 'list' wants an integer from 0 to 10, "
                               "not '(a list or mapping)'");
    int iv = 0;
    CHECK_OK(tp_ycfg_int(&y, "neg", get(&y, "neg"), -5, 5, &iv));
    CHECK(iv == -3);
    CHECK_STATUS(tp_ycfg_int(&y, "neg", get(&y, "neg"), 0, 5, &iv), TP_ERR_FORMAT);
    CHECK(iv == -3);

    double d = 0;
    CHECK_OK(tp_ycfg_num(&y, "x", get(&y, "x"), -INFINITY, INFINITY, &d));
    CHECK_CLOSE(d, 0.25, 0);
    CHECK_OK(tp_ycfg_num(&y, "x", get(&y, "x"), 0.25, 0.25, &d)); /* both ends are inclusive */
    CHECK_STATUS(tp_ycfg_num(&y, "x", get(&y, "x"), 0.5, 1, &d), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 9: key 'x' wants a number from 0.5 to 1, not '0.25'");
    CHECK_STATUS(tp_ycfg_num(&y, "x", get(&y, "x"), 1, INFINITY, &d), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "key 'x' wants a number >= 1, not '0.25'") != NULL);
    CHECK_STATUS(tp_ycfg_num(&y, "neg", get(&y, "neg"), -INFINITY, -4, &d), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "key 'neg' wants a number <= -4, not '-3'") != NULL);
    CHECK_STATUS(tp_ycfg_num(&y, "nan", get(&y, "nan"), -INFINITY, INFINITY, &d), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 10: key 'nan' wants a number, not 'nan'");
    CHECK_STATUS(tp_ycfg_num(&y, "inf", get(&y, "inf"), -INFINITY, INFINITY, &d), TP_ERR_FORMAT);
    CHECK_STATUS(tp_ycfg_num(&y, "word", get(&y, "word"), -INFINITY, INFINITY, &d), TP_ERR_FORMAT);
    CHECK_CLOSE(d, 0.25, 0);
    tp_ycfg_close(&y);
}

static void test_bool_str_null(void) {
    tp_ycfg y;
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "1"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "0"};
    for (size_t i = 0; i < 10; i++) {
        char text[64];
        bool b = false;
        snprintf(text, sizeof text, "a: %s\nb: %s\n", yes[i], no[i]);
        CHECK_OK(load(&y, text));
        CHECK_OK(tp_ycfg_bool(&y, "a", get(&y, "a"), &b));
        CHECK(b == true);
        CHECK_OK(tp_ycfg_bool(&y, "b", get(&y, "b"), &b));
        CHECK(b == false);
        tp_ycfg_close(&y);
    }
    bool b = true;
    CHECK_OK(load(&y, "a: maybe\nb: [true]\n"));
    CHECK_STATUS(tp_ycfg_bool(&y, "a", get(&y, "a"), &b), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 1: key 'a' wants true or false, not 'maybe'");
    CHECK_STATUS(tp_ycfg_bool(&y, "b", get(&y, "b"), &b), TP_ERR_FORMAT);
    CHECK(b == true);
    tp_ycfg_close(&y);

    CHECK_OK(load(&y, "t: ~\nu: null\nv: NULL\nw:\nq: 'null'\nr: \"\"\ns: text\nm: {a: 1}\n"));
    CHECK(tp_ycfg_is_null(get(&y, "t")) && tp_ycfg_is_null(get(&y, "u")) && tp_ycfg_is_null(get(&y, "v")));
    CHECK(tp_ycfg_is_null(get(&y, "w")));
    CHECK(!tp_ycfg_is_null(get(&y, "q")) && !tp_ycfg_is_null(get(&y, "r")) && !tp_ycfg_is_null(get(&y, "s")));
    CHECK(!tp_ycfg_is_null(get(&y, "m")) && !tp_ycfg_is_null(NULL));
    CHECK(tp_ycfg_scalar(get(&y, "m")) == NULL);
    CHECK_STR(tp_ycfg_scalar(get(&y, "q")), "null");
    char *s = tp_strdup("old");
    CHECK_OK(tp_ycfg_str(&y, "s", get(&y, "s"), 0, &s));
    CHECK_STR(s, "text");
    CHECK_OK(tp_ycfg_str(&y, "t", get(&y, "t"), 0, &s)); /* null clears */
    CHECK(s == NULL);
    CHECK_OK(tp_ycfg_str(&y, "q", get(&y, "q"), TP_YCFG_NONEMPTY, &s)); /* a quoted 'null' is text */
    CHECK_STR(s, "null");
    CHECK_OK(tp_ycfg_str(&y, "r", get(&y, "r"), 0, &s));
    CHECK_STR(s, "");
    CHECK_STATUS(tp_ycfg_str(&y, "r", get(&y, "r"), TP_YCFG_NONEMPTY, &s), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 6: key 'r' wants a non-empty string");
    CHECK_STATUS(tp_ycfg_str(&y, "w", get(&y, "w"), TP_YCFG_NONEMPTY, &s), TP_ERR_FORMAT);
    CHECK_STATUS(tp_ycfg_str(&y, "m", get(&y, "m"), 0, &s), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 8: key 'm' wants a string");
    CHECK_STR(s, ""); /* untouched by the failures */
    tp_free(s);
    tp_ycfg_close(&y);
}

static void test_paths(void) {
    tp_ycfg y;
    CHECK_OK(load(&y, "rel: data/x.parquet\nabs: /srv/x\nempty: ''\n"));
    char *p = NULL;
    CHECK_OK(tp_ycfg_path(&y, "rel", get(&y, "rel"), &p));
    CHECK_STR(p, "dir/data/x.parquet");
    CHECK_OK(tp_ycfg_path(&y, "abs", get(&y, "abs"), &p));
    CHECK_STR(p, "/srv/x");
    CHECK_STATUS(tp_ycfg_path(&y, "empty", get(&y, "empty"), &p), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 3: key 'empty' wants a path");
    CHECK_STR(p, "/srv/x");
    tp_free(p);
    const char *cases[][3] = {{"c.yaml", "x", "x"}, {"/c.yaml", "x", "/x"}, {"a/b/c.yaml", "x/y", "a/b/x/y"},
                              {"a/b/c.yaml", "/x", "/x"}, {"./c.yaml", ".", "./."}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tp_ycfg z = {.path = cases[i][0]};
        char *r = tp_ycfg_resolve(&z, cases[i][1]);
        CHECK_STR(r, cases[i][2]);
        tp_free(r);
    }
    tp_ycfg_close(&y);
}

static void test_lists(void) {
    tp_ycfg y;
    CHECK_OK(load(&y, "flow: [a, 'b c', d]\nblock:\n  - x\n  - y\none: solo\nnone: ~\nempty: []\n"
                      "nested: [a, [b]]\nblank:\n  - a\n  - ''\nmap: {a: 1}\n"));
    const char *it[4];
    size_t n = 99;
    CHECK_OK(tp_ycfg_list(&y, "flow", get(&y, "flow"), 0, it, 4, &n));
    CHECK(n == 3);
    if (n == 3) CHECK_STR(it[1], "b c");
    CHECK_OK(tp_ycfg_list(&y, "block", get(&y, "block"), TP_YCFG_NONEMPTY, it, 4, &n));
    CHECK(n == 2);
    if (n == 2) CHECK_STR(it[1], "y");
    CHECK_STATUS(tp_ycfg_list(&y, "flow", get(&y, "flow"), 0, it, 2, &n), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 1: key 'flow' has more than 2 entries");
    CHECK(n == 2);
    CHECK_STATUS(tp_ycfg_list(&y, "one", get(&y, "one"), 0, it, 4, &n), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 5: key 'one' wants a list");
    CHECK_OK(tp_ycfg_list(&y, "one", get(&y, "one"), TP_YCFG_ONE, it, 4, &n));
    CHECK(n == 1);
    CHECK_STR(it[0], "solo");
    CHECK_OK(tp_ycfg_list(&y, "none", get(&y, "none"), TP_YCFG_ONE, it, 4, &n));
    CHECK(n == 0);
    CHECK_STATUS(tp_ycfg_list(&y, "none", get(&y, "none"), TP_YCFG_ONE | TP_YCFG_NONEMPTY, it, 4, &n),
                 TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 6: key 'none' is empty");
    CHECK_OK(tp_ycfg_list(&y, "empty", get(&y, "empty"), 0, it, 4, &n));
    CHECK(n == 0);
    CHECK_STATUS(tp_ycfg_list(&y, "empty", get(&y, "empty"), TP_YCFG_NONEMPTY, it, 4, &n), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 7: key 'empty' is empty");
    CHECK_STATUS(tp_ycfg_list(&y, "nested", get(&y, "nested"), 0, it, 4, &n), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 8: key 'nested' wants a list of plain values");
    CHECK_STATUS(tp_ycfg_list(&y, "blank", get(&y, "blank"), 0, it, 4, &n), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 11: key 'blank' wants non-empty values");
    CHECK_STATUS(tp_ycfg_list(&y, "map", get(&y, "map"), TP_YCFG_ONE, it, 4, &n), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "test config 'dir/c.yaml', line 12: key 'map' wants a value or a list");

    char **d = NULL;
    size_t nd = 0;
    CHECK_OK(tp_ycfg_list_dup(&y, "flow", get(&y, "flow"), 0, &d, &nd));
    CHECK(nd == 3 && d && d[3] == NULL);
    if (nd == 3) CHECK_STR(d[2], "d");
    CHECK_OK(tp_ycfg_list_dup(&y, "one", get(&y, "one"), TP_YCFG_ONE, &d, &nd)); /* replaces */
    CHECK(nd == 1 && d && d[1] == NULL);
    if (nd == 1) CHECK_STR(d[0], "solo");
    CHECK_STATUS(tp_ycfg_list_dup(&y, "nested", get(&y, "nested"), 0, &d, &nd), TP_ERR_FORMAT);
    CHECK(nd == 1 && d && !strcmp(d[0], "solo")); /* kept on error */
    tp_ycfg_list_free(d, nd);
    tp_ycfg_close(&y);
}

void suite_yamlcfg(void) {
    test_load();
    test_fail_and_map();
    test_numbers();
    test_bool_str_null();
    test_paths();
    test_lists();
}
