#!/usr/bin/env bash
# Instructions per call of each overhead case, counted by callgrind: repeatable on a
# noisy machine, where times are not. Each case runs N calls and once with none; the
# difference over N is its cost per call, and the ratios are against the hand-built span.
#
#   bash mcp-trace-tests/benches/instructions.sh [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-20000}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
cargo build --quiet --release -p mcp-trace-tests --example call_cost
bin=target/release/examples/call_cost
count() { # case calls -> instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 \
        | awk '/Collected/ { gsub(",", "", $4); print $4 }'
}
declare -A per
for case in bare no-sdk sampled-out hand-built-span recording raw-scope schema-file; do
    base=$(count "$case" 0)
    full=$(count "$case" "$n")
    per[$case]=$(( (full - base) / n ))
done
span=${per[hand-built-span]}
printf '%-18s %14s %12s\n' case "instr./call" "vs span (5)"
for case in bare no-sdk sampled-out hand-built-span recording raw-scope schema-file; do
    awk -v c="$case" -v i="${per[$case]}" -v s="$span" \
        'BEGIN { printf "%-18s %14d %11.2fx\n", c, i, i / s }'
done
printf 'no SDK over bare: %d instructions per call\n' $(( ${per[no-sdk]} - ${per[bare]} ))
