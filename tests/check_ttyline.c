/* Check tests for magics/ttyline.c, the live line drawn in place on a
 * terminal: the exact bytes it writes (a pipe stands in for the
 * terminal, with a fixed width), its cut to the width, and how other
 * output pauses it. */
#include "check_util.h"
#include "pm_magics.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int rd, wr;
    pm_ttyline_t *line;
} term_t;

static void term_open(term_t *t, int width)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    t->rd = fds[0];
    t->wr = fds[1];
    ck_assert_int_eq(fcntl(t->rd, F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(pm_ttyline_new(t->wr, width, &t->line), 0);
}

/* What was written since the last call. */
static const char *term_read(term_t *t)
{
    static char buf[4096];
    ssize_t n = read(t->rd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void term_close(term_t *t)
{
    pm_ttyline_unref(t->line);
    close(t->rd);
    close(t->wr);
}

START_TEST(test_ttyline_draws_in_place_and_covers_the_longer_line)
{
    term_t t;
    term_open(&t, 40);
    ck_assert_int_eq(pm_ttyline_draw(t.line, "running 0.5 s"), 1);
    ck_assert_str_eq(term_read(&t), "\rrunning 0.5 s");
    ck_assert_int_eq(pm_ttyline_draw(t.line, "run 1"), 1);
    /* spaces over what the shorter text leaves of the previous one */
    ck_assert_str_eq(term_read(&t), "\rrun 1        ");
    ck_assert_int_eq(pm_ttyline_close(t.line), 1);
    ck_assert_str_eq(term_read(&t), "\r     \r");
    /* closed: nothing more */
    ck_assert_int_eq(pm_ttyline_draw(t.line, "late"), 0);
    ck_assert_str_eq(term_read(&t), "");
    ck_assert_int_eq(pm_ttyline_close(t.line), 0);
    term_close(&t);
}
END_TEST

START_TEST(test_ttyline_cuts_to_width_counting_characters_not_bytes)
{
    term_t t;
    term_open(&t, 8);
    /* "·" and "▁" are 2 and 3 bytes, one column each; 7 columns fit */
    ck_assert_int_eq(
        pm_ttyline_draw(t.line, "a\u00b7b \u2581\u2581\u2581\u2581"), 1);
    ck_assert_str_eq(term_read(&t), "\ra\u00b7b \u2581\u2581\u2581");
    /* only the first line of the text */
    ck_assert_int_eq(pm_ttyline_draw(t.line, "ab\ncd"), 1);
    ck_assert_str_eq(term_read(&t), "\rab     ");
    term_close(&t);
}
END_TEST

START_TEST(test_ttyline_other_output_wipes_it_and_holds_it_mid_line)
{
    term_t t;
    term_open(&t, 80);
    ck_assert_int_eq(pm_ttyline_draw(t.line, "live"), 1);
    term_read(&t);
    pm_ttyline_pause(t.line);
    ck_assert_str_eq(term_read(&t), "\r    \r");
    ck_assert_int_eq(pm_ttyline_draw(t.line, "live"), 0); /* paused */
    pm_ttyline_resume(t.line, 0); /* print("x", end="") */
    ck_assert_int_eq(pm_ttyline_draw(t.line, "live"), 0); /* mid-line */
    pm_ttyline_pause(t.line);
    ck_assert_str_eq(term_read(&t), ""); /* nothing shown to wipe */
    pm_ttyline_resume(t.line, -1); /* write(""): still mid-line */
    ck_assert_int_eq(pm_ttyline_draw(t.line, "live"), 0);
    pm_ttyline_pause(t.line);
    pm_ttyline_pause(t.line); /* nested */
    pm_ttyline_resume(t.line, 1);
    ck_assert_int_eq(pm_ttyline_draw(t.line, "live"), 0);
    pm_ttyline_resume(t.line, 1); /* "\n": a clean line again */
    ck_assert_int_eq(pm_ttyline_draw(t.line, "live 2"), 1);
    ck_assert_str_eq(term_read(&t), "\rlive 2");
    term_close(&t);
}
END_TEST

START_TEST(test_ttyline_references_keep_it_alive)
{
    term_t t;
    term_open(&t, 80);
    pm_ttyline_t *other = pm_ttyline_ref(t.line);
    pm_ttyline_unref(t.line);
    ck_assert_int_eq(pm_ttyline_draw(other, "x"), 1);
    ck_assert_str_eq(term_read(&t), "\rx");
    t.line = other;
    term_close(&t);
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"ttyline", test_ttyline_draws_in_place_and_covers_the_longer_line},
        {"ttyline", test_ttyline_cuts_to_width_counting_characters_not_bytes},
        {"ttyline", test_ttyline_other_output_wipes_it_and_holds_it_mid_line},
        {"ttyline", test_ttyline_references_keep_it_alive},
    };

    return pm_check_main("ttyline", tests, PM_CHECK_COUNT(tests));
}
