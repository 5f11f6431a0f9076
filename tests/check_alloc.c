/* Check tests for kernel/sites.c and kernel/alloc.c: the site table, the
 * Poisson-by-bytes sampler (exact above its threshold, unbiased below it,
 * deterministic with a seed), the live-allocation map and the peak
 * snapshot taken when the tracked total first drops after a new high. */
#include "check_util.h"
#include "pm_kernel.h"

#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/wait.h>
#include <unistd.h>

static const pm_site_frame_t SITE_A[PM_SITE_FRAMES] = {{0x1000, 3},
                                                       {0x2000, 2}};
static const pm_site_frame_t SITE_B[PM_SITE_FRAMES] = {{0x1000, 4},
                                                       {0x2000, 2}};
static const pm_site_frame_t SITE_C[PM_SITE_FRAMES] = {{0x3000, 1}, {0, 0}};

static int64_t site_peak(pm_alloc_t *a, const pm_site_frame_t *frames)
{
    int64_t i = pm_sites_find(&a->sites, frames);
    ck_assert_int_ge(i, 0);
    return a->sites.items[i].peak_bytes;
}

START_TEST(test_sites_find_same_frames_same_site)
{
    pm_sites_t s;
    pm_sites_init(&s);
    int64_t a = pm_sites_find(&s, SITE_A);
    int64_t b = pm_sites_find(&s, SITE_B);
    ck_assert_int_eq(a, 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(pm_sites_find(&s, SITE_A), a);
    ck_assert_int_eq(pm_sites_find(&s, SITE_C), 2);
    /* many sites: the index grows and keeps finding the old ones */
    for (int i = 0; i < 5000; i++) {
        pm_site_frame_t f[PM_SITE_FRAMES] = {{0x5000, i}, {0x6000, i % 7}};
        ck_assert_int_eq(pm_sites_find(&s, f), 3 + i);
    }
    ck_assert_int_eq(pm_sites_find(&s, SITE_B), b);
    pm_site_frame_t f[PM_SITE_FRAMES] = {{0x5000, 4321}, {0x6000, 4321 % 7}};
    ck_assert_int_eq(pm_sites_find(&s, f), 3 + 4321);
    pm_sites_close(&s);
}
END_TEST

START_TEST(test_sites_code_add_reports_first_sight)
{
    pm_sites_t s;
    pm_sites_init(&s);
    ck_assert_int_eq(pm_sites_code_add(&s, 0), 0);
    for (uintptr_t c = 8; c < 8 * 1000; c += 8) {
        ck_assert_int_eq(pm_sites_code_add(&s, c), 1);
    }
    for (uintptr_t c = 8; c < 8 * 1000; c += 8) {
        ck_assert_int_eq(pm_sites_code_add(&s, c), 0);
    }
    ck_assert_uint_eq(s.ncodes, 999);
    pm_sites_close(&s);
}
END_TEST

START_TEST(test_sites_top_orders_by_peak_and_cuts)
{
    pm_sites_t s;
    const pm_site_t *top[3];
    pm_sites_init(&s);
    int64_t v[] = {5, 0, 9, 1, 9, 7, -3};
    for (int i = 0; i < 7; i++) {
        pm_site_frame_t f[PM_SITE_FRAMES] = {{0x10, i}, {0, 0}};
        int64_t k = pm_sites_find(&s, f); /* may move s.items */
        s.items[k].peak_bytes = v[i];
    }
    ck_assert_uint_eq(pm_sites_top(&s, top, 3), 3);
    ck_assert_int_eq(top[0]->frames[0].line, 2); /* tie: older first */
    ck_assert_int_eq(top[1]->frames[0].line, 4);
    ck_assert_int_eq(top[2]->frames[0].line, 5);
    const pm_site_t *all[10];
    ck_assert_uint_eq(pm_sites_top(&s, all, 10), 5); /* only > 0 */
    ck_assert_int_eq(all[4]->peak_bytes, 1);
    ck_assert_uint_eq(pm_sites_top(&s, all, 0), 0);
    pm_sites_close(&s);
}
END_TEST

START_TEST(test_sampler_exact_mode_and_threshold)
{
    pm_alloc_sampler_t s;
    pm_alloc_sampler_init(&s, 0, 0, 1);
    ck_assert_uint_eq(pm_alloc_sampler_weight(&s, 1), 1);
    ck_assert_uint_eq(pm_alloc_sampler_weight(&s, 12345), 12345);
    pm_alloc_sampler_init(&s, 4096, 65536, 1);
    for (int i = 0; i < 100; i++) {
        ck_assert_uint_eq(pm_alloc_sampler_weight(&s, 65536), 65536);
        ck_assert_uint_eq(pm_alloc_sampler_weight(&s, 8u << 20), 8u << 20);
    }
}
END_TEST

/* The sum of weights estimates the bytes allocated: small sizes that are
 * rarely sampled (and mixed sizes) within 2% over 64 MB. */
START_TEST(test_sampler_totals_are_unbiased)
{
    static const size_t sizes[] = {16, 64, 56, 120, 1000, 4096, 30000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes + 1; k++) {
        pm_alloc_sampler_t s;
        pm_alloc_sampler_init(&s, 4096, 1 << 20, 42 + k);
        uint64_t want = 0, got = 0, sampled = 0;
        for (uint64_t i = 0; want < (64u << 20); i++) {
            /* the last round mixes every size */
            size_t size = k < sizeof sizes / sizeof *sizes
                              ? sizes[k]
                              : sizes[i % (sizeof sizes / sizeof *sizes)];
            uint64_t w = pm_alloc_sampler_weight(&s, size);
            want += size;
            got += w;
            sampled += w > 0;
        }
        double err = ((double)got - (double)want) / (double)want;
        fprintf(stderr, "sampler: size %zu: %llu sampled, error %+.3f%%\n",
                k < sizeof sizes / sizeof *sizes ? sizes[k] : 0,
                (unsigned long long)sampled, 100 * err);
        ck_assert_double_lt(fabs(err), 0.02);
        ck_assert_uint_lt(sampled, want / 4096 * 2); /* sampled: rare */
    }
}
END_TEST

START_TEST(test_sampler_same_seed_same_choices)
{
    pm_alloc_sampler_t a, b;
    pm_alloc_sampler_init(&a, 512, 1 << 20, 7);
    pm_alloc_sampler_init(&b, 512, 1 << 20, 7);
    for (int i = 0; i < 100000; i++) {
        ck_assert_uint_eq(pm_alloc_sampler_weight(&a, 48),
                          pm_alloc_sampler_weight(&b, 48));
    }
}
END_TEST

/* Fil's rule: sites are copied when the total first drops after a new
 * high, so later allocations below that high do not change the picture. */
START_TEST(test_alloc_peak_snapshot_on_first_drop)
{
    pm_alloc_t a;
    unsigned fresh = 99;
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    ck_assert_int_eq(pm_alloc_add(&a, 0x100, 100, SITE_A, &fresh), 0);
    ck_assert_uint_eq(fresh, 3); /* both code ids new */
    ck_assert_int_eq(pm_alloc_add(&a, 0x200, 50, SITE_B, &fresh), 0);
    ck_assert_uint_eq(fresh, 0);
    ck_assert_int_eq(pm_alloc_remove(&a, 0x100, NULL), 1); /* drop: snapshot */
    ck_assert_int_eq(pm_alloc_add(&a, 0x300, 80, SITE_B, NULL), 0);
    ck_assert_int_eq(pm_alloc_remove(&a, 0x999, NULL), 0); /* never tracked */
    pm_alloc_finish(&a);
    ck_assert_uint_eq(pm_alloc_peak(&a), 150);
    ck_assert_int_eq(site_peak(&a, SITE_A), 100);
    ck_assert_int_eq(site_peak(&a, SITE_B), 50);
    ck_assert_int_eq(a.cur_bytes, 130);
    pm_alloc_close(&a);
}
END_TEST

START_TEST(test_alloc_peak_at_end_is_snapshot_at_finish)
{
    pm_alloc_t a;
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    pm_alloc_add(&a, 0x100, 10, SITE_A, NULL);
    pm_alloc_remove(&a, 0x100, NULL);
    pm_alloc_add(&a, 0x200, 30, SITE_B, NULL);
    pm_alloc_add(&a, 0x300, 5, SITE_C, NULL); /* new high, no drop after */
    pm_alloc_finish(&a);
    ck_assert_uint_eq(pm_alloc_peak(&a), 35);
    ck_assert_int_eq(site_peak(&a, SITE_A), 0);
    ck_assert_int_eq(site_peak(&a, SITE_B), 30);
    ck_assert_int_eq(site_peak(&a, SITE_C), 5);
    pm_alloc_close(&a);
}
END_TEST

/* A second add at an address whose free was not seen replaces it. */
START_TEST(test_alloc_add_replaces_unfreed_address)
{
    pm_alloc_t a;
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    pm_alloc_add(&a, 0x100, 40, SITE_A, NULL);
    pm_alloc_add(&a, 0x100, 7, SITE_B, NULL);
    ck_assert_int_eq(a.cur_bytes, 7);
    ck_assert_uint_eq(a.nlive, 1);
    pm_alloc_finish(&a);
    ck_assert_uint_eq(pm_alloc_peak(&a), 40);
    ck_assert_int_eq(site_peak(&a, SITE_A), 40);
    ck_assert_int_eq(site_peak(&a, SITE_B), 0);
    pm_alloc_close(&a);
}
END_TEST

/* A realloc that took its block out and failed puts it back: the total
 * and the site as before, the peak unchanged; what was taken before a
 * reset is not put back after it. */
START_TEST(test_alloc_restore_after_failed_realloc)
{
    pm_alloc_t a;
    pm_alloc_held_t held, none;
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    pm_alloc_add(&a, 0x100, 40, SITE_A, NULL);
    pm_alloc_add(&a, 0x200, 10, SITE_B, NULL);
    ck_assert_int_eq(pm_alloc_remove(&a, 0x100, &held), 1);
    ck_assert_uint_eq(held.weight, 40);
    ck_assert_int_eq(pm_alloc_remove(&a, 0x999, &none), 0);
    ck_assert_uint_eq(none.weight, 0);
    pm_alloc_restore(&a, 0x999, &none); /* nothing taken: nothing back */
    ck_assert_int_eq(a.cur_bytes, 10);
    pm_alloc_restore(&a, 0x100, &held);
    ck_assert_int_eq(a.cur_bytes, 50);
    ck_assert_uint_eq(a.nlive, 2);
    pm_alloc_add(&a, 0x300, 5, SITE_C, NULL); /* a new high: 55 */
    ck_assert_int_eq(pm_alloc_remove(&a, 0x100, NULL), 1); /* freed now */
    pm_alloc_finish(&a);
    ck_assert_uint_eq(pm_alloc_peak(&a), 55);
    ck_assert_int_eq(site_peak(&a, SITE_A), 40);
    ck_assert_int_eq(a.cur_bytes, 15);
    ck_assert_int_eq(pm_alloc_remove(&a, 0x200, &held), 1);
    pm_alloc_reset(&a);
    pm_alloc_restore(&a, 0x200, &held); /* of the last measurement */
    ck_assert_int_eq(a.cur_bytes, 0);
    ck_assert_uint_eq(a.nlive, 0);
    pm_alloc_close(&a);
}
END_TEST

/* The map grows, and deletion (backward shift) keeps every other entry
 * reachable: a model check over 200k addresses that collide in part. */
START_TEST(test_alloc_map_survives_growth_and_deletes)
{
    pm_alloc_t a;
    const uintptr_t n = 200000;
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    for (uintptr_t i = 1; i <= n; i++) {
        ck_assert_int_eq(pm_alloc_add(&a, i * 16, 1, SITE_A, NULL), 0);
    }
    ck_assert_int_eq(a.cur_bytes, (int64_t)n);
    for (uintptr_t i = 1; i <= n; i += 2) {
        ck_assert_int_eq(pm_alloc_remove(&a, i * 16, NULL), 1);
    }
    for (uintptr_t i = 1; i <= n; i++) {
        ck_assert_int_eq(pm_alloc_remove(&a, i * 16, NULL), (int)(i % 2 == 0));
    }
    ck_assert_uint_eq(a.nlive, 0);
    ck_assert_int_eq(a.cur_bytes, 0);
    pm_alloc_finish(&a);
    ck_assert_uint_eq(pm_alloc_peak(&a), n);
    ck_assert_int_eq(site_peak(&a, SITE_A), (int64_t)n);
    pm_alloc_close(&a);
}
END_TEST

/* reset: a new measurement starts empty; the filter forgets too */
START_TEST(test_alloc_reset_starts_empty)
{
    pm_alloc_t a;
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    ck_assert_int_eq(pm_alloc_may_hold(&a, 0x100), 0);
    pm_alloc_add(&a, 0x100, 10, SITE_A, NULL);
    ck_assert_int_eq(pm_alloc_may_hold(&a, 0x100), 1);
    pm_alloc_reset(&a);
    ck_assert_int_eq(pm_alloc_may_hold(&a, 0x100), 0);
    ck_assert_int_eq(pm_alloc_remove(&a, 0x100, NULL), 0);
    ck_assert_uint_eq(pm_alloc_peak(&a), 0);
    ck_assert_uint_eq(a.sites.n, 0);
    unsigned fresh = 0;
    pm_alloc_add(&a, 0x200, 7, SITE_A, &fresh);
    ck_assert_uint_eq(fresh, 3); /* codes are new again */
    pm_alloc_finish(&a);
    ck_assert_int_eq(site_peak(&a, SITE_A), 7);
    pm_alloc_close(&a);
}
END_TEST

typedef struct {
    pm_alloc_t *a;
    uintptr_t base;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    for (int round = 0; round < 50; round++) {
        for (uintptr_t i = 0; i < 1000; i++) {
            pm_alloc_add(w->a, w->base + i * 8, 3,
                         (i & 1) ? SITE_A : SITE_B, NULL);
        }
        for (uintptr_t i = 0; i < 1000; i++) {
            ck_assert_int_eq(pm_alloc_remove(w->a, w->base + i * 8, NULL), 1);
        }
    }
    return NULL;
}

typedef struct {
    pm_alloc_t *a;
    sem_t locked, release;
} holder_t;

static void *hold_lock(void *arg)
{
    holder_t *h = arg;
    pthread_mutex_lock(h->a->lock); /* held when the main thread forks */
    sem_post(&h->locked);
    sem_wait(&h->release);
    pthread_mutex_unlock(h->a->lock);
    return NULL;
}

/* A fork while another thread holds the engine's lock: the child, after
 * pm_alloc_after_fork_child, adds and finishes (it hung on the lock). */
START_TEST(test_alloc_child_of_fork_while_locked)
{
    pm_alloc_t a;
    pthread_t t;
    holder_t h = {.a = &a};
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    sem_init(&h.locked, 0, 0);
    sem_init(&h.release, 0, 0);
    ck_assert_int_eq(pthread_create(&t, NULL, hold_lock, &h), 0);
    sem_wait(&h.locked);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(10); /* a hang ends the child with SIGALRM */
        pm_alloc_after_fork_child(&a);
        int rc = pm_alloc_add(&a, 0x100, 64, SITE_A, NULL);
        pm_alloc_finish(&a);
        _exit(rc == 0 && pm_alloc_peak(&a) == 64 ? 0 : 1);
    }
    sem_post(&h.release);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %d", status);
    sem_destroy(&h.locked);
    sem_destroy(&h.release);
    pm_alloc_close(&a);
}
END_TEST

/* Hooks run on any thread: totals stay consistent under contention. */
START_TEST(test_alloc_threads_keep_totals)
{
    pm_alloc_t a;
    pthread_t t[4];
    worker_t w[4];
    ck_assert_int_eq(pm_alloc_init(&a), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){&a, (uintptr_t)(i + 1) << 32};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    pm_alloc_finish(&a);
    ck_assert_int_eq(a.cur_bytes, 0);
    ck_assert_uint_eq(a.nlive, 0);
    ck_assert_uint_ge(pm_alloc_peak(&a), 3000);
    ck_assert_uint_le(pm_alloc_peak(&a), 12000);
    ck_assert_int_eq(site_peak(&a, SITE_A) + site_peak(&a, SITE_B),
                     (int64_t)pm_alloc_peak(&a));
    pm_alloc_close(&a);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"sites", test_sites_find_same_frames_same_site},
        {"sites", test_sites_code_add_reports_first_sight},
        {"sites", test_sites_top_orders_by_peak_and_cuts},
        {"sampler", test_sampler_exact_mode_and_threshold},
        {"sampler", test_sampler_totals_are_unbiased},
        {"sampler", test_sampler_same_seed_same_choices},
        {"peak", test_alloc_peak_snapshot_on_first_drop},
        {"peak", test_alloc_peak_at_end_is_snapshot_at_finish},
        {"peak", test_alloc_add_replaces_unfreed_address},
        {"peak", test_alloc_restore_after_failed_realloc},
        {"map", test_alloc_map_survives_growth_and_deletes},
        {"map", test_alloc_threads_keep_totals},
        {"map", test_alloc_child_of_fork_while_locked},
        {"map", test_alloc_reset_starts_empty},
    };

    return pm_check_main("alloc", tests, PM_CHECK_COUNT(tests));
}
