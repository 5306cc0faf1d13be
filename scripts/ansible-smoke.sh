#!/usr/bin/env bash
# Rollout smoke test: run examples/ansible/irsnap.yml against localhost (`-c local`) with
# ansible-core from PyPI in a venv under target/, then check what the controller received:
# the archive, its sidecar and the run summary, an archive that `irsnap verify` accepts, and
# nothing left behind in the remote work dir.
#
# Idempotent (the venv is reused). When ansible cannot be installed (no network, no venv
# module) it prints a loud SKIPPED and exits 0; a playbook or verification failure exits 1.
# Env: IRSNAP_BIN (binary to roll out; default target/release/irsnap, else target/debug),
#      IRSNAP_SMOKE_PROFILE (default triage), IRSNAP_SMOKE_DEADLINE (default 120s).
set -uo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "=================================================================" >&2
  echo "== ansible-smoke: SKIPPED: $*" >&2
  echo "=================================================================" >&2
  exit 0
}
fail() {
  echo "ansible-smoke: FAILED: $*" >&2
  exit 1
}

t0=$(date +%s)
VENV=target/ansible-venv
if [ ! -x "$VENV/bin/ansible-playbook" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" >/dev/null 2>&1 || skip "python3 -m venv is not available"
  if ! "$VENV/bin/pip" install -q --disable-pip-version-check ansible-core >&2; then
    rm -rf "$VENV"
    skip "pip install ansible-core failed (offline?)"
  fi
fi
version=$("$VENV/bin/ansible-playbook" --version) || fail "ansible-playbook --version"
echo "${version%%$'\n'*}"
t1=$(date +%s)

BIN=${IRSNAP_BIN:-}
if [ -z "$BIN" ]; then
  for c in target/release/irsnap target/debug/irsnap; do
    if [ -x "$c" ]; then BIN=$c; break; fi
  done
fi
if [ -z "$BIN" ]; then
  cargo build --locked -q || fail "cargo build"
  BIN=target/debug/irsnap
fi
BIN=$(realpath "$BIN")
echo "rolling out $BIN"

# Everything of this run lives under target/ (not /tmp, which the live collection walks).
WORK=$(mktemp -d "$PWD/target/ansible-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/remote" "$WORK/controller" "$WORK/ansible-home"

# The "remote" is this machine: run modules with the venv's Python rather than whatever
# interpreter discovery finds (pyenv shims for absent versions fool it).
extra=(-e "ansible_python_interpreter=$PWD/$VENV/bin/python")
# Root without sudo (containers): `su` to root needs no password.
if ! command -v sudo >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    extra+=(-e ansible_become_method=su)
  else
    echo "ansible-smoke: no sudo and not root: collecting without become (partial run)" >&2
    extra+=(-e irsnap_become=false)
  fi
fi

playbook() {
  ANSIBLE_HOME="$WORK/ansible-home" \
  ANSIBLE_LOCAL_TEMP="$WORK/ansible-home/tmp" \
  ANSIBLE_REMOTE_TMP="$WORK/ansible-home/remote-tmp" \
  ANSIBLE_NOCOLOR=1 \
  ANSIBLE_RETRY_FILES_ENABLED=0 \
  "$VENV/bin/ansible-playbook" -i localhost, -c local examples/ansible/irsnap.yml \
    -e "irsnap_binary=$BIN" "${extra[@]}" "$@"
}

playbook \
  -e "irsnap_controller_dir=$WORK/controller" \
  -e "irsnap_remote_tmp=$WORK/remote" \
  -e "irsnap_profile=${IRSNAP_SMOKE_PROFILE:-triage}" \
  -e "irsnap_deadline=${IRSNAP_SMOKE_DEADLINE:-120s}" \
  -e irsnap_case=ansible-smoke \
  || fail "ansible-playbook"
t2=$(date +%s)

dir="$WORK/controller/localhost"
shopt -s nullglob
archives=("$dir"/*.zip)
[ "${#archives[@]}" = 1 ] || fail "expected one archive in $dir, found ${#archives[@]}"
archive=${archives[0]}
[ -s "$archive.sha256" ] || fail "no sidecar next to $archive"
[ -s "$archive.collect.json" ] || fail "no run summary next to $archive"
want=$(awk '{print $1; exit}' "$archive.sha256")
got=$(sha256sum "$archive" | awk '{print $1}')
[ "$want" = "$got" ] || fail "sidecar says $want, archive is $got"
"$BIN" verify "$archive" >/dev/null || fail "irsnap verify $archive"
python3 - "$archive" <<'PY' || fail "the manifest does not carry the case id"
import json, sys, zipfile
m = json.loads(zipfile.ZipFile(sys.argv[1]).read("manifest.json"))
sys.exit(0 if (m.get("case") or {}).get("case_id") == "ansible-smoke" else 1)
PY
left=("$WORK/remote"/*)
[ "${#left[@]}" = 0 ] || fail "left behind on the host: ${left[*]}"

# A host whose verification fails keeps its archive (for another fetch), never the binary.
echo "== failure path: verification refused on the controller"
mkdir -p "$WORK/controller2"
if playbook -e "irsnap_controller_dir=$WORK/controller2" -e "irsnap_remote_tmp=$WORK/remote" \
  -e irsnap_profile=volatile -e '{"irsnap_verify_args": ["--no-such-flag"]}' >"$WORK/fail.log" 2>&1; then
  fail "the playbook passed although verification failed"
fi
kept=("$WORK"/remote/irsnap.*/out/*.zip)
[ "${#kept[@]}" = 1 ] || { cat "$WORK/fail.log" >&2; fail "the archive was not kept on the host after a failed verification"; }
tools=("$WORK"/remote/irsnap.*/irsnap)
[ "${#tools[@]}" = 0 ] || fail "the binary was left on the host: ${tools[*]}"
t3=$(date +%s)

echo "ansible-smoke: OK: $(basename "$archive") verified; install $((t1 - t0))s, playbook $((t2 - t1))s, failure path $((t3 - t2))s"
