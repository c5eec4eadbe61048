#!/usr/bin/env bash
# bench/scale.sh - one node against many partitions and many connections (#14, scale):
#   partitions: for each count, a fresh brookd (log.flush.mode=interval) creates one topic of
#   that many partitions (time taken), the raw producer writes 100 B records with acks=all
#   to all of them for BENCH_SCALE_SECONDS (throughput, p50, p99 per batch), then brookd's
#   RSS and open descriptors; brookd restarts on that data (time to ready, idle RSS);
#   connections: for each count, that many idle client connections (each has asked for
#   ApiVersions) are held open while the raw producer writes to one partition (throughput,
#   p50, p99) and brookd's RSS is read.
# Alone:  BUILD=build-bench bash bench/scale.sh [DOC]   (DOC empty: print the section)
# Bounded: about 3 minutes on an idle 2-core machine; everything it starts is stopped on exit.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
DOC=${1-$ROOT/docs/benchmarks.md}
SECS=${BENCH_SCALE_SECONDS:-5}
PARTITIONS=${BENCH_SCALE_PARTITIONS:-"1 100 1000 4000 10000"}
CONNECTIONS=${BENCH_SCALE_CONNECTIONS:-"1 10 100 1000"}
BROOKD=$BUILD/brookd
BROOK=$BUILD/brook
WORK=$(mktemp -d /tmp/brook-scale-bench.XXXXXX)
OUT=$WORK/results.txt
SECTION=$WORK/section.md
PID=
HOLDER=
BENCH_TAG=scale-bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
    [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    cleanup_work
}
trap cleanup EXIT

[ -x "$BROOKD" ] && [ -x "$BROOK" ] || { log "build $BUILD first"; exit 1; }

stop_brookd() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
}
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$PID/status" 2>/dev/null; }
now_ms() { date +%s%3N; }
ready_ms() { sed -n 's/.*brookd ready listener=.* startup_ms=\([0-9.]*\).*/\1/p' "$WORK/brookd.log" | tail -1; }
# produce PARTS TOPIC: the raw producer's RESULT line (100 B, acks=all, 10 records a batch).
produce() {
    timeout $((SECS + 120)) "$BROOK" bench produce --bootstrap "$B" --engine raw --topic "$2" \
        --partitions "$1" --size 100 --seconds "$SECS" --acks all --batch-records 10 \
        --inflight 5 2>>"$WORK/tools.log" | grep '^RESULT' | head -1
}
# value LINE KEY
value() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

quiet_start
for p in $PARTITIONS; do
    rm -rf "$WORK/data"
    start_brookd --log.flush.mode=interval
    log "partitions=$p: create"
    t0=$(now_ms)
    err=$("$BROOK" topic create "s-$p" --partitions "$p" --bootstrap "$B" --timeout-ms 300000 2>&1 >/dev/null)
    ok=$?
    create_ms=$(($(now_ms) - t0))
    line=
    if [ "$ok" = 0 ]; then
        log "partitions=$p: produce for ${SECS}s"
        line=$(produce "$p" "s-$p")
    else
        log "partitions=$p: create failed: $err"
    fi
    fds=$(ls "/proc/$PID/fd" 2>/dev/null | wc -l)
    rss=$(rss_kib)
    stop_brookd
    start_brookd --log.flush.mode=interval
    sleep 0.5
    printf 'RESULT cmd=scale_partitions partitions=%s created=%s create_ms=%s msgs_per_s=%s p50_us=%s p99_us=%s rss_kib=%s fds=%s ready_ms=%s idle_rss_kib=%s error=%s\n' \
        "$p" "$([ "$ok" = 0 ] && echo 1 || echo 0)" "$create_ms" "$(value "$line" msgs_per_s)" \
        "$(value "$line" p50_us)" "$(value "$line" p99_us)" "$rss" "$fds" "$(ready_ms)" \
        "$(rss_kib)" "$(tr ' ' '_' <<<"${err:-none}" | cut -c1-120)" >>"$OUT"
    stop_brookd
done

cat >"$WORK/hold.py" <<'PYEOF'
import socket, struct, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
req = struct.pack(">hhi", 18, 0, 1) + struct.pack(">h", 4) + b"hold"
for _ in range(n):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(struct.pack(">i", len(req)) + req)
    socks.append(s)
for s in socks:
    (size,) = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))
    s.recv(size, socket.MSG_WAITALL)
print("held", flush=True)
time.sleep(3600)
PYEOF
rm -rf "$WORK/data"
start_brookd --log.flush.mode=interval
"$BROOK" topic create c-1 --partitions 1 --bootstrap "$B" >/dev/null 2>&1
for c in $CONNECTIONS; do
    log "connections=$c: hold, then produce for ${SECS}s"
    python3 "$WORK/hold.py" "${B%:*}" "${B##*:}" "$((c - 1))" >"$WORK/hold.out" 2>&1 &
    HOLDER=$!
    for _ in $(seq 1 600); do grep -q held "$WORK/hold.out" && break; sleep 0.05; done
    line=$(produce 1 c-1)
    printf 'RESULT cmd=scale_connections connections=%s msgs_per_s=%s p50_us=%s p99_us=%s rss_kib=%s\n' \
        "$c" "$(value "$line" msgs_per_s)" "$(value "$line" p50_us)" "$(value "$line" p99_us)" \
        "$(rss_kib)" >>"$OUT"
    kill "$HOLDER" 2>/dev/null
    wait "$HOLDER" 2>/dev/null
    HOLDER=
done
stop_brookd

part_rows() {
    local l
    grep '^RESULT cmd=scale_partitions ' "$OUT" | while read -r l; do
        printf '| %s | %s | %s ms | %s | %s / %s ms | %s MiB | %s | %s ms | %s MiB |\n' \
            "$(value "$l" partitions)" "$([ "$(value "$l" created)" = 1 ] && echo yes || value "$l" error | tr '_' ' ')" \
            "$(value "$l" create_ms)" "$(value "$l" msgs_per_s)" \
            "$(ms "$(value "$l" p50_us)" 1)" "$(ms "$(value "$l" p99_us)" 1)" \
            "$(awk -v k="$(value "$l" rss_kib)" 'BEGIN { printf "%.0f", k / 1024 }')" \
            "$(value "$l" fds)" "$(value "$l" ready_ms)" \
            "$(awk -v k="$(value "$l" idle_rss_kib)" 'BEGIN { printf "%.0f", k / 1024 }')"
    done
}
conn_rows() {
    local l
    grep '^RESULT cmd=scale_connections ' "$OUT" | while read -r l; do
        printf '| %s | %s | %s / %s ms | %s MiB |\n' "$(value "$l" connections)" \
            "$(value "$l" msgs_per_s)" "$(ms "$(value "$l" p50_us)" 1)" \
            "$(ms "$(value "$l" p99_us)" 1)" \
            "$(awk -v k="$(value "$l" rss_kib)" 'BEGIN { printf "%.0f", k / 1024 }')"
    done
}

cat >"$SECTION" <<EOF2
<!-- scale-bench:begin -->
## Scale on one node: partitions and connections

\`BUILD=build-bench bash bench/scale.sh\`, $(date -u +%Y-%m-%d), $(machine_desc "$WORK");
load before: $LOAD_BEFORE; open-file limit of this shell: $(ulimit -n) (hard $(ulimit -Hn)).
Partitions: a fresh brookd (log.flush.mode=interval) per row creates one topic, the raw
producer writes 100 B records with acks=all to every partition for ${SECS} s (10 records a
batch, 5 requests in flight; latency per batch), then brookd restarts on that data.

| partitions | created | create time | msgs/s | p50 / p99 | RSS loaded | open fds | ready after restart | RSS idle after restart |
|---|---|---|---|---|---|---|---|---|
$(part_rows)

Connections: that many client connections in all (the producer's plus idle ones that have
each been answered an ApiVersions) on one brookd while the raw producer writes to one
partition for ${SECS} s.

| connections | msgs/s | p50 / p99 | RSS |
|---|---|---|---|
$(conn_rows)

\`\`\`
$(cat "$OUT")
\`\`\`
<!-- scale-bench:end -->
EOF2

write_section scale-bench "scale"
