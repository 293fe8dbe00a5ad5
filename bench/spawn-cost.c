/*
 * spawn-cost.c - how long until a new process, or a new thread, runs.
 * bench/fork-cost.sh (lesson 18) runs it next to its connection figures:
 * it separates the cost of fork(2) itself from the rest of a connection.
 *
 * usage: spawn-cost [-n N]      (default 200 of each)
 * For each of N forks: the time from just before fork() until the parent
 * reads the byte the child writes into a pipe as its first act (then the
 * child _exits and is reaped). The same for N pthread_create() calls.
 * Prints two lines, "fork" and "thread", each with N, mean, p50 and p99 in
 * microseconds (tab-separated).
 *
 * Read: fork(2), pthread_create(3), pipe(2)
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pipe_fd[2];

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void fail(const char *call)
{
    fprintf(stderr, "spawn-cost: %s: %s\n", call, strerror(errno));
    exit(1);
}

static void *thread_main(void *unused)
{
    (void)unused;
    if (write(pipe_fd[1], "t", 1) != 1)
        fail("write");
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *took, long n)
{
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += took[i];
    qsort(took, (size_t)n, sizeof *took, by_value);
    printf("%s\t%ld\t%.1f\t%.1f\t%.1f\n", what, n, sum / (double)n, took[n / 2], took[(n * 99) / 100]);
}

int main(int argc, char **argv)
{
    long n = 200;
    if (argc == 3 && strcmp(argv[1], "-n") == 0)
        n = strtol(argv[2], NULL, 10);
    else if (argc != 1) {
        fprintf(stderr, "usage: spawn-cost [-n N]\n");
        return 1;
    }
    if (n < 1 || n > 100000) {
        fprintf(stderr, "spawn-cost: -n: 1 to 100000\n");
        return 1;
    }
    if (pipe(pipe_fd) == -1)
        fail("pipe");
    double *took = malloc((size_t)n * sizeof *took);
    if (took == NULL)
        fail("malloc");
    char byte;

    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        pid_t pid = fork();
        if (pid == -1)
            fail("fork");
        if (pid == 0)
            _exit(write(pipe_fd[1], "p", 1) == 1 ? 0 : 1);
        if (read(pipe_fd[0], &byte, 1) != 1)
            fail("read");
        took[i] = now_us() - t0;
        if (waitpid(pid, NULL, 0) == -1)
            fail("waitpid");
    }
    report("fork", took, n);

    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        pthread_t thread;
        int rc = pthread_create(&thread, NULL, thread_main, NULL);
        if (rc != 0) {
            errno = rc;
            fail("pthread_create");
        }
        if (read(pipe_fd[0], &byte, 1) != 1)
            fail("read");
        took[i] = now_us() - t0;
        rc = pthread_join(thread, NULL);
        if (rc != 0) {
            errno = rc;
            fail("pthread_join");
        }
    }
    report("thread", took, n);
    free(took);
    return 0;
}
