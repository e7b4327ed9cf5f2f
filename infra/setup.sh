#!/usr/bin/env bash
# One idempotent set-up for a fresh machine, run by `npm test` and `npm run demo` before they start:
# installs the Debian packages the local harness runs (containerd, docker-registry, htpasswd,
# skopeo), the npm dependencies (`npm ci`, which also brings the pinned Node.js), and builds the Go
# test servers (cached outside the clone). It prints nothing when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(containerd docker-registry apache2-utils skopeo)

missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "coral setup: missing ${missing[*]}, and this machine has no apt-get; install them by hand (see README)" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "coral setup: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "coral setup: installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "coral setup: Go is needed to build the test servers (go 1.26 or newer)" >&2; exit 1; }

# npm ci only when the lock file changed since the last install of this clone.
lock_hash=$(sha256sum package-lock.json | cut -c1-64)
stamp=node_modules/.coral-lock-hash
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "coral setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

CORAL_SETUP_QUIET=1 bash infra/local/build-servers.sh >/dev/null
