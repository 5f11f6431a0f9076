/* Check tests for pm_strbuf_t, the growable text buffer the renderers
 * write into: it grows past any initial size, its printf writes numbers
 * in the "C" locale under a decimal-comma locale, and a failed append is
 * sticky so the caller gets NULL, never a truncated text. */
#include "check_util.h"
#include "pm_protocol.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_strbuf_empty_steal_gives_empty_string)
{
    pm_strbuf_t b;
    char *text;

    pm_strbuf_init(&b);
    text = pm_strbuf_steal(&b);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "");
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    free(text);
}
END_TEST

/* 20,000 appends of 1 to 7 bytes, then one printf far larger than what
 * is allocated: the text is every byte in order, NUL-terminated. */
START_TEST(test_strbuf_grows_and_keeps_every_byte)
{
    static const char digits[] = "0123456";
    pm_strbuf_t b;
    char *text, *expect;
    size_t n = 0, cap = 0, w;

    expect = malloc(400000);
    ck_assert_ptr_nonnull(expect);
    pm_strbuf_init(&b);
    for (int i = 0; i < 20000; i++) {
        size_t k = (size_t)(i % 7) + 1;
        ck_assert_int_eq(pm_strbuf_append(&b, digits, k), 0);
        memcpy(expect + n, digits, k);
        n += k;
        ck_assert_uint_eq(b.len, n);
        ck_assert_uint_gt(b.cap, b.len);
        ck_assert_uint_ge(b.cap, cap); /* never shrinks */
        cap = b.cap;
    }
    ck_assert_int_eq(pm_strbuf_putc(&b, '|'), 0);
    expect[n++] = '|';
    w = b.cap; /* more than is free */
    ck_assert_int_eq(pm_strbuf_printf(&b, "%0*d", (int)w, 42), 0);
    memset(expect + n, '0', w - 2);
    memcpy(expect + n + w - 2, "42", 2);
    n += w;
    ck_assert_int_eq(pm_strbuf_puts(&b, "end"), 0);
    memcpy(expect + n, "end", 4);
    n += 3;
    ck_assert_uint_eq(b.len, n);
    text = pm_strbuf_steal(&b);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), n);
    ck_assert_mem_eq(text, expect, n + 1);
    free(text);
    free(expect);
}
END_TEST

/* printf fills exactly to the byte before the NUL, then one byte more. */
START_TEST(test_strbuf_printf_at_capacity_boundary)
{
    pm_strbuf_t b;
    size_t room;

    pm_strbuf_init(&b);
    ck_assert_int_eq(pm_strbuf_putc(&b, 'a'), 0);
    room = b.cap - b.len - 1;
    ck_assert_int_eq(pm_strbuf_printf(&b, "%*s", (int)room, "b"), 0);
    ck_assert_uint_eq(b.len, 1 + room);
    ck_assert_int_eq(pm_strbuf_printf(&b, "%s", "c"), 0);
    ck_assert_uint_eq(b.len, 2 + room);
    ck_assert_uint_eq(strlen(b.data), b.len);
    ck_assert_int_eq(b.data[room], 'b');
    ck_assert_int_eq(b.data[room + 1], 'c');
    pm_strbuf_close(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

/* Under de_DE (decimal comma, "." grouping) printf still writes "3.50";
 * snprintf in the same thread shows the locale is in force. */
START_TEST(test_strbuf_printf_ignores_decimal_comma_locale)
{
    pm_strbuf_t b;
    char comma[16], *text;

    PM_CHECK_NEED_COMMA_LOCALE();
    snprintf(comma, sizeof comma, "%.2f", 3.5);
    pm_strbuf_init(&b);
    pm_strbuf_printf(&b, "%.2f MiB, %g s, %.1e", 3.5, 0.25, 12345.0);
    /* long enough to take the grow-and-format-again path */
    pm_strbuf_printf(&b, " %0600.3f", 1.5);
    text = pm_strbuf_steal(&b);
    pm_check_comma_locale_done();
    ck_assert_str_eq(comma, "3,50");
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(strncmp(text, "3.50 MiB, 0.25 s, 1.2e+04 ", 26), 0);
    ck_assert_uint_eq(strlen(text), 26 + 600);
    ck_assert_str_eq(text + strlen(text) - 6, "01.500");
    free(text);
}
END_TEST

/* An append larger than memory can hold fails with -ENOMEM; the buffer
 * stays failed (later appends refused, nothing written) and steal gives
 * NULL, so a renderer never returns a truncated document. */
START_TEST(test_strbuf_out_of_memory_is_sticky)
{
    pm_strbuf_t b;

    pm_strbuf_init(&b);
    ck_assert_int_eq(pm_strbuf_puts(&b, "kept"), 0);
    ck_assert_int_eq(pm_strbuf_append(&b, "x", SIZE_MAX / 2), -ENOMEM);
    ck_assert_int_eq(b.failed, 1);
    ck_assert_str_eq(b.data, "kept");
    ck_assert_int_eq(pm_strbuf_puts(&b, "more"), -ENOMEM);
    ck_assert_int_eq(pm_strbuf_printf(&b, "%d", 1), -ENOMEM);
    ck_assert_int_eq(pm_strbuf_putc(&b, 'c'), -ENOMEM);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_ptr_null(pm_strbuf_steal(&b));
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(b.failed, 0); /* steal leaves it as after init */
}
END_TEST

/* pm_fmt_alloc, now written on the buffer, formats in "C" too. */
START_TEST(test_fmt_alloc_ignores_decimal_comma_locale)
{
    char *text;

    PM_CHECK_NEED_COMMA_LOCALE();
    text = pm_fmt_alloc("%.02f MiB", 1.5);
    pm_check_comma_locale_done();
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "1.50 MiB");
    free(text);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"grow", test_strbuf_empty_steal_gives_empty_string},
        {"grow", test_strbuf_grows_and_keeps_every_byte},
        {"grow", test_strbuf_printf_at_capacity_boundary},
        {"grow", test_strbuf_out_of_memory_is_sticky},
        {"locale", test_strbuf_printf_ignores_decimal_comma_locale},
        {"locale", test_fmt_alloc_ignores_decimal_comma_locale},
    };

    return pm_check_main("strbuf", tests, PM_CHECK_COUNT(tests));
}
