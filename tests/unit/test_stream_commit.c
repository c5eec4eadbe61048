/*
 * test_stream_commit.c - a deterministic simulator of the stream task's commit protocol
 * (src/stream/commit.c) against models of the broker, PostgreSQL and a file system.
 *
 * Models (plain structs; no I/O, no clock, no threads; one seeded PRNG per run):
 *   broker - the task's input partition (offsets 0..N-1; the output of offset i is i*7), an
 *            output log, the task's progress partition, and the task's transactional id
 *            with its producer epoch: init bumps the epoch and aborts the open transaction;
 *            a begin, produce, commit or abort from an older epoch is refused (fenced). A
 *            commit makes the transaction's outputs, progress-partition record and input
 *            offset visible at once; read_committed skips the rest. The progress partition
 *            holds progress records (seq, generation), one per committed interval, and
 *            claim records (generation), one per recovery.
 *   pg     - prepared transactions by gid, each holding the rows of its interval; the
 *            committed rows; PREPARE of a gid in use, COMMIT PREPARED and ROLLBACK PREPARED
 *            of an unknown gid are errors; a gid is reusable once it ended. A request can
 *            be delayed: its answer is lost now and it takes effect later (a request still
 *            in flight on a connection the client gave up on, as TCP delivers the unsent
 *            data of a closed socket).
 *   files  - part files (durable once the prepare wrote and fsynced them), final files
 *            "<seq>.out" made by rename (which replaces a file of that name), deletes.
 * The driver runs instances of the task: an sc_task plus the runtime's memory (producer
 * epoch, input position, the interval's records), as src/stream/run.c does, one model
 * operation per step, reporting outcomes to the state machine:
 *   RECOVER       init producer (fences) | read the progress partition: the last committed
 *                 progress record and the largest generation | claim: begin, claim record
 *                 of generation largest+1 | commit the claim (refused when fenced: the
 *                 recovery fails) | list the task's prepared gids and part files | resolve
 *                 each one with sc_resolve (commit / roll back / leave alone) | seek the
 *                 input to the offset; then sc_recovered(committed seq, claimed generation)
 *   BEGIN         begin the broker transaction; then one input record per step (into the
 *                 broker transaction, the PG transaction and the part-file buffer) until
 *                 the interval's random size, then sc_due
 *   PREPARE       PREPARE TRANSACTION | write + fsync the part file
 *   COMMIT_BROKER progress record + input offset into the transaction | commit
 *   FINISH        COMMIT PREPARED | rename the part file to "<seq>.out"
 *   ABORT         abort the broker transaction | ROLLBACK PREPARED if PREPARE said OK |
 *                 delete the part file if its write was tried (best effort, as run.c)
 * Names (src): gid t0_<seq>_<generation>, part file <seq>.<generation>.part, progress record
 * (seq, generation), where generation is t->generation, the one the last recovery claimed.
 *
 * Faults (each seed draws its own mix, "swarm" style): the instance crashes before or
 * after any operation (its memory is gone; a new instance starts with sc_init); an
 * operation fails (not done, SC_FAIL); its answer is lost (done or not, SC_UNKNOWN); a PG
 * request is delayed (SC_UNKNOWN now, done 1..60 operations later); a zombie: the running
 * instance stalls (no stall, or 6..25 operations: long enough for the new owner to reach
 * its prepare), then goes on for 1..6 more operations, interleaved at random with the new
 * instance that took over (and fenced it), then stops. A zombie never starts a recovery of
 * its own: that would be a takeover (the other one becoming the zombie); it may be in the
 * middle of one. All of them are on in every random run.
 *
 * Invariants, after every operation (check()):
 *   1. read_committed outputs are the outputs of offsets 0..k-1 once each, in order, and k
 *      is the committed input offset; committed PG rows and final files hold, per interval
 *      seq, exactly the outputs the broker committed for seq, nothing else, in order;
 *   2. PG rows / a final file of seq are committed only if the progress record of seq is;
 *      once the progress record of seq is committed, its PG rows and its file are
 *      committed or still durably prepared under the committed name with that content
 *      (the decision can still be carried out);
 *   4. committed progress seqs are 0,1,2,...; every committed transaction holds exactly
 *      one progress-partition record; committed claims increase (generations are ordered
 *      like the fencing) and (src names) a progress record names the last claim before it;
 *   5. no interval is committed twice in PG (COMMIT PREPARED) or renamed twice into place.
 * After the run, faults stop, delayed requests land, zombies die, the task runs until
 * every input offset is consumed, then restarts once (a final recovery): every interval
 * must then be committed everywhere (1, 2 "iff") and (3) no prepared transaction or part
 * file may be left (checked before the restart too, unless a zombie or a delayed request
 * acted after the last recovery listed the leftovers: those wait for the next recovery).
 *
 * Mutations (cfg: naming scheme, recovery rule; the test never edits src): each must make
 * some seed break an invariant, and each reopens a hole the hand scenarios H1..H6 replay
 * step by step (each of them passes against src and fails against its mutation):
 *   commit everything prepared / roll back everything prepared: the checker sees a rule
 *     that ignores the progress record.
 *   seq names (gid t0_<seq>, part <seq>.part, rule "prepared seq <= committed seq"), the
 *     design before generations, names without an owner. H1 a zombie's ABORT rolls back /
 *     deletes the new instance's prepared interval of the same seq; H2 a zombie's late
 *     PREPARE reuses the freed gid after the interval finished and a later recovery commits
 *     it again; H3 a zombie's part write replaces the new instance's.
 *   process names: names that do not change per recovery, an incarnation per process (the
 *     generation of the instance's first recovery, so still ordered and the LEAVE branch
 *     still works; only "new at every recovery" is taken away): every retry of interval n
 *     by one process reuses its names. H5 a delayed ROLLBACK PREPARED of an aborted attempt
 *     lands after the retry prepared the same gid again: the interval is lost. H6 a delayed
 *     PREPARE of an aborted attempt lands after the retry committed and finished: the stale
 *     transaction sits prepared under the committed pair, and the next recovery (while that
 *     seq is the last committed one) commits it: rows twice.
 *   no LEAVE (sc_resolve without "a newer generation's is left alone"): H4 a zombie in the
 *     middle of its recovery (claim committed, then stalled before its listing) rolls back
 *     the prepared interval of the instance that fenced it; that one's broker commit
 *     succeeds and its FINISH finds nothing: the interval is lost in PG and files.
 *
 * Runs: seeds BROOK_TEST_SEED (default 1) .. +BROOK_STREAM_SIM_SEEDS (default 2000) for each
 * random test; BROOK_STREAM_SIM_VERBOSE=1 prints every event. A failing seed prints the
 * violation, the last events and the command that replays it (at most
 * BROOK_STREAM_SIM_MAX_PRINT seeds per test; the mutation tests stop at the first).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "stream/commit.h"
#include "testutil.h"

#define MAXN 40            /* input records */
#define MAXSEQ (MAXN + 2)  /* intervals (each committed one holds >= 1 record) */
#define MAXLOG 4096        /* broker records, transactions, committed PG rows */
#define MAXPREP 32         /* prepared transactions at once */
#define MAXPART 32         /* part files at once */
#define MAXTODO (MAXPREP + MAXPART)
#define MAXDELAYED 32      /* PG requests in flight */
#define NAMELEN 48
#define QUIET_OPS_MAX 3000 /* the quiet phase must finish within this */
#define TRACE_LINES 4096
#define TRACE_LEN 200
#define TRACE_PRINT 120 /* events printed for a failing seed */

static int64_t value_of(int64_t offset)
{
    return offset * 7;
}

/* ------------------------------------------------------------------------------ PRNG */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

static void rng_seed(rng *r, uint64_t seed)
{
    r->s = (seed + 1) * 0x9E3779B97F4A7C15ull;
    if (!r->s)
        r->s = 1;
    for (int i = 0; i < 4; i++)
        rng_next(r);
}

static int rng_below(rng *r, int n)
{
    return (int)(rng_next(r) % (uint64_t)n);
}

static bool rng_chance(rng *r, double p)
{
    return p > 0 && (double)(rng_next(r) >> 11) * 0x1.0p-53 < p;
}

/* ------------------------------------------------------------------------- names */

/* NAMES_GEN: src; the others are mutations (see the top comment). */
typedef enum { NAMES_GEN, NAMES_PROCESS, NAMES_SEQ } naming;

/* gid: t0_<seq>[_<generation>]; part: <seq>[.<generation>].part; final: <seq>.out */
static void gid_of(naming nm, int64_t seq, int64_t gen, char *out, size_t n)
{
    if (nm == NAMES_SEQ)
        snprintf(out, n, "t0_%" PRId64, seq);
    else
        snprintf(out, n, "t0_%" PRId64 "_%" PRId64, seq, gen);
}

static void part_of(naming nm, int64_t seq, int64_t gen, char *out, size_t n)
{
    if (nm == NAMES_SEQ)
        snprintf(out, n, "%" PRId64 ".part", seq);
    else
        snprintf(out, n, "%" PRId64 ".%" PRId64 ".part", seq, gen);
}

typedef struct pname {
    int64_t seq;
    int64_t gen; /* -1: the name has none */
    bool has_gen;
} pname;

/* Parses "<prefix><seq>[<sep><generation>]<suffix>", as the runtime reads names back. */
static bool parse_name(const char *name, const char *prefix, char sep, const char *suffix,
                       pname *out)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return false;
    char *end;
    out->seq = strtoll(name + pl, &end, 10);
    if (end == name + pl)
        return false;
    out->has_gen = false;
    out->gen = -1;
    if (end[0] == sep && strcmp(end, suffix) != 0) {
        char *e2;
        out->gen = strtoll(end + 1, &e2, 10);
        if (e2 == end + 1 || out->gen < 0)
            return false;
        out->has_gen = true;
        end = e2;
    }
    return strcmp(end, suffix) == 0;
}

static bool parse_gid(const char *gid, pname *out)
{
    return parse_name(gid, "t0_", '_', "", out);
}

static bool parse_part(const char *name, pname *out)
{
    return parse_name(name, "", '.', ".part", out);
}

/* ---------------------------------------------------------------------------- broker */

typedef enum { TX_OPEN, TX_COMMITTED, TX_ABORTED } tx_state;
typedef enum { R_OK, R_FENCED, R_ERR } mres; /* a model operation's result */

typedef struct out_rec {
    int64_t value;
    int txn;
} out_rec;

/* A record of the progress partition: a progress record (seq, gen) or a claim (gen). */
typedef struct prog_rec {
    bool claim;
    int64_t seq; /* progress record: the interval; claim: -1 */
    int64_t gen; /* the generation in the participants' names; claim: the one claimed */
    int txn;
} prog_rec;

typedef struct broker {
    int epoch;    /* the task's transactional id: current producer epoch; 0: never inited */
    int open_txn; /* -1: none */
    int ntxn;
    tx_state txn[MAXLOG];
    int txn_offset[MAXLOG]; /* the input offset sent to the transaction; -1: none */
    out_rec out[MAXLOG];
    int nout;
    prog_rec prog[MAXLOG];
    int nprog;
    int committed_offset; /* the task's group: committed input offset */
} broker;

static int b_init(broker *b)
{
    b->epoch++;
    if (b->open_txn >= 0)
        b->txn[b->open_txn] = TX_ABORTED;
    b->open_txn = -1;
    return b->epoch;
}

static mres b_begin(broker *b, int epoch)
{
    if (epoch != b->epoch)
        return R_FENCED;
    if (b->open_txn >= 0 || b->ntxn >= MAXLOG)
        return R_ERR;
    b->open_txn = b->ntxn++;
    b->txn[b->open_txn] = TX_OPEN;
    b->txn_offset[b->open_txn] = -1;
    return R_OK;
}

static mres b_produce(broker *b, int epoch, int64_t value)
{
    if (epoch != b->epoch)
        return R_FENCED;
    if (b->open_txn < 0 || b->nout >= MAXLOG)
        return R_ERR;
    b->out[b->nout++] = (out_rec){value, b->open_txn};
    return R_OK;
}

/* The progress record of (seq, gen) and the input offset, into the open transaction. */
static mres b_progress(broker *b, int epoch, int64_t seq, int64_t gen, int offset)
{
    if (epoch != b->epoch)
        return R_FENCED;
    if (b->open_txn < 0 || b->nprog >= MAXLOG)
        return R_ERR;
    b->prog[b->nprog++] = (prog_rec){false, seq, gen, b->open_txn};
    b->txn_offset[b->open_txn] = offset;
    return R_OK;
}

/* A recovery's claim: begin a transaction holding the claim record of `gen`. */
static mres b_claim(broker *b, int epoch, int64_t gen)
{
    mres r = b_begin(b, epoch);
    if (r != R_OK)
        return r;
    if (b->nprog >= MAXLOG)
        return R_ERR;
    b->prog[b->nprog++] = (prog_rec){true, -1, gen, b->open_txn};
    return R_OK;
}

static mres b_commit(broker *b, int epoch)
{
    if (epoch != b->epoch)
        return R_FENCED;
    if (b->open_txn < 0)
        return R_ERR;
    b->txn[b->open_txn] = TX_COMMITTED;
    if (b->txn_offset[b->open_txn] >= 0)
        b->committed_offset = b->txn_offset[b->open_txn];
    b->open_txn = -1;
    return R_OK;
}

static mres b_abort(broker *b, int epoch)
{
    if (epoch != b->epoch)
        return R_FENCED;
    if (b->open_txn >= 0)
        b->txn[b->open_txn] = TX_ABORTED;
    b->open_txn = -1;
    return R_OK;
}

/* read_committed over the progress partition: the last committed progress record ((-1, -1)
 * when none) and the largest generation committed (claims included; 0 when none). */
static prog_rec b_read_progress(const broker *b, int64_t *max_gen)
{
    prog_rec last = {false, -1, -1, -1};
    *max_gen = 0;
    for (int i = 0; i < b->nprog; i++) {
        const prog_rec *p = &b->prog[i];
        if (b->txn[p->txn] != TX_COMMITTED)
            continue;
        if (p->gen > *max_gen)
            *max_gen = p->gen;
        if (!p->claim)
            last = *p;
    }
    return last;
}

/* -------------------------------------------------------------------------------- pg */

typedef struct pg_prep {
    bool used;
    char gid[NAMELEN];
    pname nm;  /* parsed from the gid */
    int owner; /* model metadata for traces: the instance that prepared it */
    int64_t rows[MAXN];
    int nrows;
} pg_prep;

typedef struct pg_row {
    int64_t value;
    int64_t seq; /* of the gid that committed it */
} pg_row;

typedef struct pgdb {
    pg_prep prep[MAXPREP];
    pg_row rows[MAXLOG];
    int nrows;
    int commits[MAXSEQ]; /* COMMIT PREPARED per interval seq */
    bool overflow;
} pgdb;

static pg_prep *pg_find(pgdb *pg, const char *gid)
{
    for (int i = 0; i < MAXPREP; i++)
        if (pg->prep[i].used && strcmp(pg->prep[i].gid, gid) == 0)
            return &pg->prep[i];
    return NULL;
}

static mres pg_prepare(pgdb *pg, const char *gid, const int64_t *rows, int n, int owner)
{
    if (pg_find(pg, gid))
        return R_ERR; /* "transaction identifier is already in use"; the txn is rolled back */
    for (int i = 0; i < MAXPREP; i++) {
        pg_prep *p = &pg->prep[i];
        if (p->used)
            continue;
        memset(p, 0, sizeof *p);
        p->used = true;
        snprintf(p->gid, sizeof p->gid, "%s", gid);
        if (!parse_gid(gid, &p->nm) || p->nm.seq < 0 || p->nm.seq >= MAXSEQ)
            pg->overflow = true;
        p->owner = owner;
        memcpy(p->rows, rows, (size_t)n * sizeof rows[0]);
        p->nrows = n;
        return R_OK;
    }
    pg->overflow = true;
    return R_ERR;
}

static mres pg_commit_prepared(pgdb *pg, const char *gid)
{
    pg_prep *p = pg_find(pg, gid);
    if (!p)
        return R_ERR; /* "prepared transaction with identifier ... does not exist" */
    for (int i = 0; i < p->nrows; i++) {
        if (pg->nrows >= MAXLOG) {
            pg->overflow = true;
            break;
        }
        pg->rows[pg->nrows++] = (pg_row){p->rows[i], p->nm.seq};
    }
    pg->commits[p->nm.seq]++;
    p->used = false;
    return R_OK;
}

static mres pg_rollback_prepared(pgdb *pg, const char *gid)
{
    pg_prep *p = pg_find(pg, gid);
    if (!p)
        return R_ERR;
    p->used = false;
    return R_OK;
}

/* ----------------------------------------------------------------------------- files */

typedef struct file {
    bool used;
    char name[NAMELEN];
    pname nm; /* parsed from the name */
    int owner;
    int64_t vals[MAXN];
    int n;
} file;

typedef struct fsys {
    file part[MAXPART];
    file out[MAXSEQ]; /* "<seq>.out", by seq */
    int renames[MAXSEQ];
    bool overflow;
} fsys;

static file *fs_find(fsys *fs, const char *name)
{
    for (int i = 0; i < MAXPART; i++)
        if (fs->part[i].used && strcmp(fs->part[i].name, name) == 0)
            return &fs->part[i];
    return NULL;
}

/* open(O_CREAT|O_TRUNC), write, fsync: a file of that name is replaced. */
static void fs_write_part(fsys *fs, const char *name, const int64_t *vals, int n, int owner)
{
    file *f = fs_find(fs, name);
    for (int i = 0; !f && i < MAXPART; i++)
        if (!fs->part[i].used)
            f = &fs->part[i];
    if (!f) {
        fs->overflow = true;
        return;
    }
    memset(f, 0, sizeof *f);
    f->used = true;
    snprintf(f->name, sizeof f->name, "%s", name);
    if (!parse_part(name, &f->nm) || f->nm.seq < 0 || f->nm.seq >= MAXSEQ)
        fs->overflow = true;
    f->owner = owner;
    memcpy(f->vals, vals, (size_t)n * sizeof vals[0]);
    f->n = n;
}

static mres fs_rename(fsys *fs, const char *name)
{
    file *f = fs_find(fs, name);
    if (!f)
        return R_ERR; /* ENOENT */
    fs->out[f->nm.seq] = *f;
    fs->renames[f->nm.seq]++;
    f->used = false;
    return R_OK;
}

static mres fs_delete(fsys *fs, const char *name)
{
    file *f = fs_find(fs, name);
    if (!f)
        return R_ERR;
    f->used = false;
    return R_OK;
}

/* ------------------------------------------------------------------------ the driver */

/* The recovery rule: sc_resolve's signature. */
typedef sc_resolution (*resolve_fn)(int64_t committed_seq, int64_t committed_gen, int64_t my_gen,
                                    int64_t prepared_seq, int64_t prepared_gen);

typedef struct cfg {
    const char *name;
    naming names;
    resolve_fn resolve; /* sc_resolve, or a mutant */
} cfg;

typedef enum {
    F_NONE, F_CRASH_BEFORE, F_CRASH_AFTER, F_FAIL, F_LOST_DONE, F_LOST_NOT_DONE, F_DELAYED,
} fault;

static const char *fault_name(fault f)
{
    static const char *const names[] = {"", "crash before", "crash after", "FAIL",
                                        "answer lost (done)", "answer lost (not done)",
                                        "request delayed"};
    return names[f];
}

typedef enum {
    OP_INIT, OP_READ, OP_CLAIM, OP_LIST, OP_RESOLVE, OP_SEEK, OP_BEGIN, OP_PRODUCE,
    OP_PG_PREPARE, OP_PART_WRITE, OP_PROGRESS, OP_COMMIT, OP_PG_COMMIT, OP_RENAME,
    OP_BROKER_ABORT, OP_PG_ROLLBACK, OP_PART_DELETE,
} op_kind;

static const char *op_name(op_kind k)
{
    static const char *const names[] = {
        "init producer", "read progress", "claim", "list prepared", "resolve", "seek input",
        "begin txn", "produce", "PG PREPARE", "part write+fsync", "progress+offset",
        "commit txn", "COMMIT PREPARED", "rename part", "abort txn", "ROLLBACK PREPARED",
        "delete part"};
    return names[k];
}

/* The operations of SC_DO_RECOVER, by step: then RS_RESOLVE + i for each participant
 * listed, then the seek. */
enum { RS_INIT, RS_READ, RS_CLAIM, RS_CLAIM_COMMIT, RS_LIST, RS_RESOLVE };

typedef struct todo {
    bool is_pg;
    char name[NAMELEN];
    pname nm;
} todo;

typedef struct inst {
    int id;
    bool alive, zombie;
    int budget;  /* a zombie's remaining operations */
    int wake_at; /* random runs: a zombie stalls until the operation count reaches it */
    sc_task t;
    sc_action act;
    int step;  /* operation within act */
    int epoch; /* producer epoch from this instance's last init */
    /* recovery */
    prog_rec rc;       /* the last committed progress record read */
    int64_t claim;     /* the generation this recovery claims: the largest read + 1 */
    int64_t first_gen; /* the generation of the instance's first recovery; -1: none yet */
    int rc_offset;
    todo todo[MAXTODO];
    int ntodo;
    /* the interval */
    int64_t gen; /* of the interval's names and progress record */
    int pos;      /* next input offset */
    int target;
    int64_t buf[MAXN];
    int nbuf;
    bool prep_ok, part_tried;
} inst;

typedef struct delayed {
    bool used;
    op_kind k; /* OP_PG_PREPARE, OP_PG_COMMIT or OP_PG_ROLLBACK */
    char gid[NAMELEN];
    int64_t rows[MAXN];
    int nrows;
    int owner;
    int at; /* lands when the operation count reaches it */
} delayed;

typedef struct stats {
    long runs, ops, crashes, fails, lost, delayed, zombies, zombie_ops, refused, recoveries;
    long claims, left, intervals, aborts, max_ops;
} stats;

typedef struct sim {
    cfg c;
    uint64_t seed;
    rng r;
    int n;            /* input records */
    int fixed_target; /* > 0: every interval's size (hand scenarios) */
    int max_target;
    int steps;
    double p_crash, p_fail, p_lost, p_delay, p_zombie, p_zstep;
    bool faults;
    broker b;
    pgdb pg;
    fsys fs;
    delayed dl[MAXDELAYED];
    inst live, zomb;
    int next_id;
    int ops;
    bool stray_since_listing; /* a zombie or a delayed request acted since the live
                                 instance last listed the participants */
    char viol[320];
    stats st;
} sim;

static sim S; /* large: static */
static char trace_[TRACE_LINES][TRACE_LEN];
static long ntrace_;
static bool verbose_;

static void ev(sim *s, const inst *in, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ev(sim *s, const inst *in, const char *fmt, ...)
{
    char *line = trace_[ntrace_ % TRACE_LINES];
    int k;
    if (in)
        k = snprintf(line, TRACE_LEN, "#%-4d i%d%s %-10s ", s->ops, in->id,
                     in->zombie ? "Z" : " ", sc_state_name(in->t.state));
    else
        k = snprintf(line, TRACE_LEN, "#%-4d ", s->ops);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + k, TRACE_LEN - (size_t)k, fmt, ap);
    va_end(ap);
    ntrace_++;
    if (verbose_)
        printf("    %s\n", line);
}

static void print_trace(long max)
{
    long from = max > 0 && ntrace_ > max ? ntrace_ - max : 0;
    if (ntrace_ - from > TRACE_LINES)
        from = ntrace_ - TRACE_LINES;
    if (from > 0)
        printf("    ... (%ld earlier events)\n", from);
    for (long i = from; i < ntrace_; i++)
        printf("    %s\n", trace_[i % TRACE_LINES]);
}

static bool fail_at(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail_at(sim *s, const char *fmt, ...)
{
    if (s->viol[0])
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->viol, sizeof s->viol, fmt, ap);
    va_end(ap);
    ev(s, NULL, "VIOLATION: %s", s->viol);
    return false;
}

static void new_instance(sim *s, inst *in)
{
    memset(in, 0, sizeof *in);
    in->id = s->next_id++;
    in->alive = true;
    in->first_gen = -1;
    in->act = sc_init(&in->t);
    in->step = 0;
    ev(s, in, "new instance: -> %s", sc_action_name(in->act));
}

/* The next action, reported by the state machine. */
static void to(sim *s, inst *in, sc_action a)
{
    in->act = a;
    in->step = 0;
    if (a == SC_DO_RECOVER)
        s->st.recoveries++;
    ev(s, in, "-> %s", sc_action_name(a));
}

/* The generation this instance names its next interval's participants and progress record
 * with: src, the one its last recovery claimed; the process-names mutation, its first. */
static int64_t gen_now(const sim *s, const inst *in)
{
    switch (s->c.names) {
    case NAMES_GEN:
        return in->t.generation;
    case NAMES_PROCESS:
        return in->first_gen;
    case NAMES_SEQ:
        break;
    }
    return -1;
}

/* The recovery rule for a listed participant, in a recovery that claimed in->claim. */
static sc_resolution decide(const sim *s, const inst *in, const pname *nm)
{
    if (s->c.names != NAMES_SEQ && !nm->has_gen)
        return SC_RESOLVE_ROLLBACK; /* not a name this scheme writes */
    return s->c.resolve(in->rc.seq, in->rc.gen, in->claim, nm->seq, nm->gen);
}

/* A PG request sent with its answer lost: it takes effect 1..60 operations later. */
static void delay_pg(sim *s, const inst *in, op_kind k, const char *gid)
{
    for (int i = 0; i < MAXDELAYED; i++) {
        delayed *d = &s->dl[i];
        if (d->used)
            continue;
        memset(d, 0, sizeof *d);
        d->used = true;
        d->k = k;
        snprintf(d->gid, sizeof d->gid, "%s", gid);
        memcpy(d->rows, in->buf, (size_t)in->nbuf * sizeof in->buf[0]);
        d->nrows = in->nbuf;
        d->owner = in->id;
        d->at = s->ops + 1 + rng_below(&s->r, 60);
        s->st.delayed++;
        return;
    }
    s->pg.overflow = true;
}

/* Delayed PG requests whose time came (all of them when `all`). */
static void land_delayed(sim *s, bool all)
{
    for (int i = 0; i < MAXDELAYED; i++) {
        delayed *d = &s->dl[i];
        if (!d->used || (!all && d->at > s->ops))
            continue;
        d->used = false;
        mres r = d->k == OP_PG_PREPARE ? pg_prepare(&s->pg, d->gid, d->rows, d->nrows, d->owner)
                 : d->k == OP_PG_COMMIT ? pg_commit_prepared(&s->pg, d->gid)
                                        : pg_rollback_prepared(&s->pg, d->gid);
        s->stray_since_listing = true;
        ev(s, NULL, "delayed %s %s (sent by i%d) lands: %s", op_name(d->k), d->gid, d->owner,
           r == R_OK ? "done" : "error");
    }
}

/* A PG request: done now, or (delay) sent and done later. */
static mres pg_request(sim *s, const inst *in, op_kind k, const char *gid, bool delay)
{
    if (delay) {
        delay_pg(s, in, k, gid);
        return R_ERR;
    }
    return k == OP_PG_PREPARE ? pg_prepare(&s->pg, gid, in->buf, in->nbuf, in->id)
           : k == OP_PG_COMMIT ? pg_commit_prepared(&s->pg, gid)
                               : pg_rollback_prepared(&s->pg, gid);
}

static bool op_is_pg(const inst *in, op_kind k, int arg)
{
    return k == OP_PG_PREPARE || k == OP_PG_COMMIT || (k == OP_PG_ROLLBACK && in->prep_ok) ||
           (k == OP_RESOLVE && in->todo[arg].is_pg);
}

/* Performs one model operation for `in` (delay: a PG request delayed); `note` says what
 * happened. */
static sc_outcome model_op(sim *s, inst *in, op_kind k, int arg, bool delay, char *note,
                           size_t nn)
{
    char name[NAMELEN];
    mres r = R_OK;
    naming nm = s->c.names;
    switch (k) {
    case OP_INIT:
        in->epoch = b_init(&s->b);
        snprintf(note, nn, "epoch %d", in->epoch);
        return SC_OK;
    case OP_READ: {
        int64_t max_gen;
        in->rc = b_read_progress(&s->b, &max_gen);
        in->rc_offset = s->b.committed_offset;
        in->claim = max_gen + 1;
        snprintf(note, nn, "last committed (seq %" PRId64 ", gen %" PRId64 "), offset %d, "
                 "largest gen %" PRId64, in->rc.seq, in->rc.gen, in->rc_offset, max_gen);
        return SC_OK;
    }
    case OP_CLAIM:
        r = b_claim(&s->b, in->epoch, in->claim);
        snprintf(note, nn, "gen %" PRId64, in->claim);
        break;
    case OP_LIST: {
        in->ntodo = 0;
        size_t used = 0;
        note[0] = '\0';
        for (int i = 0; i < MAXPREP; i++) {
            const pg_prep *p = &s->pg.prep[i];
            todo *t = &in->todo[in->ntodo];
            if (!p->used || !parse_gid(p->gid, &t->nm))
                continue;
            t->is_pg = true;
            snprintf(t->name, sizeof t->name, "%s", p->gid);
            in->ntodo++;
        }
        for (int i = 0; i < MAXPART; i++) {
            const file *f = &s->fs.part[i];
            todo *t = &in->todo[in->ntodo];
            if (!f->used || !parse_part(f->name, &t->nm))
                continue;
            t->is_pg = false;
            snprintf(t->name, sizeof t->name, "%s", f->name);
            in->ntodo++;
        }
        for (int i = 0; i < in->ntodo && used + 1 < nn; i++)
            used += (size_t)snprintf(note + used, nn - used, "%s%s", i ? " " : "",
                                     in->todo[i].name);
        if (!in->ntodo)
            snprintf(note, nn, "none");
        return SC_OK;
    }
    case OP_RESOLVE: {
        const todo *t = &in->todo[arg];
        sc_resolution d = decide(s, in, &t->nm);
        if (d == SC_RESOLVE_LEAVE) {
            s->st.left++;
            snprintf(note, nn, "%s: LEAVE (gen %" PRId64 " > mine %" PRId64 ")", t->name,
                     t->nm.gen, in->claim);
            return SC_OK;
        }
        if (t->is_pg)
            r = pg_request(s, in, d == SC_RESOLVE_COMMIT ? OP_PG_COMMIT : OP_PG_ROLLBACK,
                           t->name, delay);
        else
            r = d == SC_RESOLVE_COMMIT ? fs_rename(&s->fs, t->name) : fs_delete(&s->fs, t->name);
        snprintf(note, nn, "%s: %s%s", t->name, sc_resolution_name(d),
                 r == R_OK || delay ? "" : " (gone)");
        if (delay)
            return SC_UNKNOWN;
        /* Rolling back what is gone is done; committing what is gone is not known done. */
        return r == R_OK || d == SC_RESOLVE_ROLLBACK ? SC_OK : SC_FAIL;
    }
    case OP_SEEK:
        in->pos = in->rc_offset;
        in->nbuf = 0;
        snprintf(note, nn, "to %d", in->pos);
        return SC_OK;
    case OP_BEGIN:
        r = b_begin(&s->b, in->epoch);
        break;
    case OP_PRODUCE:
        r = b_produce(&s->b, in->epoch, value_of(in->pos));
        snprintf(note, nn, "offset %d", in->pos);
        break;
    case OP_PG_PREPARE:
        gid_of(nm, in->t.seq, in->gen, name, sizeof name);
        r = pg_request(s, in, k, name, delay);
        snprintf(note, nn, "%s (%d rows)%s", name, in->nbuf,
                 delay ? "" : r == R_OK ? "" : ": gid in use");
        return delay ? SC_UNKNOWN : r == R_OK ? SC_OK : SC_FAIL;
    case OP_PART_WRITE:
        part_of(nm, in->t.seq, in->gen, name, sizeof name);
        fs_write_part(&s->fs, name, in->buf, in->nbuf, in->id);
        snprintf(note, nn, "%s (%d values)", name, in->nbuf);
        return SC_OK;
    case OP_PROGRESS:
        r = b_progress(&s->b, in->epoch, in->t.seq, in->gen, in->pos);
        snprintf(note, nn, "(seq %" PRId64 ", gen %" PRId64 "), offset %d", in->t.seq, in->gen,
                 in->pos);
        break;
    case OP_COMMIT:
        r = b_commit(&s->b, in->epoch);
        break;
    case OP_PG_COMMIT:
        gid_of(nm, in->t.seq, in->gen, name, sizeof name);
        r = pg_request(s, in, k, name, delay);
        snprintf(note, nn, "%s%s", name, delay || r == R_OK ? "" : ": no such gid");
        return delay ? SC_UNKNOWN : r == R_OK ? SC_OK : SC_FAIL;
    case OP_RENAME:
        part_of(nm, in->t.seq, in->gen, name, sizeof name);
        r = fs_rename(&s->fs, name);
        snprintf(note, nn, "%s%s", name, r == R_OK ? "" : ": ENOENT");
        return r == R_OK ? SC_OK : SC_FAIL;
    case OP_BROKER_ABORT:
        r = b_abort(&s->b, in->epoch);
        break;
    case OP_PG_ROLLBACK:
        if (!in->prep_ok) {
            snprintf(note, nn, "(not prepared: session rollback)");
            return SC_OK;
        }
        gid_of(nm, in->t.seq, in->gen, name, sizeof name);
        r = pg_request(s, in, k, name, delay);
        snprintf(note, nn, "%s%s", name, delay || r == R_OK ? "" : ": no such gid");
        return delay ? SC_UNKNOWN : SC_OK;
    case OP_PART_DELETE:
        if (!in->part_tried) {
            snprintf(note, nn, "(never written)");
            return SC_OK;
        }
        part_of(nm, in->t.seq, in->gen, name, sizeof name);
        r = fs_delete(&s->fs, name);
        snprintf(note, nn, "%s%s", name, r == R_OK ? "" : ": ENOENT");
        return SC_OK;
    }
    if (r == R_FENCED) {
        size_t l = strlen(note);
        snprintf(note + l, nn - l, "%sREFUSED: fenced (epoch %d < %d)", l ? " " : "",
                 in->epoch, s->b.epoch);
        s->st.refused++;
    } else if (r == R_ERR) {
        size_t l = strlen(note);
        snprintf(note + l, nn - l, "%serror", l ? " " : "");
    }
    return r == R_OK ? SC_OK : SC_FAIL;
}

/* An operation without I/O (only a crash can hit it). */
static bool op_is_local(const sim *s, const inst *in, op_kind k, int arg)
{
    return k == OP_SEEK || (k == OP_PG_ROLLBACK && !in->prep_ok) ||
           (k == OP_PART_DELETE && !in->part_tried) ||
           (k == OP_RESOLVE && decide(s, in, &in->todo[arg].nm) == SC_RESOLVE_LEAVE);
}

static void die(sim *s, inst *in, const char *why)
{
    ev(s, in, "%s", why);
    in->alive = false;
    if (!in->zombie)
        s->st.crashes++;
}

/* One operation with its fault: the outcome the instance sees (check in->alive after). */
static sc_outcome run_op(sim *s, inst *in, fault f, op_kind k, int arg)
{
    char note[200] = "";
    if (op_is_local(s, in, k, arg) && f != F_CRASH_BEFORE && f != F_CRASH_AFTER)
        f = F_NONE;
    if (f == F_DELAYED && !op_is_pg(in, k, arg))
        f = F_LOST_NOT_DONE;
    if (f == F_CRASH_BEFORE) {
        ev(s, in, "%s %s: CRASH before it", sc_action_name(in->act), op_name(k));
        die(s, in, "dies (memory lost)");
        return SC_FAIL;
    }
    bool perform = f != F_FAIL && f != F_LOST_NOT_DONE;
    sc_outcome o = perform ? model_op(s, in, k, arg, f == F_DELAYED, note, sizeof note)
                           : SC_FAIL;
    static const char *const on[] = {"OK", "FAIL", "UNKNOWN"};
    if (f == F_FAIL)
        o = SC_FAIL, s->st.fails++;
    else if (f == F_LOST_DONE || f == F_LOST_NOT_DONE || f == F_DELAYED)
        o = SC_UNKNOWN, s->st.lost++;
    ev(s, in, "%s %s %s%s-> %s%s%s", sc_action_name(in->act), op_name(k), note,
       perform ? " " : " [not performed] ", on[o], f != F_NONE ? "  << " : "", fault_name(f));
    if (f == F_CRASH_AFTER)
        die(s, in, "dies (memory lost)");
    return o;
}

/* Local decisions of the runtime (no I/O). False: the instance has nothing to do. */
static bool settle(sim *s, inst *in)
{
    if (in->act != SC_DO_NOTHING)
        return true;
    if (in->t.state == SC_IDLE) {
        if (in->pos >= s->n)
            return false;
        in->target = s->fixed_target > 0 ? s->fixed_target : 1 + rng_below(&s->r, s->max_target);
        in->nbuf = 0;
        in->prep_ok = in->part_tried = false;
        to(s, in, sc_begin(&in->t));
        in->gen = gen_now(s, in);
        return true;
    }
    BROOK_ASSERT(in->t.state == SC_OPEN);
    if (in->nbuf >= in->target || in->pos >= s->n) {
        ev(s, in, "interval %" PRId64 " due (%d records)", in->t.seq, in->nbuf);
        to(s, in, sc_due(&in->t));
    }
    return true;
}

/* Runs the next operation of `in` (after settle). */
static void step(sim *s, inst *in, fault f)
{
    sc_outcome o;
    s->ops++;
    s->st.ops++;
    if (in->zombie) {
        s->stray_since_listing = true;
        s->st.zombie_ops++;
    }
    switch (in->act) {
    case SC_DO_RECOVER: {
        op_kind k = in->step == RS_INIT           ? OP_INIT
                    : in->step == RS_READ         ? OP_READ
                    : in->step == RS_CLAIM        ? OP_CLAIM
                    : in->step == RS_CLAIM_COMMIT ? OP_COMMIT
                    : in->step == RS_LIST         ? OP_LIST
                    : in->step - RS_RESOLVE < in->ntodo ? OP_RESOLVE
                                                        : OP_SEEK;
        o = run_op(s, in, f, k, in->step - RS_RESOLVE);
        if (!in->alive)
            return;
        if (o != SC_OK) { /* a claim refused (fenced) included */
            to(s, in, sc_recovered(&in->t, o, in->t.committed_seq, in->t.generation));
            return;
        }
        if (k == OP_COMMIT)
            s->st.claims++;
        if (k == OP_LIST && !in->zombie)
            s->stray_since_listing = false;
        if (k != OP_SEEK) {
            in->step++;
            return;
        }
        if (in->first_gen < 0)
            in->first_gen = in->claim;
        to(s, in, sc_recovered(&in->t, SC_OK, in->rc.seq, in->claim));
        return;
    }
    case SC_DO_BEGIN:
        o = run_op(s, in, f, OP_BEGIN, 0);
        if (in->alive)
            to(s, in, sc_begun(&in->t, o));
        return;
    case SC_DO_NOTHING: /* SC_OPEN: one input record */
        o = run_op(s, in, f, OP_PRODUCE, 0);
        if (!in->alive)
            return;
        if (o != SC_OK) {
            to(s, in, sc_fail(&in->t));
            return;
        }
        in->buf[in->nbuf++] = value_of(in->pos);
        in->pos++;
        return;
    case SC_DO_PREPARE:
        if (in->step == 1)
            in->part_tried = true;
        o = run_op(s, in, f, in->step == 0 ? OP_PG_PREPARE : OP_PART_WRITE, 0);
        if (!in->alive)
            return;
        if (o == SC_OK && in->step == 0) {
            in->prep_ok = true;
            in->step = 1;
        } else {
            to(s, in, sc_prepared(&in->t, o));
        }
        return;
    case SC_DO_COMMIT_BROKER:
        o = run_op(s, in, f, in->step == 0 ? OP_PROGRESS : OP_COMMIT, 0);
        if (!in->alive)
            return;
        if (in->step == 0 && o == SC_OK) {
            in->step = 1;
            return;
        }
        if (in->step == 0) /* no commit was asked: nothing can commit (run.c says FAIL) */
            o = SC_FAIL;
        if (o == SC_OK)
            s->st.intervals++;
        to(s, in, sc_broker_committed(&in->t, o));
        return;
    case SC_DO_FINISH:
        o = run_op(s, in, f, in->step == 0 ? OP_PG_COMMIT : OP_RENAME, 0);
        if (!in->alive)
            return;
        if (o == SC_OK && in->step == 0)
            in->step = 1;
        else
            to(s, in, sc_finished(&in->t, o));
        return;
    case SC_DO_ABORT: /* best effort, as run.c's task_abort: each step, whatever happens */
        if (in->step == 0)
            s->st.aborts++;
        o = run_op(s, in, f, in->step == 0   ? OP_BROKER_ABORT
                             : in->step == 1 ? OP_PG_ROLLBACK
                                             : OP_PART_DELETE, 0);
        if (!in->alive)
            return;
        if (in->step < 2)
            in->step++;
        else
            to(s, in, sc_aborted(&in->t, SC_OK));
        return;
    }
}

/* ------------------------------------------------------------------------ invariants */

/* Checks the invariants; `final`: at quiescence after the final recovery; `leftovers`:
 * also no prepared transaction or part file may remain. False (and s->viol) on a breach. */
static bool check(sim *s, bool final, bool leftovers)
{
    if (s->viol[0])
        return false;
    const broker *b = &s->b;
    if (s->pg.overflow || s->fs.overflow || b->ntxn >= MAXLOG || b->nout >= MAXLOG)
        return fail_at(s, "model capacity exceeded");

    /* 4: committed progress seqs 0,1,2,...; one progress-partition record per committed
     * transaction; claims increase; (src) a progress record names the claim before it */
    static int64_t seq_of_txn[MAXLOG];
    static bool rec_of_txn[MAXLOG];
    int64_t gen_of[MAXSEQ];
    int64_t c = -1, last_claim = 0;
    int committed_txns = 0, records = 0;
    for (int i = 0; i < b->ntxn; i++) {
        seq_of_txn[i] = -1;
        rec_of_txn[i] = false;
        committed_txns += b->txn[i] == TX_COMMITTED;
    }
    for (int i = 0; i < b->nprog; i++) {
        const prog_rec *p = &b->prog[i];
        if (b->txn[p->txn] != TX_COMMITTED)
            continue;
        if (rec_of_txn[p->txn])
            return fail_at(s, "a transaction committed two progress-partition records");
        rec_of_txn[p->txn] = true;
        records++;
        if (p->claim) {
            if (p->gen <= last_claim)
                return fail_at(s, "claim of generation %" PRId64 " committed after %" PRId64,
                               p->gen, last_claim);
            last_claim = p->gen;
            continue;
        }
        if (p->seq != c + 1)
            return fail_at(s, "committed progress seq %" PRId64 " after %" PRId64, p->seq, c);
        if (p->seq >= MAXSEQ)
            return fail_at(s, "progress seq %" PRId64 " out of range", p->seq);
        if (s->c.names == NAMES_GEN && p->gen != last_claim)
            return fail_at(s, "progress record (seq %" PRId64 ", gen %" PRId64 ") committed "
                           "after the claim of generation %" PRId64, p->seq, p->gen, last_claim);
        c = p->seq;
        seq_of_txn[p->txn] = c;
        gen_of[c] = p->gen;
    }
    if (committed_txns != records)
        return fail_at(s, "%d committed transactions, %d progress-partition records",
                       committed_txns, records);

    /* 1: read_committed outputs; each interval's slice of them */
    int64_t iv_lo[MAXSEQ];
    int iv_n[MAXSEQ];
    for (int i = 0; i < MAXSEQ; i++)
        iv_lo[i] = -1, iv_n[i] = 0;
    int64_t k = 0;
    for (int i = 0; i < b->nout; i++) {
        const out_rec *r = &b->out[i];
        if (b->txn[r->txn] != TX_COMMITTED)
            continue;
        if (r->value != value_of(k))
            return fail_at(s, "read_committed output #%" PRId64 " is %" PRId64 ", want %" PRId64,
                           k, r->value, value_of(k));
        int64_t sq = seq_of_txn[r->txn];
        if (sq < 0)
            return fail_at(s, "output %" PRId64 " committed without a progress record",
                           r->value);
        if (iv_lo[sq] < 0)
            iv_lo[sq] = k;
        iv_n[sq]++;
        k++;
    }
    if (k != b->committed_offset)
        return fail_at(s, "%" PRId64 " committed outputs but committed offset %d", k,
                       b->committed_offset);

    /* 1, 2, 5: PG rows */
    int cursor[MAXSEQ] = {0};
    int64_t last = -1;
    for (int i = 0; i < s->pg.nrows; i++) {
        const pg_row *r = &s->pg.rows[i];
        int64_t sq = r->seq;
        if (sq < 0 || sq > c)
            return fail_at(s, "PG rows of interval %" PRId64 " committed, its progress record "
                           "is not (committed seq %" PRId64 ")", sq, c);
        if (s->pg.commits[sq] > 1)
            return fail_at(s, "PG interval %" PRId64 " committed %d times", sq,
                           s->pg.commits[sq]);
        if (cursor[sq] >= iv_n[sq] || r->value != value_of(iv_lo[sq] + cursor[sq]))
            return fail_at(s, "PG row %" PRId64 " of interval %" PRId64 " is not the broker's "
                           "output #%d of that interval", r->value, sq, cursor[sq]);
        cursor[sq]++;
        if (r->value <= last)
            return fail_at(s, "PG rows out of order: %" PRId64 " after %" PRId64, r->value, last);
        last = r->value;
    }
    for (int64_t sq = 0; sq <= c; sq++) {
        if (s->pg.commits[sq] == 1 && cursor[sq] != iv_n[sq])
            return fail_at(s, "PG interval %" PRId64 ": %d rows, the broker committed %d", sq,
                           cursor[sq], iv_n[sq]);
        if (s->pg.commits[sq] == 1)
            continue;
        bool held = false; /* prepared under the committed name, with the interval's rows */
        for (int i = 0; !held && !final && i < MAXPREP; i++) {
            const pg_prep *p = &s->pg.prep[i];
            held = p->used && p->nm.seq == sq && p->nrows == iv_n[sq] &&
                   (s->c.names == NAMES_SEQ || p->nm.gen == gen_of[sq]);
            for (int j = 0; held && j < p->nrows; j++)
                held = p->rows[j] == value_of(iv_lo[sq] + j);
        }
        if (!held)
            return fail_at(s, "interval %" PRId64 " committed at the broker; its PG rows are "
                           "neither committed nor prepared under its name", sq);
    }

    /* 1, 2, 5: final files */
    for (int64_t sq = 0; sq < MAXSEQ; sq++) {
        const file *f = &s->fs.out[sq];
        if (!f->used)
            continue;
        if (sq > c)
            return fail_at(s, "file %" PRId64 ".out exists, its progress record is not "
                           "committed", sq);
        if (s->fs.renames[sq] > 1)
            return fail_at(s, "file %" PRId64 ".out renamed into place %d times", sq,
                           s->fs.renames[sq]);
        bool same = f->n == iv_n[sq];
        for (int j = 0; same && j < f->n; j++)
            same = f->vals[j] == value_of(iv_lo[sq] + j);
        if (!same)
            return fail_at(s, "file %" PRId64 ".out (written by i%d) is not the broker's "
                           "interval", sq, f->owner);
    }
    for (int64_t sq = 0; sq <= c; sq++) {
        if (s->fs.out[sq].used)
            continue;
        bool held = false;
        for (int i = 0; !held && !final && i < MAXPART; i++) {
            const file *f = &s->fs.part[i];
            held = f->used && f->nm.seq == sq && f->n == iv_n[sq] &&
                   (s->c.names == NAMES_SEQ || f->nm.gen == gen_of[sq]);
            for (int j = 0; held && j < f->n; j++)
                held = f->vals[j] == value_of(iv_lo[sq] + j);
        }
        if (!held)
            return fail_at(s, "interval %" PRId64 " committed at the broker; its file is "
                           "neither in place nor a part file under its name", sq);
    }

    if (final && b->committed_offset != s->n)
        return fail_at(s, "quiescent with committed offset %d of %d", b->committed_offset, s->n);
    if (leftovers) {
        for (int i = 0; i < MAXPREP; i++)
            if (s->pg.prep[i].used)
                return fail_at(s, "prepared transaction %s (of i%d) left at quiescence",
                               s->pg.prep[i].gid, s->pg.prep[i].owner);
        for (int i = 0; i < MAXPART; i++)
            if (s->fs.part[i].used)
                return fail_at(s, "part file %s (of i%d) left at quiescence",
                               s->fs.part[i].name, s->fs.part[i].owner);
    }
    return true;
}

/* ----------------------------------------------------------------------- scheduling */

static void sim_start(sim *s, cfg c, uint64_t seed, int n, int fixed_target)
{
    memset(s, 0, sizeof *s);
    ntrace_ = 0;
    s->c = c;
    s->seed = seed;
    rng_seed(&s->r, seed);
    s->n = n;
    s->fixed_target = fixed_target;
    s->max_target = 5;
    s->b.open_txn = -1;
    s->next_id = 1;
    new_instance(s, &s->live);
}

static fault pick_fault(sim *s)
{
    if (!s->faults)
        return F_NONE;
    rng *r = &s->r;
    if (rng_chance(r, s->p_crash))
        return rng_chance(r, 0.5) ? F_CRASH_BEFORE : F_CRASH_AFTER;
    if (rng_chance(r, s->p_fail))
        return F_FAIL;
    if (rng_chance(r, s->p_lost))
        return rng_chance(r, 0.5) ? F_LOST_DONE : F_LOST_NOT_DONE;
    if (rng_chance(r, s->p_delay))
        return F_DELAYED;
    return F_NONE;
}

/* The running instance becomes a zombie with `budget` more operations, stalled for `stall`
 * operations in random runs (hand scenarios step it explicitly); a new one starts. */
static void zombie_now(sim *s, int budget, int stall)
{
    if (s->zomb.alive)
        ev(s, &s->zomb, "zombie stops (another takeover)");
    s->zomb = s->live;
    s->zomb.zombie = true;
    s->zomb.budget = budget;
    s->zomb.wake_at = s->ops + stall;
    s->st.zombies++;
    ev(s, &s->zomb, "becomes a ZOMBIE (%d more operations, stalled for %d); a new instance "
       "takes over", budget, stall);
    new_instance(s, &s->live);
}

/* A zombie's next operation, if it has one: false when it stopped instead. */
static bool zombie_step(sim *s, fault f)
{
    inst *z = &s->zomb;
    if (!z->alive)
        return false;
    bool busy = settle(s, z);
    if (!busy || z->budget <= 0 || (z->act == SC_DO_RECOVER && z->step == 0)) {
        ev(s, z, "zombie stops");
        z->alive = false;
        return false;
    }
    z->budget--;
    step(s, z, f);
    return true;
}

static void live_step(sim *s, fault f)
{
    if (settle(s, &s->live))
        step(s, &s->live, f);
    if (!s->live.alive)
        new_instance(s, &s->live);
}

/* Until `in` is about to perform operation `stp` of `act` (no faults); false otherwise. */
static bool run_until(sim *s, inst *in, sc_action act, int stp)
{
    for (int i = 0; i < QUIET_OPS_MAX && in->alive; i++) {
        if (!settle(s, in))
            return false;
        if (in->act == act && in->step == stp)
            return true;
        step(s, in, F_NONE);
        if (!check(s, false, false))
            return false;
    }
    return false;
}

/* Faults off, zombies gone, delayed requests landed: the live instance runs until all
 * input is consumed. */
static bool run_quiet(sim *s)
{
    if (s->zomb.alive) {
        ev(s, &s->zomb, "zombie stops (quiet phase)");
        s->zomb.alive = false;
    }
    land_delayed(s, true);
    s->faults = false;
    for (int i = 0; i < QUIET_OPS_MAX; i++) {
        if (!check(s, false, false))
            return false;
        if (!settle(s, &s->live))
            return check(s, true, !s->stray_since_listing);
        step(s, &s->live, F_NONE);
    }
    return fail_at(s, "no quiescence after %d operations without faults", QUIET_OPS_MAX);
}

/* Quiet phase, then a clean restart (a final recovery) and the final checks. */
static bool finish_run(sim *s)
{
    if (!run_quiet(s))
        return false;
    ev(s, NULL, "--- final restart ---");
    new_instance(s, &s->live);
    return run_quiet(s) && check(s, true, true);
}

static bool sim_run(sim *s, cfg c, uint64_t seed)
{
    sim_start(s, c, seed, 0, 0);
    rng *r = &s->r;
    s->n = 5 + rng_below(r, MAXN - 4);
    s->max_target = 1 + rng_below(r, 6);
    static const double crash[] = {0, 0.01, 0.03, 0.08};
    static const double fail[] = {0, 0.02, 0.05, 0.12};
    static const double lost[] = {0, 0.02, 0.05, 0.1};
    static const double delay[] = {0.01, 0.03, 0.08};
    static const double zomb[] = {0.01, 0.03, 0.08};
    s->p_crash = crash[rng_below(r, 4)];
    s->p_fail = fail[rng_below(r, 4)];
    s->p_lost = lost[rng_below(r, 4)];
    s->p_delay = delay[rng_below(r, 3)];
    s->p_zombie = zomb[rng_below(r, 3)];
    static const double zstep[] = {0.2, 0.4, 0.6, 0.8};
    s->p_zstep = zstep[rng_below(r, 4)];
    s->steps = 60 + rng_below(r, 240);
    s->faults = true;
    ev(s, NULL, "seed %" PRIu64 " (%s): N=%d interval<=%d steps=%d crash=%.2f fail=%.2f "
       "lost=%.2f delay=%.2f zombie=%.2f zstep=%.2f", seed, c.name, s->n, s->max_target,
       s->steps, s->p_crash, s->p_fail, s->p_lost, s->p_delay, s->p_zombie, s->p_zstep);
    for (int i = 0; i < s->steps && !s->viol[0]; i++) {
        land_delayed(s, false);
        if (rng_chance(r, s->p_zombie))
            zombie_now(s, 1 + rng_below(r, 6), rng_chance(r, 0.3) ? 0 : 6 + rng_below(r, 20));
        fault f = pick_fault(s);
        if (!(s->zomb.alive && s->ops >= s->zomb.wake_at && rng_chance(r, s->p_zstep) &&
              zombie_step(s, f)))
            live_step(s, f);
        check(s, false, false);
    }
    if (!s->viol[0])
        finish_run(s);
    return !s->viol[0];
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : dflt;
}

typedef struct batch {
    int failed;
    uint64_t first_bad;
    char first_viol[320];
} batch;

/* Runs the seeds; prints at most `max_print` failing seeds with their traces. */
static batch run_seeds(cfg c, int max_print, bool stop_at_first)
{
    batch bt = {0, 0, ""};
    uint64_t start = env_u64("BROOK_TEST_SEED", 1);
    uint64_t count = env_u64("BROOK_STREAM_SIM_SEEDS", 2000);
    verbose_ = env_u64("BROOK_STREAM_SIM_VERBOSE", 0) != 0;
    max_print = (int)env_u64("BROOK_STREAM_SIM_MAX_PRINT", (uint64_t)max_print);
    stats total = {0};
    uint64_t seed = start;
    for (; seed < start + count; seed++) {
        bool ok = sim_run(&S, c, seed);
        stats *st = &S.st;
        total.runs++, total.ops += st->ops, total.crashes += st->crashes;
        total.fails += st->fails, total.lost += st->lost, total.delayed += st->delayed;
        total.zombies += st->zombies, total.zombie_ops += st->zombie_ops;
        total.refused += st->refused, total.recoveries += st->recoveries;
        total.claims += st->claims, total.left += st->left;
        total.intervals += st->intervals, total.aborts += st->aborts;
        if (st->ops > total.max_ops)
            total.max_ops = st->ops;
        if (ok)
            continue;
        if (bt.failed++ == 0) {
            bt.first_bad = seed;
            snprintf(bt.first_viol, sizeof bt.first_viol, "%s", S.viol);
        }
        if (bt.failed <= max_print) {
            printf("  FAIL %s seed=%" PRIu64 ": %s\n", c.name, seed, S.viol);
            if (!verbose_)
                print_trace(TRACE_PRINT);
            printf("  replay: BROOK_TEST_SEED=%" PRIu64 " BROOK_STREAM_SIM_SEEDS=1 "
                   "BROOK_STREAM_SIM_VERBOSE=1 test_stream_commit <test>\n", seed);
        }
        if (stop_at_first)
            break;
    }
    printf("  %s: %ld runs from seed %" PRIu64 ", %ld ops (max %ld/run), %ld crashes, "
           "%ld FAILs, %ld lost answers (%ld delayed), %ld zombies (%ld ops, %ld refused), "
           "%ld recoveries (%ld claims committed, %ld participants left alone), "
           "%ld broker commits, %ld aborts: %d failing\n", c.name, total.runs, start,
           total.ops, total.max_ops, total.crashes, total.fails, total.lost, total.delayed,
           total.zombies, total.zombie_ops, total.refused, total.recoveries, total.claims,
           total.left, total.intervals, total.aborts, bt.failed);
    return bt;
}

/* ----------------------------------------------------------------------- the configs */

/* The rule before generations: commit what is prepared for a seq <= the committed one. */
static sc_resolution seq_rule(int64_t committed_seq, int64_t committed_gen, int64_t my_gen,
                              int64_t prepared_seq, int64_t prepared_gen)
{
    (void)committed_gen, (void)my_gen, (void)prepared_gen;
    return prepared_seq <= committed_seq ? SC_RESOLVE_COMMIT : SC_RESOLVE_ROLLBACK;
}

static sc_resolution commit_everything(int64_t committed_seq, int64_t committed_gen,
                                       int64_t my_gen, int64_t prepared_seq,
                                       int64_t prepared_gen)
{
    (void)committed_seq, (void)committed_gen, (void)my_gen, (void)prepared_seq;
    (void)prepared_gen;
    return SC_RESOLVE_COMMIT;
}

static sc_resolution roll_back_everything(int64_t committed_seq, int64_t committed_gen,
                                          int64_t my_gen, int64_t prepared_seq,
                                          int64_t prepared_gen)
{
    (void)committed_seq, (void)committed_gen, (void)my_gen, (void)prepared_seq;
    (void)prepared_gen;
    return SC_RESOLVE_ROLLBACK;
}

/* sc_resolve without its LEAVE branch: a newer generation's is rolled back too. */
static sc_resolution no_leave(int64_t committed_seq, int64_t committed_gen, int64_t my_gen,
                              int64_t prepared_seq, int64_t prepared_gen)
{
    (void)my_gen;
    return prepared_seq == committed_seq && prepared_gen == committed_gen
               ? SC_RESOLVE_COMMIT
               : SC_RESOLVE_ROLLBACK;
}

/* src: a generation claimed per recovery names everything; sc_resolve */
static const cfg SRC = {"src", NAMES_GEN, sc_resolve};
/* mutations (the top comment says what each one shows) */
static const cfg COMMIT_ALL = {"mutant: commit every prepared", NAMES_GEN, commit_everything};
static const cfg ROLLBACK_ALL = {"mutant: roll back every prepared", NAMES_GEN,
                                 roll_back_everything};
static const cfg SEQ = {"mutant: seq names (no owner), seq rule", NAMES_SEQ, seq_rule};
static const cfg PROCESS = {"mutant: process names (one generation per process)",
                            NAMES_PROCESS, sc_resolve};
static const cfg NO_LEAVE = {"mutant: sc_resolve without LEAVE", NAMES_GEN, no_leave};

/* ------------------------------------------------------------------ random simulation */

/* src against crashes, FAILs, lost answers, zombies and delayed PostgreSQL requests. */
static void test_sim_src(void)
{
    batch bt = run_seeds(SRC, 3, false);
    CHECK_EQ_INT(bt.failed, 0);
}

/* ------------------------------------------------------------------- mutation checks */

/* The checker must see a broken scheme: some seed must violate an invariant. */
static void expect_violation(cfg c)
{
    batch bt = run_seeds(c, 0, true);
    if (CHECK(bt.failed > 0))
        printf("  %s: caught at seed %" PRIu64 ": %s\n", c.name, bt.first_bad, bt.first_viol);
}

static void test_mutation_commit_everything_prepared(void)
{
    expect_violation(COMMIT_ALL);
}

static void test_mutation_roll_back_everything_prepared(void)
{
    expect_violation(ROLLBACK_ALL);
}

/* H1..H3 */
static void test_mutation_seq_names(void)
{
    expect_violation(SEQ);
}

/* H5, H6 */
static void test_mutation_process_names(void)
{
    expect_violation(PROCESS);
}

/* H4 */
static void test_mutation_no_leave(void)
{
    expect_violation(NO_LEAVE);
}

/* ------------------------------------------------------------------ hand scenarios */

static sim *hand(cfg c, int n, int target)
{
    sim_start(&S, c, 1, n, target);
    verbose_ = env_u64("BROOK_STREAM_SIM_VERBOSE", 0) != 0;
    return &S;
}

/* The end of a scenario: the quiet phase and the final checks. True: no violation. */
static bool scenario_end(sim *s)
{
    if (!s->viol[0])
        finish_run(s);
    if (s->viol[0]) {
        printf("  %s: %s\n", s->c.name, s->viol);
        if (!verbose_)
            print_trace(70);
    }
    return !s->viol[0];
}

static int pg_prepared_count(const sim *s)
{
    int n = 0;
    for (int i = 0; i < MAXPREP; i++)
        n += s->pg.prep[i].used;
    return n;
}

static int part_count(const sim *s)
{
    int n = 0;
    for (int i = 0; i < MAXPART; i++)
        n += s->fs.part[i].used;
    return n;
}

/* Runs the live instance through its recovery (until it is idle). */
static bool recover_live(sim *s)
{
    for (int i = 0; i < 200 && s->live.t.state == SC_RECOVERING; i++) {
        step(s, &s->live, F_NONE);
        if (!check(s, false, false))
            return false;
    }
    return s->live.t.state == SC_IDLE;
}

/* Crash between PREPARE and the broker commit: recovery rolls the participants back. */
static void test_crash_between_prepare_and_broker_commit(void)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_COMMIT_BROKER, 0)))
        return (void)scenario_end(s);
    CHECK_EQ_INT(pg_prepared_count(s), 1);
    CHECK_EQ_INT(part_count(s), 1);
    live_step(s, F_CRASH_BEFORE);
    CHECK(recover_live(s));
    CHECK_EQ_INT(s->live.t.committed_seq, -1);
    CHECK_EQ_INT(pg_prepared_count(s), 0);
    CHECK_EQ_INT(part_count(s), 0);
    CHECK_EQ_INT(s->pg.nrows, 0);
    CHECK(!s->fs.out[0].used);
    CHECK_EQ_INT(s->live.pos, 0);
    CHECK(scenario_end(s));
    CHECK_EQ_INT(s->pg.nrows, 6);
}

/* Crash between the broker commit and FINISH: recovery commits the participants. */
static void test_crash_between_broker_commit_and_finish(void)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_FINISH, 0)))
        return (void)scenario_end(s);
    live_step(s, F_CRASH_BEFORE);
    CHECK_EQ_INT(s->pg.nrows, 0);
    CHECK(recover_live(s));
    CHECK_EQ_INT(s->live.t.committed_seq, 0);
    CHECK_EQ_INT(pg_prepared_count(s), 0);
    CHECK_EQ_INT(part_count(s), 0);
    CHECK_EQ_INT(s->pg.nrows, 3);
    CHECK(s->fs.out[0].used && s->fs.out[0].n == 3);
    CHECK_EQ_INT(s->live.pos, 3);
    CHECK(scenario_end(s));
}

/* Crash after COMMIT PREPARED, before the rename: recovery renames, commits nothing twice. */
static void test_crash_between_pg_commit_and_rename(void)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_FINISH, 1)))
        return (void)scenario_end(s);
    live_step(s, F_CRASH_BEFORE);
    CHECK(recover_live(s));
    CHECK_EQ_INT(s->pg.commits[0], 1);
    CHECK_EQ_INT(s->fs.renames[0], 1);
    CHECK(scenario_end(s));
}

/* The commit's answer is lost: recovery reads the progress back (committed / not). */
static void commit_unknown(bool done)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_COMMIT_BROKER, 1)))
        return (void)scenario_end(s);
    live_step(s, done ? F_LOST_DONE : F_LOST_NOT_DONE);
    CHECK_EQ_INT(s->live.act, SC_DO_RECOVER);
    CHECK_EQ_INT(s->live.t.state, SC_RECOVERING);
    CHECK(recover_live(s));
    CHECK_EQ_INT(s->live.t.committed_seq, done ? 0 : -1);
    CHECK_EQ_INT(s->pg.nrows, done ? 3 : 0);
    CHECK_EQ_INT(s->fs.out[0].used, done);
    CHECK_EQ_INT(pg_prepared_count(s), 0);
    CHECK_EQ_INT(part_count(s), 0);
    CHECK(scenario_end(s));
}

static void test_commit_unknown_but_committed(void)
{
    commit_unknown(true);
}

static void test_commit_unknown_not_committed(void)
{
    commit_unknown(false);
}

/* FINISH fails (COMMIT PREPARED or the rename): recovery commits them. */
static void finish_fails(int which)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_FINISH, which)))
        return (void)scenario_end(s);
    live_step(s, F_FAIL);
    CHECK_EQ_INT(s->live.act, SC_DO_RECOVER);
    CHECK(recover_live(s));
    CHECK_EQ_INT(s->pg.commits[0], 1);
    CHECK_EQ_INT(s->fs.renames[0], 1);
    CHECK_EQ_INT(s->pg.nrows, 3);
    CHECK(scenario_end(s));
}

static void test_finish_pg_commit_fails(void)
{
    finish_fails(0);
}

static void test_finish_rename_fails(void)
{
    finish_fails(1);
}

/* FINISH's COMMIT PREPARED done but its answer lost: recovery finds it gone, renames. */
static void test_finish_answer_lost(void)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_FINISH, 0)))
        return (void)scenario_end(s);
    live_step(s, F_LOST_DONE);
    CHECK(recover_live(s));
    CHECK_EQ_INT(s->pg.commits[0], 1);
    CHECK_EQ_INT(s->fs.renames[0], 1);
    CHECK(scenario_end(s));
}

/* PREPARE done but its answer lost: ABORT cannot roll it back (not known prepared);
 * the recovery that follows does. */
static void test_prepare_answer_lost(void)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_PREPARE, 0)))
        return (void)scenario_end(s);
    live_step(s, F_LOST_DONE);
    CHECK_EQ_INT(s->live.act, SC_DO_ABORT);
    for (int i = 0; i < 3; i++)
        live_step(s, F_NONE);
    CHECK_EQ_INT(s->live.act, SC_DO_RECOVER);
    CHECK_EQ_INT(pg_prepared_count(s), 1);
    CHECK(recover_live(s));
    CHECK_EQ_INT(pg_prepared_count(s), 0);
    CHECK_EQ_INT(s->pg.nrows, 0);
    CHECK(scenario_end(s));
}

/* The broker commit refused (FAIL) and ABORT's ROLLBACK PREPARED failing too. */
static void test_commit_fails_then_rollback_fails(void)
{
    sim *s = hand(SRC, 6, 3);
    if (!CHECK(run_until(s, &s->live, SC_DO_COMMIT_BROKER, 1)))
        return (void)scenario_end(s);
    live_step(s, F_FAIL);
    CHECK_EQ_INT(s->live.act, SC_DO_ABORT);
    live_step(s, F_NONE); /* abort txn */
    live_step(s, F_FAIL); /* ROLLBACK PREPARED */
    live_step(s, F_NONE); /* delete part */
    CHECK_EQ_INT(pg_prepared_count(s), 1);
    CHECK_EQ_INT(part_count(s), 0);
    CHECK(recover_live(s));
    CHECK_EQ_INT(pg_prepared_count(s), 0);
    CHECK_EQ_INT(s->live.t.committed_seq, -1);
    CHECK(scenario_end(s));
}

/* --- zombies and delayed requests: each schedule against src and a mutation --- */

/* run_until in a scenario that may break an invariant on the way (then no extra failure). */
static bool reach(sim *s, inst *in, sc_action a, int stp)
{
    if (run_until(s, in, a, stp))
        return true;
    if (!s->viol[0])
        tu_fail_(__FILE__, __LINE__, "%s: did not reach %s step %d", s->c.name,
                 sc_action_name(a), stp);
    return false;
}

/* Until the live instance is about to begin interval `seq`. */
static bool reach_begin(sim *s, int64_t seq)
{
    for (int i = 0; i < 100; i++) {
        if (!reach(s, &s->live, SC_DO_BEGIN, 0))
            return false;
        if (s->live.t.seq == seq)
            return true;
        live_step(s, F_NONE);
    }
    return false;
}

/* A zombie's next `n` operations. */
static void zombie_ops(sim *s, int n)
{
    for (int i = 0; i < n && s->zomb.alive && !s->viol[0]; i++)
        if (zombie_step(s, F_NONE))
            check(s, false, false);
}

/* H1: A prepares interval 0 and is fenced by B, whose recovery rolls A's back; B prepares
 * interval 0 again; A's broker commit is refused and its ABORT rolls back by name. */
static bool zombie_abort_scenario(cfg c)
{
    sim *s = hand(c, 6, 3);
    if (!reach(s, &s->live, SC_DO_PREPARE, 0))
        return scenario_end(s);
    zombie_now(s, 6, 0);
    zombie_ops(s, 2);                                           /* A: PG PREPARE, part */
    if (!reach(s, &s->live, SC_DO_COMMIT_BROKER, 0)) /* B prepared interval 0 */
        return scenario_end(s);
    zombie_ops(s, 4); /* A: progress (refused), abort txn, ROLLBACK PREPARED, delete part */
    return scenario_end(s);
}

/* H2: A is fenced just before its prepare; B commits and finishes interval 0; A prepares
 * and writes its part file, is refused at the broker and stops before its ABORT. The next
 * recovery finds interval 0 prepared again. */
static bool zombie_late_prepare_scenario(cfg c)
{
    sim *s = hand(c, 6, 3);
    if (!reach(s, &s->live, SC_DO_PREPARE, 0))
        return scenario_end(s);
    zombie_now(s, 3, 0);
    if (!reach_begin(s, 1)) /* B: interval 0 finished */
        return scenario_end(s);
    zombie_ops(s, 3); /* A: PG PREPARE, part write, progress (refused); then it stops */
    return scenario_end(s);
}

/* H3: A's PG PREPARE lands just before B's recovery, its part write after B prepared: A
 * replaces B's part file, and B renames A's content into place. */
static bool zombie_part_overwrite_scenario(cfg c)
{
    sim *s = hand(c, 6, 3);
    if (!reach(s, &s->live, SC_DO_PREPARE, 0))
        return scenario_end(s);
    s->fixed_target = 2; /* B's interval 0 holds offsets 0..1, A's 0..2 */
    zombie_now(s, 2, 0);
    zombie_ops(s, 1); /* A: PG PREPARE */
    if (!reach(s, &s->live, SC_DO_COMMIT_BROKER, 0)) /* B rolled back A's */
        return scenario_end(s);
    zombie_ops(s, 1); /* A: writes its part file */
    return scenario_end(s);
}

/* H4: A, recovering, has fenced, read the progress (none) and committed its claim (gen 1)
 * when B takes over (gen 2); B prepares interval 0 and commits it at the broker; then A
 * lists and resolves B's participants: src leaves them alone (newer generation). */
static bool zombie_recovery_scenario(cfg c)
{
    sim *s = hand(c, 6, 3);
    if (!reach(s, &s->live, SC_DO_RECOVER, RS_LIST))
        return scenario_end(s);
    zombie_now(s, 4, 0);
    if (!reach(s, &s->live, SC_DO_FINISH, 0))
        return scenario_end(s);
    zombie_ops(s, 4); /* A: list, resolve, resolve, seek */
    return scenario_end(s);
}

/* H5: interval 0's broker commit FAILs; ABORT's ROLLBACK PREPARED is delayed; recovery
 * rolls the transaction back itself; the retry prepares interval 0 again; then the delayed
 * ROLLBACK PREPARED lands. */
static bool delayed_rollback_scenario(cfg c)
{
    sim *s = hand(c, 6, 3);
    if (!reach(s, &s->live, SC_DO_COMMIT_BROKER, 1))
        return scenario_end(s);
    live_step(s, F_FAIL);    /* commit txn */
    live_step(s, F_NONE);    /* abort txn */
    live_step(s, F_DELAYED); /* ROLLBACK PREPARED: in flight */
    if (!reach(s, &s->live, SC_DO_COMMIT_BROKER, 0)) /* interval 0 again */
        return scenario_end(s);
    land_delayed(s, true);
    return scenario_end(s);
}

/* H6: interval 0's PREPARE is delayed (answer lost); ABORT, recovery, the retry commits
 * and finishes interval 0; the delayed PREPARE lands; interval 1's begin fails, and the
 * recovery that follows (last committed: interval 0) resolves what it finds prepared. */
static bool delayed_prepare_scenario(cfg c)
{
    sim *s = hand(c, 6, 3);
    if (!reach(s, &s->live, SC_DO_PREPARE, 0))
        return scenario_end(s);
    live_step(s, F_DELAYED);
    if (!reach_begin(s, 1))
        return scenario_end(s);
    land_delayed(s, true);
    live_step(s, F_FAIL); /* interval 1's begin */
    return scenario_end(s);
}

/* Each of H1..H3 breaks names without an owner; any owner in the names closes it. */
static void test_zombie_abort(void)
{
    CHECK(!zombie_abort_scenario(SEQ)); /* H1 */
    CHECK(zombie_abort_scenario(SRC));
    CHECK(zombie_abort_scenario(PROCESS));
}

static void test_zombie_late_prepare(void)
{
    CHECK(!zombie_late_prepare_scenario(SEQ)); /* H2 */
    CHECK(zombie_late_prepare_scenario(SRC));
    CHECK(zombie_late_prepare_scenario(PROCESS));
}

static void test_zombie_part_overwrite(void)
{
    CHECK(!zombie_part_overwrite_scenario(SEQ)); /* H3 */
    CHECK(zombie_part_overwrite_scenario(SRC));
    CHECK(zombie_part_overwrite_scenario(PROCESS));
}

/* H4: src's LEAVE keeps the zombie's hands off B's participants; without it, lost. */
static void test_zombie_in_recovery_leaves_new_owner_alone(void)
{
    CHECK(zombie_recovery_scenario(SRC));
    CHECK_EQ_INT(S.st.left, 2); /* B's prepared transaction and part file */
    CHECK_EQ_INT(S.pg.commits[0], 1);
    CHECK_EQ_INT(S.fs.renames[0], 1);
    CHECK(!zombie_recovery_scenario(NO_LEAVE));
}

/* H5: the retry prepares under a new generation, which the late rollback cannot touch. */
static void test_delayed_rollback_misses_retry(void)
{
    CHECK(delayed_rollback_scenario(SRC));
    CHECK_EQ_INT(S.pg.commits[0], 1);
    CHECK(!delayed_rollback_scenario(PROCESS));
}

/* H6: the late PREPARE is not the committed pair: the next recovery rolls it back. */
static void test_delayed_prepare_rolled_back(void)
{
    CHECK(delayed_prepare_scenario(SRC));
    CHECK_EQ_INT(S.pg.commits[0], 1);
    CHECK(!delayed_prepare_scenario(PROCESS));
}

/* The generations claimed and committed, in order; returns how many. */
static int committed_claims(const sim *s, int64_t *out, int max)
{
    int n = 0;
    for (int i = 0; i < s->b.nprog && n < max; i++)
        if (s->b.prog[i].claim && s->b.txn[s->b.prog[i].txn] == TX_COMMITTED)
            out[n++] = s->b.prog[i].gen;
    return n;
}

/* A fenced instance cannot commit its claim (its recovery fails and it resolves nothing);
 * one that claims before the fencing gets the older generation. */
static void claims_scenario(bool zombie_claims_first)
{
    sim *s = hand(SRC, 6, 3);
    if (!reach(s, &s->live, SC_DO_RECOVER, RS_CLAIM)) /* A: fenced (none), read */
        return (void)scenario_end(s);
    zombie_now(s, 4, 0);
    if (zombie_claims_first)
        zombie_ops(s, 2); /* A: claim, commit */
    if (!reach(s, &s->live, SC_DO_RECOVER, RS_LIST)) /* B: fenced A, read, claimed */
        return (void)scenario_end(s);
    zombie_ops(s, zombie_claims_first ? 2 : 1); /* A: list, seek | claim refused */
    int64_t g[4];
    int n = committed_claims(s, g, 4);
    if (zombie_claims_first) {
        CHECK_EQ_INT(S.zomb.t.generation, 1);
        CHECK_EQ_INT(n, 2);
        CHECK(n == 2 && g[0] == 1 && g[1] == 2);
    } else {
        CHECK_EQ_INT(S.st.refused, 1);
        CHECK_EQ_INT(S.zomb.act, SC_DO_RECOVER);
        CHECK_EQ_INT(S.zomb.t.generation, -1);
        CHECK_EQ_INT(n, 1);
        CHECK(n == 1 && g[0] == 1);
    }
    zombie_ops(s, 1); /* A stops: out of budget | it would start a recovery of its own */
    CHECK(!S.zomb.alive);
    CHECK(recover_live(s));
    CHECK_EQ_INT(S.live.t.generation, zombie_claims_first ? 2 : 1);
    CHECK(scenario_end(s));
}

static void test_claim_refused_when_fenced(void)
{
    claims_scenario(false);
}

static void test_claims_ordered_like_fencing(void)
{
    claims_scenario(true);
}

TU_MAIN(TU_CASE(test_crash_between_prepare_and_broker_commit),
        TU_CASE(test_crash_between_broker_commit_and_finish),
        TU_CASE(test_crash_between_pg_commit_and_rename),
        TU_CASE(test_commit_unknown_but_committed), TU_CASE(test_commit_unknown_not_committed),
        TU_CASE(test_finish_pg_commit_fails), TU_CASE(test_finish_rename_fails),
        TU_CASE(test_finish_answer_lost), TU_CASE(test_prepare_answer_lost),
        TU_CASE(test_commit_fails_then_rollback_fails),
        TU_CASE(test_claim_refused_when_fenced), TU_CASE(test_claims_ordered_like_fencing),
        TU_CASE(test_zombie_abort), TU_CASE(test_zombie_late_prepare),
        TU_CASE(test_zombie_part_overwrite),
        TU_CASE(test_zombie_in_recovery_leaves_new_owner_alone),
        TU_CASE(test_delayed_rollback_misses_retry), TU_CASE(test_delayed_prepare_rolled_back),
        TU_CASE(test_sim_src), TU_CASE(test_mutation_commit_everything_prepared),
        TU_CASE(test_mutation_roll_back_everything_prepared),
        TU_CASE(test_mutation_seq_names), TU_CASE(test_mutation_process_names),
        TU_CASE(test_mutation_no_leave))
