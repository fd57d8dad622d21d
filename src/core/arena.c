/* arena.c: bump allocator for many small objects freed together (parsed strings, per-batch
 * scratch). Memory comes in blocks; every pointer is 16-byte aligned; a request larger than a
 * quarter of the block size gets a block of its own so it never wastes the rest of a block. */
#include "touchpoint/core.h"

#include <string.h>

#define ALIGN 16

typedef struct block {
    struct block *next;
    size_t cap;  /* usable bytes in data (bytes) */
    size_t used; /* bytes handed out from data, including alignment padding */
    _Alignas(ALIGN) unsigned char data[];
} block;

struct tp_arena {
    block *first;      /* the block kept by tp_arena_reset */
    block *cur;        /* the block small requests come from */
    block *others;     /* every other block (full, or large requests), newest first */
    size_t block_size; /* bytes of a standard block */
    size_t used;       /* bytes handed out since creation or the last reset */
};

static block *block_new(size_t cap) {
    if (cap > SIZE_MAX - sizeof(block) - ALIGN) return NULL;
    block *b = tp_malloc(sizeof(block) + cap + ALIGN); // + ALIGN: slack if malloc aligns less
    if (!b) return NULL;
    b->next = NULL;
    b->cap = cap + ALIGN;
    b->used = 0;
    return b;
}

// Aligned pointer for n bytes from b, or NULL when b lacks room.
static void *block_take(block *b, size_t n) {
    uintptr_t base = (uintptr_t)b->data;
    uintptr_t at = (base + b->used + (ALIGN - 1)) & ~(uintptr_t)(ALIGN - 1);
    size_t off = (size_t)(at - base);
    if (off > b->cap || n > b->cap - off) return NULL;
    b->used = off + n;
    return (void *)at;
}

tp_status tp_arena_new(size_t block_size, tp_arena **out) {
    *out = NULL;
    if (block_size == 0) block_size = (size_t)1 << 20;
    if (block_size < 256) block_size = 256;
    tp_arena *a = tp_calloc(1, sizeof *a);
    if (!a) return tp_fail(TP_ERR_NOMEM, "out of memory creating an arena");
    a->block_size = block_size;
    a->first = a->cur = block_new(block_size);
    if (!a->first) {
        tp_free(a);
        return tp_fail(TP_ERR_NOMEM, "out of memory allocating an arena block of %zu bytes", block_size);
    }
    *out = a;
    return TP_OK;
}

void *tp_arena_alloc(tp_arena *a, size_t n) {
    if (n == 0) n = 1;
    if (n > SIZE_MAX - 2 * ALIGN) return NULL;
    size_t before = a->cur->used;
    void *p = block_take(a->cur, n);
    if (p) {
        a->used += a->cur->used - before;
        return p;
    }
    if (n > a->block_size / 4) { // own block, kept off the bump path
        block *b = block_new(n);
        if (!b) return NULL;
        p = block_take(b, n);
        b->next = a->others;
        a->others = b;
        a->used += b->used;
        return p;
    }
    block *b = block_new(a->block_size);
    if (!b) return NULL;
    if (a->cur != a->first) {
        a->cur->next = a->others;
        a->others = a->cur;
    }
    a->cur = b;
    p = block_take(b, n);
    a->used += b->used;
    return p;
}

char *tp_arena_strndup(tp_arena *a, const char *s, size_t n) {
    const char *nul = n ? memchr(s, 0, n) : NULL;
    if (nul) n = (size_t)(nul - s);
    char *d = tp_arena_alloc(a, n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static void free_chain(block *b) {
    while (b) {
        block *next = b->next;
        tp_free(b);
        b = next;
    }
}

void tp_arena_reset(tp_arena *a) {
    if (!a) return;
    free_chain(a->others);
    if (a->cur != a->first) tp_free(a->cur);
    a->others = NULL;
    a->cur = a->first;
    a->first->used = 0;
    a->used = 0;
}

size_t tp_arena_used(const tp_arena *a) { return a ? a->used : 0; }

void tp_arena_free(tp_arena *a) {
    if (!a) return;
    free_chain(a->others);
    if (a->cur != a->first) tp_free(a->cur);
    tp_free(a->first);
    tp_free(a);
}
