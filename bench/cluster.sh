#!/usr/bin/env bash
# bench/cluster.sh - the cluster transaction benchmark (issue 5, point 7), in one sitting:
#   (a) the physical floor under a cross-node commit on this machine (brook-floor-bench: two
#       sequential 4 KiB append + fdatasync, then four loopback round trips), before and after;
#   (b) classic 2PC across 3 PostgreSQL servers at equal durability: the peer in
#       ../shared/peers/pg2pc, called in place (its run_all.sh), mode --2pc --decision-log
#       (the coordinator fdatasyncs its decision, as Brook's transaction log does), a reduced
#       matrix (BENCH_PG_REPS rounds x clients BENCH_PG_CLIENTS);
#   (c) a 3-node Brook cluster (`brook cluster up --nodes 3 --dir DIR`, over ZooKeeper), a
#       topic whose partitions have leaders on all 3 nodes (checked in Metadata), and
#       `brook bench txn-rate --across-leaders`: each transaction writes one record to a
#       partition of every node, with 1 and several producers: commit (EndTxn) latency,
#       whole-transaction latency, commits/s;
#   (d) the section between <!-- cluster-bench:begin --> and <!-- cluster-bench:end --> of
#       DOC (default docs/benchmarks.md; appended when the markers are absent), every figure
#       next to its target.
# bench/run.sh calls it last; alone:  BUILD=build-bench bash bench/cluster.sh [DOC]
#
# Needs, besides the build: PostgreSQL 15 server and libpq headers for (b)
# (`scripts/install-deps.sh --bench` installs postgresql and libpq-dev; without them (b) is
# reported as not measured), kcat for the Metadata check, and ZooKeeper for (c) (what
# `brook cluster up` needs). When there is no cluster mode yet (`brookd --help-config` does not
# list zookeeper.connect, or `brook` has no `cluster up`), (c) is a dry run on one brookd and
# the section says so.
#
# Knobs (environment):
#   BENCH_CLUSTER_SECONDS=10       seconds per Brook measurement
#   BENCH_CLUSTER_PRODUCERS="1 8 16"  producer counts
#   BENCH_CLUSTER_PARTITIONS=24    partitions of the benchmark topic
#   BENCH_PG_REPS=1 BENCH_PG_SECONDS=10 BENCH_PG_CLIENTS="1 16"   the PostgreSQL matrix
#   BENCH_PG_PEER=dir              the peer (default ../shared/peers/pg2pc)
#   BENCH_WORK=dir                 where data goes (default $BUILD; must be on the disk
#                                  under test, not tmpfs)
#   BENCH_WAIT_IDLE_S=60           wait at most this long at the start for a quiet machine
#   BENCH_KEEP=1                   keep the work directory (logs)
# Bounded: with the defaults about 3 minutes. Everything it starts is stopped on exit (trap).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
DOC=${1:-$ROOT/docs/benchmarks.md}
SECS=${BENCH_CLUSTER_SECONDS:-10}
PRODUCERS=${BENCH_CLUSTER_PRODUCERS:-"1 8 16"}
PARTS=${BENCH_CLUSTER_PARTITIONS:-24}
PG_REPS=${BENCH_PG_REPS:-1}
PG_SECS=${BENCH_PG_SECONDS:-10}
PG_CLIENTS=${BENCH_PG_CLIENTS:-"1 16"}
PEER=${BENCH_PG_PEER:-$ROOT/../shared/peers/pg2pc}
PG_BASE=/tmp/pg2pc # fixed by the peer's start.sh
NODES=3
TOPIC=cluster-txn
BROOKD=$BUILD/brookd
BROOK=$BUILD/brook
FLOOR=$BUILD/brook-floor-bench
BENCH_TAG=cluster-bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# What this script started, cleared once stopped, so the trap only undoes what is still up.
CLUSTER_DIR=
SINGLE_PID=
PG_STARTED=
WORK=
cleanup() {
    cluster_stop
    if [ -n "$SINGLE_PID" ]; then
        kill -TERM "$SINGLE_PID" 2>/dev/null
        wait "$SINGLE_PID" 2>/dev/null
    fi
    # The peer's run_all.sh stops its servers itself (trap); this is for a sitting
    # interrupted at a moment its trap could not run.
    if [ -n "$PG_STARTED" ] && [ -d "$PG_BASE" ]; then
        sh "$PEER/stop.sh" >&2
    fi
    cleanup_work
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---- build and work directory ---------------------------------------------------------------
build_targets brookd brook brook-floor-bench
mkdir -p "${BENCH_WORK:-$BUILD}"
WORK=$(mktemp -d "${BENCH_WORK:-$BUILD}/cluster-bench.XXXXXX")
OUT=$WORK/results.txt
: >"$OUT"
T_START=$(date +%s)

# Every measurement goes through measured (bench/lib.sh): its RESULT lines get the machine's
# CPU busy share and the CPU time other processes took meanwhile. A quiet start first.
quiet_start

# ---- (a) the floor ----------------------------------------------------------------------------
floor_probe before

# ---- (b) PostgreSQL 2PC across 3 servers ------------------------------------------------------
PG_NOTE=
PG_VERSION=
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] || [ ! -f /usr/include/postgresql/libpq-fe.h ]; then
    PG_NOTE="not measured: PostgreSQL 15 or libpq-dev missing (scripts/install-deps.sh --bench)"
elif [ ! -f "$PEER/run_all.sh" ]; then
    PG_NOTE="not measured: the peer is not at $PEER"
elif [ -e "$PG_BASE" ]; then
    PG_NOTE="not measured: $PG_BASE exists (another pg2pc sitting is running)"
fi
if [ -z "$PG_NOTE" ]; then
    PG_VERSION=$(/usr/lib/postgresql/15/bin/postgres --version | sed 's/^postgres (PostgreSQL) //')
    log "PostgreSQL 2PC + decision log: $PG_REPS round(s) x clients $PG_CLIENTS x ${PG_SECS} s"
    mkdir -p "$WORK/dlog"
    sync
    PG_STARTED=1
    # The peer listens on fixed ports (55431-55433); one taken for a moment by some other
    # process's ephemeral port makes its start fail, so a failed start is tried once more.
    for attempt in 1 2; do
        # ':' stands for a space in the peer's MODES.
        REPS=$PG_REPS DUR=$PG_SECS CONCS=$PG_CLIENTS MODES="--2pc:--decision-log:$WORK/dlog" \
            timeout -k 30 $((PG_REPS * (PG_SECS + 15) * $(wc -w <<<"$PG_CLIENTS") + 120)) \
            sh "$PEER/run_all.sh" "$WORK/pg2pc.txt" >"$WORK/pg2pc.log" 2>&1 && break
        log "the pg2pc peer failed (attempt $attempt; see below)"
        # Its trap stops its servers only once they all started: a start that failed half
        # way leaves the first ones running, and $PG_BASE, which blocks the next sitting.
        [ -d "$PG_BASE" ] && sh "$PEER/stop.sh" >&2
        grep -q 'could not start server' "$WORK/pg2pc.log" || break
        sleep 2
    done
    PG_STARTED=
    sed 's/^/  /' "$WORK/pg2pc.log" | grep -v '^  |' >&2
    # Its lines as RESULT lines, each run with the CPU busy share the peer measured after it.
    awk '
        /^mode=/ { line = $0; next }
        /^verify:/ { ok = ($0 ~ /-> OK$/) ? 1 : 0; next }
        /^cpu_busy_pct=/ && line != "" {
            split($1, c, "=")
            print "RESULT cmd=pg2pc " line " verify_ok=" ok " busy_pct=" c[2]
            line = ""
        }
        /^fsynclat / { sub(/^fsynclat /, ""); print "RESULT cmd=fsynclat " $0 }' \
        "$WORK/pg2pc.txt" 2>/dev/null | sed 's/ write+fdatasync://' >>"$OUT"
    grep -q '^RESULT cmd=pg2pc ' "$OUT" || PG_NOTE="not measured: the peer printed no result"
fi

# ---- (c) Brook: 3 nodes, transactions spanning all of them -----------------------------------
# Cluster mode needs both halves: brookd that knows zookeeper.connect and a `brook` with
# `cluster up` (which runs ZooKeeper and the nodes).
DRY=
# The bootstrap list: every loopback address `cluster up` (or else `cluster status`) names
# that answers Metadata (so ZooKeeper's or an admin port is left out).
addrs() {
    local a
    grep -oE '127\.0\.0\.1:[0-9]+' | sort -u | while read -r a; do
        timeout 10 kcat -b "$a" -L -m 5 >/dev/null 2>&1 </dev/null && echo "$a"
    done | paste -sd, -
}
# cluster_start EXTRA: a fresh cluster in $WORK/cluster (log.flush.mode=sync, plus the
# properties lines EXTRA); sets CLUSTER_DIR and B, exits the script when it cannot.
cluster_start() {
    CLUSTER_DIR=$WORK/cluster
    rm -rf "$CLUSTER_DIR"
    # Durability as in the rest of the sitting, said explicitly rather than left to the default.
    printf 'log.flush.mode=sync\n%s' "$1" >"$WORK/cluster.properties"
    log "brook cluster up --nodes $NODES --dir $CLUSTER_DIR --config $WORK/cluster.properties"
    if ! BROOKD=$BROOKD timeout 180 "$BROOK" cluster up --nodes "$NODES" --dir "$CLUSTER_DIR" \
        --config "$WORK/cluster.properties" >"$WORK/cluster-up.log" 2>&1; then
        log "brook cluster up failed"
        tail -n 20 "$WORK/cluster-up.log" >&2
        exit 1
    fi
    B=$(sed -n 's/^bootstrap: *//p' "$WORK/cluster-up.log" | tr ' ' ',' | addrs)
    [ -n "$B" ] || B=$(addrs <"$WORK/cluster-up.log")
    if [ -z "$B" ]; then
        timeout 30 "$BROOK" cluster status --dir "$CLUSTER_DIR" >"$WORK/cluster-status.log" 2>&1
        B=$(addrs <"$WORK/cluster-status.log")
    fi
    [ -n "$B" ] || { log "no broker address from brook cluster up/status"; exit 1; }
}
cluster_stop() {
    [ -n "$CLUSTER_DIR" ] || return 0
    timeout 60 "$BROOK" cluster down --dir "$CLUSTER_DIR" >&2 || log "cluster down failed"
    CLUSTER_DIR=
}
# raw_txn K TAG: the raw engine's transactions with K producers; TAG (txnlog=...) is added
# to its RESULT line.
raw_txn() {
    local n0
    n0=$(wc -l <"$OUT")
    log "brook bench produce --engine raw --transactional --producers $1 ($2)"
    sync
    measured timeout $((SECS * 3 + 120)) "$BROOK" bench produce --bootstrap "$B" \
        --topic "$TOPIC-raw" --partitions "$NODES" --engine raw --transactional \
        --producers "$1" --batch-records 1 --size 5 --seconds "$SECS"
    sed -i "$((n0 + 1)),\$ s/^\(RESULT cmd=txn-raw .*\)\$/\1 $2/" "$OUT"
}
# (Both print their help with a usage exit code, so their output is read whole first: under
# pipefail, `cmd | grep -q` would fail on that code.)
HELP=$({ "$BROOKD" --help; "$BROOKD" --help-config; "$BROOK" cluster; } 2>&1)
if grep -q 'zookeeper\.connect' <<<"$HELP" && grep -q 'brook cluster up' <<<"$HELP"; then
    cluster_start ""
    MODE_NOTE="$NODES brookd nodes and one ZooKeeper (\`brook cluster up --nodes $NODES\`), each node with log.flush.mode=sync"
else
    DRY=1
    NODES=1
    log "no cluster mode in this build (brookd zookeeper.connect, brook cluster up): dry run on one brookd"
    mkdir -p "$WORK/single"
    "$BROOKD" --listeners=PLAINTEXT://127.0.0.1:0 --log.dirs="$WORK/single/data" \
        --admin.listeners= --log.flush.mode=sync >"$WORK/single/brookd.log" 2>&1 &
    SINGLE_PID=$!
    B=
    for _ in $(seq 1 200); do
        B=$(sed -n 's/.*brookd ready listener=\([0-9.]*:[0-9]*\).*/\1/p' "$WORK/single/brookd.log")
        [ -n "$B" ] && break
        sleep 0.05
    done
    [ -n "$B" ] || { log "brookd did not start"; tail -5 "$WORK/single/brookd.log" >&2; exit 1; }
    MODE_NOTE="**dry run on one brookd** (this build has no cluster mode), log.flush.mode=sync"
fi
log "bootstrap $B"

# The topic, then its leaders as Metadata gives them (kcat, independently of the bench client).
# A short untimed run creates the topic and warms every node's logs and connections.
measured timeout 120 "$BROOK" bench txn-rate --bootstrap "$B" --topic "$TOPIC" \
    --partitions "$PARTS" --producers 1 --seconds 1 --across-leaders ||
    { log "could not create $TOPIC"; exit 1; }
sed -i '$d' "$OUT" # the warm-up's result is not a measurement
BROKERS=$(timeout 30 kcat -b "$B" -L 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p')
timeout 30 kcat -b "$B" -L -t "$TOPIC" >"$WORK/metadata.txt" 2>&1
LEADERS=$(sed -n 's/.*partition [0-9]*, leader \([0-9-]*\),.*/\1/p' "$WORK/metadata.txt" |
    sort -n | uniq -c | awk '{ printf "%snode %s: %s", n++ ? ", " : "", $2, $1 }')
NLEADERS=$(sed -n 's/.*partition [0-9]*, leader \([0-9-]*\),.*/\1/p' "$WORK/metadata.txt" |
    sort -u | wc -l)
log "Metadata: ${BROKERS:-?} broker(s); leaders of $TOPIC's $PARTS partitions: $LEADERS"
if [ "$NLEADERS" -lt "$NODES" ]; then
    log "the partitions of $TOPIC lead on $NLEADERS node(s), not $NODES"
    exit 1
fi

for k in $PRODUCERS; do
    log "brook bench txn-rate --across-leaders --producers $k"
    sync
    measured timeout $((SECS * 3 + 120)) "$BROOK" bench txn-rate --bootstrap "$B" \
        --topic "$TOPIC" --partitions "$PARTS" --producers "$k" --seconds "$SECS" \
        --across-leaders
done
# The same transactions (one record to a partition led by each node) from Brook's raw
# client (bench_raw.h: a transactional id per producer, two polling threads), not the
# bound that many librdkafka instances in one process are.
for k in $PRODUCERS; do
    raw_txn "$k" txnlog=default
done
cluster_stop
# The raw runs again on a cluster whose __transaction_state has one partition per node
# instead of 50: concurrent transactions' coordinator records then share a log, and so
# its fsyncs, on each node (docs/benchmarks.md, after this section's tables).
if [ -z "$DRY" ]; then
    cluster_start "transaction.state.log.num.partitions=$NODES"$'\n'
    for k in $PRODUCERS; do
        raw_txn "$k" "txnlog=$NODES"
    done
    cluster_stop
fi
if [ -n "$SINGLE_PID" ]; then
    kill -TERM "$SINGLE_PID" 2>/dev/null
    wait "$SINGLE_PID" 2>/dev/null
    SINGLE_PID=
fi

# ---- (a) again: the floor after, to show drift ------------------------------------------------
floor_probe after
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - T_START))

# ---- (d) the report ---------------------------------------------------------------------------
# field CMD FIELD KEY=VALUE...: the median of FIELD over the RESULT lines of CMD matching all
# KEY=VALUE (fields, bench/lib.sh).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { fields "$@" | median; }
int() { awk -v x="$1" 'BEGIN { if (x == "") print "n/a"; else printf "%.0f", x }'; }
[ -n "$DRY" ] && VERDICT_NOTE=" (dry run, one node)"

FLOOR50=$(floor_p50)
declare -A BR BT50 BT99 BC50 BC99 BSPAN BBUSY
for k in $PRODUCERS; do
    BR[$k]=$(field txn-rate commits_per_s "producers=$k")
    BT50[$k]=$(field txn-rate p50_us "producers=$k")
    BT99[$k]=$(field txn-rate p99_us "producers=$k")
    BC50[$k]=$(field txn-rate commit_p50_us "producers=$k")
    BC99[$k]=$(field txn-rate commit_p99_us "producers=$k")
    BSPAN[$k]=$(field txn-rate leaders_per_txn "producers=$k")
    BBUSY[$k]=$(field txn-rate busy_pct "producers=$k")
done
declare -A XR XT50 XT99 XSPAN XBUSY
TXNLOGS="default"
[ -z "$DRY" ] && TXNLOGS="default $NODES"
for l in $TXNLOGS; do
    for k in $PRODUCERS; do
        XR[$l,$k]=$(field txn-raw commits_per_s "producers=$k" "txnlog=$l")
        XT50[$l,$k]=$(field txn-raw p50_us "producers=$k" "txnlog=$l")
        XT99[$l,$k]=$(field txn-raw p99_us "producers=$k" "txnlog=$l")
        XSPAN[$l,$k]=$(field txn-raw leaders_per_txn "producers=$k" "txnlog=$l")
        XBUSY[$l,$k]=$(field txn-raw busy_pct "producers=$k" "txnlog=$l")
    done
done
K1=$(awk '{ print $1 }' <<<"$PRODUCERS")
declare -A PR P50 P99 PBUSY PRUNS
for c in $PG_CLIENTS; do
    PR[$c]=$(field pg2pc txn_per_s "clients=$c")
    P50[$c]=$(field pg2pc p50_us "clients=$c")
    P99[$c]=$(field pg2pc p99_us "clients=$c")
    PBUSY[$c]=$(field pg2pc busy_pct "clients=$c")
    PRUNS[$c]=$(fields pg2pc txn_per_s "clients=$c" | wc -l)
done
PG_BAD=$(fields pg2pc verify_ok | grep -c '^0$')
CR=$(ratio "${BC50[$K1]}" "$FLOOR50")
TR=$(ratio "${BT50[$K1]}" "$FLOOR50")

SECTION=$WORK/section.md
{
    cat <<EOF
<!-- cluster-bench:begin -->
## Transactions across a 3-node cluster (\`bench/cluster.sh\`)

Run $(date -u +%Y-%m-%dT%H:%MZ) at commit \`$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)\`
by \`bash bench/cluster.sh\` (${ELAPSED} s; \`BENCH_CLUSTER_SECONDS=$SECS\`,
\`BENCH_CLUSTER_PRODUCERS="$PRODUCERS"\`, \`BENCH_PG_REPS=$PG_REPS\`, \`BENCH_PG_SECONDS=$PG_SECS\`,
\`BENCH_PG_CLIENTS="$PG_CLIENTS"\`). Brook: $MODE_NOTE; build type
$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt"). Machine: $(machine_desc "$WORK"),
librdkafka $(pkg-config --modversion rdkafka 2>/dev/null), PostgreSQL ${PG_VERSION:-n/a},
ZooKeeper $(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo n/a). Every server and
every client shares the same $(nproc) cores over loopback. Load average before: $LOAD_BEFORE;
after: $LOAD_AFTER (the sitting's own load included).

\`\`\`
brook-floor-bench --dir WORK --iterations 2000        # before and after the rest
REPS=$PG_REPS DUR=$PG_SECS CONCS="$PG_CLIENTS" MODES="--2pc:--decision-log:WORK/dlog" \\
    ../shared/peers/pg2pc/run_all.sh                  # PostgreSQL 15 x 3, classic 2PC
brook cluster up --nodes 3 --dir WORK/cluster --config WORK/cluster.properties   # log.flush.mode=sync
brook bench txn-rate --bootstrap B --topic $TOPIC --partitions $PARTS --across-leaders \\
    --producers {$(tr ' ' ',' <<<"$PRODUCERS")} --seconds $SECS
brook bench produce --bootstrap B --topic $TOPIC-raw --partitions $NODES --engine raw \\
    --transactional --producers {$(tr ' ' ',' <<<"$PRODUCERS")} --batch-records 1 --size 5 --seconds $SECS
brook cluster down --dir WORK/cluster
# then the raw runs again on a fresh cluster whose properties add
# transaction.state.log.num.partitions=$NODES
\`\`\`

| target | measured | verdict |
|---|---|---|
| commit p50 (EndTxn, $K1 producer) ≤ 2× the floor p50 | $(ms "${BC50[$K1]}") ms vs floor $(ms "$FLOOR50") ms (${CR}×) | $(verdict "$CR" 2 le) |
EOF
    for c in $PG_CLIENTS; do
        [ -n "${BR[$c]+x}" ] || continue
        r=$(ratio "${BR[$c]}" "${PR[$c]}")
        printf '| commits/s ≥ 10× PostgreSQL 2PC, %s concurrent | %s vs %s commits/s (%s×) | %s |\n' \
            "$c" "${BR[$c]:-n/a}" "$(int "${PR[$c]}")" "$r" "$(verdict "$r" 10 ge)"
        for l in $TXNLOGS; do
            [ -n "${XR[$l,$c]+x}" ] || continue
            r=$(ratio "${XR[$l,$c]}" "${PR[$c]}")
            note=
            [ "$l" = default ] || note=", __transaction_state with $l partitions"
            printf '| commits/s ≥ PostgreSQL 2PC (#14), %s concurrent, raw engine%s | %s vs %s commits/s (%s×) | %s |\n' \
                "$c" "$note" "${XR[$l,$c]:-n/a}" "$(int "${PR[$c]}")" "$r" "$(verdict "$r" 1 ge)"
        done
    done
    cat <<EOF

Not a target: the whole transaction with $K1 producer (AddPartitionsToTxn, the produces, EndTxn)
takes $(ms "${BT50[$K1]}") ms at p50, ${TR}× the floor.

**The floor** (\`bench/floor.c\`): per iteration, strictly in sequence, two 4 KiB appends each
followed by fdatasync on a file in the data directory's filesystem, then four 64-byte
ping-pongs over loopback TCP to an echo thread (TCP_NODELAY). 2000 iterations after 20
untimed ones.

| floor | sum p50 | sum p99 | 2 × fdatasync p50 / p99 | 4 round trips p50 / p99 |
|---|---|---|---|---|
$(floor_row before)
$(floor_row after)

**Brook.** Topic \`$TOPIC\`, $PARTS partitions, leaders in Metadata (kcat):
${LEADERS:-n/a} (${BROKERS:-?} brokers). Each transaction writes one 5-byte record to one
partition led by each node (\`--across-leaders\`; each producer its own partitions), flushes
(every Produce acknowledged), then commits. Commit = the \`commit_transaction\` call after the
flush, i.e. EndTxn and the two-phase commit behind it; transaction = begin to the end of
the commit. Each producer is its own librdkafka instance, all in one client process; every
producer first runs one untimed transaction, then all start together. Commits/s counts every
commit until the last producer finished the transaction it had in hand after ${SECS} s.

| producers | nodes per txn | commits/s | commit p50 | commit p99 | transaction p50 | transaction p99 | CPU busy |
|---|---|---|---|---|---|---|---|
EOF
    for k in $PRODUCERS; do
        printf '| %s | %s | %s | %s ms | %s ms | %s ms | %s ms | %s%% |\n' "$k" \
            "${BSPAN[$k]:-n/a}" "${BR[$k]:-n/a}" "$(ms "${BC50[$k]}")" "$(ms "${BC99[$k]}")" \
            "$(ms "${BT50[$k]}")" "$(ms "${BT99[$k]}")" "${BBUSY[$k]:-n/a}"
    done
    cat <<EOF

The same transactions from the raw engine (\`brook bench produce --engine raw --transactional
--producers K --partitions $NODES --batch-records 1 --size 5\`: each producer its own
transactional id and connections, the producers state machines on two polling threads;
AddPartitionsToTxn, one Produce to each leader in parallel, EndTxn; latency is the whole
transaction's):

| \_\_transaction_state partitions | producers | nodes per txn | commits/s | transaction p50 | transaction p99 | CPU busy |
|---|---|---|---|---|---|---|
EOF
    for l in $TXNLOGS; do
        for k in $PRODUCERS; do
            printf '| %s | %s | %s | %s | %s ms | %s ms | %s%% |\n' \
                "$([ "$l" = default ] && echo "50 (default)" || echo "$l (one per node)")" \
                "$k" "${XSPAN[$l,$k]:-n/a}" "${XR[$l,$k]:-n/a}" "$(ms "${XT50[$l,$k]}")" \
                "$(ms "${XT99[$l,$k]}")" "${XBUSY[$l,$k]:-n/a}"
        done
    done
    [ -z "$DRY" ] && cat <<EOF

The second group of rows ran on a fresh cluster started with
\`transaction.state.log.num.partitions=$NODES\` (the same commands otherwise). With Kafka's
50 partitions, each of 16 producers' transactional ids mostly has a partition of its own,
so its coordinator records are fsynced alone on every replica; with one partition per node
they share each node's log and its fsyncs, as the PostgreSQL peer's clients share each
server's WAL. The count is fixed when the topic is created (docs/cluster.md).
EOF
    cat <<EOF

**PostgreSQL, classic 2PC across 3 servers** (the peer \`../shared/peers/pg2pc\`, unchanged:
PostgreSQL 15 with fsync=on, synchronous_commit=on, wal_sync_method=fdatasync; per
transaction one INSERT on each server, PREPARE TRANSACTION on all three at once, the
coordinator appends its decision to its own file and fdatasyncs it, then COMMIT PREPARED on
all three; latency from the first phase to the last reply). Equal durability: every
acknowledged commit is on disk at every participant and the decision is on disk before
any participant is told, as with Brook's log.flush.mode=sync transaction log.
EOF
    [ -n "$PG_NOTE" ] && printf '**%s.**\n' "$PG_NOTE"
    if [ -z "$PG_NOTE" ]; then
        cat <<EOF

| clients | runs | txn/s (median) | latency p50 | latency p99 | CPU busy |
|---|---|---|---|---|---|
EOF
        for c in $PG_CLIENTS; do
            printf '| %s | %s | %s | %s ms | %s ms | %s%% |\n' "$c" "${PRUNS[$c]}" "$(int "${PR[$c]}")" \
                "$(ms "${P50[$c]}")" "$(ms "${P99[$c]}")" "${PBUSY[$c]:-n/a}"
        done
        printf '\nEvery PostgreSQL run verified its rows and left no prepared transaction: %s.\n' \
            "$([ "$PG_BAD" = 0 ] && echo yes || echo "**no, $PG_BAD run(s) failed the check**")"
    fi
    cat <<EOF

CPU busy is the whole machine's busy share during that run (100% = both cores).

\`\`\`
$(cat "$OUT")
\`\`\`
<!-- cluster-bench:end -->
EOF
} >"$SECTION"

write_section cluster-bench cluster
