/*
 * pid_alloc.h - producer id allocation, durable and never reused across restarts.
 *
 * Owns: <data>/producer-ids, which holds the first id NOT yet handed out in blocks. Ids
 * are taken from a block whose end is made durable (atomic replace) before the first id
 * of the block is returned, so a crash can skip ids but never repeat one.
 * Never: hands out an id below PID_ALLOC_FIRST (so a client's "expected" producer id 0,
 * which @platformatic/kafka sends, can never name a real producer).
 */
#ifndef BROOK_TXN_PID_ALLOC_H
#define BROOK_TXN_PID_ALLOC_H

#include <stdint.h>

#define PID_ALLOC_FIRST 1000
#define PID_ALLOC_BLOCK 1000

typedef struct pid_alloc {
    char *path;
    int64_t next;      /* next id to hand out */
    int64_t block_end; /* exclusive; durable in the file */
} pid_alloc;

/* Loads the allocator. Returns 0 or -errno. */
int pid_alloc_open(pid_alloc *a, const char *data_dir);
/* Returns a new producer id, or -1 when the block file cannot be made durable. */
int64_t pid_alloc_next(pid_alloc *a);
void pid_alloc_close(pid_alloc *a);

#endif
