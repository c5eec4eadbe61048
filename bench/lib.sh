# bench/lib.sh - shell plumbing shared by the benchmark scripts (bench/run.sh, txn.sh,
# cluster.sh, replication.sh): logging, CPU accounting on a shared machine, a quiet start, the
# floor probe, reading RESULT lines back, formatting figures and verdicts, the machine
# description, and writing a script's section of the benchmark document.
# Sourced, never run:  . "$ROOT/bench/lib.sh"  (bash; the scripts run with set -uo pipefail).
#
# What the functions read from the sourcing script, where they use it:
#   BENCH_TAG     log's prefix (cluster-bench, replication-bench, ...)
#   ROOT, BUILD   the source tree and the build directory (build_targets)
#   WORK          the work directory (scratch files; other_ticks leaves out its processes)
#   OUT           the results file RESULT lines are appended to and read back from
#   FLOOR         brook-floor-bench (floor_probe)
#   DOC, SECTION  the document and the section file (write_section)
#   VERDICT_NOTE  appended to every verdict when set (e.g. " (dry run, one node)")
# and `field CMD FIELD KEY=VALUE...` (one value: each script picks the first or the median),
# which floor_p50 and floor_row call.
# shellcheck shell=bash

# CPU ticks per second, for the /proc accounting below.
HZ=$(getconf CLK_TCK)

log() { printf '[%s %s] %s\n' "$BENCH_TAG" "$(date +%H:%M:%S)" "$*" >&2; }

# build_targets TARGET...: builds TARGETs in BUILD (configured RelWithDebInfo first when it has
# no cache yet); exits the script when that fails.
build_targets() {
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
    fi
    cmake --build "$BUILD" -j2 --target "$@" >/dev/null || { log "build failed in $BUILD"; exit 1; }
}

# start_brookd [--key=value...]: one brookd for a bench script (log.flush.mode=sync, a free
# loopback port, data in $WORK/data, log $WORK/brookd.log, small internal topics, no group
# join delay; the arguments come last and override these); sets PID and B (host:port). Exits
# the script when it does not start.
start_brookd() {
    "$BROOKD" --listeners=PLAINTEXT://127.0.0.1:0 --log.dirs="$WORK/data" --admin.listeners= \
        --transaction.state.log.num.partitions=8 --offsets.topic.num.partitions=8 \
        --group.initial.rebalance.delay.ms=0 --log.flush.mode=sync "$@" >"$WORK/brookd.log" 2>&1 &
    PID=$!
    local port=
    for _ in $(seq 1 200); do
        port=$(sed -n 's/.*brookd ready listener=[0-9.]*:\([0-9]*\).*/\1/p' "$WORK/brookd.log")
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { log "brookd did not start"; tail -5 "$WORK/brookd.log" >&2; exit 1; }
    B=127.0.0.1:$port
}

# bench_setup TAG: the start of a script that runs its own brookd (fetch.sh, latency.sh):
# BENCH_TAG, WORK (a new temp dir), OUT, SECTION, PID; on exit that brookd is stopped and
# WORK removed (cleanup_work). Exits when BROOKD or BROOK is not built.
bench_setup() {
    BENCH_TAG=$1
    WORK=$(mktemp -d "/tmp/brook-$1.XXXXXX")
    OUT=$WORK/results.txt
    SECTION=$WORK/section.md
    PID=
    trap bench_cleanup EXIT
    [ -x "$BROOKD" ] && [ -x "$BROOK" ] || { log "build $BUILD first"; exit 1; }
}
bench_cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    cleanup_work
}

# cleanup_work: removes WORK (when set) unless BENCH_KEEP=1 asks to keep its logs.
cleanup_work() {
    if [ -n "${WORK:-}" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    fi
}

# ---- measuring on a shared machine ------------------------------------------------------------
# cpu_now: the whole machine's CPU ticks so far, busy (all but idle and iowait) and idle.
cpu_now() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

# other_ticks [PATTERN]: CPU ticks used so far by user processes outside this script's process
# tree, their reaped children included (cutime, cstime), so that short-lived work such as a
# compiler run is counted through its parent. Kernel threads (kthreadd, pid 2, and its
# children) are left out: the kernel's writeback of our own data is not someone else's work.
# With PATTERN, so are the processes whose command line contains it, and their children
# (a sitting's cluster nodes, which `brook cluster up` detaches, name the work directory).
other_ticks() {
    local ex=
    if [ -n "${1:-}" ]; then
        ex=$(pgrep -f -- "$1" | paste -sd, -)
    fi
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v me="$$" -v ex="$ex" '
        BEGIN { n = split(ex, e, ","); for (i = 1; i <= n; i++) x[e[i]] = 1 }
        {
            pid = $1
            rest = $0
            sub(/^.*\) /, "", rest)      # drop "pid (comm) ", comm may hold spaces
            split(rest, f, " ")
            ppid[pid] = f[2]
            ticks[pid] = f[12] + f[13] + f[14] + f[15]
        }
        END {
            for (p in ppid) {
                q = p
                mine = 0
                for (hops = 0; hops < 64 && q > 1; hops++) {
                    if (q == me || q == 2 || (q in x)) { mine = 1; break }
                    q = ppid[q]
                }
                if (!mine && p != 2) total += ticks[p]
            }
            printf "%d\n", total
        }'
}

# measured CMD...: runs CMD (stdout to WORK/out.txt, stderr to WORK/tools.log), then appends
# " busy_pct=N other_cpu_s=X" (the whole machine's CPU busy share meanwhile, all cores; the
# CPU time other processes took, other_ticks "$WORK") to every RESULT line it printed, into
# OUT. Its "# " lines are kept in OUT too; its other lines are shown. Returns CMD's status.
measured() {
    local b0 i0 b1 i1 o0 o1 rc pct other
    read -r b0 i0 < <(cpu_now)
    o0=$(other_ticks "$WORK")
    "$@" >"$WORK/out.txt" 2>>"$WORK/tools.log"
    rc=$?
    o1=$(other_ticks "$WORK")
    read -r b1 i1 < <(cpu_now)
    pct=$(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) 'BEGIN { if (b + i > 0) printf "%.0f", 100 * b / (b + i); else print 0 }')
    other=$(awk -v o=$((o1 - o0)) -v hz="$HZ" 'BEGIN { printf "%.1f", (o < 0 ? 0 : o) / hz }')
    grep '^RESULT' "$WORK/out.txt" | sed "s/\$/ busy_pct=$pct other_cpu_s=$other/" >>"$OUT"
    grep -v '^RESULT' "$WORK/out.txt" | sed 's/^/  /' >&2
    grep '^# ' "$WORK/out.txt" >>"$OUT"
    [ "$rc" = 0 ] || { log "failed (exit $rc): $*"; tail -n 5 "$WORK/tools.log" | sed 's/^/  /' >&2; }
    return "$rc"
}

# quiet_start: other work would show in every figure, so this waits, bounded by
# BENCH_WAIT_IDLE_S (default 60 s), for the 1-minute load average to fall under 1; then sets
# LOAD_BEFORE (the three load averages).
quiet_start() {
    local wait_left=${BENCH_WAIT_IDLE_S:-60}
    while [ "$wait_left" -gt 0 ] && awk '{ exit !($1 >= 1.0) }' /proc/loadavg; do
        [ "$wait_left" = "${BENCH_WAIT_IDLE_S:-60}" ] && log "waiting for a quieter machine"
        sleep 5
        wait_left=$((wait_left - 5))
    done
    # shellcheck disable=SC2034 # read by the sourcing script
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
}

# floor_probe WHEN [ARG...]: the physical floor (brook-floor-bench, 2000 iterations in WORK's
# filesystem, ARGs added), its RESULT line tagged when=WHEN (before, after).
floor_probe() {
    local when=$1
    shift
    log "floor probe ($when)"
    sync
    measured timeout 120 "$FLOOR" --dir "$WORK" --iterations 2000 --seconds 30 "$@" &&
        sed -i "s/^RESULT cmd=floor iterations=/RESULT cmd=floor when=$when iterations=/" "$OUT"
}

# ---- the report -------------------------------------------------------------------------------
# fields CMD FIELD KEY=VALUE...: FIELD of every RESULT line of CMD in OUT matching all
# KEY=VALUE, one per line.
fields() {
    local cmd=$1 want=$2
    shift 2
    grep "^RESULT cmd=$cmd " "$OUT" | while read -r l; do
        ok=1
        for kv in "$@"; do case " $l " in *" $kv "*) ;; *) ok=0 ;; esac; done
        [ "$ok" = 1 ] && sed -n "s/.* $want=\([^ ]*\).*/\1/p" <<<"$l"
    done
}

# ms MICROSECONDS [DECIMALS]: in milliseconds (2 decimals by default); n/a when empty.
ms() { awk -v u="$1" -v d="${2:-2}" 'BEGIN { if (u == "") print "n/a"; else printf "%.*f", d, u / 1000 }'; }
# ratio A B: A / B to 2 decimals; n/a when A is empty or B is not positive.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# verdict X LIMIT le|ge|lt: whether X meets a target X <= LIMIT (le), X >= LIMIT (ge) or
# X < LIMIT (lt); "**not measured**" when X is empty or n/a. VERDICT_NOTE is appended.
verdict() {
    awk -v x="$1" -v lim="$2" -v dir="$3" -v note="${VERDICT_NOTE:-}" 'BEGIN {
        if (x == "n/a" || x == "") { print "**not measured**"; exit }
        ok = dir == "le" ? x <= lim : dir == "lt" ? x < lim : x >= lim
        print (ok ? "met" : "**not met**") note }'
}

# floor_p50: the lower p50 of the two floor probes, the one targets are held to (the stricter).
floor_p50() {
    printf '%s\n%s\n' "$(field floor p50_us when=before)" "$(field floor p50_us when=after)" |
        grep . | sort -n | head -1
}
# floor_row WHEN: the floor table's row of the probe WHEN: its sum p50 and p99, then the
# disk part's and the network part's p50 / p99.
floor_row() {
    local w=when=$1
    printf '| %s | %s ms | %s ms | %s / %s ms | %s / %s ms |\n' "$1" \
        "$(ms "$(field floor p50_us "$w")")" "$(ms "$(field floor p99_us "$w")")" \
        "$(ms "$(field floor disk_p50_us "$w")")" "$(ms "$(field floor disk_p99_us "$w")")" \
        "$(ms "$(field floor net_p50_us "$w")")" "$(ms "$(field floor net_p99_us "$w")")"
}

# machine_desc DIR: the CPU model, cores, RAM, kernel, and the filesystem (and device) DIR is
# on, over three lines, for a section's opening paragraph.
machine_desc() {
    printf '%s,\n%s cores, %s RAM,\nLinux %s, data on %s' \
        "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" "$(nproc)" \
        "$(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 + 0.5 }' /proc/meminfo)" \
        "$(uname -r)" "$(df -T "$1" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
}

# write_section NAME WHAT: puts SECTION (which opens with <!-- NAME:begin --> and closes with
# <!-- NAME:end -->) in place of those markers and what lies between them in DOC, or at its
# end when it has no such markers; prints SECTION when DOC is empty.
write_section() {
    local name=$1 what=$2
    if [ -z "$DOC" ]; then
        cat "$SECTION"
        return
    fi
    if [ -f "$DOC" ] && grep -q "<!-- $name:begin -->" "$DOC"; then
        awk -v sec="$SECTION" -v begin="<!-- $name:begin -->" -v end="<!-- $name:end -->" '
            index($0, begin) { while ((getline l < sec) > 0) print l; skip = 1; next }
            index($0, end) { skip = 0; next }
            !skip { print }' "$DOC" >"$WORK/doc.new" && cat "$WORK/doc.new" >"$DOC"
    else
        { echo; cat "$SECTION"; } >>"$DOC"
    fi
    log "wrote the $what section of $DOC"
}
