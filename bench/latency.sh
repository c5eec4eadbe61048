#!/usr/bin/env bash
# bench/latency.sh - produce latency below saturation (#14 target: at half of peak
# throughput, p99 within 3x p50). For each log.flush.mode (sync, interval), each producer
# (librdkafka's, acks=all, linger.ms=5; the raw engine, latency from each request's due
# time) and 1 and 8 partitions of 1 KiB records: the peak over BENCH_LATENCY_SECONDS, then
# the producer paced at half that rate for twice as long. Then librdkafka's producer against
# its own mock cluster at the same rates, which shows the client's own tail. Every brookd
# cell runs BENCH_LATENCY_REPS times (3), each on a fresh brookd; the verdict is on the
# median run's p99/p50 and the table lists every run's ratio.
# bench/run.sh calls it; alone:
#   BUILD=build-bench bash bench/latency.sh [DOC]     (DOC empty: print the section)
# Bounded: about 3 minutes per repetition on an idle 2-core machine; its brookd is stopped
# on exit.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
DOC=${1-$ROOT/docs/benchmarks.md}
SECS=${BENCH_LATENCY_SECONDS:-5}
REPS=${BENCH_LATENCY_REPS:-3}
BROOKD=$BUILD/brookd
BROOK=$BUILD/brook
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_setup latency-bench

# run ENGINE MODE PARTS PHASE REP ARGS...: one produce run (librdkafka's producer with
# linger.ms=5, or the raw engine: 1000-record requests, 5 in flight); its RESULT line,
# tagged, to OUT. MODE "mock": librdkafka's in-process mock cluster.
run() {
    local engine=$1 mode=$2 parts=$3 phase=$4 rep=$5 line target
    shift 5
    target=(--bootstrap "$B")
    [ "$mode" = mock ] && target=(--mock)
    local eargs=(--linger-ms 5)
    [ "$engine" = raw ] && eargs=(--engine raw)
    line=$(timeout $((SECS * 2 + 90)) "$BROOK" bench produce "${target[@]}" "${eargs[@]}" \
        --topic "l-$parts" --partitions "$parts" --size 1024 --acks all "$@" \
        2>>"$WORK/tools.log" | grep '^RESULT') ||
        { log "failed: $engine $mode $parts $phase"; return 1; }
    echo "$line mode=$mode phase=$phase rep=$rep" >>"$OUT"
}
# value ENGINE MODE PARTS PHASE FIELD [REP]: a field of that run's RESULT line (repetition
# REP, else the first one found).
value() {
    grep "^RESULT cmd=produce " "$OUT" | grep " engine=$1 " | grep " partitions=$3 " |
        grep " mode=$2 " | grep " phase=$4 " | grep " rep=${6:-[0-9]*}\$" | head -1 |
        sed -n "s/.* $5=\([^ ]*\).*/\1/p"
}
# median_rep ENGINE MODE PARTS: "REP RATIOS", the repetition whose half-rate p99/p50 is the
# median of the cell's runs (the lower middle one of an even count), and every run's ratio
# in run order.
median_rep() {
    local r p50 p99 list=() all=()
    for r in $(seq 1 "$REPS"); do
        p50=$(value "$1" "$2" "$3" half p50_us "$r")
        p99=$(value "$1" "$2" "$3" half p99_us "$r")
        [ -n "$p50" ] || continue
        list+=("$(ratio "$p99" "$p50") $r")
        all+=("$(ratio "$p99" "$p50")")
    done
    [ ${#list[@]} -gt 0 ] || return 0
    printf '%s\n' "${list[@]}" | sort -g | sed -n "$(((${#list[@]} + 1) / 2))p" |
        awk -v a="${all[*]}" '{ gsub(/ /, ", ", a); print $2, a }'
}

quiet_start
for mode in sync interval; do
    : >"$WORK/rolls"
    for rep in $(seq 1 "$REPS"); do
        for engine in librdkafka raw; do
            rm -rf "$WORK/data" # a fresh broker per run: the disk holds one engine's runs
            start_brookd --log.flush.mode=$mode
            for parts in 1 8; do
                log "$engine, $mode, $parts partition(s), run $rep: peak for ${SECS}s"
                run "$engine" "$mode" "$parts" peak "$rep" --seconds "$SECS" || continue
                peak=$(value "$engine" "$mode" "$parts" peak msgs_per_s "$rep")
                half=$(awk -v p="$peak" 'BEGIN { printf "%d", p / 2 }')
                [ "$half" -gt 0 ] || continue
                # The paced run starts from a quiet disk, not behind what the peak left.
                sync
                sleep 1
                log "$engine, $mode, $parts partition(s), run $rep: $half msgs/s for $((SECS * 2))s"
                run "$engine" "$mode" "$parts" half "$rep" --seconds $((SECS * 2)) --rate "$half"
            done
            kill -TERM "$PID" 2>/dev/null
            wait "$PID" 2>/dev/null
            PID=
            # Segment rolls run on brookd's loop; it logs those that held it >= 20 ms.
            sed -n 's/.*rolling to segment [0-9]* took \([0-9]*\) ms.*/\1/p' \
                "$WORK/brookd.log" >>"$WORK/rolls"
        done
    done
    echo "RESULT cmd=rolls mode=$mode slow_rolls=$(grep -c . "$WORK/rolls") max_ms=$(
        sort -n "$WORK/rolls" | tail -1)" >>"$OUT"
done
for parts in 1 8; do
    m=$(median_rep librdkafka interval "$parts")
    rate=$(value librdkafka interval "$parts" half msgs_per_s "${m%% *}")
    [ -n "$rate" ] || continue
    log "librdkafka against the mock cluster, $parts partition(s): $rate msgs/s"
    run librdkafka mock "$parts" half 1 --seconds $((SECS * 2)) --rate "$rate"
done
rm -rf "$WORK/data"

rows() {
    local engine mode parts p50 p99 m r
    for engine in librdkafka raw; do
        for mode in sync interval; do
            for parts in 1 8; do
                m=$(median_rep "$engine" "$mode" "$parts")
                r=${m%% *}
                p50=$(value "$engine" "$mode" "$parts" half p50_us "$r")
                p99=$(value "$engine" "$mode" "$parts" half p99_us "$r")
                printf '| %s | %s | %s | %s | %s | %s ms | %s ms | %s | %s | %s |\n' "$engine" \
                    "$mode" "$parts" "$(value "$engine" "$mode" "$parts" peak msgs_per_s "$r")" \
                    "$(value "$engine" "$mode" "$parts" half msgs_per_s "$r")" "$(ms "$p50")" \
                    "$(ms "$p99")" "$(ratio "$p99" "$p50")" "${m#* }" \
                    "$(verdict "$(ratio "$p99" "$p50")" 3 le)"
            done
        done
    done
}

# The client's own tail: librdkafka's producer against its mock cluster (no broker, no
# I/O), paced at the rates brookd's interval-mode runs were paced at.
mock_rows() {
    local parts p50 p99
    for parts in 1 8; do
        p50=$(value librdkafka mock "$parts" half p50_us 1)
        p99=$(value librdkafka mock "$parts" half p99_us 1)
        printf '| %s | %s | %s ms | %s ms | %s |\n' "$parts" \
            "$(value librdkafka mock "$parts" half msgs_per_s 1)" "$(ms "$p50")" "$(ms "$p99")" \
            "$(ratio "$p99" "$p50")"
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
Two producers (\`brook bench produce\`, 1 KiB records, acks=all): librdkafka's (linger.ms=5),
whose latency runs from produce() to the delivery report (linger included), and the raw
engine (1000-record requests, 5 in flight per connection), whose latency runs from the time
each request was due by the pacing to its answer, so a late client counts against it. Each:
the peak over ${SECS} s, then (after \`sync\` and a second's pause, so it does not start behind
what the peak left to write) \`--rate\` at half of it for $((SECS * 2)) s, on a fresh brookd per
producer. Each cell ran $REPS times, each on a fresh brookd; the row shows the run whose
p99 / p50 is the median of the cell's runs, the verdict is on that median, and "runs" lists
every run's ratio in run order. Target (#14): p99 at half of peak within 3x its p50.

| producer | flush mode | partitions | peak msgs/s | paced msgs/s | p50 | p99 | p99 / p50 | runs | verdict |
|---|---|---|---|---|---|---|---|---|---|
$(rows)

The client's own tail: librdkafka's producer against librdkafka's mock cluster (in the
client's process, no I/O), paced at the rates of the interval-mode librdkafka rows above
(one run each):

| partitions | paced msgs/s | p50 | p99 | p99 / p50 |
|---|---|---|---|---|
$(mock_rows)

Segment rolls (every 1 GiB of a partition; they run on brookd's event loop, which serves
nothing meanwhile: the old segment's index files and the new segment's files; the old
segment's fdatasync, producer snapshot and leader epochs are the flush thread's) that took
20 ms or more, over both producers and partition counts: sync $(rolls sync), interval
$(rolls interval).

\`\`\`
$(cat "$OUT")
\`\`\`
<!-- latency-bench:end -->
EOF2

write_section latency-bench "latency"
