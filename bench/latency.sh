#!/usr/bin/env bash
# bench/latency.sh - produce latency below saturation (#14 target: at half of peak
# throughput, p99 within 3x p50). For each log.flush.mode (sync, interval) and 1 and 8
# partitions of 1 KiB records (librdkafka's producer, acks=all, linger.ms=5): the peak over
# BENCH_LATENCY_SECONDS, then the producer paced at half that rate for twice as long; the
# latency is from produce() to the delivery report. bench/run.sh calls it; alone:
#   BUILD=build-bench bash bench/latency.sh [DOC]     (DOC empty: print the section)
# Bounded: about 2 minutes on an idle 2-core machine; its brookd is stopped on exit.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
DOC=${1-$ROOT/docs/benchmarks.md}
SECS=${BENCH_LATENCY_SECONDS:-5}
BROOKD=$BUILD/brookd
BROOK=$BUILD/brook
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup latency-bench

# run MODE PARTS PHASE ARGS...: one librdkafka produce run; its RESULT line, tagged, to OUT.
run() {
    local mode=$1 parts=$2 phase=$3 line
    shift 3
    line=$(timeout $((SECS * 2 + 90)) "$BROOK" bench produce --bootstrap "$B" \
        --topic "l-$parts" --partitions "$parts" --size 1024 --acks all --linger-ms 5 "$@" \
        2>>"$WORK/tools.log" | grep '^RESULT') || { log "failed: $mode $parts $phase"; return 1; }
    echo "$line mode=$mode phase=$phase" >>"$OUT"
}
# value MODE PARTS PHASE FIELD: a field of that run's RESULT line.
value() {
    grep "^RESULT cmd=produce " "$OUT" | grep " partitions=$2 " | grep " mode=$1 " |
        grep " phase=$3" | head -1 | sed -n "s/.* $4=\([^ ]*\).*/\1/p"
}

quiet_start
for mode in sync interval; do
    rm -rf "$WORK/data"
    start_brookd --log.flush.mode=$mode
    for parts in 1 8; do
        log "$mode, $parts partition(s): peak for ${SECS}s"
        run "$mode" "$parts" peak --seconds "$SECS" || continue
        peak=$(value "$mode" "$parts" peak msgs_per_s)
        half=$(awk -v p="$peak" 'BEGIN { printf "%d", p / 2 }')
        [ "$half" -gt 0 ] || continue
        log "$mode, $parts partition(s): $half msgs/s for $((SECS * 2))s"
        run "$mode" "$parts" half --seconds $((SECS * 2)) --rate "$half"
    done
    kill -TERM "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
    # Segment rolls run on brookd's loop; it logs those that held it >= 20 ms.
    slow=$(sed -n 's/.*rolling to segment [0-9]* took \([0-9]*\) ms.*/\1/p' "$WORK/brookd.log")
    echo "RESULT cmd=rolls mode=$mode slow_rolls=$(printf '%s' "$slow" | grep -c .) max_ms=$(
        printf '%s\n' "$slow" | sort -n | tail -1)" >>"$OUT"
done

rows() {
    local mode parts p50 p99
    for mode in sync interval; do
        for parts in 1 8; do
            p50=$(value "$mode" "$parts" half p50_us)
            p99=$(value "$mode" "$parts" half p99_us)
            printf '| %s | %s | %s | %s | %s ms | %s ms | %s | %s |\n' "$mode" "$parts" \
                "$(value "$mode" "$parts" peak msgs_per_s)" \
                "$(value "$mode" "$parts" half msgs_per_s)" "$(ms "$p50")" "$(ms "$p99")" \
                "$(ratio "$p99" "$p50")" "$(verdict "$(ratio "$p99" "$p50")" 3 le)"
        done
    done
}

# rolls MODE: "N (longest M ms)" from that mode's RESULT cmd=rolls line.
rolls() {
    local line n m
    line=$(grep "^RESULT cmd=rolls mode=$1 " "$OUT")
    n=$(sed -n 's/.* slow_rolls=\([0-9]*\).*/\1/p' <<<"$line")
    m=$(sed -n 's/.* max_ms=\([0-9]*\).*/\1/p' <<<"$line")
    printf '%s (longest %s ms)' "${n:-?}" "${m:-0}"
}

cat >"$SECTION" <<EOF2
<!-- latency-bench:begin -->
## Produce latency at half of peak

\`BUILD=build-bench bash bench/latency.sh\` (also run by \`bash bench/run.sh\`), $(date -u +%Y-%m-%d),
$(machine_desc "$WORK"); load before: $LOAD_BEFORE.
librdkafka's producer (\`brook bench produce\`, 1 KiB records, acks=all, linger.ms=5): the
peak over ${SECS} s, then \`--rate\` at half of it for $((SECS * 2)) s; latency from produce() to
the delivery report (linger included). Target (#14): p99 at half of peak within 3x its p50.

| flush mode | partitions | peak msgs/s | paced msgs/s | p50 | p99 | p99 / p50 | verdict |
|---|---|---|---|---|---|---|---|
$(rows)

Segment rolls (every 1 GiB of a partition; they run on brookd's event loop, which serves
nothing meanwhile: the old segment's index files, the producer snapshot and leader epochs,
the new files; its fdatasync is the flush thread's) that took 20 ms or more, over both
partition counts: sync $(rolls sync), interval $(rolls interval).

\`\`\`
$(cat "$OUT")
\`\`\`
<!-- latency-bench:end -->
EOF2

write_section latency-bench "latency"
