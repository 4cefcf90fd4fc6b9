#!/usr/bin/env bash
# Prepares a machine to build and test metallb-ts. Safe to run every time: each step checks first
# whether it has anything to do, so on a ready machine the script takes about a second.
# CI runs it as `CI=true bash scripts/setup.sh` with no stdin, so nothing here may prompt.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the tests and the lab use. This is the one list to extend.
APT_PACKAGES=(etcd-server openssl iproute2 socat arping ndisc6 tcpdump iputils-ping build-essential python3 curl frr bird2 gobgpd nftables iperf3)

# kube-apiserver is built once per machine, outside the repository, keyed by the Kubernetes version
# that test/kube-apiserver-build/go.mod pins (test/harness/kube-apiserver-binary.ts reads it alike).
CACHE_DIR="${METALLB_TS_CACHE:-$HOME/.cache/metallb-ts}"
BUILD_MODULE=test/kube-apiserver-build
KUBECTL=/usr/bin/kubectl

summary=()

log() { printf 'setup: %s\n' "$*"; }
die() {
  printf 'setup: error: %s\n' "$*" >&2
  exit 1
}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_apt_packages() {
  local pkg status missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = 'install ok installed' ] || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    summary+=("${#APT_PACKAGES[@]} Debian packages present")
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  # The package lists are only fetched when something must be installed: it is the slow part.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
  summary+=("installed ${missing[*]}")
}

install_node_modules() {
  # npm writes node_modules/.package-lock.json on every install: older than the lock file means stale.
  if [ -f node_modules/.package-lock.json ] && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
    summary+=('node_modules up to date')
    return
  fi
  log 'npm ci'
  npm ci --no-audit --no-fund </dev/null
  summary+=('ran npm ci')
}

kubernetes_version() {
  sed -nE 's/^[[:space:]]*(require[[:space:]]+)?k8s\.io\/kubernetes[[:space:]]+(v[0-9][^[:space:]]*).*/\2/p' \
    "$BUILD_MODULE/go.mod" | head -n 1
}

build_kube_apiserver() {
  local version binary
  version=$(kubernetes_version)
  [ -n "$version" ] || die "cannot read the k8s.io/kubernetes version from $BUILD_MODULE/go.mod"
  binary="$CACHE_DIR/kube-apiserver-$version"
  if [ -x "$binary" ]; then
    summary+=("kube-apiserver $version cached")
    return
  fi

  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || die 'Go is needed to build kube-apiserver (expected on PATH or in /usr/local/go/bin)'
  mkdir -p "$CACHE_DIR"
  # Built under a temporary name and renamed, so an interrupted build never looks like a finished one.
  build_tmp="$binary.tmp.$$"
  build_pid=
  trap '[ -z "$build_pid" ] || kill "$build_pid" 2>/dev/null || true; rm -f "$build_tmp"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # go build leaves the version unset ("v0.0.0-master"), which kubectl and client libraries refuse to
  # parse; these are the variables Kubernetes' own release build sets.
  local major minor ldflags pkg
  major=${version#v}
  major=${major%%.*}
  minor=${version#v*.}
  minor=${minor%%.*}
  ldflags='-s -w'
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done

  log "building kube-apiserver $version into $CACHE_DIR (first run takes ~5 minutes on 2 cores)..."
  local started=$SECONDS next_report=$((SECONDS + 30))
  # GOWORK=off: a go.work further up must not change what this pinned module builds.
  GOWORK=off go -C "$BUILD_MODULE" build -trimpath -ldflags="$ldflags" -o "$build_tmp" \
    k8s.io/kubernetes/cmd/kube-apiserver </dev/null &
  build_pid=$!
  # go build is silent for minutes: report progress so the run never looks hung.
  while kill -0 "$build_pid" 2>/dev/null; do
    sleep 1
    if [ "$SECONDS" -ge "$next_report" ]; then
      log "still building kube-apiserver ($((SECONDS - started))s so far)..."
      next_report=$((next_report + 30))
    fi
  done
  wait "$build_pid" || die "building kube-apiserver $version failed (output above)"
  build_pid=
  mv -f "$build_tmp" "$binary"
  log "built kube-apiserver $version in $((SECONDS - started))s"
  summary+=("built kube-apiserver $version in $((SECONDS - started))s")
}

build_native_addon() {
  # The speaker's addon: AF_PACKET sockets for layer 2, TCP MD5/TTL for BGP. node-gyp comes from
  # node_modules and Node's headers from /usr (package.json's build:native), so nothing is downloaded.
  local addon=native/build/Release/packet_socket.node source stale=
  [ -f "$addon" ] || stale=1
  for source in native/binding.gyp native/*.cc native/*.h; do
    [ "$source" -nt "$addon" ] && stale=1
  done
  if [ -z "$stale" ]; then
    summary+=('native addon up to date')
    return
  fi
  log 'building the native addon (npm run build:native)'
  npm run --silent build:native -- --loglevel=warn </dev/null || die 'building the native addon failed (output above)'
  summary+=('built the native addon')
}

check_kubectl() {
  # The test harness drives the apiserver with kubectl; it comes with the machine, not from Debian.
  [ -x "$KUBECTL" ] || die "kubectl is missing at $KUBECTL"
}

install_apt_packages
install_node_modules
build_native_addon
build_kube_apiserver
check_kubectl

summary_text=$(printf '%s, ' "${summary[@]}")
log "ready in ${SECONDS}s: ${summary_text%, }"
