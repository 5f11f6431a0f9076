/* The site table of allocation tracking: where allocations came from
 * (PM_SITE_FRAMES frames each), with the bytes each site holds now and
 * held at the tracked peak, and the set of code ids seen. Plain C; the
 * caller (pm_alloc_t) serialises access. */
#include "pm_kernel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t frames_hash(const pm_site_frame_t *frames)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;

    for (size_t i = 0; i < PM_SITE_FRAMES; i++) {
        h = mix(h ^ (uint64_t)frames[i].code);
        h = mix(h ^ (uint64_t)(uint32_t)frames[i].line);
    }
    return h;
}

static int frames_equal(const pm_site_frame_t *a, const pm_site_frame_t *b)
{
    for (size_t i = 0; i < PM_SITE_FRAMES; i++) {
        if (a[i].code != b[i].code || a[i].line != b[i].line) {
            return 0;
        }
    }
    return 1;
}

int pm_sites_init(pm_sites_t *s)
{
    memset(s, 0, sizeof *s);
    return 0;
}

void pm_sites_close(pm_sites_t *s)
{
    free(s->items);
    free(s->index);
    free(s->codes);
    memset(s, 0, sizeof *s);
}

/* Rebuild the index at cap slots (a power of two). */
static int index_grow(pm_sites_t *s, size_t cap)
{
    uint32_t *index = calloc(cap, sizeof *index);
    if (index == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t j = (size_t)frames_hash(s->items[i].frames) & (cap - 1);
        while (index[j] != 0) {
            j = (j + 1) & (cap - 1);
        }
        index[j] = (uint32_t)(i + 1);
    }
    free(s->index);
    s->index = index;
    s->index_cap = cap;
    return 0;
}

int64_t pm_sites_find(pm_sites_t *s, const pm_site_frame_t *frames)
{
    if (s->index_cap == 0 || (s->n + 1) * 2 > s->index_cap) {
        int rc = index_grow(s, s->index_cap == 0 ? 64 : s->index_cap * 2);
        if (rc < 0) {
            return rc;
        }
    }
    size_t mask = s->index_cap - 1;
    size_t j = (size_t)frames_hash(frames) & mask;
    while (s->index[j] != 0) {
        pm_site_t *site = &s->items[s->index[j] - 1];
        if (frames_equal(site->frames, frames)) {
            return (int64_t)(s->index[j] - 1);
        }
        j = (j + 1) & mask;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap == 0 ? 32 : s->cap * 2;
        pm_site_t *items = s->n < UINT32_MAX - 1
                               ? realloc(s->items, cap * sizeof *items)
                               : NULL;
        if (items == NULL) {
            return -ENOMEM;
        }
        s->items = items;
        s->cap = cap;
    }
    pm_site_t *site = &s->items[s->n];
    memset(site, 0, sizeof *site);
    memcpy(site->frames, frames, sizeof site->frames);
    s->index[j] = (uint32_t)(s->n + 1);
    return (int64_t)s->n++;
}

int pm_sites_code_add(pm_sites_t *s, uintptr_t code)
{
    if (code == 0) {
        return 0;
    }
    if (s->codes_cap == 0 || (s->ncodes + 1) * 2 > s->codes_cap) {
        size_t cap = s->codes_cap == 0 ? 64 : s->codes_cap * 2;
        uintptr_t *codes = calloc(cap, sizeof *codes);
        if (codes == NULL) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < s->codes_cap; i++) {
            if (s->codes[i] != 0) {
                size_t j = (size_t)mix(s->codes[i]) & (cap - 1);
                while (codes[j] != 0) {
                    j = (j + 1) & (cap - 1);
                }
                codes[j] = s->codes[i];
            }
        }
        free(s->codes);
        s->codes = codes;
        s->codes_cap = cap;
    }
    size_t mask = s->codes_cap - 1;
    size_t j = (size_t)mix(code) & mask;
    while (s->codes[j] != 0) {
        if (s->codes[j] == code) {
            return 0;
        }
        j = (j + 1) & mask;
    }
    s->codes[j] = code;
    s->ncodes++;
    return 1;
}

void pm_sites_snapshot(pm_sites_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->items[i].peak_bytes = s->items[i].cur_bytes;
    }
}

size_t pm_sites_top(const pm_sites_t *s, const pm_site_t **out, size_t max)
{
    size_t n = 0;

    /* Insertion into a sorted array of at most max: max is small (the
     * sites shown, default 5). Strictly greater moves, so ties keep the
     * older site first. */
    for (size_t i = 0; i < s->n && max > 0; i++) {
        const pm_site_t *site = &s->items[i];
        if (site->peak_bytes <= 0) {
            continue;
        }
        if (n == max && site->peak_bytes <= out[n - 1]->peak_bytes) {
            continue;
        }
        size_t j = n < max ? n++ : n - 1;
        while (j > 0 && out[j - 1]->peak_bytes < site->peak_bytes) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = site;
    }
    return n;
}
