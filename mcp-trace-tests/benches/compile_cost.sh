#!/usr/bin/env bash
# Compile cost of #[traced_tool] against #[tracing::instrument], in one run.
#
# Generates two crates with the same 100 three-argument handlers, one annotated with
# `#[mcp_trace::traced_tool]`, the other with `#[tracing::instrument]`, builds their
# dependencies once, then times rebuilding only each crate (its own code: the macro
# expansion and what it generates), alternating A/B so the machine's noise hits both,
# and prints the median of each and their ratio. The same crates with no handler are
# timed too: what is left is cargo's and the dependencies' fixed cost per build (cargo
# checks the freshness of every dependency), and the difference is the annotation's
# own cost, printed per handler and as a ratio of its own. A build with nothing to
# rebuild is timed as well: cargo's freshness checks alone, which grow with the number
# of dependencies and not with the code; the rebuild less that is the compiler's time.
# Last, the `tracing` crates are built again with mcp-trace added to their dependencies
# (used, so it is loaded): both sides then have the same dependency graph, so cargo's
# checks, the metadata the compiler loads and the trait impls it searches are the same,
# and the ratio is the annotations' alone. The `tracing` crate's own slowdown from the
# graph is printed too: what the first ratio would be were the macro to generate what
# `tracing`'s does.
#
#   bash mcp-trace-tests/benches/compile_cost.sh [HANDLERS] [ROUNDS]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
handlers="${1:-100}"
rounds="${2:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Kept between runs, so only the first run builds the dependencies.
export CARGO_TARGET_DIR="$repo/target/compile-cost"

generate() { # name dependency-line attribute [handlers]
    local dir="$work/$1" count="${4:-$handlers}"
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$2

[workspace]
TOML
    cp "$repo/Cargo.lock" "$dir/Cargo.lock"
    {
        echo "#![allow(dead_code)]"
        # Every dependency used, so the compiler loads each.
        while read -r dependency; do
            echo "use $(echo "$dependency" | cut -d' ' -f1 | tr - _) as _;"
        done <<< "$2"
        for i in $(seq 1 "$count"); do
            cat <<RS
/// Search documents by query string ($i).
$3
pub fn tool_$i(query: String, limit: Option<u32>, filters: Vec<String>) -> usize {
    query.len() + limit.unwrap_or(10) as usize + filters.len() + $i
}
RS
        done
    } > "$dir/src/lib.rs"
}

mcp_trace_dep="mcp-trace = { path = \"$repo\" }"
tracing_dep='tracing = { version = "0.1", default-features = false, features = ["attributes", "std"] }'
generate traced "$mcp_trace_dep" "#[mcp_trace::traced_tool]"
generate instrumented "$tracing_dep" "#[tracing::instrument]"
generate instrumented_same "$tracing_dep"$'\n'"$mcp_trace_dep" "#[tracing::instrument]"
generate instrumented_same_empty "$tracing_dep"$'\n'"$mcp_trace_dep" "" 0
generate traced_empty "$mcp_trace_dep" "" 0
generate instrumented_empty "$tracing_dep" "" 0

build() { (cd "$work/$1" && cargo build --quiet 2>&1); }
echo "building dependencies once..." >&2
build traced
build instrumented
build instrumented_same
build instrumented_same_empty
build traced_empty
build instrumented_empty

time_one() { # crate -> seconds, rebuilding only the crate itself
    touch "$work/$1/src/lib.rs"
    local start end
    start=$(date +%s.%N)
    build "$1"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }' 
}

noop_one() { # crate -> seconds of a build with nothing to rebuild: cargo's own checks
    local start end
    start=$(date +%s.%N)
    build "$1"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

a=(); b=(); bs=(); a0=(); b0=(); bs0=(); an=(); bn=()
for _ in $(seq 1 "$rounds"); do
    a+=("$(time_one traced)")
    b+=("$(time_one instrumented)")
    bs+=("$(time_one instrumented_same)")
    a0+=("$(time_one traced_empty)")
    b0+=("$(time_one instrumented_empty)")
    bs0+=("$(time_one instrumented_same_empty)")
    an+=("$(noop_one traced)")
    bn+=("$(noop_one instrumented)")
done
ma=$(printf '%s\n' "${a[@]}" | median)
mb=$(printf '%s\n' "${b[@]}" | median)
mbs=$(printf '%s\n' "${bs[@]}" | median)
mbs0=$(printf '%s\n' "${bs0[@]}" | median)
ma0=$(printf '%s\n' "${a0[@]}" | median)
mb0=$(printf '%s\n' "${b0[@]}" | median)
man=$(printf '%s\n' "${an[@]}" | median)
mbn=$(printf '%s\n' "${bn[@]}" | median)
printf '%d handlers, %d rounds, median rebuild of the crate alone:\n' "$handlers" "$rounds"
printf '  #[mcp_trace::traced_tool]   %.2f s\n' "$ma"
printf '  #[tracing::instrument]      %.2f s\n' "$mb"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "  ratio                       %.2fx\n", a / b }'
printf 'the same crates with no handler (the fixed cost of a build):\n'
printf '  mcp-trace                   %.2f s\n' "$ma0"
printf '  tracing                     %.2f s\n' "$mb0"
awk -v a="$ma" -v b="$mb" -v a0="$ma0" -v b0="$mb0" -v n="$handlers" 'BEGIN {
    printf "per handler: %.2f ms against %.2f ms, %.2fx\n", (a - a0) * 1000 / n, (b - b0) * 1000 / n, (a - a0) / (b - b0)
}'
printf 'a build with nothing to rebuild (cargo checking every dependency is fresh):\n'
printf '  mcp-trace                   %.2f s\n' "$man"
printf '  tracing                     %.2f s\n' "$mbn"
awk -v a="$ma" -v b="$mb" -v an="$man" -v bn="$mbn" 'BEGIN {
    printf "the crate'"'"'s own compilation (rebuild less that): %.2f s against %.2f s, %.2fx\n", a - an, b - bn, (a - an) / (b - bn)
}'
printf 'the same dependencies (the tracing crate depending on mcp-trace too, as the traced one does):\n'
printf '  #[tracing::instrument]      %.2f s\n' "$mbs"
awk -v b="$mb" -v bs="$mbs" 'BEGIN {
    printf "    %.2fx the same handlers without mcp-trace: the first ratio, were the macro to\n", bs / b
    printf "    generate what tracing'"'"'s does (what the graph costs any annotation)\n"
}'
printf '  no handler                  %.2f s\n' "$mbs0"
awk -v a="$ma" -v b="$mbs" 'BEGIN { printf "  ratio                       %.2fx\n", a / b }'
awk -v a="$ma" -v b="$mbs" -v a0="$ma0" -v b0="$mbs0" -v n="$handlers" 'BEGIN {
    printf "  per handler: %.2f ms against %.2f ms, %.2fx\n", (a - a0) * 1000 / n, (b - b0) * 1000 / n, (a - a0) / (b - b0)
}'
