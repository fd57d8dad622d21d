/* report_html.c: the attribution report as one self-contained HTML page (inline CSS and SVG, no
 * script, no network): data summary, error against the truth, credit share per campaign for every
 * method side by side, journey lengths and conversion rate by length, campaign attention.
 * Every piece of text from the data is escaped; numbers carry thousands separators. */
#include "touchpoint/report.h"
#include "touchpoint/dnamta_train.h"
#include "touchpoint/counterfactual.h"
#include "touchpoint/io.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

// ---- string builder ----

typedef struct sb {
    char *p;
    size_t n, cap;
    int oom;
} sb;

static void sb_putn(sb *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = tp_realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_puts(sb *b, const char *s) { sb_putn(b, s, strlen(s)); }
__attribute__((format(printf, 2, 3))) static void sb_printf(sb *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < sizeof tmp) {
        sb_putn(b, tmp, (size_t)k);
        return;
    }
    char *big = tp_malloc((size_t)k + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)k);
    tp_free(big);
}
/* HTML-escape into the builder (text and attribute values alike). */
static void sb_esc(sb *b, const char *s) {
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (rep) {
            sb_putn(b, run, (size_t)(s - run));
            sb_puts(b, rep);
            run = s + 1;
        }
    }
    sb_putn(b, run, (size_t)(s - run));
}

char *tp_report_html_escape(const char *s) {
    sb b = {0};
    sb_puts(&b, "");
    sb_esc(&b, s ? s : "");
    if (b.oom) {
        tp_free(b.p);
        return NULL;
    }
    return b.p;
}

// ---- number formatting ----

/* Insert thousands separators into the integer digits of a plain decimal string. */
static void group_digits(const char *in, char *out, size_t cap) {
    size_t k = 0;
    const char *p = in;
    if (*p == '-') out[k++] = *p++;
    size_t digits = strspn(p, "0123456789");
    for (size_t i = 0; i < digits && k + 2 < cap; i++) {
        out[k++] = p[i];
        size_t left = digits - i - 1;
        if (left > 0 && left % 3 == 0) out[k++] = ',';
    }
    p += digits;
    while (*p && k + 1 < cap) out[k++] = *p++;
    out[k] = 0;
}
static const char *fmt_int(int64_t v, char *buf) { /* buf >= 40 */
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    group_digits(tmp, buf, 40);
    return buf;
}
static const char *fmt_num(double v, int dec, char *buf) { /* buf >= 64 */
    if (!isfinite(v)) {
        strcpy(buf, "\xE2\x80\x93"); /* en dash */
        return buf;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", dec, v);
    if (tmp[0] == '-' && strspn(tmp + 1, "0.") == strlen(tmp + 1)) /* "-0.0" -> "0.0" */
        memmove(tmp, tmp + 1, strlen(tmp));
    group_digits(tmp, buf, 64);
    return buf;
}
static const char *fmt_pct(double frac, char *buf) { /* buf >= 64; one decimal */
    if (!isfinite(frac)) return fmt_num(frac, 1, buf);
    fmt_num(frac * 100.0, 1, buf);
    strcat(buf, "%");
    return buf;
}

// ---- colours: Okabe-Ito first (colour-blind safe), then distinct extras ----

static const char *const PALETTE[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                      "#D55E00", "#7E57C2", "#8C564B", "#B8A200", "#7F7F7F"};
#define N_PALETTE (sizeof PALETTE / sizeof *PALETTE)
static const char TRUTH_COLOUR[] = "#222B38";

// ---- the data behind the charts ----

typedef struct view {
    size_t S; /* series: truth (if any) first, then methods */
    const char **sname;
    const char **scolour;
    size_t C; /* campaigns: union over series and truth, in display order */
    const char **cname;
    double *share;      /* S x C, row-major by series */
    double *attributed; /* S x C, NaN when the series has no attributed_conversions */
    int has_truth;
} view;

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}
static long find_name(const char **names, size_t n, const char *s) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(names[mid], s);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const double *sort_key_g; /* for ordering campaigns by a score, descending */
static const char **sort_names_g;
static int cmp_by_key(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (sort_key_g[x] > sort_key_g[y]) return -1;
    if (sort_key_g[x] < sort_key_g[y]) return 1;
    return strcmp(sort_names_g[x], sort_names_g[y]);
}

static void view_free(view *v) {
    tp_free(v->sname);
    tp_free(v->scolour);
    tp_free(v->cname);
    tp_free(v->share);
    tp_free(v->attributed);
}

static tp_status view_build(const tp_report_html_input *in, view *v) {
    tp_status rc = TP_OK;
    const tp_truth *t = in->truth;
    size_t cap = t ? t->n : 0;
    const char **all = NULL;
    size_t *order = NULL;
    double *key = NULL, *tmp_share = NULL, *tmp_attr = NULL;
    memset(v, 0, sizeof *v);
    for (size_t s = 0; s < in->n_series; s++) cap += tp_frame_n_rows(in->series[s].credit);
    all = tp_malloc((cap ? cap : 1) * sizeof *all);
    if (!all) goto nomem;
    size_t n = 0;
    if (t)
        for (size_t k = 0; k < t->n; k++) all[n++] = t->names[k];
    for (size_t s = 0; s < in->n_series; s++) {
        tp_column *cn = tp_frame_find(in->series[s].credit, "campaign_nm");
        if (!cn) {
            rc = tp_fail(TP_ERR_NOTFOUND, "credit table '%s' has no column campaign_nm",
                         in->series[s].name);
            goto done;
        }
        for (size_t r = 0; r < tp_frame_n_rows(in->series[s].credit); r++)
            all[n++] = tp_column_is_null(cn, r) ? "" : tp_column_get_str(cn, r, NULL);
    }
    qsort(all, n, sizeof *all, cmp_cstr);
    size_t C = 0;
    for (size_t i = 0; i < n; i++)
        if (C == 0 || strcmp(all[C - 1], all[i]) != 0) all[C++] = all[i];

    v->has_truth = t != NULL;
    v->S = in->n_series + (t ? 1 : 0);
    v->C = C;
    size_t S = v->S, SC = S * C > 0 ? S * C : 1;
    v->sname = tp_calloc(S ? S : 1, sizeof *v->sname);
    v->scolour = tp_calloc(S ? S : 1, sizeof *v->scolour);
    v->cname = tp_calloc(C ? C : 1, sizeof *v->cname);
    v->share = tp_calloc(SC, sizeof *v->share);
    v->attributed = tp_calloc(SC, sizeof *v->attributed);
    tmp_share = tp_calloc(SC, sizeof *tmp_share);
    tmp_attr = tp_calloc(SC, sizeof *tmp_attr);
    order = tp_calloc(C ? C : 1, sizeof *order);
    key = tp_calloc(C ? C : 1, sizeof *key);
    if (!v->sname || !v->scolour || !v->cname || !v->share || !v->attributed || !tmp_share ||
        !tmp_attr || !order || !key)
        goto nomem;

    /* shares in name order first */
    size_t s0 = 0;
    if (t) {
        v->sname[0] = "truth";
        v->scolour[0] = TRUTH_COLOUR;
        for (size_t k = 0; k < t->n; k++) {
            long c = find_name(all, C, t->names[k]);
            tmp_share[c] = t->true_share[k];
            tmp_attr[c] = t->incremental ? t->incremental[k] : NAN;
        }
        s0 = 1;
    }
    for (size_t s = 0; s < in->n_series; s++) {
        const tp_frame *f = in->series[s].credit;
        tp_column *cn = tp_frame_find(f, "campaign_nm"), *cs = tp_frame_find(f, "share");
        tp_column *ca = tp_frame_find(f, "attributed_conversions");
        if (!cs) {
            rc = tp_fail(TP_ERR_NOTFOUND, "credit table '%s' has no column share",
                         in->series[s].name);
            goto done;
        }
        v->sname[s0 + s] = in->series[s].name;
        v->scolour[s0 + s] = PALETTE[s % N_PALETTE];
        double *row = tmp_share + (s0 + s) * C, *arow = tmp_attr + (s0 + s) * C;
        for (size_t c = 0; c < C; c++) arow[c] = ca ? 0.0 : NAN;
        for (size_t r = 0; r < tp_frame_n_rows(f); r++) {
            long c =
                find_name(all, C, tp_column_is_null(cn, r) ? "" : tp_column_get_str(cn, r, NULL));
            row[c] += tp_column_is_null(cs, r) ? 0.0 : tp_column_get_f64(cs, r);
            if (ca && !tp_column_is_null(ca, r)) arow[c] += tp_column_get_f64(ca, r);
        }
    }
    /* display order: by true share, else by mean share over the methods; ties by name */
    for (size_t c = 0; c < C; c++) {
        order[c] = c;
        if (t)
            key[c] = tmp_share[c];
        else {
            double sum = 0;
            for (size_t s = 0; s < S; s++) sum += tmp_share[s * C + c];
            key[c] = S ? sum / (double)S : 0;
        }
    }
    sort_key_g = key;
    sort_names_g = all;
    qsort(order, C, sizeof *order, cmp_by_key);
    for (size_t c = 0; c < C; c++) {
        v->cname[c] = all[order[c]];
        for (size_t s = 0; s < S; s++) {
            v->share[s * C + c] = tmp_share[s * C + order[c]];
            v->attributed[s * C + c] = tmp_attr[s * C + order[c]];
        }
    }
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory rendering the report");
done:
    tp_free(all);
    tp_free(order);
    tp_free(key);
    tp_free(tmp_share);
    tp_free(tmp_attr);
    if (rc != TP_OK) view_free(v);
    return rc;
}

// ---- layout helpers ----

/* A "nice" axis step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` intervals. */
static double nice_step(double max, int ticks) {
    if (!(max > 0)) return 1;
    double raw = max / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return m * mag;
}
/* Percent tick label with as many decimals as the step needs. */
static const char *fmt_pct_tick(double frac, double step, char *buf) {
    int dec = step * 100 >= 1 ? (fmod(step * 100, 1) == 0 ? 0 : 1) : 1;
    fmt_num(frac * 100, dec, buf);
    strcat(buf, "%");
    return buf;
}
/* Label text, cut to max_chars code points with an ellipsis (the full text goes in a <title>). */
static void sb_esc_trunc(sb *b, const char *s, size_t max_chars) {
    size_t chars = 0, i = 0;
    while (s[i]) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == max_chars) break;
            chars++;
        }
        i++;
    }
    if (!s[i]) {
        sb_esc(b, s);
        return;
    }
    /* back off one more code point to make room for the ellipsis */
    size_t cut = i;
    do cut--;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80);
    char *tmp = tp_malloc(cut + 1);
    if (!tmp) {
        b->oom = 1;
        return;
    }
    memcpy(tmp, s, cut);
    tmp[cut] = 0;
    sb_esc(b, tmp);
    sb_puts(b, "\xE2\x80\xA6");
    tp_free(tmp);
}
static size_t utf8_len(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

// ---- page pieces ----

static const char CSS[] =
    ":root{--ink:#1d2530;--muted:#5b6675;--line:#e3e7ed;--bg:#f4f6f9;--card:#fff;--accent:#0072B2}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}"
    "main{max-width:1120px;margin:0 auto;padding:28px 24px 48px}"
    "header h1{font-size:26px;margin:0 0 4px;letter-spacing:-.01em}"
    "header p{margin:0;color:var(--muted);font-size:14px}"
    "header code{background:#e9edf2;border-radius:4px;padding:1px 5px;font-size:13px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:12px;"
    "margin:22px 0 8px}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px "
    "16px}"
    ".card .v{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}"
    ".card .k{color:var(--muted);font-size:13px}"
    "section{background:var(--card);border:1px solid var(--line);border-radius:10px;"
    "padding:20px 24px;margin-top:20px}"
    "section h2{font-size:18px;margin:0 0 4px}"
    "section p.note{margin:0 0 14px;color:var(--muted);font-size:13.5px}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:14px}"
    "th,td{padding:6px 10px;border-bottom:1px solid "
    "var(--line);text-align:right;white-space:nowrap}"
    "th{font-weight:600;color:var(--muted);font-size:13px;border-bottom:2px solid var(--line)}"
    "section h3{font-size:15px;margin:18px 0 2px;font-weight:600}"
    "th.l,td.l{text-align:left}td.name{white-space:normal;word-break:break-word}"
    "tr.best td{background:#eef7f1}"
    ".sw{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:7px;"
    "vertical-align:-1px}"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:0 0 10px;font-size:13.5px}"
    ".legend span{white-space:nowrap}"
    ".meter{display:inline-block;height:8px;border-radius:4px;background:var(--accent);"
    "vertical-align:middle;margin-right:8px;opacity:.8}"
    ".scroll{overflow-x:auto}"
    "svg{display:block;width:100%;height:auto}"
    "svg text{font-family:inherit;fill:var(--ink)}"
    "svg .tick{font-size:11px;fill:var(--muted)}"
    "svg .cat{font-size:12.5px}"
    "svg .val{font-size:10.5px;fill:#3b4553}"
    "svg .grid{stroke:var(--line);stroke-width:1}"
    "svg .axis{stroke:#9aa4b2;stroke-width:1}"
    "svg .halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".grid2{display:grid;grid-template-columns:1fr;gap:8px}"
    "footer{margin-top:28px;color:var(--muted);font-size:12.5px;text-align:center}";

static void card(sb *b, const char *value, const char *label) {
    sb_puts(b, "<div class=\"card\"><div class=\"v\">");
    sb_puts(b, value); /* formatted numbers only: no escaping needed */
    sb_puts(b, "</div><div class=\"k\">");
    sb_esc(b, label);
    sb_puts(b, "</div></div>\n");
}

static void legend(sb *b, const view *v) {
    sb_puts(b, "<div class=\"legend\" aria-label=\"legend\">");
    for (size_t s = 0; s < v->S; s++) {
        sb_printf(b, "<span><i class=\"sw\" style=\"background:%s\"></i>", v->scolour[s]);
        sb_esc(b, v->sname[s]);
        if (v->has_truth && s == 0) sb_puts(b, " (simulated ground truth)");
        sb_puts(b, "</span>");
    }
    sb_puts(b, "</div>\n");
}

/* Grouped horizontal bars: one group per campaign, one bar per series. */
static void credit_chart(sb *b, const view *v, size_t C) {
    const double W = 960;
    size_t S = v->S, maxc = 0;
    for (size_t c = 0; c < C; c++) {
        size_t l = utf8_len(v->cname[c]);
        if (l > maxc) maxc = l;
    }
    if (maxc > 30) maxc = 30;
    double label_w = fmin(fmax(7.2 * (double)maxc + 18, 80), 240);
    double x0 = label_w, pw = W - label_w - 60;
    double bar_h = S <= 3 ? 16 : S <= 5 ? 13 : S <= 8 ? 11 : 8, gap = 2, pad = 14;
    double group_h = (double)S * (bar_h + gap) - gap + pad;
    double top = 26, H = top + group_h * (double)C + 8;
    /* the axis spans [xmin, xmax]; xmin < 0 only when some share is negative (Shapley values
     * can be), and then leaves room on the left for the labels of negative bars */
    double maxv = 0, minv = 0;
    for (size_t s = 0; s < S; s++)
        for (size_t c = 0; c < C; c++) {
            maxv = fmax(maxv, v->share[s * v->C + c]);
            minv = fmin(minv, v->share[s * v->C + c]);
        }
    if (!(maxv > 0) && !(minv < 0)) maxv = 0.1;
    double range = maxv - minv, lpad = minv < 0 ? range * 48 / pw : 0;
    double step = nice_step(range + lpad, 5);
    double xmax = maxv > 0 ? ceil(maxv / step - 1e-9) * step : 0;
    double xmin = minv < 0 ? floor((minv - lpad) / step + 1e-9) * step : 0;
    double span = xmax - xmin, zx = x0 + pw * (0 - xmin) / span;
    char buf[64], buf2[64];

    sb_printf(
        b,
        "<svg class=\"chart credit\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
        "role=\"img\" aria-labelledby=\"credit-title\" xmlns=\"http://www.w3.org/2000/svg\">"
        "<title id=\"credit-title\">Credit share per campaign, by method</title>\n",
        W, H, W, H);
    for (size_t c = 0; c < C; c++) /* alternate bands */
        if (c % 2 == 1)
            sb_printf(b,
                      "<rect x=\"0\" y=\"%.1f\" width=\"%.0f\" height=\"%.1f\" fill=\"#f6f8fb\"/>",
                      top + group_h * (double)c, W, group_h);
    long n_ticks = lround(span / step);
    for (long k = 0; k <= n_ticks; k++) {
        double x = xmin + (double)k * step;
        if (fabs(x) < step * 1e-6) x = 0;
        double px = x0 + pw * (x - xmin) / span;
        sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", px,
                  px, top - 4, H - 8);
        sb_printf(b,
                  "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                  px, top - 10, fmt_pct_tick(x, step, buf));
    }
    sb_printf(b, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n", zx, zx,
              top - 4, H - 8);
    for (size_t c = 0; c < C; c++) {
        double gy = top + group_h * (double)c + pad / 2;
        double cy = gy + ((double)S * (bar_h + gap) - gap) / 2;
        sb_printf(b,
                  "<g class=\"group\"><text class=\"cat\" x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"end\" dominant-baseline=\"middle\"><title>",
                  x0 - 8, cy);
        sb_esc(b, v->cname[c]);
        sb_puts(b, "</title>");
        sb_esc_trunc(b, v->cname[c], 30);
        sb_puts(b, "</text>\n");
        for (size_t s = 0; s < S; s++) {
            double val = v->share[s * v->C + c];
            double w = val != 0 ? fmax(pw * fabs(val) / span, 0.75) : 0;
            double y = gy + (double)s * (bar_h + gap), bx = val < 0 ? zx - w : zx;
            sb_printf(b,
                      "<rect class=\"bar\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                      "rx=\"2\" fill=\"%s\" data-series=\"",
                      bx, y, w, bar_h, v->scolour[s]);
            sb_esc(b, v->sname[s]);
            sb_puts(b, "\" data-campaign=\"");
            sb_esc(b, v->cname[c]);
            sb_printf(b, "\" data-share=\"%.6f\"><title>", val);
            sb_esc(b, v->sname[s]);
            sb_puts(b, " \xC2\xB7 ");
            sb_esc(b, v->cname[c]);
            sb_printf(b, ": %s", fmt_pct(val, buf));
            double a = v->attributed[s * v->C + c];
            if (isfinite(a)) sb_printf(b, " (%s conversions)", fmt_num(a, a >= 100 ? 0 : 1, buf2));
            sb_puts(b, "</title></rect>");
            if (bar_h >= 10)
                sb_printf(b,
                          "<text class=\"val\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
                          "dominant-baseline=\"middle\">%s</text>",
                          val < 0 ? bx - 4 : bx + w + 4, y + bar_h / 2 + 0.5,
                          val < 0 ? "end" : "start", fmt_pct(val, buf));
            sb_puts(b, "\n");
        }
        sb_puts(b, "</g>\n");
    }
    sb_puts(b, "</svg>\n");
}

typedef struct length_hist {
    size_t B; /* bins: lengths 1..B, the last one "B+" when capped */
    int capped;
    int64_t *count, *conv;
    size_t cut; /* L when some journey was longer, else 0 */
} length_hist;

static tp_status length_hist_build(const tp_journeys *j, length_hist *h) {
    int32_t maxlen = 0;
    memset(h, 0, sizeof *h);
    for (size_t i = 0; i < j->n; i++)
        if (j->length[i] > maxlen) maxlen = j->length[i];
    size_t cap = 40;
    h->B = maxlen < 1 ? 1 : (size_t)maxlen;
    if (h->B > cap) {
        h->B = cap;
        h->capped = 1;
    }
    h->count = tp_calloc(h->B + 1, sizeof *h->count);
    h->conv = tp_calloc(h->B + 1, sizeof *h->conv);
    if (!h->count || !h->conv) return tp_fail(TP_ERR_NOMEM, "out of memory rendering the report");
    for (size_t i = 0; i < j->n; i++) {
        size_t l = j->length[i] < 1 ? 1 : (size_t)j->length[i];
        if (l > h->B) l = h->B;
        h->count[l]++;
        h->conv[l] += j->converted[i] != 0;
        if (j->max_len && (size_t)j->length[i] > j->max_len) h->cut = j->max_len;
    }
    return TP_OK;
}

static void bin_label(const length_hist *h, size_t l, char *buf) {
    snprintf(buf, 16, "%zu%s", l, h->capped && l == h->B ? "+" : "");
}

/* Column chart of journey counts by length, and the conversion rate by length as a line. */
static void length_charts(sb *b, const length_hist *h) {
    const double W = 960, H = 250, left = 72, right = 20, top = 18, bottom = 40;
    double pw = W - left - right, ph = H - top - bottom, bw = pw / (double)h->B;
    char buf[64], lab[16];
    int64_t maxc = 0;
    double maxr = 0;
    for (size_t l = 1; l <= h->B; l++) {
        if (h->count[l] > maxc) maxc = h->count[l];
        if (h->count[l]) maxr = fmax(maxr, (double)h->conv[l] / (double)h->count[l]);
    }
    double step = nice_step(maxc > 0 ? (double)maxc : 1, 4);
    if (step < 1) step = 1;
    double ymax = ceil((double)(maxc > 0 ? maxc : 1) / step - 1e-9) * step;
    size_t label_every = h->B <= 40 ? 1 : (h->B + 39) / 40;

    for (int chart = 0; chart < 2; chart++) {
        double rstep = nice_step(maxr > 0 ? maxr : 0.01, 4);
        double rmax = ceil((maxr > 0 ? maxr : 0.01) / rstep - 1e-9) * rstep;
        double vmax = chart == 0 ? ymax : rmax, vstep = chart == 0 ? step : rstep;
        sb_puts(b, chart == 0 ? "<h3>Journeys by length</h3>\n"
                              : "<h3>Conversion rate by length</h3><p class=\"note\">Hollow points "
                                "rest on fewer than 30 journeys.</p>\n");
        sb_printf(
            b,
            "<svg class=\"chart %s\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
            "role=\"img\" aria-labelledby=\"%s-title\" xmlns=\"http://www.w3.org/2000/svg\">"
            "<title id=\"%s-title\">%s</title>\n",
            chart == 0 ? "lengths" : "rate", W, H, W, H, chart == 0 ? "len" : "rate",
            chart == 0 ? "len" : "rate",
            chart == 0 ? "Journeys by length (touches before the cut)"
                       : "Conversion rate by journey length");
        for (double y = 0; y <= vmax + vstep / 2; y += vstep) {
            double py = top + ph - ph * y / vmax;
            sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
                      left, W - right, py, py);
            if (chart == 0)
                fmt_num(y, 0, buf);
            else
                fmt_pct_tick(y, vstep, buf);
            sb_printf(b,
                      "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                      "dominant-baseline=\"middle\">%s</text>\n",
                      left - 8, py, buf);
        }
        for (size_t l = 1; l <= h->B; l++) {
            double cx = left + bw * ((double)l - 0.5);
            bin_label(h, l, lab);
            if ((l - 1) % label_every == 0)
                sb_printf(b,
                          "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
                          "</text>",
                          cx, top + ph + 16, lab);
        }
        sb_printf(b,
                  "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">journey "
                  "length (touches)</text>\n",
                  left + pw / 2, H - 4);
        if (chart == 0) {
            for (size_t l = 1; l <= h->B; l++) {
                double bh = ph * (double)h->count[l] / vmax,
                       x = left + bw * ((double)l - 1) + bw * 0.1;
                bin_label(h, l, lab);
                sb_printf(b,
                          "<rect class=\"hbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"%.1f\" fill=\"#5B8DB8\"><title>length %s: %s journeys",
                          x, top + ph - bh, bw * 0.8, bh, lab, fmt_int(h->count[l], buf));
                sb_printf(b, ", %s converted</title></rect>\n", fmt_int(h->conv[l], buf));
                if (h->B <= 24 && h->count[l] > 0)
                    sb_printf(b,
                              "<text class=\"val\" x=\"%.1f\" y=\"%.1f\" "
                              "text-anchor=\"middle\">%s</text>\n",
                              x + bw * 0.4, top + ph - bh - 4, fmt_int(h->count[l], buf));
            }
        } else {
            sb_puts(b, "<polyline fill=\"none\" stroke=\"#D55E00\" stroke-width=\"2\" points=\"");
            for (size_t l = 1; l <= h->B; l++) {
                if (!h->count[l]) continue;
                double r = (double)h->conv[l] / (double)h->count[l];
                sb_printf(b, "%.1f,%.1f ", left + bw * ((double)l - 0.5), top + ph - ph * r / vmax);
            }
            sb_puts(b, "\"/>\n");
            for (size_t l = 1; l <= h->B; l++) {
                if (!h->count[l]) continue;
                double r = (double)h->conv[l] / (double)h->count[l];
                bin_label(h, l, lab);
                int few = h->count[l] < 30;
                sb_printf(b,
                          "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
                          "fill=\"%s\" stroke=\"#D55E00\" stroke-width=\"1.5\"><title>"
                          "length %s: %s converted",
                          left + bw * ((double)l - 0.5), top + ph - ph * r / vmax,
                          few ? "#fff" : "#D55E00", lab, fmt_pct(r, buf));
                sb_printf(b, " of %s journeys</title></circle>\n", fmt_int(h->count[l], buf));
            }
        }
        if (h->cut && h->cut < h->B) {
            double x = left + bw * (double)h->cut;
            sb_printf(b,
                      "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#5b6675\" "
                      "stroke-dasharray=\"4 3\"/><text class=\"tick halo\" x=\"%.1f\" "
                      "y=\"%.1f\">longer journeys keep their last %zu touches</text>\n",
                      x, x, top, top + ph, x + 5, top + 10, h->cut);
        }
        sb_printf(b, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n",
                  left, W - right, top + ph, top + ph);
        sb_puts(b, "</svg>\n");
    }
}

// ---- the page ----

typedef struct err_row {
    size_t s;
    double tvd, rho, over, under;
    size_t over_c, under_c;
} err_row;
static int cmp_err(const void *a, const void *b) {
    const err_row *x = a, *y = b;
    if (x->tvd < y->tvd) return -1;
    if (x->tvd > y->tvd) return 1;
    return (x->s > y->s) - (x->s < y->s);
}

static void errors_table(sb *b, const view *v) {
    size_t M = v->S - 1, C = v->C;
    char buf[64];
    err_row *rows = tp_calloc(M ? M : 1, sizeof *rows);
    if (!rows) {
        b->oom = 1;
        goto done;
    }
    const double *truth = v->share;
    double worst = 0;
    for (size_t m = 0; m < M; m++) {
        const double *sh = v->share + (m + 1) * C;
        err_row *r = &rows[m];
        r->s = m + 1;
        double sum = 0;
        r->over = -INFINITY;
        r->under = INFINITY;
        for (size_t c = 0; c < C; c++) {
            double d = sh[c] - truth[c];
            sum += fabs(d);
            if (d > r->over) r->over = d, r->over_c = c;
            if (d < r->under) r->under = d, r->under_c = c;
        }
        r->tvd = sum / 2;
        r->rho = tp_spearman(sh, truth, C);
        if (r->tvd > worst) worst = r->tvd;
    }
    qsort(rows, M, sizeof *rows, cmp_err);
    sb_puts(b, "<section id=\"accuracy\"><h2>Error against the simulated truth</h2>"
               "<p class=\"note\">Error is the total variation distance between a method&#39;s "
               "credit shares and the true shares: the share of all credit given to the wrong "
               "campaigns (0% is perfect). Spearman&#39;s &rho; compares the campaign rankings "
               "(1 is perfect). Best first.</p>\n<div class=\"scroll\"><table class=\"errors\">"
               "<thead><tr><th>#</th><th class=\"l\">Method</th><th class=\"l\">Error (TVD)</th>"
               "<th>Spearman &rho;</th><th class=\"l\">Most over-credited</th>"
               "<th class=\"l\">Most under-credited</th></tr></thead><tbody>\n");
    for (size_t k = 0; k < M; k++) {
        const err_row *r = &rows[k];
        sb_printf(b,
                  "<tr%s><td>%zu</td><td class=\"l\"><i class=\"sw\" style=\"background:%s\">"
                  "</i>",
                  k == 0 ? " class=\"best\"" : "", k + 1, v->scolour[r->s]);
        sb_esc(b, v->sname[r->s]);
        double mw = worst > 0 ? 120 * r->tvd / worst : 0;
        sb_printf(b,
                  "</td><td class=\"l\"><span class=\"meter\" style=\"width:%.0fpx\"></span>%s"
                  "</td>",
                  mw, fmt_pct(r->tvd, buf));
        sb_printf(b, "<td>%s</td><td class=\"l name\">", fmt_num(r->rho, 2, buf));
        if (C && r->over > 0) {
            sb_esc(b, v->cname[r->over_c]);
            sb_printf(b, " (+%s pts)", fmt_num(r->over * 100, 1, buf));
        } else
            sb_puts(b, "\xE2\x80\x93");
        sb_puts(b, "</td><td class=\"l name\">");
        if (C && r->under < 0) {
            sb_esc(b, v->cname[r->under_c]);
            sb_printf(b, " (%s pts)", fmt_num(r->under * 100, 1, buf));
        } else
            sb_puts(b, "\xE2\x80\x93");
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</tbody></table></div></section>\n");
done:
    tp_free(rows);
}

static void credit_table(sb *b, const view *v) {
    char buf[64];
    sb_puts(b, "<details open><summary>Credit share table (all campaigns)</summary>"
               "<div class=\"scroll\"><table class=\"shares\"><thead><tr><th class=\"l\">Campaign"
               "</th>");
    for (size_t s = 0; s < v->S; s++) {
        sb_printf(b, "<th><i class=\"sw\" style=\"background:%s\"></i>", v->scolour[s]);
        sb_esc(b, v->sname[s]);
        sb_puts(b, "</th>");
    }
    sb_puts(b, "</tr></thead><tbody>\n");
    for (size_t c = 0; c < v->C; c++) {
        sb_puts(b, "<tr><td class=\"l name\">");
        sb_esc(b, v->cname[c]);
        sb_puts(b, "</td>");
        for (size_t s = 0; s < v->S; s++)
            sb_printf(b, "<td>%s</td>", fmt_pct(v->share[s * v->C + c], buf));
        sb_puts(b, "</tr>\n");
    }
    /* attributed conversions per series, when the tables carry them */
    sb_puts(b, "</tbody><tfoot><tr><td class=\"l\"><b>Attributed conversions</b></td>");
    for (size_t s = 0; s < v->S; s++) {
        double sum = 0;
        int any = 0;
        for (size_t c = 0; c < v->C; c++) {
            double a = v->attributed[s * v->C + c];
            if (isfinite(a)) sum += a, any = 1;
        }
        sb_printf(b, "<td><b>%s</b></td>", any ? fmt_num(sum, 0, buf) : "\xE2\x80\x93");
    }
    sb_puts(b, "</tr></tfoot></table></div></details>\n");
}

static void attention_table(sb *b, const tp_frame *att, const char *source) {
    char b1[64], b2[64], b3[64], b4[64];
    tp_column *cn = tp_frame_find(att, "campaign_nm"), *ct = tp_frame_find(att, "total_attention");
    tp_column *ca = tp_frame_find(att, "average_attention");
    tp_column *cc = tp_frame_find(att, "attributed_conversions");
    if (!cn || !ct || !ca || !cc) return;
    size_t n = tp_frame_n_rows(att);
    size_t *order = tp_malloc((n ? n : 1) * sizeof *order);
    double *key = tp_malloc((n ? n : 1) * sizeof *key);
    const char **names = tp_malloc((n ? n : 1) * sizeof *names);
    if (!order || !key || !names) {
        b->oom = 1;
        goto done;
    }
    double sum = 0;
    for (size_t r = 0; r < n; r++) {
        order[r] = r;
        key[r] = tp_column_get_f64(cc, r);
        names[r] = tp_column_get_str(cn, r, NULL);
        sum += key[r];
    }
    sort_key_g = key;
    sort_names_g = names;
    qsort(order, n, sizeof *order, cmp_by_key);
    sb_puts(b, "<section id=\"attention\"><h2>Campaign attention</h2><p class=\"note\">From ");
    sb_esc(b, source ? source : "per-touch credit");
    sb_puts(b, ", joined with the journeys; padding positions excluded. Average attention is the "
               "total over the campaign&#39;s touches; attributed conversions weight attention by "
               "the journey&#39;s conversion. Written to <code>campaign_attention.parquet</code>."
               "</p>\n<div class=\"scroll\"><table class=\"attention\"><thead><tr>"
               "<th class=\"l\">Campaign</th><th>Total attention</th><th>Average attention</th>"
               "<th>Attributed conversions</th><th>Share</th></tr></thead><tbody>\n");
    for (size_t k = 0; k < n; k++) {
        size_t r = order[k];
        sb_puts(b, "<tr><td class=\"l name\">");
        sb_esc(b, names[r]);
        sb_printf(b, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                  fmt_num(tp_column_get_f64(ct, r), 1, b1),
                  fmt_num(tp_column_get_f64(ca, r), 4, b2), fmt_num(key[r], 1, b3),
                  fmt_pct(sum > 0 ? key[r] / sum : NAN, b4));
    }
    sb_puts(b, "</tbody></table></div></section>\n");
done:
    tp_free(order);
    tp_free(key);
    tp_free(names);
}

tp_status tp_report_html_render(const tp_report_html_input *in, char **out) {
    tp_status rc = TP_OK;
    sb b = {0};
    view v = {0};
    length_hist h = {0};
    char buf[64];
    if (!in || !in->journeys || !out) return tp_fail(TP_ERR_ARG, "report: journeys are required");
    const tp_journeys *j = in->journeys;
    if ((rc = view_build(in, &v)) != TP_OK) return rc;
    if ((rc = length_hist_build(j, &h)) != TP_OK) goto done;
    const char *title = in->title ? in->title : "Attribution report";

    sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'; img-src data:\"><title>");
    sb_esc(&b, title);
    sb_puts(&b, "</title><style>");
    sb_puts(&b, CSS);
    sb_puts(&b, "</style></head><body><main>\n<header><h1>");
    sb_esc(&b, title);
    sb_puts(&b, "</h1><p>");
    if (in->journeys_path) {
        sb_puts(&b, "Journeys: <code>");
        sb_esc(&b, in->journeys_path);
        sb_puts(&b, "</code> &middot; ");
    }
    sb_printf(&b, "%zu method%s", in->n_series, in->n_series == 1 ? "" : "s");
    if (in->truth) sb_puts(&b, " &middot; compared with the simulator&#39;s ground truth");
    sb_puts(&b, "</p></header>\n");

    /* ---- data summary ---- */
    int64_t conv = 0, cut = 0;
    for (size_t i = 0; i < j->n; i++) {
        conv += j->converted[i] != 0;
        cut += (uint64_t)j->length[i] > j->off[i + 1] - j->off[i];
    }
    sb_puts(&b, "<div class=\"cards\" id=\"summary\">\n");
    card(&b, fmt_int((int64_t)j->n, buf), "journeys");
    card(&b, fmt_int(conv, buf), "conversions");
    card(&b, fmt_pct(j->n ? (double)conv / (double)j->n : NAN, buf), "conversion rate");
    card(&b, fmt_int((int64_t)j->n_campaigns, buf), "campaigns");
    card(&b, fmt_int((int64_t)j->n_touches, buf), "touches kept");
    card(&b, fmt_num(j->n ? (double)j->n_touches / (double)j->n : NAN, 1, buf),
         "touches per journey");
    if (cut) {
        char lab[64];
        snprintf(lab, sizeof lab, "journeys cut to the last %zu touches", j->max_len);
        card(&b, fmt_pct((double)cut / (double)j->n, buf), lab);
    }
    sb_puts(&b, "</div>\n");

    if (in->truth && v.S > 1) errors_table(&b, &v);

    /* ---- credit by campaign ---- */
    size_t maxc = in->max_campaigns ? in->max_campaigns : 30;
    size_t C = v.C < maxc ? v.C : maxc;
    sb_puts(&b, "<section id=\"credit\"><h2>Credit share by campaign</h2><p class=\"note\">");
    if (v.S == 0) {
        sb_puts(&b, "No credit tables were given.</p></section>\n");
    } else {
        sb_puts(&b, "Each method&#39;s share of all attributed conversions, side by side");
        if (in->truth) sb_puts(&b, "; the dark bar is the true share");
        sb_puts(&b, ". Campaigns are ordered by ");
        sb_puts(&b, in->truth ? "true share." : "average share across methods.");
        if (C < v.C)
            sb_printf(&b, " Showing the %zu largest of %s campaigns; all are in the table below.",
                      C, fmt_int((int64_t)v.C, buf));
        sb_puts(&b, "</p>\n");
        legend(&b, &v);
        credit_chart(&b, &v, C);
        credit_table(&b, &v);
        sb_puts(&b, "</section>\n");
    }

    /* ---- journeys ---- */
    sb_puts(&b, "<section id=\"journeys\"><h2>Journey length</h2><p class=\"note\">Journeys by "
                "number of touches before the length cut");
    if (h.capped) sb_printf(&b, " (lengths of %zu and more in the last column)", h.B);
    sb_puts(&b, ".</p>\n");
    length_charts(&b, &h);
    sb_puts(&b, "</section>\n");

    if (in->attention) attention_table(&b, in->attention, in->attention_source);
    if (in->model_metrics) { /* the attention model's section, drawn in report_model.c */
        char *sec = NULL;
        if ((rc = tp_dnamta_report_section(in->model_metrics, &sec)) != TP_OK) goto done;
        sb_puts(&b, sec);
        tp_free(sec);
    }

    if (in->experiment) { /* the counterfactual experiment, drawn in counterfactual.c */
        char *sec = NULL;
        if ((rc = tp_cf_experiment_section(in->experiment, &sec)) != TP_OK) goto done;
        sb_puts(&b, sec);
        tp_free(sec);
    }

    sb_puts(&b, "<footer>Generated by touchpoint &middot; self-contained: inline SVG and CSS, no "
                "scripts, no network.</footer>\n</main></body></html>\n");
    if (b.oom) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory rendering the report");
        goto done;
    }
    *out = b.p;
    b.p = NULL;
done:
    tp_free(b.p);
    tp_free(h.count);
    tp_free(h.conv);
    view_free(&v);
    return rc;
}

tp_status tp_report_html_write(const tp_report_html_input *in, const char *path) {
    char *html = NULL;
    tp_status rc = tp_report_html_render(in, &html);
    if (rc != TP_OK) return rc;
    rc = tp_atomic_write(path, html, strlen(html));
    tp_free(html);
    return rc;
}
