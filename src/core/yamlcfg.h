/* yamlcfg.h (internal): the one way touchpoint reads its YAML config files (pipeline, lookalike,
 * serve, workflow, feature definitions) over libyaml's document API. Every error is TP_ERR_FORMAT
 * and names the file and the line: "pipeline config 'p.yaml', line 3: ..." or, for readers in
 * compiler style, "daily.yaml:3: ...". */
#ifndef TP_CORE_YAMLCFG_H
#define TP_CORE_YAMLCFG_H

#include "touchpoint/core.h"

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

typedef struct tp_ycfg {
    yaml_document_t doc;
    const char *path; /* the file named in every message (borrowed; set before loading) */
    const char *what; /* "pipeline config": what the file is, for "cannot open", empty, ... */
    bool short_loc;   /* messages read "FILE:LINE: ..." instead of "WHAT 'FILE', line LINE: ..." */
    bool loaded;      /* doc holds a document (tp_ycfg_close deletes it) */
} tp_ycfg;

/* Load y->path (tp_ycfg_load_file) or text (tp_ycfg_load_text) into y->doc. Set path, what and
 * short_loc first: `tp_ycfg y = {.path = p, .what = "serve config"};`. A file that cannot be
 * opened is TP_ERR_IO; a syntax error is TP_ERR_FORMAT with its line, column and libyaml's
 * problem and context (bad UTF-8: its byte offset); so is an empty document. Call
 * tp_ycfg_close whatever the result. */
tp_status tp_ycfg_load_file(tp_ycfg *y);
tp_status tp_ycfg_load_text(tp_ycfg *y, const char *text, size_t len);
void tp_ycfg_close(tp_ycfg *y);
/* The root node of a loaded document (never NULL after a successful load). */
yaml_node_t *tp_ycfg_root(tp_ycfg *y);

/* Record "<where n is>: <fmt...>" and return TP_ERR_FORMAT. n may be NULL (line 1). */
tp_status tp_ycfg_fail(const tp_ycfg *y, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The text of a scalar node; NULL for NULL, a sequence or a mapping. */
const char *tp_ycfg_scalar(const yaml_node_t *n);
/* A plain (unquoted) ~, null, Null, NULL or empty scalar. */
bool tp_ycfg_is_null(const yaml_node_t *n);

/* Entries of a sequence or pairs of a mapping (0 for a scalar or NULL), and the i-th of them. */
size_t tp_ycfg_len(const yaml_node_t *n);
yaml_node_t *tp_ycfg_item(const tp_ycfg *y, const yaml_node_t *seq, size_t i);
/* The i-th pair of a mapping checked by tp_ycfg_map: returns the key, *kn its node, *v the value. */
const char *tp_ycfg_pair(const tp_ycfg *y, const yaml_node_t *map, size_t i, yaml_node_t **kn,
                         yaml_node_t **v);
/* Iterate a mapping checked by tp_ycfg_map: for each pair, k = key text, kn = key node, v = value.
 *   tp_ycfg_foreach(y, n, i, k, kn, v) { if (!strcmp(k, "port")) ... } */
#define tp_ycfg_foreach(y, map, i, k, kn, v)                                                      \
    for (size_t i = 0; i < tp_ycfg_len(map) && ((k) = tp_ycfg_pair((y), (map), i, &(kn), &(v))); \
         i++)

/* Check that n is a mapping whose keys are plain scalars, each given once. Errors:
 * "key 'KEY' wants a mapping (KNOWN)" (KEY NULL: "the WHAT must be a mapping of keys (KNOWN)";
 * KNOWN NULL: no parenthesis), "keys must be plain names", "key 'K' is given twice". */
tp_status tp_ycfg_map(const tp_ycfg *y, const yaml_node_t *n, const char *key, const char *known);

/* Typed values. key names the setting in messages ("key 'seed' wants ..."); *out is written only
 * on success. Numbers must be finite decimal text, integers base 10, both within [lo, hi]; give
 * -INFINITY / INFINITY for an open end ("a number", "a number >= 0", "a number from 0 to 1"). */
tp_status tp_ycfg_i64(const tp_ycfg *y, const char *key, const yaml_node_t *n, int64_t lo,
                      int64_t hi, int64_t *out);
tp_status tp_ycfg_int(const tp_ycfg *y, const char *key, const yaml_node_t *n, int lo, int hi,
                      int *out);
tp_status tp_ycfg_num(const tp_ycfg *y, const char *key, const yaml_node_t *n, double lo, double hi,
                      double *out);
/* true/True/TRUE/yes/Yes/YES/on/On/ON/1 and false/False/FALSE/no/No/NO/off/Off/OFF/0. */
tp_status tp_ycfg_bool(const tp_ycfg *y, const char *key, const yaml_node_t *n, bool *out);

enum {
    TP_YCFG_NONEMPTY = 1, /* str: null or "" is an error; list: so is a list without entries */
    TP_YCFG_ONE = 2,      /* list: a single scalar is a list of one */
};
/* A string into *out (tp_malloc'd; the old *out is freed). A null scalar gives NULL unless
 * TP_YCFG_NONEMPTY, which also refuses "". */
tp_status tp_ycfg_str(const tp_ycfg *y, const char *key, const yaml_node_t *n, unsigned flags,
                      char **out);
/* A non-empty path into *out (old *out freed), relative ones resolved with tp_ycfg_resolve. */
tp_status tp_ycfg_path(const tp_ycfg *y, const char *key, const yaml_node_t *n, char **out);
/* rel joined to the folder of y->path unless rel is absolute or the path has no folder;
 * tp_malloc'd, NULL when out of memory. */
char *tp_ycfg_resolve(const tp_ycfg *y, const char *rel);

/* A flow or block sequence of non-empty scalars (or, with TP_YCFG_ONE, one scalar, where a null
 * one is an empty list): borrowed pointers into the document in items[0..*count), at most max. */
tp_status tp_ycfg_list(const tp_ycfg *y, const char *key, const yaml_node_t *n, unsigned flags,
                       const char **items, size_t max, size_t *count);
/* The same, copied: *out is a tp_malloc'd array of *count tp_malloc'd strings plus a NULL (free
 * with tp_ycfg_list_free); the old *out and *count are freed first. */
tp_status tp_ycfg_list_dup(const tp_ycfg *y, const char *key, const yaml_node_t *n, unsigned flags,
                           char ***out, size_t *count);
void tp_ycfg_list_free(char **items, size_t count);

#endif
