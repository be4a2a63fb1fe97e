#!/usr/bin/env bash
# Set up disclose on a fresh Debian/Ubuntu machine and run it.
#   bash deploy/bootstrap.sh demo   install, then build the demo workspace and print how to open it
#   bash deploy/bootstrap.sh test   install everything the tests need, then run the test suite
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-demo}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

runtime_apt="python3 python3-venv python3-pip tesseract-ocr tesseract-ocr-eng poppler-utils fonts-dejavu-core"
test_apt="dovecot-imapd samba smbclient chromium openssl"

case "$job" in
  demo) apt_packages="$runtime_apt"; extras="" ;;
  test) apt_packages="$runtime_apt $test_apt"; extras="[test]" ;;
  *) echo "usage: bash deploy/bootstrap.sh demo|test" >&2; exit 2 ;;
esac

missing=""
for package in $apt_packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
# The browser tests' axe-core comes from npm; any Node.js with npm will do (Debian's, or one already installed).
if [ "$job" = test ] && ! command -v npm >/dev/null 2>&1; then
  missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
  $sudo apt-get update -qq
  # Debian's service scripts must not start Dovecot/Samba on their standard ports: the tests start their own.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".$extras"

if [ "$job" = demo ]; then
  exec .venv/bin/disclose --home ./disclose-data demo
fi

if [ -f tests/browser/package.json ]; then
  (cd tests/browser && npm ci --silent --no-audit --no-fund >/dev/null)
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider
