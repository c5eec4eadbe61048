/*
 * fsutil.h - small durable file-system operations.
 *
 * Owns: mkdir -p, fsync of a directory, atomic file replacement (write temp, fsync, rename,
 * fsync directory; or all but the last, relative to an open directory) and whole-file reads.
 * Never: ignores a failed fsync; every function returns 0 or -errno, except that
 * fs_write_atomic stops the process when the directory's fsync fails after its rename.
 */
#ifndef BROOK_BASE_FSUTIL_H
#define BROOK_BASE_FSUTIL_H

#include <stddef.h>

int fs_mkdirs(const char *path);
int fs_fsync_dir(const char *path);
/* pwrite of all n bytes at off (retrying short writes and EINTR). 0 or -errno. */
int fs_pwrite_all(int fd, const void *p, size_t n, unsigned long long off);
/* Replaces path with data atomically and durably: once it returns 0 the new contents are
 * on disk, under the name. An error before the rename (-errno) leaves the old file as it
 * was. A failed fsync of the directory after the rename is fatal (logged, abort()): every
 * reader already sees the new contents, which may not survive a crash, so neither answer
 * would be true; a restart reads what the disk holds. */
int fs_write_atomic(const char *path, const void *data, size_t len);
/* The same inside the directory dfd, without the directory's fsync (the caller's, which
 * makes the new name durable; until then a crash may leave the old file): writes
 * <name>.tmp, fdatasyncs it and renames it over name. 0, or -errno with the old file as it
 * was. For the flush thread, which holds a directory open while the loop may rename it. */
int fs_replace_at(int dfd, const char *name, const void *data, size_t len);
/* Reads a whole file into a malloc'd, NUL-terminated buffer the caller frees. */
int fs_read_all(const char *path, char **out, size_t *len_out);
/* Hands each line of a small text file to fn (lines starting with '#' skipped; a missing
 * file has none). Returns 0, or -1 with err: "cannot read <path>: ..." or, when fn refuses
 * a line (non-zero), "<path> line N: <what>". */
int fs_load_lines(const char *path, int (*fn)(char *line, void *ctx), void *ctx,
                  const char *what, char *err, size_t errlen);
/* Removes a directory tree (used for deleted topics). */
int fs_remove_tree(const char *path);

#endif
