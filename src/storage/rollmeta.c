/* rollmeta.c - see rollmeta.h. */
#include "storage/rollmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/fsutil.h"
#include "base/log.h"

typedef enum { RM_PENDING, RM_SUBMITTED, RM_DONE } rm_state;

struct roll_meta {
    int state; /* rm_state: PENDING -> SUBMITTED on the loop; -> DONE under g_mu by the runner
                * (atomic loads where the loop reads it unlocked) */
    int dir_fd, txn_fd, trim_fd;
    uint64_t trim_size;
    bool trim_durable;
    uint8_t *snap;
    size_t snap_len;
    char *epochs;
    size_t epochs_len;
    int result;              /* rm_run()'s return */
    int snap_err, epochs_err, trim_err; /* 0 or -errno, reported by rm_finish */
};

/* One lock for every roll's completion: the loop waits on it only when a roll or a cut
 * finds the previous roll's writes still running, which is rare and short. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

roll_meta *rm_new(int dir_fd, int txn_fd, uint8_t *snap, size_t snap_len, char *epochs,
                  size_t epochs_len)
{
    roll_meta *m = calloc(1, sizeof(*m));
    if (!m) {
        close(dir_fd);
        if (txn_fd >= 0)
            close(txn_fd);
        free(snap);
        free(epochs);
        return NULL;
    }
    *m = (roll_meta){.state = RM_PENDING, .dir_fd = dir_fd, .txn_fd = txn_fd, .trim_fd = -1,
                     .snap = snap,
                     .snap_len = snap_len, .epochs = epochs, .epochs_len = epochs_len};
    return m;
}

void rm_set_trim(roll_meta *m, int fd, uint64_t size, bool durable)
{
    BROOK_ASSERT(m->trim_fd < 0);
    m->trim_fd = fd;
    m->trim_size = size;
    m->trim_durable = durable;
}

static rm_state state_of(const roll_meta *m)
{
    return (rm_state)__atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
}

bool rm_pending(const roll_meta *m) { return state_of(m) == RM_PENDING; }

void rm_submit(roll_meta *m)
{
    BROOK_ASSERT(state_of(m) == RM_PENDING);
    __atomic_store_n(&m->state, RM_SUBMITTED, __ATOMIC_RELEASE);
}

/* Step 2: the current snapshot becomes the previous one, then the new one takes its name.
 * A crash between the two leaves only the previous one, which recovery then uses. */
static int write_snapshot(roll_meta *m)
{
    if (renameat(m->dir_fd, LOG_SNAPSHOT_FILE, m->dir_fd, LOG_SNAPSHOT_PREV_FILE) != 0 &&
        errno != ENOENT)
        return -errno;
    return fs_replace_at(m->dir_fd, LOG_SNAPSHOT_FILE, m->snap, m->snap_len);
}

int rm_run(void *arg, int err)
{
    roll_meta *m = arg;
    BROOK_ASSERT(state_of(m) != RM_DONE);
    if (err == 0 && m->txn_fd >= 0 && fdatasync(m->txn_fd) != 0)
        err = errno;
    if (err == 0) {
        m->snap_err = write_snapshot(m);
        if (m->epochs) {
            m->epochs_err = fs_replace_at(m->dir_fd, LOG_EPOCHS_FILE, m->epochs, m->epochs_len);
            if (m->epochs_err != 0)
                (void)unlinkat(m->dir_fd, LOG_EPOCHS_FILE, 0);
        }
        if (fsync(m->dir_fd) != 0)
            err = errno;
        if (err == 0 && m->trim_fd >= 0 && ftruncate(m->trim_fd, (off_t)m->trim_size) != 0)
            m->trim_err = -errno;
        /* A failed fsync is the log's failure, even of a cut: what the file holds is then
         * unknown. */
        else if (err == 0 && m->trim_fd >= 0 && m->trim_durable && fdatasync(m->trim_fd) != 0)
            err = errno;
    }
    pthread_mutex_lock(&g_mu);
    m->result = err;
    __atomic_store_n(&m->state, RM_DONE, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return err;
}

int rm_wait(roll_meta *m)
{
    BROOK_ASSERT(state_of(m) != RM_PENDING);
    pthread_mutex_lock(&g_mu);
    while (state_of(m) != RM_DONE)
        pthread_cond_wait(&g_cv, &g_mu);
    int rc = m->result;
    pthread_mutex_unlock(&g_mu);
    return rc;
}

void rm_forget_epochs(roll_meta *m)
{
    BROOK_ASSERT(state_of(m) == RM_PENDING);
    free(m->epochs);
    m->epochs = NULL;
    m->epochs_len = 0;
}

void rm_free(roll_meta *m)
{
    if (!m)
        return;
    /* A submitted one may be running on the flush thread: its segment stays pinned (and
     * so its meta alive) until the job is delivered. */
    BROOK_ASSERT(state_of(m) != RM_SUBMITTED);
    close(m->dir_fd);
    if (m->txn_fd >= 0)
        close(m->txn_fd);
    if (m->trim_fd >= 0)
        close(m->trim_fd);
    free(m->snap);
    free(m->epochs);
    free(m);
}

void rm_finish(roll_meta *m, const char *log_name)
{
    BROOK_ASSERT(state_of(m) == RM_DONE);
    if (m->result == 0 && m->snap_err != 0)
        LOG_WARN("storage", "%s: cannot write producer snapshot: %s (the previous one or a "
                 "replay serves recovery)", log_name, strerror(-m->snap_err));
    if (m->result == 0 && m->epochs_err != 0)
        LOG_WARN("storage", "%s: cannot write leader-epochs: %s (rebuilt from the log at the "
                 "next start)", log_name, strerror(-m->epochs_err));
    if (m->result == 0 && m->trim_err != 0)
        LOG_WARN("storage", "%s: cannot cut a sealed segment back to its last batch: %s",
                 log_name, strerror(-m->trim_err));
    rm_free(m);
}
