#!/usr/bin/env bash
# Run the library's unit tests compiled for Windows (x86_64-pc-windows-gnu) under wine: the
# Windows code paths (live Windows source, Windows file metadata, path handling) and every
# parser test, on a Windows build. Slow to compile (a debug Windows build of every
# dependency, ~5 min on 2 cores); the tests themselves take under a minute.
# Skips loudly (exit 0) when wine, mingw or the rust target cannot be had.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

rust_target_need x86_64-pc-windows-gnu || skip "wine unit tests: rust target x86_64-pc-windows-gnu unavailable"
WORK="$(mktemp -d "$TARGET_DIR/irsnap-wine-tests.XXXXXX")"
trap 'wine_teardown; rm -rf "$WORK"' EXIT
wine_setup "$WORK"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE"
cargo test --target x86_64-pc-windows-gnu --lib "$@"
