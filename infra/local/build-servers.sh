#!/usr/bin/env bash
# Builds the test servers the local harness runs (etcd, kube-apiserver, kubectl, nats-server) from the
# Go modules pinned under infra/local/go/. Outputs are cached outside the clone, keyed by a hash of
# each module's go.mod and go.sum, so a fresh clone reuses them and a version bump rebuilds.
# Prints the directory holding the binaries on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${CORAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coral}
quiet=${CORAL_SETUP_QUIET:-}
export CGO_ENABLED=0 GOFLAGS=-trimpath

key() { cat "$here/go/$1/go.mod" "$here/go/$1/go.sum" | sha256sum | cut -c1-16; }
say() { [ -n "$quiet" ] || printf '%s\n' "$*" >&2; }

# build <module dir> <binary name> <package> [ldflags]
build() {
  local mod=$1 name=$2 pkg=$3 ldflags=${4:-}
  local out="$cache/bin/$mod-$(key "$mod")"
  if [ -x "$out/$name" ]; then return 0; fi
  mkdir -p "$out"
  printf 'coral: building %s (pinned in infra/local/go/%s; cold builds take minutes)\n' "$name" "$mod" >&2
  local start=$SECONDS log="$out/$name.build.log"
  # Go's module download chatter goes to a log, shown only if the build fails.
  if ! (cd "$here/go/$mod" && go build -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg") >"$log" 2>&1; then
    cat "$log" >&2
    printf 'coral: building %s failed (log above, also in %s)\n' "$name" "$log" >&2
    return 1
  fi
  mv "$out/$name.tmp" "$out/$name"
  printf 'coral: built %s in %ss, cached in %s\n' "$name" "$((SECONDS - start))" "$out" >&2
}

kube_version=$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$here/go/kube/go.mod")
kube_minor=$(echo "$kube_version" | cut -d. -f2)
kv=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kv="$kv -X $p.gitVersion=$kube_version -X $p.gitMajor=1 -X $p.gitMinor=$kube_minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

build etcd etcd go.etcd.io/etcd/server/v3
build nats nats-server github.com/nats-io/nats-server/v2
build kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kv"
build kube kubectl k8s.io/kubernetes/cmd/kubectl "$kv"

say "coral: test servers ready"
for m in etcd nats kube; do echo "$m=$cache/bin/$m-$(key "$m")"; done
