#!/usr/bin/env bash
# Stream-processing benchmarks (issue #13): `brook run` exactly once against at least once
# for the same pipeline (throughput, and end-to-end latency at a 100 ms commit interval:
# bench/stream_latency.py), and its PostgreSQL sink against plain batched INSERTs. bench/run.sh
# calls it after txn.sh; alone:  BUILD=build-bench bash bench/stream.sh [DOC]
# It starts its own brookd (log.flush.mode=sync) and PostgreSQL (scripts/pg.sh, fsync on)
# on free loopback ports in a temp directory, loads N JSON records into a 4-partition topic,
# runs each pipeline over them with --exit-when-idle, and takes the throughput from
# `brook run`'s own line: records from the first one read to the last commit. Writes the
# section between <!-- stream-bench:begin --> and <!-- stream-bench:end --> of DOC.
#   BENCH_STREAM_RECORDS=200000   input records
#   BENCH_STREAM_LAT_RATE=2000, BENCH_STREAM_LAT_SECONDS=10   the latency runs' input
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
DOC=${1:-$ROOT/docs/benchmarks.md}
N=${BENCH_STREAM_RECORDS:-200000}
BROOKD=$BUILD/brookd
BROOK=$BUILD/brook
WORK=$(mktemp -d /tmp/brook-stream-bench.XXXXXX)
chmod 755 "$WORK" # the PostgreSQL server runs as the postgres user
OUT=$WORK/results.txt
PID=
BENCH_TAG=stream-bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export BROOK_PG_DIR=$WORK/pgdata BROOK_PG_PORT=$PGPORT
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    bash "$ROOT/scripts/pg.sh" stop >/dev/null 2>&1
    cleanup_work
}
trap cleanup EXIT

[ -x "$BROOKD" ] && [ -x "$BROOK" ] || { log "build $BUILD first"; exit 1; }
start_brookd
bash "$ROOT/scripts/pg.sh" start >/dev/null || { log "PostgreSQL did not start"; exit 1; }
PSQL() { bash "$ROOT/scripts/pg.sh" psql -q -v ON_ERROR_STOP=1 "$@"; }
CONNINFO="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"

# The input: N clicks over 64 users, users mapped to partitions by user % 4, event times
# 100 ms apart per partition.
"$BROOK" topic create clicks --partitions 4 --bootstrap "$B" >/dev/null
for p in 0 1 2 3; do
    awk -v n="$N" -v p="$p" 'BEGIN { for (i = p; i < n; i += 4) {
        u = (i * 7) % 16 * 4 + p
        printf "{\"user\":\"u%d\",\"ts\":%d,\"action\":\"%s\",\"n\":%d}\n", u, 1700000000000 + i * 25, (i % 5 ? "click" : "view"), i % 10 } }' |
        "$BROOK" produce --topic clicks --partition "$p" --bootstrap "$B" >/dev/null ||
        log "loading partition $p failed"
done
log "loaded $N records"

# pipeline NAME GUARANTEE KIND: a pipeline file. KIND map: filter + project to a topic;
# window: per-user counts per minute to a topic and upserted into PostgreSQL; rows: every
# click as a row inserted into PostgreSQL.
pipeline() {
    local f=$WORK/$1.conf
    {
        echo "pipeline.name=$1"
        echo "source.topic=clicks"
        echo "processing.guarantee=$2"
        echo "commit.interval.ms=100"
        echo 'op.1=filter action == "click"'
        case $3 in
        map)
            echo 'op.2=project user, ts, n2 = n * 2'
            echo "sink.topic=$1-out" ;;
        window)
            echo 'op.2=key_by user'
            echo 'op.3=window tumbling 1m time ts'
            echo 'op.4=aggregate count, sum n'
            echo "sink.topic=$1-out"
            echo "sink.postgres=$CONNINFO"
            echo "sink.postgres.table=counts_$2"
            echo "sink.postgres.columns=key,window_start,window_end,count,sum"
            echo "sink.postgres.key=key,window_start" ;;
        rows)
            echo 'op.2=project user, ts, n'
            echo "sink.postgres=$CONNINFO"
            echo "sink.postgres.table=rows_$2"
            echo "sink.postgres.columns=user,ts,n" ;;
        esac
    } >"$f"
    echo "$f"
}

# measure NAME GUARANTEE KIND: runs the pipeline over the whole input REPS times (a fresh
# group, tables emptied, each time); a RESULT line with the median.
REPS=${BENCH_STREAM_REPS:-3}
measure() {
    local name=$1 g=$2 kind=$3 conf line rps all=() i
    for i in $(seq 1 "$REPS"); do
        conf=$(pipeline "$name-$i" "$g" "$kind")
        PSQL -c "TRUNCATE counts_$g, rows_$g" >/dev/null
        log "brook run $name-$i ($g, $kind)"
        line=$(timeout 600 "$BROOK" run "$conf" --bootstrap "$B" --exit-when-idle 3000 \
            --progress-ms 0 2>&1 | tee -a "$WORK/run.log" | grep 'records/s' | tail -1)
        rps=$(sed -n 's/.*: \([0-9]*\) records\/s.*/\1/p' <<<"$line")
        [ -n "$rps" ] && all+=("$rps")
    done
    rps=$(printf '%s\n' "${all[@]}" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
    echo "RESULT cmd=stream name=$name guarantee=$g kind=$kind records_per_s=${rps:-} runs=${all[*]}" >>"$OUT"
}

for g in at_least_once exactly_once; do
    PSQL -c "CREATE TABLE counts_$g (key text, window_start bigint, window_end bigint, count bigint, sum bigint, PRIMARY KEY (key, window_start))" >/dev/null
    PSQL -c "CREATE TABLE rows_$g (\"user\" text, ts bigint, n bigint)" >/dev/null
done
for kind in map window rows; do
    for g in at_least_once exactly_once; do
        measure "${kind:0:1}-${g//_/-}" "$g" "$kind"
    done
done
# End-to-end latency at commit.interval.ms=100: input at a steady rate, the output read back
# read_committed (bench/stream_latency.py); median of the two guarantees' runs each.
LAT_RATE=${BENCH_STREAM_LAT_RATE:-2000}
LAT_SECONDS=${BENCH_STREAM_LAT_SECONDS:-10}
for g in at_least_once exactly_once; do
    log "latency $g at $LAT_RATE records/s for $LAT_SECONDS s"
    /usr/bin/python3 "$ROOT/bench/stream_latency.py" "$BROOK" "$B" "$WORK" "$g" "$LAT_RATE" \
        "$LAT_SECONDS" 2>>"$WORK/run.log" | grep '^RESULT' >>"$OUT" || log "latency $g failed"
done
# Plain batched INSERTs of the same rows (1000 per statement, one transaction per 10
# statements), through psql: the PostgreSQL sink's yardstick.
PSQL -c "CREATE TABLE rows_plain (\"user\" text, ts bigint, n bigint)" >/dev/null
awk -v n="$N" 'BEGIN { k = 0
    for (i = 0; i < n; i++) { if (i % 5 == 0) continue
        if (k % 1000 == 0) { if (k % 10000 == 0) { if (k) print "COMMIT;"; print "BEGIN;" }
                             printf "INSERT INTO rows_plain VALUES " } else printf ","
        printf "(\x27u%d\x27,%d,%d)", (i * 7) % 64, 1700000000000 + i * 25, i % 10
        k++; if (k % 1000 == 0) print ";" }
    if (k % 1000) print ";"; print "COMMIT;" }' >"$WORK/plain.sql"
T0=$(date +%s%N)
PSQL -f "$WORK/plain.sql" >/dev/null || log "plain inserts failed"
T1=$(date +%s%N)
PLAIN=$(awk -v n="$N" -v t=$((T1 - T0)) 'BEGIN { printf "%.0f", (n - n / 5) * 1e9 / t }')
echo "RESULT cmd=plain rows_per_s=$PLAIN" >>"$OUT"
ROWS_EOS=$(PSQL -At -c "SELECT count(*) FROM rows_exactly_once" 2>/dev/null)
RAW=$(grep '^RESULT cmd=\(stream\|latency\)' "$OUT" | sed 's/^RESULT cmd=stream //')

field() { # field FIELD KEY=VALUE...: first RESULT line with all KEY=VALUEs
    local want=$1 l
    shift
    while read -r l; do
        ok=1
        for kv in "$@"; do case " $l " in *" $kv "*) ;; *) ok=0 ;; esac; done
        [ "$ok" = 1 ] && { sed -n "s/.* $want=\([^ ]*\).*/\1/p" <<<"$l"; return; }
    done <"$OUT"
}
declare -A R
for kind in map window rows; do
    for g in at_least_once exactly_once; do
        R[$kind,$g]=$(field records_per_s kind=$kind guarantee=$g)
    done
done
for g in at_least_once exactly_once; do
    for q in p50_ms p99_ms max_ms records; do
        R[lat,$g,$q]=$(grep "^RESULT cmd=latency guarantee=$g " "$OUT" | sed -n "s/.* $q=\([^ ]*\).*/\1/p")
    done
done
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.0f", 100 * a / b; else print "n/a" }'; }
MAPR=$(pct "${R[map,exactly_once]}" "${R[map,at_least_once]}")
WINR=$(pct "${R[window,exactly_once]}" "${R[window,at_least_once]}")
PGR=$(pct "${R[rows,exactly_once]}" "$PLAIN")

SECTION=$WORK/section.md
cat >"$SECTION" <<EOF2
<!-- stream-bench:begin -->
## Stream processing (\`bench/stream.sh\`)

Command: \`BUILD=build bash bench/stream.sh\` (also run by \`bench/run.sh\`).

\`brook run\` over $N JSON records in 4 partitions (one task each), \`commit.interval.ms=100\`,
brookd with \`log.flush.mode=sync\` and PostgreSQL $(bash "$ROOT/scripts/pg.sh" psql -At -c 'SHOW server_version' 2>/dev/null) (fsync on) on the same 2 cores,
run $(date -u +%Y-%m-%dT%H:%MZ). Throughput is \`brook run\`'s own figure: input records
from the first one read to the last commit. Exactly-once: every interval is a broker
transaction with its input offsets (and a PostgreSQL PREPARE / COMMIT PREPARED when it
wrote rows); at-least-once: outputs flushed, PostgreSQL committed, then offsets committed.

| pipeline | at-least-once records/s | exactly-once records/s | exactly-once / at-least-once |
|---|---|---|---|
| filter + project → topic | ${R[map,at_least_once]:-n/a} | ${R[map,exactly_once]:-n/a} | ${MAPR}% |
| per-user counts per minute → topic + PostgreSQL upsert | ${R[window,at_least_once]:-n/a} | ${R[window,exactly_once]:-n/a} | ${WINR}% |
| every click → a PostgreSQL row | ${R[rows,at_least_once]:-n/a} | ${R[rows,exactly_once]:-n/a} | |

| target | measured | verdict |
|---|---|---|
| exactly-once throughput ≥ 90% of at-least-once (filter + project) | ${MAPR}% | $(verdict "$MAPR" 90 ge) |
| exactly-once throughput ≥ 90% of at-least-once (windowed, PostgreSQL) | ${WINR}% | $(verdict "$WINR" 90 ge) |

PostgreSQL sink against plain batched INSERTs of the same rows (psql, 1000 rows per
statement, 10 statements per transaction): ${PLAIN:-n/a} rows/s plain; the exactly-once sink
${R[rows,exactly_once]:-n/a} input records/s (${ROWS_EOS:-n/a} rows written, one statement per row, pipelined (libpq pipeline mode), inside each interval's
prepared transaction): ${PGR}% of plain.

End-to-end latency (\`bench/stream_latency.py\`): the filter + project pipeline at
\`commit.interval.ms=100\`, $LAT_RATE input records/s for $LAT_SECONDS s over 4 partitions, its output read
by a read_committed consumer; latency = when an output is read minus the input record's
timestamp (the pipeline keeps it), one clock. Exactly-once output becomes visible only when
its interval's transaction commits, so it waits for the interval to end and for the commit
(offsets, markers) on top of at-least-once's flush.

| guarantee | outputs read | p50 ms | p99 ms | max ms |
|---|---|---|---|---|
| at-least-once | ${R[lat,at_least_once,records]:-n/a} | ${R[lat,at_least_once,p50_ms]:-n/a} | ${R[lat,at_least_once,p99_ms]:-n/a} | ${R[lat,at_least_once,max_ms]:-n/a} |
| exactly-once | ${R[lat,exactly_once,records]:-n/a} | ${R[lat,exactly_once,p50_ms]:-n/a} | ${R[lat,exactly_once,p99_ms]:-n/a} | ${R[lat,exactly_once,max_ms]:-n/a} |

Each throughput run is short (about a second), so single runs vary by ±20%; the runs:

\`\`\`
${RAW}
\`\`\`
<!-- stream-bench:end -->
EOF2
write_section stream-bench "stream processing"
log "done"
