/* Check tests for protocol/outfile.c: a rendered text written to the
 * file the user named as open(path, "w") would: read-only files refused
 * with their own error and left as they were, symlinks followed, modes
 * kept, no temporary file left behind, no hang on a FIFO. */
#include "check_util.h"
#include "pm_protocol.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/pm-outfile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* others may enter (the unprivileged child below), not create */
    ck_assert_int_eq(chmod(dir, 0755), 0);
}

static void remove_dir(void)
{
    ck_assert_int_eq(pm_check_rmtree(dir), 0);
}

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void assert_content(const char *path, const char *want)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    size_t n;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_str_eq(buf, want);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    ck_assert_int_eq(lstat(path, &st), 0);
    return st.st_mode;
}

/* Names in dir, sorted by strcmp, joined by ' '. */
static void listing(char *buf, size_t len)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    size_t used = 0;

    ck_assert_int_ge(n, 0);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                     used ? " " : "", names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
}

START_TEST(test_outfile_creates_file_with_text)
{
    char path[128], names[256];
    mode_t mask = umask(022);

    make_dir();
    path_of(path, sizeof path, "prof.txt");
    ck_assert_int_eq(pm_outfile_write(path, "table\n", 6), 0);
    assert_content(path, "table\n");
    ck_assert_int_eq(mode_of(path) & 07777, 0644);
    /* replacing keeps the name and leaves nothing else behind */
    ck_assert_int_eq(pm_outfile_write(path, "new", 3), 0);
    assert_content(path, "new");
    listing(names, sizeof names);
    ck_assert_str_eq(names, "prof.txt");
    umask(mask);
    remove_dir();
}
END_TEST

/* What open(path, "w") does as this user (root may write a 0444 file):
 * the mode stays 0444 either way. */
START_TEST(test_outfile_keeps_mode_of_read_only_file)
{
    char path[128], names[256];

    make_dir();
    path_of(path, sizeof path, "ro.txt");
    write_file(path, "keep me", 0444);
    int fd = open(path, O_WRONLY);
    int writable = fd >= 0;
    if (fd >= 0) {
        close(fd);
    }
    int rc = pm_outfile_write(path, "new", 3);
    if (writable) {
        ck_assert_int_eq(rc, 0);
        assert_content(path, "new");
    } else {
        ck_assert_int_eq(rc, -EACCES);
        assert_content(path, "keep me");
    }
    ck_assert_int_eq(mode_of(path) & 07777, 0444);
    listing(names, sizeof names);
    ck_assert_str_eq(names, "ro.txt");
    remove_dir();
}
END_TEST

/* A user who may not write the file gets EACCES and the file is left as
 * it was (as root, the write is made by a child that became "nobody"). */
START_TEST(test_outfile_refuses_read_only_file_for_its_user)
{
    char path[128], names[256];
    int status;
    pid_t pid;

    make_dir();
    path_of(path, sizeof path, "ro.txt");
    write_file(path, "keep me", 0444);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            _exit(100);
        }
        int rc = pm_outfile_write(path, "new", 3);
        _exit(rc == -EACCES ? 0 : rc == 0 ? 101 : 102);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    if (WEXITSTATUS(status) == 100) {
        remove_dir();
        PM_CHECK_SKIP("root cannot become nobody (setuid refused)");
        return;
    }
    ck_assert_msg(WEXITSTATUS(status) == 0, "child status %d (101: written)",
                  WEXITSTATUS(status));
    assert_content(path, "keep me");
    ck_assert_int_eq(mode_of(path) & 07777, 0444);
    listing(names, sizeof names);
    ck_assert_str_eq(names, "ro.txt");
    remove_dir();
}
END_TEST

START_TEST(test_outfile_writes_through_symlink)
{
    char target[128], link[128], names[256];

    make_dir();
    path_of(target, sizeof target, "target.txt");
    path_of(link, sizeof link, "link.txt");
    write_file(target, "old", 0600);
    ck_assert_int_eq(symlink("target.txt", link), 0);
    ck_assert_int_eq(pm_outfile_write(link, "through the link", 16), 0);
    assert_content(target, "through the link");
    ck_assert(S_ISLNK(mode_of(link)));
    ck_assert_int_eq(mode_of(target) & 07777, 0600);
    listing(names, sizeof names);
    ck_assert_str_eq(names, "link.txt target.txt");
    remove_dir();
}
END_TEST

START_TEST(test_outfile_refuses_fifo_without_reader_and_directory)
{
    char fifo[128];

    make_dir();
    path_of(fifo, sizeof fifo, "fifo");
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    ck_assert_int_eq(pm_outfile_write(fifo, "x", 1), -ENXIO);
    ck_assert_int_eq(pm_outfile_write(dir, "x", 1), -EISDIR);
    ck_assert_int_eq(pm_outfile_write("", "x", 1), -EINVAL);
    remove_dir();
}
END_TEST

/* open(path, "a"): created if missing, then appended to, through a
 * symlink, the mode kept; the same refusals as "w". */
START_TEST(test_outfile_append)
{
    char target[128], link[128], fifo[128], names[256];
    mode_t mask = umask(022);

    make_dir();
    path_of(target, sizeof target, "target.txt");
    path_of(link, sizeof link, "link.txt");
    path_of(fifo, sizeof fifo, "fifo");
    ck_assert_int_eq(pm_outfile_append(target, "one\n", 4), 0);
    assert_content(target, "one\n");
    ck_assert_int_eq(mode_of(target) & 07777, 0644);
    ck_assert_int_eq(chmod(target, 0600), 0);
    ck_assert_int_eq(symlink("target.txt", link), 0);
    ck_assert_int_eq(pm_outfile_append(link, "two\n", 4), 0);
    assert_content(target, "one\ntwo\n");
    ck_assert(S_ISLNK(mode_of(link)));
    ck_assert_int_eq(mode_of(target) & 07777, 0600);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    ck_assert_int_eq(pm_outfile_append(fifo, "x", 1), -ENXIO);
    ck_assert_int_eq(pm_outfile_append(dir, "x", 1), -EISDIR);
    ck_assert_int_eq(pm_outfile_append("", "x", 1), -EINVAL);
    listing(names, sizeof names);
    ck_assert_str_eq(names, "fifo link.txt target.txt");
    umask(mask);
    remove_dir();
}
END_TEST

int main(void)
{
    const pm_check_test_t tests[] = {
        {"outfile", test_outfile_creates_file_with_text},
        {"outfile", test_outfile_keeps_mode_of_read_only_file},
        {"outfile", test_outfile_refuses_read_only_file_for_its_user},
        {"outfile", test_outfile_writes_through_symlink},
        {"outfile", test_outfile_refuses_fifo_without_reader_and_directory},
        {"outfile", test_outfile_append},
    };

    return pm_check_main("outfile", tests, PM_CHECK_COUNT(tests));
}
