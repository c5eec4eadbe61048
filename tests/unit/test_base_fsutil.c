/*
 * test_base_fsutil.c - the durable file helpers (base/fsutil.h) in a scratch directory:
 * atomic replace then read back, mkdir -p, directory fsync and tree removal, the -errno
 * results when something is missing, and what a failed fsync does to an atomic replace
 * (fsync and fdatasync are interposed below).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "testutil.h"

static char g_root[256];
static bool g_fail_dir_fsync, g_fail_file_sync;

/* This program's fsync and fdatasync stand in for libc's (the linker resolves fsutil.c's
 * calls here): with the flags set, a directory's fsync or a file's fdatasync fails with
 * EIO, as a dying disk's would. */
int fsync(int fd)
{
    struct stat st;
    if (g_fail_dir_fsync && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

int fdatasync(int fd)
{
    if (g_fail_file_sync) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

/* Joins g_root and a relative path into a static buffer (one of four, for nesting). */
static const char *at(const char *rel)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 4];
    if (snprintf(b, PATH_MAX, "%s/%s", g_root, rel) >= PATH_MAX)
        abort(); /* a test path that long is a bug in the test */
    return b;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static bool make_root(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof(g_root), "%s/brook_test_fsutil_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(g_root) != NULL;
}

static void test_write_atomic_and_read_back(void)
{
    if (!CHECK(make_root()))
        return;
    const char *path = at("meta.properties");
    static const char text[] = "cluster.id=abc\nnode.id=1\n";
    CHECK_EQ_INT(fs_write_atomic(path, text, strlen(text)), 0);
    char *out = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fs_read_all(path, &out, &len), 0);
    CHECK_EQ_INT(len, strlen(text));
    CHECK_EQ_STR(out, text); /* also checks the NUL terminator */
    free(out);
    CHECK(!exists(at("meta.properties.tmp")));

    /* Replacing with something shorter leaves no stale tail. */
    CHECK_EQ_INT(fs_write_atomic(path, "x", 1), 0);
    out = NULL;
    CHECK_EQ_INT(fs_read_all(path, &out, &len), 0);
    CHECK_EQ_INT(len, 1);
    CHECK_EQ_STR(out, "x");
    free(out);

    /* Empty files, and len_out may be NULL. */
    CHECK_EQ_INT(fs_write_atomic(path, "", 0), 0);
    out = NULL;
    CHECK_EQ_INT(fs_read_all(path, &out, NULL), 0);
    CHECK(out != NULL && out[0] == '\0');
    free(out);

    /* A binary megabyte with NULs in it. */
    size_t big = 1 << 20;
    uint8_t *data = malloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)(tu_rand() >> 56);
    CHECK_EQ_INT(fs_write_atomic(path, data, big), 0);
    out = NULL;
    CHECK_EQ_INT(fs_read_all(path, &out, &len), 0);
    CHECK_EQ_INT(len, big);
    if (out)
        CHECK_EQ_MEM(out, data, big);
    free(out);
    free(data);

    /* A relative path (no slash) writes in the current directory. */
    char cwd[PATH_MAX];
    if (CHECK(getcwd(cwd, sizeof(cwd)) != NULL) && CHECK(chdir(g_root) == 0)) {
        CHECK_EQ_INT(fs_write_atomic("relative.txt", "r", 1), 0);
        CHECK(exists(at("relative.txt")));
        CHECK(chdir(cwd) == 0);
    }

    CHECK_EQ_INT(fs_remove_tree(g_root), 0);
}

static void test_missing_things(void)
{
    if (!CHECK(make_root()))
        return;
    char *out = NULL;
    CHECK_EQ_INT(fs_read_all(at("nope"), &out, NULL), -ENOENT);
    CHECK(out == NULL);
    CHECK_EQ_INT(fs_write_atomic(at("no/such/dir/file"), "x", 1), -ENOENT);
    CHECK_EQ_INT(fs_fsync_dir(at("nope")), -ENOENT);
    CHECK_EQ_INT(fs_fsync_dir(g_root), 0);
    CHECK_EQ_INT(fs_remove_tree(at("nope")), 0); /* already gone is success */

    char longpath[PATH_MAX + 10];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    CHECK_EQ_INT(fs_mkdirs(longpath), -ENAMETOOLONG);
    CHECK_EQ_INT(fs_write_atomic(longpath, "x", 1), -ENAMETOOLONG);
    CHECK_EQ_INT(fs_remove_tree(g_root), 0);
}

static void test_mkdirs(void)
{
    if (!CHECK(make_root()))
        return;
    CHECK_EQ_INT(fs_mkdirs(at("a/b/c")), 0);
    CHECK(is_dir(at("a")) && is_dir(at("a/b")) && is_dir(at("a/b/c")));
    CHECK_EQ_INT(fs_mkdirs(at("a/b/c")), 0); /* idempotent */
    CHECK_EQ_INT(fs_mkdirs(at("a/b")), 0);
    CHECK_EQ_INT(fs_mkdirs(at("x/y/")), 0); /* trailing slash */
    CHECK(is_dir(at("x/y")));
    CHECK_EQ_INT(fs_mkdirs(at("p//q")), 0); /* doubled slash */
    CHECK(is_dir(at("p/q")));
    CHECK_EQ_INT(fs_mkdirs(g_root), 0);

    /* A file in the way of a parent is an error. */
    CHECK_EQ_INT(fs_write_atomic(at("file"), "x", 1), 0);
    CHECK_EQ_INT(fs_mkdirs(at("file/sub")), -ENOTDIR);
    CHECK_EQ_INT(fs_remove_tree(g_root), 0);
}

/* mkdir -p on a path that exists as a regular file must fail: the caller would otherwise
 * go on to create files "inside" it and fail later with a confusing ENOTDIR. */
static void test_mkdirs_over_file(void)
{
    if (!CHECK(make_root()))
        return;
    CHECK_EQ_INT(fs_write_atomic(at("file"), "x", 1), 0);
    int rc = fs_mkdirs(at("file"));
    CHECK(rc == -EEXIST || rc == -ENOTDIR);
    CHECK_EQ_INT(fs_remove_tree(g_root), 0);
}

/* A read error is an error, not a short (here empty) file. */
static void test_read_all_directory(void)
{
    if (!CHECK(make_root()))
        return;
    char *out = NULL;
    size_t len = 99;
    int rc = fs_read_all(g_root, &out, &len);
    CHECK_EQ_INT(rc, -EISDIR);
    if (rc == 0)
        free(out);
    CHECK_EQ_INT(fs_remove_tree(g_root), 0);
}

static void test_remove_tree(void)
{
    if (!CHECK(make_root()))
        return;
    CHECK_EQ_INT(fs_mkdirs(at("t/p0/sub")), 0);
    CHECK_EQ_INT(fs_mkdirs(at("t/p1")), 0);
    CHECK_EQ_INT(fs_mkdirs(at("t/empty")), 0);
    CHECK_EQ_INT(fs_write_atomic(at("t/p0/00000000000000000000.log"), "log", 3), 0);
    CHECK_EQ_INT(fs_write_atomic(at("t/p0/sub/.hidden"), "h", 1), 0);
    CHECK_EQ_INT(fs_write_atomic(at("t/p1/a"), "a", 1), 0);
    /* A symlink to a directory outside the tree: removed, never followed. */
    CHECK_EQ_INT(fs_mkdirs(at("keep")), 0);
    CHECK_EQ_INT(fs_write_atomic(at("keep/precious"), "p", 1), 0);
    CHECK_EQ_INT(symlink(at("keep"), at("t/p1/link")), 0);
    CHECK_EQ_INT(symlink(at("gone"), at("t/dangling")), 0);

    CHECK_EQ_INT(fs_remove_tree(at("t")), 0);
    CHECK(!exists(at("t")));
    CHECK(exists(at("keep/precious")));

    /* A plain file is not a tree. */
    CHECK(fs_remove_tree(at("keep/precious")) < 0);
    CHECK(exists(at("keep/precious")));

    CHECK_EQ_INT(fs_remove_tree(g_root), 0);
    CHECK(!exists(g_root));
}

/* The file's own sync failing: -EIO, the old contents stay and no temporary is left. The
 * directory's fsync failing after the rename: the process stops (SIGABRT), and the name
 * holds the new contents, which a restart reads. */
static void test_failed_sync(void)
{
    if (!CHECK(make_root()))
        return;
    const char *path = at("state");
    CHECK_EQ_INT(fs_write_atomic(path, "old", 3), 0);
    g_fail_file_sync = true;
    CHECK_EQ_INT(fs_write_atomic(path, "new", 3), -EIO);
    g_fail_file_sync = false;
    char *out = NULL;
    CHECK_EQ_INT(fs_read_all(path, &out, NULL), 0);
    CHECK_EQ_STR(out, "old");
    free(out);
    CHECK(!exists(at("state.tmp")));

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none); /* no core file from the abort */
        g_fail_dir_fsync = true;
        fs_write_atomic(path, "new", 3);
        _exit(0); /* not reached when the failure is fatal */
    }
    int st = 0;
    if (!CHECK(pid > 0) || !CHECK(waitpid(pid, &st, 0) == pid))
        return;
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    out = NULL;
    CHECK_EQ_INT(fs_read_all(path, &out, NULL), 0);
    CHECK_EQ_STR(out, "new");
    free(out);
    CHECK_EQ_INT(fs_remove_tree(g_root), 0);
}

TU_MAIN(TU_CASE(test_write_atomic_and_read_back), TU_CASE(test_missing_things), TU_CASE(test_failed_sync),
        TU_CASE(test_mkdirs), TU_CASE(test_mkdirs_over_file),
        TU_CASE(test_read_all_directory), TU_CASE(test_remove_tree))
