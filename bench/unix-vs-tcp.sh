#!/usr/bin/env bash
# bench/unix-vs-tcp.sh - run the Unix-domain vs loopback TCP echo benchmark
# (bench/unix-vs-tcp.c) and write bench/results/unix-vs-tcp.{tsv,md}.
#
# usage: bench/unix-vs-tcp.sh [--build DIR] [-- unix-vs-tcp OPTIONS]
#   --build DIR   where make builds (default build); the program is DIR/bench/unix-vs-tcp
#   OPTIONS       passed on, e.g. -- -n 50000 -s 64 -m 512 -r 7
# It runs the benchmark twice: as the scheduler likes (client and server
# may sit on different CPUs) and, when taskset(1) is there, with everything
# pinned to CPU 0 (each round trip is then two context switches on one CPU,
# never a wakeup of another CPU). Lesson 22's chapter (docs/22-unix.md)
# quotes results/unix-vs-tcp.md. It measures; it asserts nothing, and no
# test depends on it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=build
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) "$(dirname "$0")/../tools/lib/help" "$0"; exit 0 ;;
        *) echo "usage: bench/unix-vs-tcp.sh [--build DIR] [-- OPTIONS]" >&2; exit 2 ;;
    esac
done
cd "$top"
make -s BUILD="$build" "$build/bench/unix-vs-tcp"
out=bench/results
mkdir -p "$out"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-n 20000 -s 64 -m 256 -r 5)

# medians TSV: the median of each figure over the runs, per transport.
medians() {
    awk -F'\t' 'NR > 1 && $1 != "transport" {
        k = $1; n[k]++
        p50[k, n[k]] = $5; p99[k, n[k]] = $6; mean[k, n[k]] = $7; tput[k, n[k]] = $9
        size = $3; rounds = $4; mib = $8
    }
    function med(a, k, m,   i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = a[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        for (k in n) printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", k, size, rounds,
            med(p50, k, n[k]), med(p99, k, n[k]), med(mean, k, n[k]), mib, med(tput, k, n[k]), n[k]
    }' "$1" | sort
}

table() {  # table TSV: the medians as a Markdown table
    echo "| transport | message | round trips | p50 (us) | p99 (us) | mean (us) | bulk | throughput (MiB/s) | runs |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    while IFS=$'\t' read -r k size rounds p50 p99 mean mib tput runs; do
        echo "| $k | $size B | $rounds | $p50 | $p99 | $mean | $mib MiB | $tput | $runs |"
    done < <(medians "$1")
}

load_before=$(cut -d ' ' -f 1 /proc/loadavg 2>/dev/null || echo '?')
echo "running $build/bench/unix-vs-tcp ${args[*]} ..." >&2
"$build/bench/unix-vs-tcp" "${args[@]}" | tee "$out/unix-vs-tcp.tsv"
pinned=no
if command -v taskset >/dev/null; then
    echo "running taskset -c 0 $build/bench/unix-vs-tcp ${args[*]} ..." >&2
    taskset -c 0 "$build/bench/unix-vs-tcp" "${args[@]}" | tee "$out/unix-vs-tcp-pinned.tsv"
    pinned=yes
fi
load_after=$(cut -d ' ' -f 1 /proc/loadavg 2>/dev/null || echo '?')

{
    echo "# Unix-domain vs loopback TCP: the same echo, measured"
    echo
    echo "Produced by \`bench/unix-vs-tcp.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'):"
    echo "\`unix-vs-tcp ${args[*]}\`. Machine: $(nproc) CPUs, $(uname -sr),"
    echo "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)."
    echo "Load (1-minute average) before: $load_before, after: $load_after."
    echo
    echo "Median over the runs of each figure. Latency: one round trip of a small"
    echo "message (write, then read the echo), in microseconds. Throughput: MiB echoed"
    echo "per second, writing and reading at once (each byte crosses the socket twice)."
    echo
    echo "## As the scheduler places them"
    echo
    table "$out/unix-vs-tcp.tsv"
    echo
    echo "Every run: [unix-vs-tcp.tsv](unix-vs-tcp.tsv)."
    if [ "$pinned" = yes ]; then
        echo
        echo "## Everything on CPU 0 (taskset -c 0)"
        echo
        table "$out/unix-vs-tcp-pinned.tsv"
        echo
        echo "Every run: [unix-vs-tcp-pinned.tsv](unix-vs-tcp-pinned.tsv)."
    fi
} >"$out/unix-vs-tcp.md"
echo >&2
cat "$out/unix-vs-tcp.md" >&2
