#!/usr/bin/env bash
# Install the external tools the integration tests check irsnap's archives with. Idempotent;
# never fails the caller: a tool that cannot be installed is reported loudly and the tests
# that need it fall back (and print SKIPPED).
#   age, age-keygen  (Debian `age`): prove the standard age tool decrypts `.zip.age` archives
#   unzip            (Debian `unzip`): `unzip -t` accepts the archive
#   markdown-it-py   (PyPI): a CommonMark renderer for report.md
#   ssh-keygen       (Debian `openssh-client`): `ssh-keygen -Y verify` accepts irsnap's
#                    signatures (and irsnap accepts ssh-keygen's)
#   soffice          (Debian `libreoffice-calc-nogui`): exported CSV opened with `,` `;` and
#                    tab as separators holds no formula cell
set -u

# markdown-it-py (PyPI): renders report.md with a CommonMark parser, to prove attacker text in
# it stays text. A pip failure is reported and the check prints SKIPPED.
if ! python3 -c 'import markdown_it, linkify_it' >/dev/null 2>&1; then
  python3 -m pip install -q 'markdown-it-py[linkify]' >/tmp/irsnap-install-pip.log 2>&1 \
    || echo "install-test-deps: WARNING: pip install markdown-it-py failed (see /tmp/irsnap-install-pip.log)" >&2
fi

need=()
command -v age >/dev/null 2>&1 && command -v age-keygen >/dev/null 2>&1 || need+=(age)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-test-deps: age $(age --version 2>/dev/null), unzip, ssh-keygen, soffice present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: WARNING: no apt-get; not installing ${need[*]}: the tests that use them will print SKIPPED" >&2
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
    echo "install-test-deps: WARNING: not root and no sudo; not installing ${need[*]}: the tests that use them will print SKIPPED" >&2
    exit 0
  fi
fi

echo "install-test-deps: installing ${need[*]}"
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/irsnap-install-test-deps.log 2>&1; then
  echo "install-test-deps: WARNING: apt-get install ${need[*]} failed (see /tmp/irsnap-install-test-deps.log): the tests that use them will print SKIPPED" >&2
  exit 0
fi
echo "install-test-deps: age $(age --version 2>/dev/null) installed"
