#!/usr/bin/env bash
# Rollout smoke test: run examples/ansible/irsnap.yml against localhost (`-c local`) with
# ansible-core from PyPI in a venv under target/, then check what the controller received:
# the archive, its sidecar and the run summary, an archive that `irsnap verify` accepts, and
# nothing left behind in the remote work dir.
#
# Idempotent (the venv is reused). When ansible cannot be installed (no network, no venv
# module) it prints a loud SKIPPED and exits 0; a playbook or verification failure exits 1.
# Env: IRSNAP_BIN (binary to roll out; default: the static musl binary CI ships, from
#      scripts/build-static.sh; the host release or debug build when musl cannot be had),
#      IRSNAP_SMOKE_PROFILE (default triage), IRSNAP_SMOKE_DEADLINE (default 120s).
set -uo pipefail
cd "$(dirname "$0")/.."
# lib.sh defines its own skip/die; this script's own skip below replaces it.
source scripts/lib.sh

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
VENV=$TARGET_DIR/ansible-venv
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
  # What a responder would copy onto the hosts: the static binary (a no-op when CI's
  # build-static.sh step built it already).
  if out=$(scripts/build-static.sh linux 2>&1) && ! grep -q '^SKIPPED' <<<"$out"; then
    BIN=$TARGET_DIR/x86_64-unknown-linux-musl/release/irsnap
  else
    echo "$out" | tail -3 >&2
    for c in "$TARGET_DIR/release/irsnap" "$TARGET_DIR/debug/irsnap"; do
      if [ -x "$c" ]; then BIN=$c; break; fi
    done
  fi
fi
if [ -z "$BIN" ]; then
  cargo build --locked -q || fail "cargo build"
  BIN=$TARGET_DIR/debug/irsnap
fi
BIN=$(realpath "$BIN")
echo "rolling out $BIN"

# Everything of this run lives under the target dir (not /tmp, which the live collection walks).
WORK=$(mktemp -d "$TARGET_DIR/ansible-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/remote" "$WORK/controller" "$WORK/ansible-home"

# The "remote" is this machine: run modules with the venv's Python rather than whatever
# interpreter discovery finds (pyenv shims for absent versions fool it).
extra=(-e "ansible_python_interpreter=$(realpath "$VENV")/bin/python")
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
# The fleet table: one row per host, with the finding counts of its run summary.
fleet="$WORK/controller/fleet.tsv"
[ -s "$fleet" ] || fail "no fleet table at $fleet"
head -1 "$fleet" | grep -q "^host	critical	high	medium	status	archive" || fail "fleet.tsv header: $(head -1 "$fleet")"
grep -q "^localhost	[0-9]*	[0-9]*	[0-9]*	[a-z]*	.*\.zip$" "$fleet" || fail "no localhost row in fleet.tsv: $(cat "$fleet")"
echo "== fleet table"
cat "$fleet"

# Encrypted to a case key: the controller checks the SHA-256 without the secret key, and
# with it verifies every member.
if command -v age-keygen >/dev/null 2>&1; then
  echo "== encrypted rollout"
  age-keygen -o "$WORK/case-key.txt" 2>/dev/null || fail "age-keygen"
  recipient=$(grep -o 'age1[0-9a-z]*' "$WORK/case-key.txt" | head -1)
  mkdir -p "$WORK/controller-enc"
  playbook -e "irsnap_controller_dir=$WORK/controller-enc" -e "irsnap_remote_tmp=$WORK/remote" \
    -e irsnap_profile=volatile -e "{\"irsnap_encrypt_to\": [\"$recipient\"]}" >"$WORK/enc.log" 2>&1 ||
    { cat "$WORK/enc.log" >&2; fail "the encrypted rollout failed without the key on the controller"; }
  enc=("$WORK/controller-enc/localhost"/*.zip.age)
  [ "${#enc[@]}" = 1 ] || fail "expected one .zip.age, found ${#enc[@]}"
  "$BIN" verify --identity "$WORK/case-key.txt" "${enc[0]}" >/dev/null || fail "verify --identity ${enc[0]}"
  mkdir -p "$WORK/controller-enc2"
  playbook -e "irsnap_controller_dir=$WORK/controller-enc2" -e "irsnap_remote_tmp=$WORK/remote" \
    -e irsnap_profile=volatile -e "{\"irsnap_encrypt_to\": [\"$recipient\"]}" \
    -e "irsnap_identity=$WORK/case-key.txt" >"$WORK/enc2.log" 2>&1 ||
    { cat "$WORK/enc2.log" >&2; fail "the encrypted rollout with the key on the controller failed"; }
else
  echo "ansible-smoke: SKIPPED the encrypted rollout: age-keygen is not installed" >&2
fi

# A noexec temp dir: the playbook finds out by running the binary once and moves to the
# fallback (needs a tmpfs mount, so root with CAP_SYS_ADMIN; skipped otherwise).
noexec="$WORK/noexec"
mkdir -p "$noexec" "$WORK/fallback"
if mount -t tmpfs -o noexec,size=64m tmpfs "$noexec" 2>/dev/null; then
  echo "== noexec remote tmp"
  mkdir -p "$WORK/controller-nx"
  playbook -e "irsnap_controller_dir=$WORK/controller-nx" -e "irsnap_remote_tmp=$noexec" \
    -e "irsnap_remote_tmp_fallback=$WORK/fallback" -e irsnap_profile=volatile >"$WORK/nx.log" 2>&1
  nx=$?
  umount "$noexec" 2>/dev/null || true
  [ $nx = 0 ] || { cat "$WORK/nx.log" >&2; fail "the rollout did not fall back from a noexec temp dir"; }
  nxa=("$WORK/controller-nx/localhost"/*.zip)
  [ "${#nxa[@]}" = 1 ] || fail "no archive from the fallback dir"
  left=("$WORK/fallback"/*)
  [ "${#left[@]}" = 0 ] || fail "left behind in the fallback dir: ${left[*]}"
else
  echo "ansible-smoke: SKIPPED the noexec case: cannot mount a tmpfs here" >&2
fi

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
