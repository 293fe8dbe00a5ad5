#!/usr/bin/env bash
# bench/fork-cost.sh - lesson 18: what a process per client costs, measured.
# The same short connection (connect, greeting, one line, its answer, close;
# bench/conn-cost.c) N times in a row against lesson 11's echo server (one
# client at a time, no fork), lesson 18's fork-server (a process per client)
# and lesson 15's chat server (a thread per client; the line is /who). After
# each fork-server run it counts the server's children, its zombies and its
# open fds (/proc/PID/fd), before and after. bench/spawn-cost.c measures,
# in the same run, how long a new process and a new thread take to run. Writes
# bench/results/fork-cost.{tsv,md}; docs/18-fork.md quotes the table.
#
# usage: bench/fork-cost.sh [--build DIR] [-n N] [-r ROUNDS]
#   --build DIR   where make builds (default build)
#   -n N          connections per run (default 1000)
#   -r ROUNDS     runs per server, taken in turn (default 5); the table shows
#                 the median of each figure
# Every server listens on 127.0.0.1 port 0 and is stopped by its PID. It
# measures; it asserts nothing, and no test depends on it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=build n=1000 rounds=5
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        -n) n=$2; shift 2 ;;
        -r) rounds=$2; shift 2 ;;
        -h|--help) "$(dirname "$0")/../tools/lib/help" "$0"; exit 0 ;;
        *) echo "usage: bench/fork-cost.sh [--build DIR] [-n N] [-r ROUNDS]" >&2; exit 2 ;;
    esac
done
cd "$top"
l11=$build/solutions/11-echo/echo-server
l15=$build/solutions/15-chat-server/chat-server
l18=$build/solutions/18-fork/fork-server
make -s BUILD="$build" "$build/bench/conn-cost" "$build/bench/spawn-cost" "$l11" "$l15" "$l18"
out=bench/results
mkdir -p "$out"
work=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

# children PID: "CHILD STATE" per child process of PID (from /proc/*/stat).
children() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
        sed -nE 's/^([0-9]+) \(.*\) ([A-Za-z]) ([0-9]+) .*/\1 \2 \3/p' |
        awk -v p="$1" '$3 == p { print $1, $2 }'
}
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# start NAME: a fresh server on a kernel-chosen port; sets server_pid, port.
start() {
    local bin
    case "$1" in
        lesson11) bin=$l11 ;;
        lesson15) bin=$l15 ;;
        lesson18) bin=$l18 ;;
    esac
    # Its log goes to a file, never a pipe: a full pipe would block it.
    "$bin" 127.0.0.1 0 >"$work/$1.log" 2>&1 </dev/null &
    server_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -nE 's/^listening on .*:([0-9]+)$/\1/p' "$work/$1.log" | head -n 1)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "bench/fork-cost.sh: $1 did not start" >&2
    exit 1
}

stop() {
    kill -TERM "$server_pid" 2>/dev/null || true
    timeout 10 tail --pid="$server_pid" -f /dev/null || kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

load_before=$(cut -d ' ' -f 1 /proc/loadavg)
tsv=$out/fork-cost.tsv
printf 'server\tround\tconnections\tseconds\tper_second\tmean_us\tp50_us\tp99_us\tmax_us\tfds_before\tfds_after\tchildren_after\tzombies_after\n' >"$tsv"
for round in $(seq "$rounds"); do
    for server in lesson11 lesson18 lesson15; do
        line=ping
        [ "$server" = lesson15 ] && line=/who
        start "$server"
        before=$(fds "$server_pid")
        echo "round $round: $server, $n connections ..." >&2
        result=$(timeout 300 "$build/bench/conn-cost" -n "$n" -l "$line" 127.0.0.1 "$port")
        # A child ends a moment after its client closed: give the last few
        # up to 2 s to end and be reaped before counting.
        kids="" zombies=0 count=0
        for _ in $(seq 40); do
            kids=$(children "$server_pid")
            count=$(grep -c . <<<"$kids" || true)
            [ "$count" -eq 0 ] && break
            sleep 0.05
        done
        zombies=$(grep -c ' Z$' <<<"$kids" || true)
        after=$(fds "$server_pid")
        stop
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$round" "$result" "$before" "$after" "$count" "$zombies" >>"$tsv"
    done
done
echo "spawn-cost: new processes and threads ..." >&2
spawn=$("$build/bench/spawn-cost" -n 200)
load_after=$(cut -d ' ' -f 1 /proc/loadavg)

{
    echo "# What a process per client costs (lesson 18)"
    echo
    echo "Produced by \`bench/fork-cost.sh -n $n -r $rounds\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Machine: $(nproc) CPUs, $(uname -sr), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)."
    echo "Load (1-minute average) before: $load_before, after: $load_after."
    echo
    echo "Each run: $n connections one after another, each connect, read the greeting,"
    echo "send one line, read its answer, close (\`bench/conn-cost\`). Median over $rounds runs"
    echo "per server, taken in turn. Times in microseconds per connection."
    echo
    echo "| server | model | connections/s | mean (us) | p50 (us) | p99 (us) | children left | zombies | server fds before / after |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    awk -F'\t' 'NR > 1 {
        k = $1; c[k]++
        ps[k, c[k]] = $5; mean[k, c[k]] = $6; p50[k, c[k]] = $7; p99[k, c[k]] = $8
        kids[k] += $12; zomb[k] += $13; fb[k] = fb[k] (fb[k] == "" ? "" : ",") $10; fa[k] = fa[k] (fa[k] == "" ? "" : ",") $11
    }
    function med(a, k, m,   i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = a[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        split("lesson11 lesson18 lesson15", order, " ")
        model["lesson11"] = "11 echo-server: one client at a time"
        model["lesson18"] = "18 fork-server: a process per client"
        model["lesson15"] = "15 chat-server: a thread per client"
        for (o = 1; o <= 3; o++) {
            k = order[o]
            if (!(k in c)) continue
            printf "| %s | %s | %.0f | %.1f | %.1f | %.1f | %d | %d | %s / %s |\n", k, model[k],
                med(ps, k, c[k]), med(mean, k, c[k]), med(p50, k, c[k]), med(p99, k, c[k]), kids[k], zomb[k], fb[k], fa[k]
        }
    }' "$tsv"
    echo
    echo "\"children left\" and \"zombies\" add up every run's count after its last"
    echo "connection; \"server fds\" lists each run's count of /proc/PID/fd. Every run:"
    echo "[fork-cost.tsv](fork-cost.tsv)."
    echo
    echo "From just before \`fork()\` or \`pthread_create()\` until the new process or"
    echo "thread has run its first line (\`bench/spawn-cost -n 200\`, in the same run):"
    echo
    echo "| new | count | mean (us) | p50 (us) | p99 (us) |"
    echo "| --- | --- | --- | --- | --- |"
    while IFS=$'\t' read -r what count mean p50 p99; do
        echo "| $what | $count | $mean | $p50 | $p99 |"
    done <<<"$spawn"
} >"$out/fork-cost.md"
cat "$out/fork-cost.md" >&2
