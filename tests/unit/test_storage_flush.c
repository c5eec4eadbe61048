/* test_storage_flush.c - the flush threads (storage/flush.h): a task is delivered as soon as
 * its own fdatasyncs are done, while an earlier one still runs (no round that waits for its
 * slowest file); a task's items run in parallel and come back together; a failed fdatasync
 * comes back as the item's errno and reaches the item's hook; a stop runs and delivers every
 * task still queued. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/fsutil.h"
#include "storage/flush.h"
#include "testutil.h"

#define MAX_TASKS 64

typedef struct seen {
    int tasks;            /* delivered */
    int order[MAX_TASKS]; /* the tag (end_offset) of each, in delivery order */
    int err[MAX_TASKS];
    int items[MAX_TASKS]; /* n of each */
    int batches;
} seen;

static void on_task(void *ctx, flush_item *items, size_t n, int64_t sync_us)
{
    seen *s = ctx;
    CHECK(n >= 1);
    CHECK(sync_us >= 0);
    if (s->tasks < MAX_TASKS) {
        s->order[s->tasks] = (int)items[0].end_offset;
        s->err[s->tasks] = 0;
        for (size_t i = 0; i < n; i++)
            if (items[i].err != 0)
                s->err[s->tasks] = items[i].err;
        s->items[s->tasks] = (int)n;
    }
    s->tasks++;
}

static void on_batch(void *ctx) { ((seen *)ctx)->batches++; }

/* An `after` hook that holds its worker until a byte arrives on the pipe in arg. */
static int wait_for_byte(void *arg, int err)
{
    char c;
    ssize_t r;
    do
        r = read(*(int *)arg, &c, 1);
    while (r < 0 && errno == EINTR);
    return r == 1 ? err : EIO;
}

/* An `after` hook that waits up to 2 s for a byte on the pipe in arg (EIO without it). */
static int wait_2s_for_byte(void *arg, int err)
{
    struct pollfd pfd = {.fd = *(int *)arg, .events = POLLIN};
    char c;
    if (poll(&pfd, 1, 2000) != 1 || read(pfd.fd, &c, 1) != 1)
        return EIO;
    return err;
}

/* An `after` hook that writes a byte to the pipe in arg. */
static int send_byte(void *arg, int err)
{
    return write(*(int *)arg, "x", 1) == 1 ? err : EIO;
}

/* An `after` hook that records the fdatasync's result and passes it on. */
static int record_err(void *arg, int err)
{
    *(int *)arg = err;
    return err;
}

/* One task of one item on fd, tagged with `tag` (its end_offset). */
static void submit_one(flusher *f, int fd, int tag, int (*after)(void *, int), void *arg)
{
    flush_item *it = calloc(1, sizeof(*it));
    if (!CHECK(it != NULL))
        return;
    *it = (flush_item){.fd = fd, .end_offset = tag, .after = after, .after_arg = arg};
    flusher_submit(f, it, 1);
}

/* Runs the loop until `want` tasks were delivered or ms passed. */
static void run_until(uv_loop_t *loop, const seen *s, int want, int ms)
{
    for (int i = 0; i < ms && s->tasks < want; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* A temporary file with a few bytes written (so its fdatasync has something to do). */
static int temp_file(char *path, size_t cap, const char *name)
{
    snprintf(path, cap, "/tmp/brook-unit-%d-flush-%s", (int)getpid(), name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0 && write(fd, "brook", 5) != 5) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Two temporary files, a pipe for the hooks, a loop and a started flusher. */
typedef struct fixture {
    uv_loop_t loop;
    seen s;
    flusher *f;
    int gate[2];
    char pa[256], pb[256];
    int a, b;
} fixture;

static bool fixture_open(fixture *x)
{
    *x = (fixture){.gate = {-1, -1}};
    uv_loop_init(&x->loop);
    x->a = temp_file(x->pa, sizeof(x->pa), "a");
    x->b = temp_file(x->pb, sizeof(x->pb), "b");
    return CHECK(pipe(x->gate) == 0) && CHECK(x->a >= 0 && x->b >= 0) &&
           CHECK(flusher_start(&x->loop, on_task, on_batch, &x->s, &x->f) == 0);
}

/* Stops the flusher (first releasing a worker a hook may still hold) and frees the rest. */
static void fixture_close(fixture *x)
{
    if (x->f) {
        if (x->gate[1] >= 0)
            (void)!write(x->gate[1], "x", 1);
        flusher_stop(x->f);
    }
    uv_run(&x->loop, UV_RUN_DEFAULT);
    uv_loop_close(&x->loop);
    for (int i = 0; i < 2; i++)
        if (x->gate[i] >= 0)
            close(x->gate[i]);
    if (x->a >= 0)
        close(x->a);
    if (x->b >= 0)
        close(x->b);
    unlink(x->pa);
    unlink(x->pb);
}

/* Task 1's hook holds its worker; task 2, submitted after it, is delivered first; task 1
 * once released. The loop learns of each as it finishes. */
static void test_task_not_held_by_another(void)
{
    fixture x;
    if (fixture_open(&x)) {
        seen *s = &x.s;
        submit_one(x.f, x.a, 1, wait_for_byte, &x.gate[0]);
        submit_one(x.f, x.b, 2, NULL, NULL);
        CHECK_EQ_INT(flusher_pending(x.f), 2);
        run_until(&x.loop, s, 1, 5000);
        CHECK_EQ_INT(s->tasks, 1);
        CHECK_EQ_INT(s->order[0], 2);
        CHECK_EQ_INT(s->err[0], 0);
        CHECK(s->batches >= 1);
        CHECK_EQ_INT(flusher_pending(x.f), 1);
        run_until(&x.loop, s, 2, 100); /* still held */
        CHECK_EQ_INT(s->tasks, 1);
        CHECK(write(x.gate[1], "x", 1) == 1);
        run_until(&x.loop, s, 2, 5000);
        CHECK_EQ_INT(s->tasks, 2);
        CHECK_EQ_INT(s->order[1], 1);
        CHECK_EQ_INT(s->err[1], 0);
        CHECK_EQ_INT(flusher_pending(x.f), 0);
    }
    fixture_close(&x);
}

/* One task of two items: the first one's hook waits for a byte the second one's hook
 * sends, which only works when the two run at once (in a row, the first times out). The
 * task comes back once, with both items done. */
static void test_task_items_in_parallel(void)
{
    fixture x;
    flush_item *its = calloc(2, sizeof(*its));
    if (fixture_open(&x) && CHECK(its != NULL)) {
        its[0] = (flush_item){.fd = x.a, .end_offset = 5, .after = wait_2s_for_byte,
                              .after_arg = &x.gate[0]};
        its[1] = (flush_item){.fd = x.b, .end_offset = 6, .after = send_byte,
                              .after_arg = &x.gate[1]};
        flusher_submit(x.f, its, 2);
        its = NULL;
        run_until(&x.loop, &x.s, 1, 5000);
        CHECK_EQ_INT(x.s.tasks, 1);
        CHECK_EQ_INT(x.s.items[0], 2);
        CHECK_EQ_INT(x.s.order[0], 5);
        CHECK_EQ_INT(x.s.err[0], 0);
    }
    free(its);
    fixture_close(&x);
}

/* fdatasync of a pipe fails (EINVAL): the item carries that errno, and its hook saw it. */
static void test_failed_fsync_reported(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    seen s = {0};
    flusher *f = NULL;
    int pp[2] = {-1, -1};
    int hook_err = -1;
    if (CHECK(pipe(pp) == 0) && CHECK(flusher_start(&loop, on_task, on_batch, &s, &f) == 0)) {
        submit_one(f, pp[1], 7, record_err, &hook_err);
        run_until(&loop, &s, 1, 5000);
        CHECK_EQ_INT(s.tasks, 1);
        CHECK_EQ_INT(s.err[0], EINVAL);
        CHECK_EQ_INT(hook_err, EINVAL);
    }
    if (f)
        flusher_stop(f);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (int i = 0; i < 2; i++)
        if (pp[i] >= 0)
            close(pp[i]);
}

/* More tasks than workers, stopped at once without running the loop: every one runs and is
 * delivered by the stop, each once. */
static void test_stop_runs_queued_tasks(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    seen s = {0};
    flusher *f = NULL;
    char path[256];
    int fd = temp_file(path, sizeof(path), "q");
    if (CHECK(fd >= 0) && CHECK(flusher_start(&loop, on_task, on_batch, &s, &f) == 0)) {
        for (int i = 0; i < 40; i++)
            submit_one(f, fd, i, NULL, NULL);
        flusher_stop(f);
        f = NULL;
        CHECK_EQ_INT(s.tasks, 40);
        int hits[40] = {0};
        for (int i = 0; i < 40 && i < s.tasks; i++) {
            CHECK_EQ_INT(s.err[i], 0);
            if (s.order[i] >= 0 && s.order[i] < 40)
                hits[s.order[i]]++;
        }
        for (int i = 0; i < 40; i++)
            CHECK_EQ_INT(hits[i], 1);
    }
    if (f)
        flusher_stop(f);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    if (fd >= 0)
        close(fd);
    unlink(path);
}

TU_MAIN(TU_CASE(test_task_not_held_by_another), TU_CASE(test_task_items_in_parallel),
        TU_CASE(test_failed_fsync_reported),
        TU_CASE(test_stop_runs_queued_tasks))
