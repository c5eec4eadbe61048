/*
 * launch.c - brook-bench-launch: starts a server (brookd) and measures its time to ready,
 * for bench/run.sh.
 *
 *   brook-bench-launch --log FILE --ready-file FILE [--timeout-ms N] -- PROGRAM [ARGS...]
 *
 * The clock starts just before fork+exec and stops when the child's stderr carries the first
 * line with "ready listener=HOST:PORT" (brookd's Kafka listener; its admin listener, when on,
 * reports after it). A shell polling a log file would add its own poll period
 * to a number whose target is under 100 ms; reading the pipe directly does not. Then it
 * writes "pid=P port=N ready_ms=X" to the ready file (atomically: temp file and rename) and
 * keeps copying the child's stderr to the log until the child exits, so the child never
 * blocks on a full pipe. On timeout it writes "pid=P ready_ms=-1 error=timeout" and
 * terminates the child.
 *
 * SIGTERM/SIGINT to the launcher are passed to the child, and the child gets SIGTERM if the
 * launcher dies, so nothing outlives the benchmark. Exit status: the child's (128+signal if
 * it was killed), 1 on the launcher's own errors, 2 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"

#define LAUNCH_READY_MARK "ready listener="
/* Only the start of each line is kept for matching; the ready line is short. */
#define LAUNCH_LINE_MAX 4096
#define LAUNCH_PATH_MAX 4096

static volatile sig_atomic_t g_child_pid;

static void forward_signal(int sig)
{
    if (g_child_pid > 0)
        kill((pid_t)g_child_pid, sig);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes text to path through a temporary file and rename, so a reader polling for path
 * never sees it half written. */
static int write_ready_file(const char *path, const char *text)
{
    char tmp[LAUNCH_PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text));
    close(fd);
    if (rc == 0)
        rc = rename(tmp, path);
    return rc;
}

/* Parses the port from "...ready listener=HOST:PORT..." in line. Returns it, or -1. */
static long ready_port(const char *line)
{
    const char *mark = strstr(line, LAUNCH_READY_MARK);
    if (mark == NULL)
        return -1;
    const char *addr = mark + strlen(LAUNCH_READY_MARK);
    size_t addr_len = strcspn(addr, " \t\r\n");
    const char *colon = NULL;
    for (size_t i = 0; i < addr_len; i++) {
        if (addr[i] == ':')
            colon = addr + i;
    }
    if (colon == NULL)
        return -1;
    char digits[8];
    size_t dlen = addr_len - (size_t)(colon + 1 - addr);
    if (dlen == 0 || dlen >= sizeof(digits))
        return -1;
    memcpy(digits, colon + 1, dlen);
    digits[dlen] = '\0';
    int64_t port = 0;
    if (cli_parse_i64(digits, 1, 65535, &port) != 0)
        return -1;
    return (long)port;
}

int main(int argc, char **argv)
{
    const char *log_path = NULL;
    const char *ready_path = NULL;
    int64_t timeout_ms = 10000;
    const struct cli_opt opts[] = {
        {"log", CLI_OPT_STR, &log_path, 0, 0, NULL, NULL, "file that receives the child's stderr"},
        {"ready-file", CLI_OPT_STR, &ready_path, 0, 0, NULL, NULL, "where to report readiness"},
        {"timeout-ms", CLI_OPT_I64, &timeout_ms, 1, 600000, NULL, NULL,
         "give up waiting for the ready line (default 10000)"},
    };
    size_t n_opts = sizeof(opts) / sizeof(opts[0]);
    int sep = 1;
    while (sep < argc && strcmp(argv[sep], "--") != 0)
        sep++;
    int prc = cli_args_parse("brook-bench-launch", sep - 1, argv + 1, opts, n_opts);
    if (prc != 0 || log_path == NULL || ready_path == NULL || sep + 1 >= argc) {
        fprintf(stderr, "usage: brook-bench-launch --log FILE --ready-file FILE [--timeout-ms N]"
                        " -- PROGRAM [ARGS...]\n");
        cli_args_usage(stderr, opts, n_opts);
        return 2;
    }
    char **child_argv = argv + sep + 1;

    int log_fd = open(log_path, O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "brook-bench-launch: open %s: %s\n", log_path, strerror(errno));
        return 1;
    }
    unlink(ready_path);
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        fprintf(stderr, "brook-bench-launch: pipe: %s\n", strerror(errno));
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    pid_t parent = getpid();
    int64_t start_us = now_us();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "brook-bench-launch: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        /* If the launcher is gone (even by SIGKILL) the server must not linger. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        dup2(pipefd[1], STDERR_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(child_argv[0], child_argv);
        fprintf(stderr, "brook-bench-launch: exec %s: %s\n", child_argv[0], strerror(errno));
        _exit(127);
    }
    g_child_pid = pid;
    close(pipefd[1]);

    char line[LAUNCH_LINE_MAX];
    size_t line_len = 0;
    bool ready = false;
    char buf[8192];
    for (;;) {
        if (!ready) {
            int64_t left_ms = timeout_ms - (now_us() - start_us) / 1000;
            if (left_ms <= 0) {
                char text[128];
                snprintf(text, sizeof(text), "pid=%ld ready_ms=-1 error=timeout\n", (long)pid);
                write_ready_file(ready_path, text);
                kill(pid, SIGTERM);
                ready = true; /* stop timing; keep draining until the child exits */
                continue;
            }
            struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
            int pr = poll(&pfd, 1, (int)(left_ms > 1000 ? 1000 : left_ms));
            if (pr < 0 && errno != EINTR)
                break;
            if (pr <= 0)
                continue;
        }
        ssize_t n = read(pipefd[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        int64_t got_us = now_us();
        write_all(log_fd, buf, (size_t)n);
        if (ready)
            continue;
        for (ssize_t i = 0; i < n && !ready; i++) {
            if (buf[i] != '\n') {
                if (line_len + 1 < sizeof(line))
                    line[line_len++] = buf[i];
                continue;
            }
            line[line_len] = '\0';
            line_len = 0;
            long port = ready_port(line);
            if (port < 0)
                continue;
            char text[160];
            snprintf(text, sizeof(text), "pid=%ld port=%ld ready_ms=%.3f\n", (long)pid, port,
                     (double)(got_us - start_us) / 1e3);
            if (write_ready_file(ready_path, text) != 0)
                fprintf(stderr, "brook-bench-launch: write %s: %s\n", ready_path,
                        strerror(errno));
            ready = true;
        }
    }
    if (!ready) {
        char text[128];
        snprintf(text, sizeof(text), "pid=%ld ready_ms=-1 error=exited\n", (long)pid);
        write_ready_file(ready_path, text);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(pipefd[0]);
    close(log_fd);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}
