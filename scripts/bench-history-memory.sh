#!/usr/bin/env bash
# Peak memory of `irsnap collect` on a hostile shell history: an offline root whose root user
# has a bash history of SIZE_MIB mebibytes of two-byte commands ("a\n" = millions of
# commands). Prints wall time, peak RSS and RSS / file size, median of RUNS runs.
#   scripts/bench-history-memory.sh [BINARY] [SIZE_MIB] [RUNS]
# Defaults: target/release/irsnap, 64 (the triage profile's max_file_size), 3.
set -euo pipefail
bin="${1:-target/release/irsnap}"
size_mib="${2:-64}"
runs="${3:-3}"
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/etc" "$work/root/root"
echo 'root:x:0:0:root:/root:/bin/bash' >"$work/root/etc/passwd"
# Not an empty line: empty lines are not commands.
head -c "$((size_mib * 1048576))" < <(yes a) >"$work/root/root/.bash_history"
printf 'name = "hist"\ndescription = "bench"\n[collectors.shell_history]\n' >"$work/p.toml"
rss=(); wall=()
for i in $(seq "$runs"); do
    rm -rf "$work/out"
    /usr/bin/time -f '%M %e' -o "$work/t" "$bin" collect --quiet --root "$work/root" \
        --profile "$work/p.toml" -o "$work/out" >/dev/null || true
    read -r kib secs <"$work/t"
    rss+=("$kib"); wall+=("$secs")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_rss="$(median "${rss[@]}")"; m_wall="$(median "${wall[@]}")"
awk -v r="$m_rss" -v w="$m_wall" -v s="$size_mib" -v n="$runs" 'BEGIN {
    printf "history %d MiB of 2-byte commands, %d runs: median wall %.2f s, peak RSS %.0f MiB (%.1fx the file)\n",
        s, n, w, r / 1024, r / 1024 / s }'
