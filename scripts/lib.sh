# Shared helpers for scripts/*.sh (sourced, not run).
# CI runs on a fresh machine: whatever a script needs it installs itself, idempotently, and
# when something cannot be had it says "SKIPPED: ..." loudly and exits 0 rather than fail.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where cargo puts builds: CARGO_TARGET_DIR when set (relative to the repo, as cargo reads
# it), else the repo's target/. Scratch directories go under it too, never under /tmp: the
# live collections in the tests and smoke runs walk /tmp and would collect them.
case "${CARGO_TARGET_DIR:-}" in
    "") TARGET_DIR="$REPO_ROOT/target" ;;
    /*) TARGET_DIR="$CARGO_TARGET_DIR" ;;
    *) TARGET_DIR="$REPO_ROOT/$CARGO_TARGET_DIR" ;;
esac
mkdir -p "$TARGET_DIR"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

skip() {
    printf '\n====\nSKIPPED: %s\n====\n\n' "$*"
    exit 0
}

die() {
    printf '\n====\nFAILED: %s\n====\n\n' "$*" >&2
    exit 1
}

_APT_UPDATED=0
# apt_need PKG... : install the Debian packages that are missing. Returns non-zero when they
# cannot be installed (no apt, no root, package unknown); the caller decides whether to skip.
apt_need() {
    local missing=()
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { log "no apt-get to install ${missing[*]}"; return 1; }
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { log "not root and no sudo to install ${missing[*]}"; return 1; }
        sudo=(sudo -n)
    fi
    log "installing ${missing[*]}"
    if [ "$_APT_UPDATED" -eq 0 ]; then
        "${sudo[@]}" apt-get update -qq >&2 || log "apt-get update failed; trying the cached lists"
        _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2
}

# rust_target_need TRIPLE : add a rustup target when missing.
rust_target_need() {
    command -v rustup >/dev/null || { log "no rustup: cannot add target $1"; return 1; }
    rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
    log "adding rust target $1"
    rustup target add "$1" >&2
}

# wine_setup WORKDIR : install wine and mingw, create a throw-away WINEPREFIX under WORKDIR
# with the test-only bcryptprimitives.dll stand-in (ci/wine-shim/), and export WINE,
# WINEPREFIX, WINEDEBUG, WINEDLLOVERRIDES. Skips (exit 0) when wine cannot be had.
wine_setup() {
    local work="$1"
    apt_need wine64 wine || skip "wine tests: wine64 could not be installed"
    apt_need gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 \
        || skip "wine tests: mingw-w64 could not be installed"
    WINE="$(command -v wine64 || command -v wine || true)"
    [ -x /usr/lib/wine/wine64 ] && WINE=/usr/lib/wine/wine64
    [ -n "$WINE" ] || skip "wine tests: no wine binary after install"
    export WINE WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEARCH=win64
    # wineboot links the profile's Desktop, Documents, Downloads... to folders in $HOME; with
    # the real home (~/.cargo, ~/.rustup: 200k files) a live triage under wine spends minutes
    # walking "C:\Users\<me>\Downloads". An empty home keeps the smoke test about irsnap.
    # cargo and rustup keep finding their toolchains through CARGO_HOME/RUSTUP_HOME.
    export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
    export HOME="$work/home"
    mkdir -p "$HOME"
    # No Mono/Gecko download prompts: irsnap needs neither.
    export WINEDLLOVERRIDES="mscoree,mshtml="

    log "building the test-only bcryptprimitives.dll stand-in"
    x86_64-w64-mingw32-gcc -O2 -shared -s -static-libgcc -o "$work/bcryptprimitives.dll" \
        "$REPO_ROOT/ci/wine-shim/bcryptprimitives.c" "$REPO_ROOT/ci/wine-shim/bcryptprimitives.def" \
        -ladvapi32 || die "could not build the wine shim"

    log "creating wine prefix $WINEPREFIX (wineboot; slow the first time)"
    if ! timeout 600 "$WINE" wineboot -i >"$work/wineboot.log" 2>&1; then
        tail -20 "$work/wineboot.log" >&2
        skip "wine tests: wineboot could not create a prefix"
    fi
    wineserver -w || true
    local sys32="$WINEPREFIX/drive_c/windows/system32"
    [ -d "$sys32" ] || skip "wine tests: prefix has no system32"
    # Wine 9+ has its own bcryptprimitives; only fill the gap, never replace it.
    if [ ! -e "$sys32/bcryptprimitives.dll" ]; then
        cp "$work/bcryptprimitives.dll" "$sys32/"
    else
        log "wine already has bcryptprimitives.dll; shim not needed"
    fi
    WINE_READY=1
}

# wine_teardown : stop the wineserver of the prefix wine_setup made (and no other).
wine_teardown() {
    if [ "${WINE_READY:-0}" = 1 ]; then wineserver -k >/dev/null 2>&1 || true; fi
}
