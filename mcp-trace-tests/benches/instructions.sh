#!/usr/bin/env bash
# Instructions per call of each overhead case, counted by callgrind: repeatable on a
# noisy machine, where times are not. Each case runs 1 000 calls (warm-up: the first
# call compiles the schema validator), then 1 000 + N; the difference over N is its
# cost per call, and the ratios are against the hand-built span (5), the same span
# through the global tracer and made current (5g), the hand-written recipe (6), and
# the floor (F: the span and SHA-256 of the canonical text already written; Fg, the
# floor through the global tracer and made current, as 5g is 5; Fw, Fg with the text
# written from the typed arguments and their shapes counted, by code written for
# exactly these three parameters).
# Under valgrind SHA-256 runs without the CPU's SHA extensions, so the hashing cases
# count more than they cost natively.
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
cases="bare no-sdk sampled-out-metrics-off sampled-out sampled-out-metrics global-span-sampled-out hand-built-span global-span floor floor-current floor-written recipe recording-metrics-off recording recording-metrics raw-scope session-scope session-sampled-out-metrics schema-file"
for case in $cases; do
    base=$(count "$case" 1000)
    full=$(count "$case" $((1000 + n)))
    per[$case]=$(( (full - base) / n ))
done
span=${per[hand-built-span]}
global=${per[global-span]}
recipe=${per[recipe]}
floor=${per[floor]}
written=${per[floor-written]}
printf '%-24s %12s %12s %12s %12s %12s %12s\n' case "instr./call" "vs span (5)" "vs 5g" "vs recipe (6)" "vs floor (F)" "vs Fw"
for case in $cases; do
    awk -v c="$case" -v i="${per[$case]}" -v s="$span" -v g="$global" -v r="$recipe" -v f="$floor" -v w="$written" \
        'BEGIN { printf "%-24s %12d %11.2fx %11.2fx %11.2fx %11.2fx %11.2fx\n", c, i, i / s, i / g, i / r, i / f, i / w }'
done
printf 'no SDK over bare: %d instructions per call\n' $(( ${per[no-sdk]} - ${per[bare]} ))
printf 'metric with the SDK over metrics off: +%d sampled out, +%d recording\n' \
    $(( ${per[sampled-out-metrics]} - ${per[sampled-out-metrics-off]} )) \
    $(( ${per[recording-metrics]} - ${per[recording-metrics-off]} ))

# The rmcp adapter (12): one `tools/call` through rmcp's tool router into the traced
# handler, bare and in `TracedServer`; the `-typed` cases call the tool whose arguments
# are also `Serialize`, whose handler records their signals itself when bare.
cargo build --quiet --release -p mcp-trace-tests --features rmcp --example adapter_cost
bin=target/release/examples/adapter_cost
for case in bare traced bare-typed traced-typed; do
    base=$(count "$case" 1000)
    full=$(count "$case" $((1000 + n)))
    per[$case]=$(( (full - base) / n ))
    printf '%-24s %12d\n' "adapter $case" "${per[$case]}"
done
printf 'the adapter adds: %d instructions per call (Deserialize-only arguments), %d beyond the handler'"'"'s own signals (Serialize arguments)\n' \
    $(( ${per[traced]} - ${per[bare]} )) $(( ${per[traced-typed]} - ${per[bare-typed]} ))
