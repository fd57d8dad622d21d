/* progress.c: progress of long work, written where the front-end asked (tp_progress_set_output).
 * A terminal gets one redrawn bar with rate and ETA, at most ~10 redraws a second; a log file or
 * pipe gets a plain line every ~5 seconds and a summary at the end. tp_progress_add is a single
 * atomic add on the hot path; the clock is read only after roughly CHECK_SECONDS of work. */
#include "touchpoint/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TTY_INTERVAL 0.1   /* seconds between redraws of the bar */
#define PLAIN_INTERVAL 5.0 /* seconds between plain lines */
#define CHECK_SECONDS 0.01 /* aim to read the clock about this often */
#define BAR_WIDTH 30       /* characters inside [ ] */

static _Atomic(FILE *) output;

struct tp_progress {
    FILE *fp;
    int tty;
    char what[80];
    char unit[24];
    uint64_t total;              /* 0 = unknown */
    _Atomic uint64_t done;       /* units so far */
    _Atomic uint64_t next_check; /* done count at which to look at the clock again */
    pthread_mutex_t lock;        /* guards the fields below and the writes to fp */
    double t0;                   /* tp_now() at begin (s) */
    double last_draw;            /* when the bar or line was last written (s) */
    double last_check;           /* when the clock was last read (s) */
    uint64_t done_at_check;      /* done at last_check */
};

void tp_progress_set_output(FILE *fp) { atomic_store(&output, fp); }

// ---- formatting ----

// 950, 12.3k, 1.2M, 3.4G: three significant digits at most.
static void fmt_short(char *buf, size_t cap, double v) {
    static const char suffix[] = " kMGTPE";
    int s = 0;
    while (v >= 999.5 && s < 6) {
        v /= 1000.0;
        s++;
    }
    if (s == 0)
        snprintf(buf, cap, "%.0f", v);
    else
        snprintf(buf, cap, v < 9.95 ? "%.1f%c" : "%.0f%c", v, suffix[s]);
}

// 2,700,000
static void fmt_grouped(char *buf, size_t cap, uint64_t v) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
}

// H:MM:SS
static void fmt_clock(char *buf, size_t cap, double seconds) {
    if (!(seconds >= 0) || seconds > 359999999.0) {
        snprintf(buf, cap, "-:--:--");
        return;
    }
    unsigned long long s = (unsigned long long)(seconds + 0.5);
    snprintf(buf, cap, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
}

// ---- drawing (under p->lock) ----

static void draw_bar(tp_progress *p, uint64_t done, double now, int final) {
    double el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0;
    char sdone[16], stotal[16], srate[16], tail[32];
    fmt_short(sdone, sizeof sdone, (double)done);
    fmt_short(srate, sizeof srate, rate);
    if (final) {
        snprintf(tail, sizeof tail, "in %.2f s", el);
    } else if (p->total && rate > 0) {
        char eta[24];
        fmt_clock(eta, sizeof eta, done >= p->total ? 0 : (double)(p->total - done) / rate);
        snprintf(tail, sizeof tail, "ETA %s", eta);
    } else {
        char e[24];
        fmt_clock(e, sizeof e, el);
        snprintf(tail, sizeof tail, "%s", e);
    }
    if (p->total) {
        double frac = done >= p->total ? 1.0 : (double)done / (double)p->total;
        char bar[BAR_WIDTH + 1];
        int fill = (int)(frac * BAR_WIDTH);
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : ' ';
        bar[BAR_WIDTH] = 0;
        fmt_short(stotal, sizeof stotal, (double)p->total);
        fprintf(p->fp, "\r%s [%s] %3d%% %s/%s %s %s %s/s %s\033[K", p->what, bar, (int)(frac * 100),
                sdone, stotal, p->unit, srate, p->unit, tail);
    } else {
        fprintf(p->fp, "\r%s %s %s %s %s/s %s\033[K", p->what, sdone, p->unit, srate, p->unit, tail);
    }
    if (final) fputc('\n', p->fp);
    fflush(p->fp);
}

static void draw_line(tp_progress *p, uint64_t done, double now) {
    double el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0;
    char sdone[32], srate[16];
    fmt_grouped(sdone, sizeof sdone, done);
    fmt_short(srate, sizeof srate, rate);
    if (p->total) {
        char stotal[32], eta[24];
        fmt_grouped(stotal, sizeof stotal, p->total);
        fmt_clock(eta, sizeof eta, done >= p->total ? 0 : (double)(p->total - done) / rate);
        fprintf(p->fp, "%s: %s/%s %s (%d%%), %s %s/s, ETA %s\n", p->what, sdone, stotal, p->unit,
                (int)(done >= p->total ? 100 : 100.0 * (double)done / (double)p->total), srate,
                p->unit, eta);
    } else {
        fprintf(p->fp, "%s: %s %s, %s %s/s\n", p->what, sdone, p->unit, srate, p->unit);
    }
    fflush(p->fp);
}

// ---- API ----

tp_progress *tp_progress_begin(const char *what, uint64_t total, const char *unit) {
    FILE *fp = atomic_load(&output);
    if (!fp) return NULL;
    tp_progress *p = tp_calloc(1, sizeof *p);
    if (!p) return NULL; // progress is best effort: no bar rather than a failed job
    p->fp = fp;
    int fd = fileno(fp);
    p->tty = fd >= 0 && isatty(fd);
    snprintf(p->what, sizeof p->what, "%s", what ? what : "working");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "items");
    p->total = total;
    pthread_mutex_init(&p->lock, NULL);
    p->t0 = p->last_draw = p->last_check = tp_now();
    atomic_store(&p->next_check, 1);
    if (p->tty) draw_bar(p, 0, p->t0, 0);
    return p;
}

// Past next_check: read the clock, maybe draw, and re-aim next_check at ~CHECK_SECONDS ahead.
static void check(tp_progress *p, uint64_t done) {
    if (pthread_mutex_trylock(&p->lock) != 0) return; // another thread is already looking
    double now = tp_now();
    double dt = now - p->last_check;
    uint64_t dn = done > p->done_at_check ? done - p->done_at_check : 0;
    double step = dt > 0 ? (double)dn / dt * CHECK_SECONDS : (double)dn * 2;
    if (step < 1) step = 1;
    if (step > 1e12) step = 1e12;
    p->last_check = now;
    p->done_at_check = done;
    atomic_store_explicit(&p->next_check, done + (uint64_t)step, memory_order_relaxed);
    if (now - p->last_draw >= (p->tty ? TTY_INTERVAL : PLAIN_INTERVAL)) {
        p->last_draw = now;
        if (p->tty)
            draw_bar(p, done, now, 0);
        else
            draw_line(p, done, now);
    }
    pthread_mutex_unlock(&p->lock);
}

void tp_progress_add(tp_progress *p, uint64_t n) {
    if (!p) return;
    uint64_t done = atomic_fetch_add_explicit(&p->done, n, memory_order_relaxed) + n;
    if (done >= atomic_load_explicit(&p->next_check, memory_order_relaxed)) check(p, done);
}

void tp_progress_end(tp_progress *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    uint64_t done = atomic_load(&p->done);
    double now = tp_now();
    if (p->tty) {
        draw_bar(p, done, now, 1);
    } else {
        double el = now - p->t0;
        char sdone[32], srate[16];
        fmt_grouped(sdone, sizeof sdone, done);
        fmt_short(srate, sizeof srate, el > 0 ? (double)done / el : 0);
        fprintf(p->fp, "%s: %s %s in %.2f s (%s %s/s)\n", p->what, sdone, p->unit, el, srate, p->unit);
        fflush(p->fp);
    }
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
    tp_free(p);
}
