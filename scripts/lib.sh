# Shared helpers for scripts/*.sh (sourced, not run).
# CI runs on a fresh machine: whatever a script needs it installs itself, idempotently, and
# when something cannot be had it says "SKIPPED: ..." loudly and exits 0 rather than fail.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

skip() {
    printf '\n==== SKIPPED: %s ====\n\n' "$*"
    exit 0
}

die() {
    printf '\n==== FAILED: %s ====\n\n' "$*" >&2
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
