#!/bin/sh
# Debian's Chromium for the console's browser test (test/console/console.test.ts). Idempotent: does
# nothing when /usr/bin/chromium is there already. Needs root (apt-get).
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
