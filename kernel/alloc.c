/* The allocation-tracking engine: the per-thread sampler (Poisson by
 * bytes), the map of live tracked allocations (address -> weight, site)
 * and the tracked peak with its per-site snapshot (see pm_kernel.h).
 * Plain C, called from allocator hooks on any thread: it allocates with
 * libc only and never calls into Python. */
#include "pm_kernel.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct pm_alloc_entry {
    uintptr_t addr; /* 0: empty slot */
    uint64_t weight;
    uint32_t site;
};

/* ---- sampler ---------------------------------------------------------*/

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Exponential with the sampler's mean: bytes to the next sample point. */
static double next_countdown(pm_alloc_sampler_t *s)
{
    /* uniform in (0, 1]: 53 random bits, never 0 */
    double u = ((double)(rng_next(&s->rng) >> 11) + 1.0) / 9007199254740992.0;
    return -log(u) * s->mean_bytes;
}

void pm_alloc_sampler_init(pm_alloc_sampler_t *s, double mean_bytes,
                           uint64_t exact_bytes, uint64_t seed)
{
    s->rng = seed != 0 ? seed : 0x853c49e6748fea9bULL;
    s->mean_bytes = mean_bytes > 0 ? mean_bytes : 0;
    s->exact_bytes = exact_bytes;
    s->countdown = s->mean_bytes > 0 ? next_countdown(s) : 0;
}

uint64_t pm_alloc_sampler_weight(pm_alloc_sampler_t *s, size_t size)
{
    if (s->mean_bytes <= 0 || size >= s->exact_bytes) {
        return size;
    }
    if ((double)size < s->countdown) {
        s->countdown -= (double)size;
        return 0;
    }
    /* A sample point fell in this allocation. The process is memoryless:
     * the next point is a fresh draw from the allocation's end. */
    s->countdown = next_countdown(s);
    double p = -expm1(-(double)size / s->mean_bytes);
    double w = (double)size / p;
    return w < 1.0 ? 1 : (uint64_t)(w + 0.5);
}

/* ---- the engine ------------------------------------------------------*/

static uint64_t addr_hash(uintptr_t addr)
{
    uint64_t h = (uint64_t)addr;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* 2^20 filter bits (128 KiB): with the few thousand live addresses a
 * sampled run holds, under 1% of untracked frees take the lock. */
#define FILTER_BITS_LOG2 20
#define FILTER_WORDS ((size_t)1 << (FILTER_BITS_LOG2 - 6))

static size_t filter_bit(uintptr_t addr)
{
    return (size_t)(addr_hash(addr) >> (64 - FILTER_BITS_LOG2));
}

int pm_alloc_init(pm_alloc_t *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_t *lock = malloc(sizeof *lock);
    a->filter = calloc(FILTER_WORDS, sizeof *a->filter);
    if (lock == NULL || a->filter == NULL) {
        free(lock);
        free(a->filter);
        a->filter = NULL;
        return -ENOMEM;
    }
    pthread_mutex_init(lock, NULL);
    a->lock = lock;
    pm_sites_init(&a->sites);
    return 0;
}

void pm_alloc_after_fork_child(pm_alloc_t *a)
{
    if (a->lock != NULL) {
        pthread_mutex_init(a->lock, NULL);
    }
}

void pm_alloc_close(pm_alloc_t *a)
{
    if (a->lock != NULL) {
        pthread_mutex_destroy(a->lock);
        free(a->lock);
    }
    pm_sites_close(&a->sites);
    free(a->live);
    free(a->filter);
    memset(a, 0, sizeof *a);
}

/* Slot of addr, or of the empty slot where it would go. live_cap > 0. */
static size_t live_slot_unlocked(const pm_alloc_t *a, uintptr_t addr)
{
    size_t mask = a->live_cap - 1;
    size_t j = (size_t)addr_hash(addr) & mask;
    while (a->live[j].addr != 0 && a->live[j].addr != addr) {
        j = (j + 1) & mask;
    }
    return j;
}

static int live_grow_unlocked(pm_alloc_t *a)
{
    size_t cap = a->live_cap == 0 ? 1024 : a->live_cap * 2;
    struct pm_alloc_entry *old = a->live;
    size_t old_cap = a->live_cap;
    struct pm_alloc_entry *live = calloc(cap, sizeof *live);

    if (live == NULL) {
        return -ENOMEM;
    }
    a->live = live;
    a->live_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].addr != 0) {
            live[live_slot_unlocked(a, old[i].addr)] = old[i];
        }
    }
    free(old);
    return 0;
}

/* Remove slot j by shifting later members of its probe run back (no
 * tombstones, so lookups of absent addresses stay short). */
static void live_delete_unlocked(pm_alloc_t *a, size_t j)
{
    size_t mask = a->live_cap - 1;
    size_t i = j;

    for (;;) {
        i = (i + 1) & mask;
        if (a->live[i].addr == 0) {
            break;
        }
        size_t home = (size_t)addr_hash(a->live[i].addr) & mask;
        /* move i into the hole j when home is not cyclically in (j, i] */
        if ((j < i) ? (home <= j || home > i) : (home <= j && home > i)) {
            a->live[j] = a->live[i];
            j = i;
        }
    }
    a->live[j].addr = 0;
    a->nlive--;
}

/* Drop the entry at slot j from the totals (a free, or a replaced entry),
 * copying the sites first when this is the first drop after a peak. */
static void drop_unlocked(pm_alloc_t *a, size_t j)
{
    struct pm_alloc_entry *e = &a->live[j];

    if (a->snapshot_due) {
        pm_sites_snapshot(&a->sites);
        a->snapshot_due = 0;
    }
    a->sites.items[e->site].cur_bytes -= (int64_t)e->weight;
    a->cur_bytes -= (int64_t)e->weight;
    live_delete_unlocked(a, j);
}

void pm_alloc_reset(pm_alloc_t *a)
{
    pm_sites_close(&a->sites);
    pm_sites_init(&a->sites);
    free(a->live);
    a->live = NULL;
    a->nlive = a->live_cap = 0;
    a->cur_bytes = a->peak_bytes = 0;
    a->snapshot_due = 0;
    a->dropped = 0;
    a->epoch++;
    for (size_t i = 0; i < FILTER_WORDS; i++) {
        __atomic_store_n(&a->filter[i], 0, __ATOMIC_RELAXED);
    }
}

int pm_alloc_may_hold(const pm_alloc_t *a, uintptr_t addr)
{
    size_t bit = filter_bit(addr);
    return (__atomic_load_n(&a->filter[bit >> 6], __ATOMIC_ACQUIRE) >>
            (bit & 63)) &
           1;
}

/* Enter addr in the map (room made by the caller) and count its weight
 * in its site and the total. */
static void insert_unlocked(pm_alloc_t *a, uintptr_t addr, uint64_t weight,
                            uint32_t site)
{
    size_t j = live_slot_unlocked(a, addr);
    if (a->live[j].addr == addr) {
        drop_unlocked(a, j); /* its free was not seen */
        j = live_slot_unlocked(a, addr);
    }
    a->live[j] = (struct pm_alloc_entry){addr, weight, site};
    size_t bit = filter_bit(addr);
    __atomic_fetch_or(&a->filter[bit >> 6], (uint64_t)1 << (bit & 63),
                      __ATOMIC_RELEASE);
    a->nlive++;
    a->sites.items[site].cur_bytes += (int64_t)weight;
    a->cur_bytes += (int64_t)weight;
    if (a->cur_bytes > a->peak_bytes) {
        a->peak_bytes = a->cur_bytes;
        a->snapshot_due = 1;
    }
}

int pm_alloc_add(pm_alloc_t *a, uintptr_t addr, uint64_t weight,
                 const pm_site_frame_t *frames, unsigned *new_codes)
{
    int rc = 0;
    unsigned fresh = 0;

    pthread_mutex_lock(a->lock);
    if ((a->nlive + 1) * 2 > a->live_cap &&
        (rc = live_grow_unlocked(a)) < 0) {
        goto fail;
    }
    int64_t site = pm_sites_find(&a->sites, frames);
    if (site < 0) {
        rc = (int)site;
        goto fail;
    }
    for (unsigned i = 0; i < PM_SITE_FRAMES; i++) {
        int r = pm_sites_code_add(&a->sites, frames[i].code);
        if (r < 0) {
            rc = r;
            goto fail;
        }
        fresh |= r > 0 ? 1u << i : 0;
    }
    insert_unlocked(a, addr, weight, (uint32_t)site);
    a->sites.items[site].allocs++;
    pthread_mutex_unlock(a->lock);
    if (new_codes != NULL) {
        *new_codes = fresh;
    }
    return 0;
fail:
    a->dropped++;
    pthread_mutex_unlock(a->lock);
    if (new_codes != NULL) {
        *new_codes = fresh;
    }
    return rc;
}

int pm_alloc_remove(pm_alloc_t *a, uintptr_t addr, pm_alloc_held_t *held)
{
    int found = 0;

    if (held != NULL) {
        *held = (pm_alloc_held_t){0, 0, 0};
    }
    /* The bit of an address is set before its block can reach a free:
     * the add happens in the thread that allocated it. */
    if (!pm_alloc_may_hold(a, addr)) {
        return 0;
    }
    pthread_mutex_lock(a->lock);
    if (a->nlive > 0) {
        size_t j = live_slot_unlocked(a, addr);
        if (a->live[j].addr == addr) {
            if (held != NULL) {
                *held = (pm_alloc_held_t){a->live[j].weight, a->live[j].site,
                                          a->epoch};
            }
            drop_unlocked(a, j);
            found = 1;
        }
    }
    pthread_mutex_unlock(a->lock);
    return found;
}

void pm_alloc_restore(pm_alloc_t *a, uintptr_t addr,
                      const pm_alloc_held_t *held)
{
    if (held->weight == 0) {
        return;
    }
    pthread_mutex_lock(a->lock);
    if (held->epoch == a->epoch && held->site < a->sites.n) {
        if ((a->nlive + 1) * 2 > a->live_cap && live_grow_unlocked(a) < 0) {
            a->dropped++;
        } else {
            insert_unlocked(a, addr, held->weight, held->site);
        }
    }
    pthread_mutex_unlock(a->lock);
}

void pm_alloc_finish(pm_alloc_t *a)
{
    pthread_mutex_lock(a->lock);
    if (a->snapshot_due) {
        pm_sites_snapshot(&a->sites);
        a->snapshot_due = 0;
    }
    pthread_mutex_unlock(a->lock);
}

uint64_t pm_alloc_peak(pm_alloc_t *a)
{
    pthread_mutex_lock(a->lock);
    int64_t peak = a->peak_bytes;
    pthread_mutex_unlock(a->lock);
    return peak > 0 ? (uint64_t)peak : 0;
}
