/* The program tests/check_record.c records: record_child MIB MS CODE
 * maps and touches MIB MiB, holds them for MS milliseconds, then exits
 * with CODE. Deterministic memory without an interpreter. */
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t n, page = (size_t)sysconf(_SC_PAGESIZE);
    long ms;
    volatile unsigned char *p;
    struct timespec ts;

    if (argc != 4) {
        return 64;
    }
    n = (size_t)atol(argv[1]) << 20;
    ms = atol(argv[2]);
    p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED) {
        return 65;
    }
    for (size_t i = 0; i < n; i += page) {
        p[i] = 1;
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
    return atoi(argv[3]);
}
