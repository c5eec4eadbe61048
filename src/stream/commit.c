/*
 * stream/commit.c - the stream task's commit protocol (state table in docs/stream.md).
 */
#include "stream/commit.h"

#include "base/assert.h"

const char *sc_state_name(sc_state s)
{
    static const char *const names[] = {"RECOVERING", "IDLE",      "OPEN",    "PREPARING",
                                        "COMMITTING", "FINISHING", "ABORTING"};
    return (unsigned)s < BROOK_ARRAY_LEN(names) ? names[s] : "?";
}

const char *sc_action_name(sc_action a)
{
    static const char *const names[] = {"NOTHING", "RECOVER",      "BEGIN", "PREPARE",
                                        "COMMIT_BROKER", "FINISH", "ABORT"};
    return (unsigned)a < BROOK_ARRAY_LEN(names) ? names[a] : "?";
}

static sc_action go(sc_task *t, sc_state s, sc_action a)
{
    t->state = s;
    if (s == SC_RECOVERING)
        t->recoveries++;
    return a;
}

sc_action sc_init(sc_task *t)
{
    t->generation = -1;
    t->seq = -1;
    t->committed_seq = -1;
    t->recoveries = 0;
    return go(t, SC_RECOVERING, SC_DO_RECOVER);
}

sc_action sc_recovered(sc_task *t, sc_outcome o, int64_t committed_seq, int64_t generation)
{
    BROOK_ASSERT(t->state == SC_RECOVERING);
    if (o != SC_OK)
        return go(t, SC_RECOVERING, SC_DO_RECOVER);
    /* The broker's committed progress never goes backwards: a smaller sequence here would
     * mean a committed interval vanished (a broker that lost acknowledged data). */
    BROOK_ASSERT(committed_seq >= t->committed_seq);
    BROOK_ASSERT(committed_seq >= -1);
    /* A recovery's claim is above every generation before it, this task's own included. */
    BROOK_ASSERT(generation > t->generation);
    t->generation = generation;
    t->committed_seq = committed_seq;
    t->seq = committed_seq;
    return go(t, SC_IDLE, SC_DO_NOTHING);
}

const char *sc_resolution_name(sc_resolution r)
{
    static const char *const names[] = {"COMMIT", "ROLLBACK", "LEAVE"};
    return (unsigned)r < BROOK_ARRAY_LEN(names) ? names[r] : "?";
}

sc_resolution sc_resolve(int64_t committed_seq, int64_t committed_gen, int64_t my_gen,
                         int64_t prepared_seq, int64_t prepared_gen)
{
    if (prepared_gen > my_gen)
        return SC_RESOLVE_LEAVE;
    if (prepared_seq == committed_seq && prepared_gen == committed_gen)
        return SC_RESOLVE_COMMIT;
    return SC_RESOLVE_ROLLBACK;
}

sc_action sc_begin(sc_task *t)
{
    BROOK_ASSERT(t->state == SC_IDLE);
    BROOK_ASSERT(t->seq == t->committed_seq);
    t->seq = t->committed_seq + 1;
    return go(t, SC_OPEN, SC_DO_BEGIN);
}

sc_action sc_begun(sc_task *t, sc_outcome o)
{
    BROOK_ASSERT(t->state == SC_OPEN);
    return o == SC_OK ? SC_DO_NOTHING : go(t, SC_ABORTING, SC_DO_ABORT);
}

sc_action sc_due(sc_task *t)
{
    BROOK_ASSERT(t->state == SC_OPEN);
    return go(t, SC_PREPARING, SC_DO_PREPARE);
}

sc_action sc_fail(sc_task *t)
{
    BROOK_ASSERT(t->state == SC_OPEN);
    return go(t, SC_ABORTING, SC_DO_ABORT);
}

sc_action sc_prepared(sc_task *t, sc_outcome o)
{
    BROOK_ASSERT(t->state == SC_PREPARING);
    if (o != SC_OK) /* a participant that did prepare is rolled back by the abort */
        return go(t, SC_ABORTING, SC_DO_ABORT);
    return go(t, SC_COMMITTING, SC_DO_COMMIT_BROKER);
}

sc_action sc_broker_committed(sc_task *t, sc_outcome o)
{
    BROOK_ASSERT(t->state == SC_COMMITTING);
    BROOK_ASSERT(t->seq == t->committed_seq + 1);
    switch (o) {
    case SC_OK:
        t->committed_seq = t->seq;
        return go(t, SC_FINISHING, SC_DO_FINISH);
    case SC_FAIL:
        return go(t, SC_ABORTING, SC_DO_ABORT);
    case SC_UNKNOWN:
        break;
    }
    /* Whether the progress record of `seq` committed is the broker's to say: fencing the
     * producer ends the transaction one way or the other, and reading the progress back
     * tells which; the participants are then resolved by the recovery rule. */
    return go(t, SC_RECOVERING, SC_DO_RECOVER);
}

sc_action sc_finished(sc_task *t, sc_outcome o)
{
    BROOK_ASSERT(t->state == SC_FINISHING);
    BROOK_ASSERT(t->seq == t->committed_seq);
    if (o != SC_OK) /* recovery finds them prepared with seq <= committed: commits them */
        return go(t, SC_RECOVERING, SC_DO_RECOVER);
    return go(t, SC_IDLE, SC_DO_NOTHING);
}

sc_action sc_aborted(sc_task *t, sc_outcome o)
{
    BROOK_ASSERT(t->state == SC_ABORTING);
    BROOK_ASSERT(t->seq == t->committed_seq + 1);
    (void)o; /* either way the next step is the same: rebuild from the broker's state */
    return go(t, SC_RECOVERING, SC_DO_RECOVER);
}
