#!/usr/bin/env bash
# bench/fetch.sh - the fetch path (#14): consume throughput and brookd's CPU-seconds per GB
# with record data sent from the segment files by sendfile (fetch.sendfile.min.bytes=16384,
# the default) against copied through user space (fetch.sendfile.min.bytes=0): same data,
# same client (the raw engine's Fetch v11 loop, which reads records in place), alternating
# runs. bench/run.sh calls it; alone:  BUILD=build-bench bash bench/fetch.sh [DOC]
# It starts its own brookd (log.flush.mode=interval, a free loopback port, a temp data dir),
# fills three topics with the raw producer, then restarts brookd for each run; writes the
# section between <!-- fetch-bench:begin --> and <!-- fetch-bench:end --> of DOC (default
# docs/benchmarks.md; empty: print it). Bounded: about 2 minutes on an idle 2-core machine.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
DOC=${1-$ROOT/docs/benchmarks.md}
RUNS=${BENCH_FETCH_RUNS:-3}
REPS=${BENCH_FETCH_REPS:-4}
BROOKD=$BUILD/brookd
BROOK=$BUILD/brook
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup fetch-bench

# The cells: SIZE:PARTITIONS:RECORDS (about 1 GB, 1 GB and 0.3 GB of records).
CELLS="1024:1:1000000 1024:8:1000000 100:8:3000000"

brookd_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat" 2>/dev/null || echo 0; }
stop_brookd() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
}

quiet_start
start_brookd --log.flush.mode=interval
for cell in $CELLS; do
    IFS=: read -r size parts count <<<"$cell"
    log "fill f-$size-$parts: $count records of $size B"
    timeout 300 "$BROOK" bench produce --bootstrap "$B" --engine raw --batch-records 1000 \
        --inflight 5 --topic "f-$size-$parts" --partitions "$parts" --size "$size" \
        --count "$count" --acks all >>"$WORK/tools.log" 2>&1 || log "fill of f-$size-$parts failed"
done
stop_brookd
sync

for run in $(seq 1 "$RUNS"); do
    for mode in sendfile copy; do
        min=16384
        [ "$mode" = copy ] && min=0
        start_brookd --log.flush.mode=interval --fetch.sendfile.min.bytes=$min
        for cell in $CELLS; do
            IFS=: read -r size parts count <<<"$cell"
            log "run $run, $mode: consume f-$size-$parts $REPS times"
            for rep in $(seq 1 "$REPS"); do
                t0=$(brookd_ticks)
                line=$(timeout 120 "$BROOK" bench consume --bootstrap "$B" --engine raw \
                    --topic "f-$size-$parts" --count "$count" --seconds 60 \
                    2>>"$WORK/tools.log" | grep '^RESULT') || { log "consume failed"; continue; }
                echo "$line size=$size mode=$mode run=$run rep=$rep brookd_cpu_s=$(awk \
                    -v t=$(( $(brookd_ticks) - t0 )) -v hz="$HZ" \
                    'BEGIN { printf "%.2f", t / hz }')" >>"$OUT"
            done
        done
        stop_brookd
    done
done

# median CMD FIELD KEY=VALUE...: the median of FIELD over the matching RESULT lines.
median() {
    fields "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
# cpu_per_gb SIZE PARTS MODE: brookd CPU-seconds per GB of records read, over every run of
# the cell and mode (the sum of one over the sum of the other: a run is only tens of ticks).
cpu_per_gb() {
    grep "^RESULT cmd=consume " "$OUT" | grep " size=$1 " | grep " partitions=$2 " |
        grep " mode=$3 " | sed -n 's/.* bytes=\([0-9]*\).* brookd_cpu_s=\([0-9.]*\).*/\1 \2/p' |
        awk '{ b += $1; c += $2 } END { if (b > 0) printf "%.3f", c / (b / 1e9); else print "n/a" }'
}
rows() {
    local cell size parts count s c
    for cell in $CELLS; do
        IFS=: read -r size parts count <<<"$cell"
        s=$(median consume mb_per_s size="$size" partitions="$parts" mode=sendfile)
        c=$(median consume mb_per_s size="$size" partitions="$parts" mode=copy)
        printf '| %s B | %s | %s MB/s (%s msgs/s) | %s | %s MB/s (%s msgs/s) | %s | %s |\n' \
            "$size" "$parts" "${s:-n/a}" \
            "$(median consume msgs_per_s size="$size" partitions="$parts" mode=sendfile)" \
            "$(cpu_per_gb "$size" "$parts" sendfile)" "${c:-n/a}" \
            "$(median consume msgs_per_s size="$size" partitions="$parts" mode=copy)" \
            "$(cpu_per_gb "$size" "$parts" copy)" "$(ratio "$s" "$c")"
    done
}

cat >"$SECTION" <<EOF2
<!-- fetch-bench:begin -->
## Fetch path: sendfile against copying

\`BUILD=build-bench bash bench/fetch.sh\` (also run by \`bash bench/run.sh\`), $(date -u +%Y-%m-%d),
$(machine_desc "$WORK"); load before: $LOAD_BEFORE.
One brookd (log.flush.mode=interval) holds three topics filled by the raw producer; each
run restarts it with \`fetch.sendfile.min.bytes=16384\` (the default: a partition's answer of
16 KiB or more goes from the segment file to the socket by sendfile) or \`=0\` (every answer
read into memory and written), alternating, $RUNS runs each, and in each run reads every topic from
the start $REPS times with the raw engine's Fetch loop (\`brook bench consume --engine raw\`), which
counts records in place. Throughput: medians of the reads; the data is in the page cache in both modes. brookd's
CPU-seconds per GB of records read is its user + system time over all reads of the cell.

| records | partitions | sendfile | brookd CPU-s/GB | copy | brookd CPU-s/GB | throughput sendfile / copy |
|---|---|---|---|---|---|---|
$(rows)

\`\`\`
$(cat "$OUT")
\`\`\`
<!-- fetch-bench:end -->
EOF2

write_section fetch-bench "fetch path"
