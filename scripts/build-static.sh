#!/usr/bin/env bash
# Build the static release binaries a responder copies onto a suspect host, and prove they
# are static:
#   linux   -> $TARGET_DIR/x86_64-unknown-linux-musl/release/irsnap   (`file`: statically linked)
#   windows -> $TARGET_DIR/x86_64-pc-windows-gnu/release/irsnap.exe  (imports only system DLLs)
# ($TARGET_DIR: CARGO_TARGET_DIR, else target/.)
#
# Usage: scripts/build-static.sh [linux|windows|all]   (default: all)
# Installs what it needs (musl-tools, gcc-mingw-w64-x86-64, rustup targets). When a package
# or target cannot be had, that target is SKIPPED loudly (exit 0); a build or check that
# fails is a failure (exit 1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

PROFILE=release
LINUX_TARGET=x86_64-unknown-linux-musl
WINDOWS_TARGET=x86_64-pc-windows-gnu

# DLLs every supported Windows (10/11, Server 2016+) ships in System32. Anything else in the
# import table (libgcc_s_seh-1.dll, libwinpthread-1.dll, a vcruntime) would have to be copied
# next to irsnap.exe, which is exactly what a responder must not need.
SYSTEM_DLLS='^(kernel32|ntdll|advapi32|bcrypt|bcryptprimitives|crypt32|iphlpapi|netapi32|ole32|oleaut32|pdh|powrprof|psapi|secur32|shell32|user32|userenv|version|ws2_32|msvcrt|ucrtbase|api-ms-win-[a-z0-9-]+)\.dll$'

size_of() { stat -c %s "$1"; }
human() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# Each target: install what it needs (or say SKIPPED), then, after the build, prove the
# binary is what a responder can copy onto a host.
prepare_linux() {
    apt_need musl-tools file || { echo "SKIPPED: static Linux build: musl-tools/file could not be installed"; return 1; }
    rust_target_need "$LINUX_TARGET" || { echo "SKIPPED: static Linux build: rust target $LINUX_TARGET unavailable"; return 1; }
}

check_linux() {
    local bin="$TARGET_DIR/$LINUX_TARGET/$PROFILE/irsnap"
    local desc
    desc="$(file -b "$bin")"
    echo "$bin: $desc"
    case "$desc" in
        *"statically linked"* | *"static-pie linked"*) ;;
        *) die "$bin is not static: $desc" ;;
    esac
    "$bin" --version >/dev/null || die "$bin does not run"
    echo "static linux binary OK: $bin $(size_of "$bin") bytes ($(human "$(size_of "$bin")"))"
}

prepare_windows() {
    apt_need gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 \
        || { echo "SKIPPED: Windows build: mingw-w64 could not be installed"; return 1; }
    rust_target_need "$WINDOWS_TARGET" || { echo "SKIPPED: Windows build: rust target $WINDOWS_TARGET unavailable"; return 1; }
}

check_windows() {
    local exe="$TARGET_DIR/$WINDOWS_TARGET/$PROFILE/irsnap.exe"
    local dlls
    dlls="$(x86_64-w64-mingw32-objdump -p "$exe" | awk '/DLL Name:/ { print $3 }' | sort -u)"
    echo "$exe imports:"
    printf '  %s\n' $dlls
    local bad
    bad="$(printf '%s\n' $dlls | tr 'A-Z' 'a-z' | grep -Ev "$SYSTEM_DLLS" || true)"
    [ -z "$bad" ] || die "$exe imports non-system DLLs: $bad"
    echo "static windows exe OK: $exe $(size_of "$exe") bytes ($(human "$(size_of "$exe")"))"
}

what="${1:-all}"
case "$what" in
    linux) want=(linux) ;;
    windows) want=(windows) ;;
    all) want=(linux windows) ;;
    *) echo "usage: $0 [linux|windows|all]" >&2; exit 64 ;;
esac

ready=(); args=()
for os in "${want[@]}"; do
    if "prepare_$os"; then
        ready+=("$os")
        case "$os" in linux) args+=(--target "$LINUX_TARGET") ;; windows) args+=(--target "$WINDOWS_TARGET") ;; esac
    fi
done
[ ${#ready[@]} -gt 0 ] || exit 0
# One cargo run for both targets: each ends in a long single-threaded LTO step, and cargo runs
# the two side by side instead of one after the other.
log "cargo build --profile $PROFILE ${args[*]}"
cargo build --locked --profile "$PROFILE" "${args[@]}"
for os in "${ready[@]}"; do "check_$os"; done
