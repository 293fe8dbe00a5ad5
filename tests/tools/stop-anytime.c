/*
 * stop-anytime.c - test tool: does a server stop on SIGTERM whenever it comes?
 *
 * Starts PROGRAM ARGS... TIMES times. Each time it waits a random delay (0 to
 * MAX_MS ms, microsecond-grained: a signal can land before the handlers are
 * installed, between a flag test and a blocking call, in the middle of a
 * recv) and sends SIGTERM to the server's PID. The delay counts from the
 * start in one run of four, and from the server's "listening on" line in
 * the others. With -c, once the server has
 * printed "listening on ADDRESS:PORT", a client connects and sends a few
 * bytes without a newline first, so some signals find the server busy with a
 * client (in recv, in a chat handshake). The server must then be gone within
 * -t SECONDS: exit status 0 (it caught the signal and stopped) or killed by
 * SIGTERM (it came before the handler was installed: stopping all the same).
 * A server still running is killed (SIGKILL, its process group) and reported
 * with the delay that caught it and what it printed.
 *
 * usage: stop-anytime [-n TIMES] [-m MAX_MS] [-t SECONDS] [-s SEED] [-c] [-d] PROGRAM [ARGS...]
 *
 * Prints "N runs: C stopped cleanly, K killed before their handler (seed S)"
 * and exits 0; exits 1 at the first server that did not stop, or when no run
 * at all reached the handler (then the delays prove nothing), unless -d says
 * the program has no handler: it keeps SIGTERM's default action, death.
 *
 * Only what it starts is signalled: each server by its PID, and at the end its
 * own process group (a forking server's children), set with setpgid(2).
 *
 * Read: kill(2), waitpid(2), setpgid(2), signal(7)
 */
#include "report.h"
#include "args.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: stop-anytime [-n TIMES] [-m MAX_MS] [-t SECONDS] [-s SEED] [-c] [-d] PROGRAM [ARGS...]"

/* Start argv[0] with stdout and stderr into out (truncated), in a process
 * group of its own; returns its PID. */
static pid_t start(char **argv, const char *out)
{
    pid_t pid = fork();
    if (pid == -1)
        die("fork");
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(out, O_WRONLY | O_CREAT, 0600);
        int null = open("/dev/null", O_RDONLY);
        if (fd == -1 || null == -1 || dup2(null, 0) == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
            _exit(126);
        close(fd);
        close(null);
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);          /* both sides: whichever runs first */
    return pid;
}

/* Has out a "listening on ADDRESS[:PORT]" line? 1 if so, with the port in
 * *port (0 for an address with none, a Unix socket's); 0 if not yet. */
static int listening(const char *out, uint16_t *port)
{
    FILE *f = fopen(out, "r");
    char line[256];
    int found = 0;
    *port = 0;
    while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
        char *p = strstr(line, "listening on ");
        char *colon = p != NULL ? strrchr(p, ':') : NULL;
        found = p != NULL;
        if (colon != NULL)
            *port = (uint16_t)strtoul(colon + 1, NULL, 10);
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* Wait for pid to end, at most ms; its wait status, or -1 if it is still running. */
static int wait_ms(pid_t pid, long ms)
{
    double end = now_ms() + ms;
    for (;;) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return status;
        if (got == -1 && errno != EINTR)
            die("waitpid");
        if (now_ms() >= end)
            return -1;
        poll(NULL, 0, 1);
    }
}

int main(int argc, char **argv)
{
    long times = 100, max_ms = 50, seconds = 5, seed = (long)time(NULL) % 100000;
    int client = 0, no_handler = 0, opt;
    const char *why;
    usage_init(USAGE);
    /* "+": stop at PROGRAM, whose own options are its own. */
    while ((opt = next_option(argc, argv, "+n:m:t:s:cdh")) != -1) {
        long *value = opt == 'n' ? &times : opt == 'm' ? &max_ms : opt == 't' ? &seconds : &seed;
        if (opt == 'c')
            client = 1;
        else if (opt == 'd')
            no_handler = 1;
        else if (parse_long(optarg, opt == 'm' || opt == 's' ? 0 : 1, 1000000, value, &why) == -1)
            usage_error("option", optarg, why);
    }
    if (optind == argc)
        usage_error(NULL, NULL, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    srand((unsigned)seed);

    char out[] = "/tmp/stop-anytime.XXXXXX";
    int tmp = mkstemp(out);
    if (tmp == -1)
        die("mkstemp");
    close(tmp);

    long clean = 0, early = 0;
    for (long i = 1; i <= times; i++) {
        long delay_us = rand() % (max_ms * 1000 + 1), total_us = delay_us;
        /* One run in four counts from the start (the signal may come before
         * the handlers); the others from "listening on", so most signals
         * find the server at work, not still starting. */
        int after_listening = rand() % 4 != 0;
        /* Empty before the fork: the last run's "listening on" must not count. */
        if (truncate(out, 0) == -1)
            die("truncate");
        pid_t pid = start(argv + optind, out);
        uint16_t port;
        double deadline = now_ms() + seconds * 1000;
        while (after_listening && !listening(out, &port) && now_ms() < deadline)
            poll(NULL, 0, 1);
        int conn = -1;
        if (client) {
            /* Half of the delay, then a client if the server is listening by now. */
            struct timespec half = {delay_us / 2000000, delay_us / 2 % 1000000 * 1000};
            nanosleep(&half, NULL);
            const char *failed;
            if (listening(out, &port) && port != 0 && (conn = tcp_connect("127.0.0.1", port, &failed)) != -1)
                send(conn, "hal", 3, MSG_NOSIGNAL);     /* a line begun, not ended */
            delay_us -= delay_us / 2;
        }
        struct timespec rest = {delay_us / 1000000, delay_us % 1000000 * 1000};
        nanosleep(&rest, NULL);
        if (kill(pid, SIGTERM) == -1)
            die("kill");
        int status = wait_ms(pid, seconds * 1000);
        if (conn != -1)
            close(conn);
        kill(-pid, SIGKILL);    /* anything it forked; the group is ours */
        if (status == -1) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            printf("run %ld: %s was still running %ld s after SIGTERM, sent %.3f ms after it %s%s (seed %ld); it printed:\n",
                   i, argv[optind], seconds, total_us / 1000.0, after_listening ? "said it listens" : "started", client ? " (a client connected)" : "", seed);
            FILE *f = fopen(out, "r");
            char line[512];
            for (int n = 0; f != NULL && n < 20 && fgets(line, sizeof line, f) != NULL; n++)
                printf("    | %s", line);
            if (f != NULL)
                fclose(f);
            unlink(out);
            return 1;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            clean++;
        else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
            early++;
        else {
            printf("run %ld: %s ended with %s %d after SIGTERM (seed %ld), not status 0\n", i, argv[optind],
                   WIFEXITED(status) ? "exit status" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), seed);
            unlink(out);
            return 1;
        }
    }
    unlink(out);
    printf("%ld runs: %ld stopped cleanly, %ld killed before their handler (seed %ld)\n",
           times, clean, early, seed);
    return clean > 0 || no_handler ? 0 : 1;
}
