/*
 * stream/commit.h - the commit protocol of one stream task, as an I/O-free state machine.
 *
 * A task is one input partition of a pipeline. Each commit interval of a task is one
 * distributed transaction: the external participants (PostgreSQL, files) prepare first,
 * then the broker transaction commits the interval's outputs, changelog writes, input
 * offsets and a progress record naming the interval's sequence number, then the
 * participants commit. The broker's commit is the decision of the whole transaction.
 *
 * Generations: every recovery of a task claims a new generation, one more than any the
 * task's progress partition holds, by committing a claim record there right after fencing
 * the previous producer; a fenced instance cannot commit its claim, so generations are
 * ordered like the fencing. Everything a generation prepares is named by (seq, generation)
 * (PostgreSQL gid, part file name), and the progress record names the same pair.
 *
 * Recovery rule (sc_resolve), for each participant found prepared by a recovery that
 * claimed generation G: a newer generation's (> G) is left alone (its owner fenced us and
 * resolves it); otherwise it commits when its (seq, generation) is the task's last
 * committed progress record's, and rolls back when not. It is exact because a task begins
 * interval n+1 only after interval n is finished or resolved (so only the last committed
 * interval can be committed but unfinished), because nothing below G can still commit at
 * the broker (fenced), and because a new generation per recovery keeps a request that
 * arrives late (a PREPARE or ROLLBACK PREPARED sent before the recovery) from touching
 * what a retry of the same interval prepares. tests/unit/test_stream_commit.c shows each
 * part is needed (mutations of the rule fail there).
 *
 * Owns: the order of the steps, the interval sequence numbers, the recovery rule.
 * Never: does I/O, calls librdkafka or libpq, or reads a clock. The runtime performs each
 * action returned and reports its outcome; tests/unit/test_stream_commit.c's simulator
 * does the same against models of the broker, PostgreSQL and a file system.
 */
#ifndef BROOK_STREAM_COMMIT_H
#define BROOK_STREAM_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    SC_RECOVERING, /* fencing the task's previous producer, reading its committed progress */
    SC_IDLE,       /* recovered; no interval open */
    SC_OPEN,       /* broker transaction begun for `seq`; records being processed */
    SC_PREPARING,  /* the participants are preparing interval `seq` */
    SC_COMMITTING, /* the broker commit of `seq` (with its progress record) is under way */
    SC_FINISHING,  /* `seq` committed at the broker; participants committing */
    SC_ABORTING,   /* the broker transaction of `seq` aborting; participants rolling back */
} sc_state;

typedef enum {
    SC_DO_NOTHING,
    /* Fence and restore the task: initialize its transactional producer (ending any
     * transaction an earlier instance left open), read its last committed progress
     * sequence, claim a new generation, resolve every prepared participant by sc_resolve,
     * restore state from the changelog and seek the input to the committed offset. Report
     * sc_recovered. */
    SC_DO_RECOVER,
    SC_DO_BEGIN,         /* begin the broker transaction of interval `seq` */
    SC_DO_PREPARE,       /* prepare every participant for `seq` (durable, named by seq) */
    SC_DO_COMMIT_BROKER, /* produce the progress record of `seq`, send offsets, commit */
    SC_DO_FINISH,        /* commit every participant's prepared `seq` */
    SC_DO_ABORT,         /* abort the broker transaction, roll back participants of `seq` */
} sc_action;

typedef enum {
    SC_OK,      /* done */
    SC_FAIL,    /* definitely not done (nothing of it will ever take effect) */
    SC_UNKNOWN, /* may or may not have taken effect (a lost answer, a fatal client error) */
} sc_outcome;

typedef struct sc_task {
    sc_state state;
    int64_t seq;           /* the interval open, or the last one begun */
    int64_t committed_seq; /* the last interval known committed at the broker; -1: none */
    int64_t generation;    /* claimed by the last recovery; names what the task prepares */
    int64_t recoveries;    /* how many times the task went through recovery */
} sc_task;

const char *sc_state_name(sc_state s);
const char *sc_action_name(sc_action a);

/* A new task, in SC_RECOVERING; the first action is SC_DO_RECOVER. */
sc_action sc_init(sc_task *t);
/* Recovery done: `committed_seq` is the sequence of the task's last committed progress
 * record (-1: none), `generation` the one this recovery claimed. OK -> SC_IDLE;
 * FAIL/UNKNOWN (a claim refused: fenced by a newer owner) -> recover again. */
sc_action sc_recovered(sc_task *t, sc_outcome o, int64_t committed_seq, int64_t generation);

/* What a participant holds prepared, as named: (interval, generation). */
typedef struct sc_in_doubt {
    int64_t seq;
    int64_t gen;
} sc_in_doubt;

typedef enum {
    SC_RESOLVE_COMMIT,   /* the last committed progress record names it */
    SC_RESOLVE_ROLLBACK, /* an older generation's, not committed: never will be */
    SC_RESOLVE_LEAVE,    /* a newer generation's: its owner resolves it */
} sc_resolution;
const char *sc_resolution_name(sc_resolution r);
/* The recovery rule for a participant prepared as (prepared_seq, prepared_gen), found by a
 * recovery that claimed my_gen, given the last committed progress record (committed_seq,
 * committed_gen; -1, -1: none). */
sc_resolution sc_resolve(int64_t committed_seq, int64_t committed_gen, int64_t my_gen,
                         int64_t prepared_seq, int64_t prepared_gen);
/* SC_IDLE -> SC_OPEN with seq = committed_seq + 1: SC_DO_BEGIN. */
sc_action sc_begin(sc_task *t);
/* The outcome of SC_DO_BEGIN: OK keeps SC_OPEN; otherwise abort. */
sc_action sc_begun(sc_task *t, sc_outcome o);
/* The interval is due (time, or records, or shutdown): SC_OPEN -> SC_PREPARING. */
sc_action sc_due(sc_task *t);
/* Processing failed in SC_OPEN (a produce error, a participant write refused): abort. */
sc_action sc_fail(sc_task *t);
/* The outcome of SC_DO_PREPARE. OK -> SC_COMMITTING; otherwise abort. */
sc_action sc_prepared(sc_task *t, sc_outcome o);
/* The outcome of SC_DO_COMMIT_BROKER. OK -> SC_FINISHING (committed_seq = seq);
 * FAIL -> abort; UNKNOWN -> recover (the progress record read back decides). */
sc_action sc_broker_committed(sc_task *t, sc_outcome o);
/* The outcome of SC_DO_FINISH. OK -> SC_IDLE; otherwise recover (which commits them). */
sc_action sc_finished(sc_task *t, sc_outcome o);
/* The outcome of SC_DO_ABORT. Always recover next: the task's state and input position
 * are rebuilt from what the broker committed. */
sc_action sc_aborted(sc_task *t, sc_outcome o);

#endif
