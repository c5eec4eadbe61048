/*
 * cluster_up.c - `brook cluster up|down`; see cluster_up.h.
 *
 * Layout of DIR (made absolute first, so that every command line names it in full):
 *   DIR/zk/zoo.cfg, DIR/zk/log4j.properties, DIR/zk/data/, DIR/zk/zk.log   ZooKeeper
 *   DIR/nodeN/data/, DIR/nodeN/brookd.log                                  node N
 *   DIR/zk.pid, DIR/nodeN.pid, DIR/bootstrap (the node list, for scripts)
 *
 * `up` starts every process in its own session (setsid), so it outlives the command and a
 * Ctrl-C in the terminal does not reach it, with output appended to its log. It waits,
 * bounded by --timeout-ms in all, for ZooKeeper to serve ("srvr" names its mode), for each
 * node's "brookd ready listener=" line (from where this start's output begins), and for
 * every node's Metadata to list every node. When anything fails it stops what it started
 * and prints the tail of the failing process's log.
 *
 * `down` sends SIGTERM to the nodes, waits, SIGKILLs what is left, then does the same to
 * ZooKeeper (nodes first, so they leave ZooKeeper cleanly). A pid is signalled only while
 * /proc/PID/cmdline names DIR.
 */
#include "cli/cluster_up.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/kafka.h"

#define CU_NODES_MAX 64
/* With --base-port P: ZooKeeper P, node N's Kafka listener P+N, its admin listener P+100+N. */
#define CU_ADMIN_PORT_OFFSET 100
/* After SIGKILL, how long to wait for a process to disappear before giving up on it. */
#define CU_KILL_WAIT_MS 5000
#define CU_POLL_MS 20
#define CU_ADDR_MAX 96
#define CU_ZK_CLASSPATH \
    "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
#define CU_ZK_JAR "/usr/share/java/zookeeper.jar"

typedef struct cu_proc {
    char name[16];           /* "zk", "node1", ... (also the pid file's name) */
    pid_t pid;               /* 0: not started or already gone */
    char log[PATH_MAX];      /* its stdout + stderr */
    off_t log_start;         /* where this start's output begins in log */
    char addr[CU_ADDR_MAX];  /* HOST:PORT served (ZooKeeper's client port, a node's Kafka) */
    char admin[CU_ADDR_MAX]; /* a node's admin HOST:PORT, "" until seen */
    bool killed;             /* had to be SIGKILLed */
} cu_proc;

typedef struct cu_cluster {
    char dir[PATH_MAX]; /* absolute */
    int n;
    int rf; /* --replication-factor (0: brookd's defaults) */
    cu_proc zk;
    cu_proc nodes[CU_NODES_MAX];
} cu_cluster;

typedef struct cu_up_args {
    int64_t nodes, base_port, timeout_ms, rf;
    const char *dir, *config;
} cu_up_args;

void cli_cluster_up_usage(FILE *out)
{
    fprintf(out,
            "  brook cluster up --nodes N --dir DIR [--replication-factor R] [--base-port P] "
            "[--config FILE] [--timeout-ms T]\n"
            "      with R: new topics get R replicas and min.insync.replicas min(2, R)\n"
            "      start ZooKeeper (java) + N brookd nodes in the background; ports are free\n"
            "      loopback ports, or with --base-port P: ZooKeeper P, node N P+N, its admin "
            "P+100+N\n"
            "      ($BROOKD: the brookd binary, default: next to brook; $JAVA; "
            "$BROOK_ZK_CLASSPATH)\n"
            "  brook cluster down --dir DIR [--timeout-ms T]\n"
            "      SIGTERM the nodes, then ZooKeeper (SIGKILL after T ms), from DIR's pid "
            "files\n");
}

/* ---------------- small helpers ---------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* snprintf that treats truncation as an error. Returns 0 or -1. */
static int fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* mkdir -p. Returns 0 or -1 with errno set. */
static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (fmt(tmp, sizeof(tmp), "%s", path) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes text to path (replacing it). Returns 0, or -1 after printing why. */
static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "brook cluster: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fputs(text, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "brook cluster: writing %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A loopback port that was free a moment ago, or -1. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* Prints the last `lines` lines of path (at most its last 8 KiB) on stderr. */
static void print_log_tail(const char *path, int lines)
{
    char buf[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *p = buf + n;
    for (int seen = 0; p > buf; p--)
        if (p[-1] == '\n' && p != buf + n && ++seen > lines)
            break;
    fprintf(stderr, "----- last lines of %s -----\n%s", path, p);
    if (buf[n - 1] != '\n')
        fputc('\n', stderr);
    fprintf(stderr, "-----\n");
}

/* ---------------- processes ---------------- */

/* Starts argv[0] (looked up in PATH) in a new session, output appended to p->log, stdin
 * /dev/null, in directory cwd. Sets p->pid and p->log_start. An exec failure shows up as
 * the child exiting 127 with the reason in its log. Returns 0 or -1 after printing. */
static int spawn(cu_proc *p, char *const argv[], const char *cwd)
{
    int log = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) {
        fprintf(stderr, "brook cluster: %s: %s\n", p->log, strerror(errno));
        return -1;
    }
    p->log_start = lseek(log, 0, SEEK_END);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "brook cluster: fork: %s\n", strerror(errno));
        close(log);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
            dup2(log, 2) < 0 || chdir(cwd) != 0)
            _exit(127);
        execvp(argv[0], argv);
        dprintf(2, "brook cluster: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log);
    p->pid = pid;
    return 0;
}

/* Whether pid is still a live process (not gone, not a zombie). Reaps it if it is a child
 * of ours that has exited. */
static bool proc_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    if (waitpid(pid, NULL, WNOHANG) == pid)
        return false;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return false;
    char path[64], stat[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    const char *rp = strrchr(stat, ')'); /* "pid (comm) S ..." */
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* Whether one of pid's command-line arguments names dir (dir itself or a path under it):
 * the check that a pid from a pid file is still the process `up` started. */
static bool proc_names_dir(pid_t pid, const char *dir)
{
    char path[64];
    static char cmd[65536];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
    close(fd);
    if (n <= 0)
        return false;
    cmd[n] = '\0';
    size_t dlen = strlen(dir);
    for (const char *arg = cmd; arg < cmd + n; arg += strlen(arg) + 1)
        for (const char *m = strstr(arg, dir); m; m = strstr(m + 1, dir))
            if (m[dlen] == '/' || m[dlen] == '\0')
                return true;
    return false;
}

/* The name of process i of a cluster (pid file, messages): 0 ZooKeeper, i node i. */
static void proc_name(int i, char *out, size_t cap)
{
    if (i == 0)
        snprintf(out, cap, "zk");
    else
        snprintf(out, cap, "node%d", i);
}

static int pidfile_path(char *out, size_t cap, const char *dir, const char *name)
{
    return fmt(out, cap, "%s/%s.pid", dir, name);
}

static int pidfile_write(const char *dir, const cu_proc *p)
{
    char path[PATH_MAX], text[32];
    if (pidfile_path(path, sizeof(path), dir, p->name) != 0)
        return -1;
    snprintf(text, sizeof(text), "%d\n", (int)p->pid);
    return write_file(path, text);
}

/* The pid in DIR/name.pid: > 0, 0 when there is no such file, -1 when it is unreadable. */
static pid_t pidfile_read(const char *dir, const char *name)
{
    char path[PATH_MAX], text[32] = "";
    if (pidfile_path(path, sizeof(path), dir, name) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    bool ok = fgets(text, sizeof(text), f) != NULL;
    fclose(f);
    text[strcspn(text, "\n")] = '\0';
    int64_t pid;
    return ok && cli_parse_i64(text, 1, INT32_MAX, &pid) == 0 ? (pid_t)pid : -1;
}

static void pidfile_remove(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if (pidfile_path(path, sizeof(path), dir, name) == 0)
        unlink(path);
}

/* Stops procs[0..n): SIGTERM to all, waits up to timeout_ms for all, then SIGKILL to the
 * rest and waits up to CU_KILL_WAIT_MS. Prints one line per process; removes the pid file
 * of each one that is gone. Returns how many are still alive. */
static int stop_procs(const char *dir, cu_proc *procs, int n, int64_t timeout_ms)
{
    for (int i = 0; i < n; i++)
        if (procs[i].pid > 0)
            kill(procs[i].pid, SIGTERM);
    int left = 0;
    for (int round = 0; round < 2; round++) {
        int64_t deadline = now_ms() + (round == 0 ? timeout_ms : CU_KILL_WAIT_MS);
        do {
            left = 0;
            for (int i = 0; i < n; i++)
                left += proc_alive(procs[i].pid);
            if (left == 0)
                break;
            sleep_ms(CU_POLL_MS);
        } while (now_ms() < deadline);
        if (left == 0 || round == 1)
            break;
        for (int i = 0; i < n; i++)
            if (proc_alive(procs[i].pid)) {
                printf("  %s (pid %d): no exit %" PRId64 " ms after SIGTERM, sending SIGKILL\n",
                       procs[i].name, (int)procs[i].pid, timeout_ms);
                kill(procs[i].pid, SIGKILL);
                procs[i].killed = true;
            }
    }
    for (int i = 0; i < n; i++) {
        if (procs[i].pid <= 0)
            continue;
        if (proc_alive(procs[i].pid)) {
            printf("  %s (pid %d): still running after SIGKILL\n", procs[i].name,
                   (int)procs[i].pid);
            continue;
        }
        printf("  %s (pid %d): stopped%s\n", procs[i].name, (int)procs[i].pid,
               procs[i].killed ? " (SIGKILL)" : "");
        pidfile_remove(dir, procs[i].name);
        procs[i].pid = 0;
    }
    return left;
}

/* Stops the nodes, then ZooKeeper. Returns how many processes are still alive. */
static int stop_cluster(cu_cluster *c, int64_t timeout_ms)
{
    int left = stop_procs(c->dir, c->nodes, c->n, timeout_ms);
    return left + stop_procs(c->dir, &c->zk, 1, timeout_ms);
}

/* ---------------- ZooKeeper ---------------- */

/* Whether ZooKeeper at 127.0.0.1:port serves requests: its "srvr" answer names its mode
 * (one still loading answers "not currently serving requests"). */
static bool zk_serving(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[2048];
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && write(fd, "srvr", 4) == 4) {
        ssize_t r;
        while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return strstr(buf, "Mode:") != NULL;
}

static int zk_write_config(const cu_cluster *c, int port)
{
    char path[PATH_MAX], text[2 * PATH_MAX];
    if (fmt(text, sizeof(text),
            "# written by brook cluster up\n"
            "tickTime=2000\n"
            "dataDir=%s/zk/data\n"
            "clientPort=%d\n"
            "clientPortAddress=127.0.0.1\n"
            "maxClientCnxns=0\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok,srvr,mntr\n",
            c->dir, port) != 0 ||
        fmt(path, sizeof(path), "%s/zk/zoo.cfg", c->dir) != 0 || write_file(path, text) != 0)
        return -1;
    if (fmt(path, sizeof(path), "%s/zk/log4j.properties", c->dir) != 0)
        return -1;
    return write_file(path,
                      "log4j.rootLogger=INFO, CONSOLE\n"
                      "log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
                      "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
                      "log4j.appender.CONSOLE.layout.ConversionPattern="
                      "%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n\n");
}

/* Writes ZooKeeper's configuration and starts it (java, detached). Returns 0 or -1. */
static int zk_start(cu_cluster *c, int port)
{
    char data[PATH_MAX], cwd[PATH_MAX], cfg[PATH_MAX], log4j[PATH_MAX + 32], abs[PATH_MAX];
    const char *cp = getenv("BROOK_ZK_CLASSPATH");
    const char *java = getenv("JAVA");
    if (java && strchr(java, '/') && realpath(java, abs)) /* it runs in DIR/zk */
        java = abs;
    if (!cp || !*cp) {
        if (access(CU_ZK_JAR, R_OK) != 0) {
            fprintf(stderr, "brook cluster up: %s not found: install Debian's zookeeper "
                            "package (or set BROOK_ZK_CLASSPATH)\n", CU_ZK_JAR);
            return -1;
        }
        cp = CU_ZK_CLASSPATH;
    }
    if (fmt(cwd, sizeof(cwd), "%s/zk", c->dir) != 0 ||
        fmt(data, sizeof(data), "%s/zk/data", c->dir) != 0 || mkdir_p(data) != 0 ||
        fmt(cfg, sizeof(cfg), "%s/zk/zoo.cfg", c->dir) != 0 ||
        fmt(log4j, sizeof(log4j), "-Dlog4j.configuration=file:%s/zk/log4j.properties",
            c->dir) != 0 ||
        fmt(c->zk.log, sizeof(c->zk.log), "%s/zk/zk.log", c->dir) != 0) {
        fprintf(stderr, "brook cluster up: %s/zk: %s\n", c->dir, strerror(errno));
        return -1;
    }
    if (zk_write_config(c, port) != 0)
        return -1;
    snprintf(c->zk.addr, sizeof(c->zk.addr), "127.0.0.1:%d", port);
    char *argv[] = {(char *)(java && *java ? java : "java"), "-Xms16m", "-Xmx256m",
                    "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                    "-Djava.awt.headless=true", "-Dzookeeper.jmx.log4j.disable=true", log4j,
                    "-cp", (char *)cp, "org.apache.zookeeper.server.ZooKeeperServerMain", cfg,
                    NULL};
    return spawn(&c->zk, argv, cwd) != 0 || pidfile_write(c->dir, &c->zk) != 0 ? -1 : 0;
}

/* Waits until ZooKeeper serves, the process dies, or deadline. Returns 0 or -1. */
static int zk_wait(cu_cluster *c, int port, int64_t deadline)
{
    while (!zk_serving(port)) {
        if (!proc_alive(c->zk.pid)) {
            fprintf(stderr, "brook cluster up: ZooKeeper exited before serving\n");
            print_log_tail(c->zk.log, 20);
            return -1;
        }
        if (now_ms() > deadline) {
            fprintf(stderr, "brook cluster up: ZooKeeper not serving on 127.0.0.1:%d in time\n",
                    port);
            print_log_tail(c->zk.log, 20);
            return -1;
        }
        sleep_ms(50);
    }
    return 0;
}

/* ---------------- brookd nodes ---------------- */

/* The brookd to run, as an absolute path (the nodes run in their own directories):
 * $BROOKD, else the one next to this brook binary. Returns 0 or -1. */
static int find_brookd(char *out, size_t cap)
{
    const char *env = getenv("BROOKD");
    char abs[PATH_MAX];
    if (env && *env)
        return realpath(env, abs) ? fmt(out, cap, "%s", abs) : fmt(out, cap, "%s", env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return fmt(out, cap, "%s/brookd", self);
}

/* Starts node i (1-based) detached. port / admin_port 0: brookd picks a free one. */
static int node_start(cu_cluster *c, int i, const char *brookd, const char *config,
                      int zk_port, int port, int admin_port)
{
    cu_proc *p = &c->nodes[i - 1];
    char cwd[PATH_MAX], data[PATH_MAX + 16], listen[64], admin[64], zk[64], id[32], minb[48];
    char rf[48], misr[48];
    proc_name(i, p->name, sizeof(p->name));
    if (fmt(cwd, sizeof(cwd), "%s/node%d", c->dir, i) != 0 ||
        fmt(data, sizeof(data), "--log.dirs=%s/data", cwd) != 0 ||
        fmt(p->log, sizeof(p->log), "%s/brookd.log", cwd) != 0 || mkdir_p(cwd) != 0) {
        fprintf(stderr, "brook cluster up: %s/node%d: %s\n", c->dir, i, strerror(errno));
        return -1;
    }
    snprintf(listen, sizeof(listen), "--listeners=PLAINTEXT://127.0.0.1:%d", port);
    snprintf(admin, sizeof(admin), "--admin.listeners=http://127.0.0.1:%d", admin_port);
    snprintf(zk, sizeof(zk), "--zookeeper.connect=127.0.0.1:%d", zk_port);
    snprintf(id, sizeof(id), "--node.id=%d", i);
    snprintf(minb, sizeof(minb), "--cluster.min.brokers=%d", c->n);
    snprintf(rf, sizeof(rf), "--default.replication.factor=%d", c->rf);
    snprintf(misr, sizeof(misr), "--min.insync.replicas=%d", c->rf < 2 ? c->rf : 2);
    char *argv[12];
    int k = 0;
    argv[k++] = (char *)brookd;
    if (config)
        argv[k++] = (char *)config; /* a properties file first, the flags override it */
    argv[k++] = listen;
    argv[k++] = admin;
    argv[k++] = data;
    argv[k++] = zk;
    argv[k++] = id;
    argv[k++] = minb;
    if (c->rf > 0) {
        argv[k++] = rf;
        argv[k++] = misr;
    }
    argv[k] = NULL;
    return spawn(p, argv, cwd) != 0 || pidfile_write(c->dir, p) != 0 ? -1 : 0;
}

/* Finds "<prefix>HOST:PORT" in p's log after p->log_start and copies HOST:PORT to out.
 * Returns true when found. */
static bool log_find_addr(const cu_proc *p, const char *prefix, char *out, size_t cap)
{
    static char buf[1 << 16];
    int fd = open(p->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, p->log_start);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *m = strstr(buf, prefix);
    if (!m)
        return false;
    m += strlen(prefix);
    size_t len = strcspn(m, " \t\r\n");
    if (len == 0 || len >= cap || m[len] == '\0') /* a line still being written */
        return false;
    memcpy(out, m, len);
    out[len] = '\0';
    return true;
}

/* Waits for every node's ready line. Returns 0, or -1 after printing which node failed. */
static int nodes_wait(cu_cluster *c, int64_t deadline)
{
    int shown = -1;
    for (;;) {
        int ready = 0;
        for (int i = 0; i < c->n; i++) {
            cu_proc *p = &c->nodes[i];
            if (p->addr[0] != '\0' ||
                log_find_addr(p, "brookd ready listener=", p->addr, sizeof(p->addr))) {
                ready++;
                continue;
            }
            if (!proc_alive(p->pid)) {
                fprintf(stderr, "brook cluster up: %s exited before it was ready\n", p->name);
                print_log_tail(p->log, 20);
                return -1;
            }
        }
        if (ready != shown) /* progress, on stderr so that stdout stays the summary */
            fprintf(stderr, "brook cluster up: %d of %d nodes started\n", ready, c->n);
        shown = ready;
        if (ready == c->n)
            return 0;
        if (now_ms() > deadline) {
            for (int i = 0; i < c->n; i++)
                if (c->nodes[i].addr[0] == '\0') {
                    fprintf(stderr, "brook cluster up: %s not ready in time\n",
                            c->nodes[i].name);
                    print_log_tail(c->nodes[i].log, 20);
                }
            return -1;
        }
        sleep_ms(CU_POLL_MS);
    }
}

/* How many brokers the Metadata of the node at addr lists, or -1 when it does not answer
 * within timeout_ms. A fresh client per call: its only known broker is addr, so the
 * answer is that node's own view (a client that knows the cluster asks any node). */
static int node_broker_count(const char *addr, int timeout_ms)
{
    rd_kafka_conf_t *conf = cli_kafka_conf(addr);
    if (!conf || cli_kafka_set(conf, "log_level", "2") != 0) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        return -1;
    }
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    if (rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        n = md->broker_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return n;
}

/* Waits until every node's Metadata lists all n brokers. Returns 0 or -1. */
static int metadata_wait(cu_cluster *c, int64_t deadline)
{
    int seen[CU_NODES_MAX];
    for (int i = 0; i < c->n; i++)
        seen[i] = -1;
    int shown = -1;
    for (;;) {
        int done = 0;
        for (int i = 0; i < c->n; i++) {
            if (seen[i] != c->n)
                seen[i] = node_broker_count(c->nodes[i].addr, 1000);
            done += seen[i] == c->n;
        }
        if (done != shown)
            fprintf(stderr, "brook cluster up: %d of %d nodes see the whole cluster\n", done,
                    c->n);
        shown = done;
        if (done == c->n)
            return 0;
        if (now_ms() > deadline) {
            for (int i = 0; i < c->n; i++)
                if (seen[i] != c->n)
                    fprintf(stderr, "brook cluster up: the Metadata of %s (%s) lists %d of %d "
                                    "brokers\n", c->nodes[i].name, c->nodes[i].addr,
                            seen[i] < 0 ? 0 : seen[i], c->n);
            return -1;
        }
        sleep_ms(100);
    }
}

/* ---------------- up ---------------- */

/* Refuses a DIR whose pid files name running processes of its own. Returns 0 or -1. */
static int check_not_running(const char *dir)
{
    char name[16];
    for (int i = 0; i <= CU_NODES_MAX; i++) {
        proc_name(i, name, sizeof(name));
        pid_t pid = pidfile_read(dir, name);
        if (pid > 0 && proc_alive(pid) && proc_names_dir(pid, dir)) {
            fprintf(stderr, "brook cluster up: %s already runs in %s (pid %d); stop it with "
                            "brook cluster down --dir %s\n", name, dir, (int)pid, dir);
            return -1;
        }
    }
    return 0;
}

static void print_up(const cu_cluster *c, const char *bootstrap)
{
    printf("ZooKeeper  %-21s log %s\n", c->zk.addr, c->zk.log);
    for (int i = 0; i < c->n; i++) {
        const cu_proc *p = &c->nodes[i];
        printf("node %-5d %-21s admin http://%-21s log %s\n", i + 1, p->addr,
               p->admin[0] ? p->admin : "-", p->log);
    }
    printf("\nbootstrap: %s\nadmin:", bootstrap);
    for (int i = 0; i < c->n; i++)
        printf(" http://%s", c->nodes[i].admin[0] ? c->nodes[i].admin : "-");
    printf("\nstatus:    brook cluster status --bootstrap %s\n"
           "stop:      brook cluster down --dir %s\n", c->nodes[0].addr, c->dir);
}

/* Parses up's flags into a. Returns 0 to go on, or -1 with the exit code in *exit_rc
 * (0 after --help, 2 after a usage error). */
static int parse_up_args(int argc, char **argv, cu_up_args *a, int *exit_rc)
{
    *a = (cu_up_args){.nodes = 0, .base_port = 0, .timeout_ms = 60000};
    const struct cli_opt opts[] = {
        {"nodes", CLI_OPT_I64, &a->nodes, 1, CU_NODES_MAX, NULL, NULL, "node count"},
        {"dir", CLI_OPT_STR, &a->dir, 0, 0, NULL, NULL, "where logs, data, pid files go"},
        {"base-port", CLI_OPT_I64, &a->base_port, 1024, 65535 - CU_ADMIN_PORT_OFFSET -
         CU_NODES_MAX, NULL, NULL, "fixed ports from here (default: free ports)"},
        {"config", CLI_OPT_STR, &a->config, 0, 0, NULL, NULL, "brookd properties file"},
        {"replication-factor", CLI_OPT_I64, &a->rf, 1, 8, NULL, NULL,
         "replicas of new topics (at most --nodes)"},
        {"timeout-ms", CLI_OPT_I64, &a->timeout_ms, 1000, 3600000, NULL, NULL,
         "bound on the whole start"},
    };
    size_t n = sizeof(opts) / sizeof(opts[0]);
    int rc = cli_args_parse("brook cluster up", argc, argv, opts, n);
    if (rc == 0 && (a->nodes == 0 || !a->dir)) {
        fprintf(stderr, "brook cluster up: --nodes N and --dir DIR are required\n");
        rc = -1;
    }
    if (rc != 0) {
        cli_cluster_up_usage(rc > 0 ? stdout : stderr);
        *exit_rc = rc > 0 ? 0 : 2;
        return -1;
    }
    return 0;
}

/* Starts everything and waits for it; on failure stops what it started. */
static int up_run(cu_cluster *c, const cu_up_args *a, const char *brookd, const char *config)
{
    int64_t deadline = now_ms() + a->timeout_ms;
    int zk_port = a->base_port ? (int)a->base_port : free_port();
    if (zk_port < 0) {
        fprintf(stderr, "brook cluster up: no free loopback port\n");
        return 1;
    }
    if (zk_start(c, zk_port) != 0 || zk_wait(c, zk_port, deadline) != 0)
        goto fail;
    for (int i = 1; i <= c->n; i++) {
        int port = a->base_port ? (int)a->base_port + i : 0;
        int admin = a->base_port ? (int)a->base_port + CU_ADMIN_PORT_OFFSET + i : 0;
        if (node_start(c, i, brookd, config, zk_port, port, admin) != 0)
            goto fail;
    }
    if (nodes_wait(c, deadline) != 0)
        goto fail;
    char bootstrap[CU_NODES_MAX * CU_ADDR_MAX] = "";
    for (int i = 0; i < c->n; i++) {
        size_t used = strlen(bootstrap);
        snprintf(bootstrap + used, sizeof(bootstrap) - used, "%s%s", i ? "," : "",
                 c->nodes[i].addr);
    }
    if (metadata_wait(c, deadline) != 0)
        goto fail;
    for (int i = 0; i < c->n; i++) /* logged right after the ready line */
        log_find_addr(&c->nodes[i], "admin ready listener=", c->nodes[i].admin, CU_ADDR_MAX);
    char path[PATH_MAX], text[sizeof(bootstrap) + 2];
    snprintf(text, sizeof(text), "%s\n", bootstrap);
    if (fmt(path, sizeof(path), "%s/bootstrap", c->dir) != 0 || write_file(path, text) != 0)
        goto fail;
    print_up(c, bootstrap);
    return 0;
fail:
    fprintf(stderr, "brook cluster up: failed; stopping what was started\n");
    stop_cluster(c, 10000);
    return 1;
}

int cli_cluster_up(int argc, char **argv)
{
    cu_up_args a;
    int rc;
    if (parse_up_args(argc, argv, &a, &rc) != 0)
        return rc;
    char brookd[PATH_MAX], config[PATH_MAX];
    if (find_brookd(brookd, sizeof(brookd)) != 0 || access(brookd, X_OK) != 0) {
        fprintf(stderr, "brook cluster up: no brookd at %s (set BROOKD=/path/to/brookd)\n",
                brookd);
        return 1;
    }
    if (a.config && !realpath(a.config, config)) {
        fprintf(stderr, "brook cluster up: --config %s: %s\n", a.config, strerror(errno));
        return 1;
    }
    cu_cluster *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "brook cluster up: out of memory\n");
        return 1;
    }
    c->n = (int)a.nodes;
    c->rf = (int)a.rf;
    if (c->rf > c->n) {
        fprintf(stderr, "brook cluster up: --replication-factor %d is more than --nodes %d\n",
                c->rf, c->n);
        free(c);
        return 2;
    }
    proc_name(0, c->zk.name, sizeof(c->zk.name));
    rc = 1;
    if (mkdir_p(a.dir) != 0 || !realpath(a.dir, c->dir))
        fprintf(stderr, "brook cluster up: --dir %s: %s\n", a.dir, strerror(errno));
    else if (check_not_running(c->dir) == 0)
        rc = up_run(c, &a, brookd, a.config ? config : NULL);
    free(c);
    return rc;
}

/* ---------------- down ---------------- */

/* Fills c from DIR's pid files: the processes that are alive and name DIR. Stale pid files
 * (process gone, or the pid now belongs to something else) are reported and removed. */
static void down_collect(cu_cluster *c)
{
    for (int i = 0; i <= CU_NODES_MAX; i++) {
        cu_proc *p = i == 0 ? &c->zk : &c->nodes[c->n];
        char name[16];
        proc_name(i, name, sizeof(name));
        pid_t pid = pidfile_read(c->dir, name);
        if (pid == 0)
            continue;
        if (pid < 0) {
            printf("  %s: unreadable pid file, left alone\n", name);
            continue;
        }
        if (!proc_alive(pid) || !proc_names_dir(pid, c->dir)) {
            printf("  %s (pid %d): %s; removing its stale pid file\n", name, (int)pid,
                   proc_alive(pid) ? "that pid is not a process of this cluster" : "not running");
            pidfile_remove(c->dir, name);
            continue;
        }
        snprintf(p->name, sizeof(p->name), "%s", name);
        p->pid = pid;
        if (i > 0)
            c->n++;
    }
}

int cli_cluster_down(int argc, char **argv)
{
    const char *dir = NULL;
    int64_t timeout_ms = 15000;
    const struct cli_opt opts[] = {
        {"dir", CLI_OPT_STR, &dir, 0, 0, NULL, NULL, "the directory given to up"},
        {"timeout-ms", CLI_OPT_I64, &timeout_ms, 100, 600000, NULL, NULL,
         "SIGKILL what is still running after this"},
    };
    int rc = cli_args_parse("brook cluster down", argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
    if (rc == 0 && !dir) {
        fprintf(stderr, "brook cluster down: --dir DIR is required\n");
        rc = -1;
    }
    if (rc != 0) {
        cli_cluster_up_usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    cu_cluster *c = calloc(1, sizeof(*c));
    if (!c) {
        fprintf(stderr, "brook cluster down: out of memory\n");
        return 1;
    }
    rc = 1;
    if (!realpath(dir, c->dir)) {
        fprintf(stderr, "brook cluster down: --dir %s: %s\n", dir, strerror(errno));
    } else {
        down_collect(c);
        if (c->n == 0 && c->zk.pid == 0)
            printf("brook cluster down: nothing running in %s\n", c->dir);
        rc = stop_cluster(c, timeout_ms) == 0 ? 0 : 1;
        char path[PATH_MAX];
        if (rc == 0 && fmt(path, sizeof(path), "%s/bootstrap", c->dir) == 0)
            unlink(path);
    }
    free(c);
    return rc;
}
