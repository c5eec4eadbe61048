/* fsutil.c - see fsutil.h. */
#include "base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

int fs_mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fs_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* Splits path into its directory (out) and the name within it (*name_out). */
static int split_path(const char *path, char *out, size_t outlen, const char **name_out)
{
    const char *slash = strrchr(path, '/');
    *name_out = slash ? slash + 1 : path;
    if (!slash)
        return snprintf(out, outlen, ".") < (int)outlen ? 0 : -ENAMETOOLONG;
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1;
    if (n >= outlen)
        return -ENAMETOOLONG;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

int fs_replace_at(int dfd, const char *name, const void *data, size_t len)
{
    char tmp[NAME_MAX + 1];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = 0;
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dfd, tmp, dfd, name) != 0)
        rc = -errno;
    if (rc != 0)
        unlinkat(dfd, tmp, 0);
    return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t len)
{
    char dir[PATH_MAX];
    const char *name;
    int rc = split_path(path, dir, sizeof(dir), &name);
    if (rc)
        return rc;
    /* The directory is opened first: failing to open it (no descriptors left) is still an
     * error with the old file in place; only its fsync after the rename is fatal. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    if ((rc = fs_replace_at(dfd, name, data, len)) != 0) {
        close(dfd);
        return rc;
    }
    if (fsync(dfd) != 0) {
        /* Fatal, as a failed fsync of a log is: see fsutil.h. */
        LOG_ERROR("fs", "fsync of directory %s after replacing %s failed: %s; stopping "
                  "(the new contents are visible but perhaps not durable)", dir, path,
                  strerror(errno));
        abort();
    }
    close(dfd);
    return 0;
}

int fs_read_all(const char *path, char **out, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = -errno;
            free(buf);
            close(fd);
            return rc;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (S_ISDIR(st.st_mode)) {
        free(buf);
        close(fd);
        return -EISDIR;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    if (len_out)
        *len_out = got;
    return 0;
}

int fs_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        if (snprintf(child, sizeof(child), "%s/%s", path, e->d_name) >= (int)sizeof(child)) {
            rc = -ENAMETOOLONG;
            continue;
        }
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            rc = fs_remove_tree(child) ?: rc;
        else if (unlink(child) != 0)
            rc = -errno;
    }
    closedir(d);
    if (rmdir(path) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int fs_load_lines(const char *path, int (*fn)(char *line, void *ctx), void *ctx,
                  const char *what, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = fs_read_all(path, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
        return -1;
    }
    int lineno = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (line[0] != '#' && fn(line, ctx) != 0) {
            snprintf(err, errlen, "%s line %d: %s", path, lineno, what);
            free(text);
            return -1;
        }
    }
    free(text);
    return 0;
}

int fs_pwrite_all(int fd, const void *p, size_t n, unsigned long long off)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        n -= (size_t)w;
        off += (unsigned long long)w;
    }
    return 0;
}
