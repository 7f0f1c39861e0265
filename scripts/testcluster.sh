#!/usr/bin/env bash
# A real Kubernetes API server for meshcheck's collector tests: kube-apiserver v1.20 (built once from
# Debian's `kubernetes` source package and cached) plus etcd, both on loopback.
#
#   scripts/testcluster.sh provision     build/cache the binary and install etcd (idempotent)
#   scripts/testcluster.sh start DIR     start etcd + apiserver; writes DIR/kubeconfig-{admin,viewer,limited}
#                                        and DIR/server (the URL), DIR/pids
#   scripts/testcluster.sh stop DIR      stop both
#
# Cache: $MESHCHECK_TESTCLUSTER_CACHE (default ~/.cache/meshcheck/testcluster).
set -euo pipefail

cache=${MESHCHECK_TESTCLUSTER_CACHE:-$HOME/.cache/meshcheck/testcluster}
apiserver=$cache/kube-apiserver

log() { echo "testcluster: $*" >&2; }

provision() {
  mkdir -p "$cache"
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v etcd >/dev/null || { [ ! -x "$apiserver" ] && ! command -v go >/dev/null; }; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq etcd-server golang-go rsync jq golang-github-modern-go-reflect2-dev openssl curl >/dev/null
  fi
  [ -x "$apiserver" ] && return 0
  log "building kube-apiserver from Debian's kubernetes source package (a few minutes, once)"
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null; then
    # Source entries mirroring the machine's own Debian archives.
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/meshcheck-src.sources
    apt-get update -qq >/dev/null
  fi
  command -v go >/dev/null || apt-get install -y -qq golang-go rsync jq golang-github-modern-go-reflect2-dev >/dev/null
  local work; work=$(mktemp -d "$cache/build.XXXXXX")
  (cd "$work" && apt-get source --download-only kubernetes >/dev/null 2>&1 && tar xzf kubernetes_*.orig.tar.gz)
  local src; src=$(ls -d "$work"/kubernetes-1.*/ | head -1)
  # The vendored reflect2 v1.0.1 faults under Go >= 1.18 on the first CRD object; Debian ships 1.0.2.
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$src/vendor/github.com/modern-go/reflect2"
  rm -f "$src"/vendor/github.com/modern-go/reflect2/*_test.go
  (
    cd "$src"
    export GOPATH=$PWD/.go CGO_ENABLED=0 HOME=$work/home
    mkdir -p .go/src/k8s.io "$HOME"
    ln -sfn ../../.. .go/src/k8s.io/kubernetes
    make WHAT=cmd/kube-apiserver > "$work/make.log" 2>&1 || { tail -30 "$work/make.log" >&2; exit 1; }
  )
  cp "$src/_output/bin/kube-apiserver" "$apiserver.tmp" && mv "$apiserver.tmp" "$apiserver"
  rm -rf "$work"
  log "cached $apiserver"
}

kubeconfig() { # name token server
  cat <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$3", insecure-skip-tls-verify: true}
users:
- name: $1
  user: {token: $2}
contexts:
- name: test
  context: {cluster: test, user: $1}
current-context: test
KC
}

start() {
  local dir=$1
  provision
  mkdir -p "$dir"
  local port=$((20000 + RANDOM % 20000))
  local etcd_port=$((port + 1)) peer_port=$((port + 2))
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  # Static tokens: an admin, a viewer with no grants, and a "limited" user the tests grant some kinds to.
  printf '%s\n' "admin-token,admin,1,system:masters" "viewer-token,viewer,2," "limited-token,limited,3," > "$dir/tokens.csv"
  etcd --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$peer_port" \
    > "$dir/etcd.log" 2>&1 &
  echo $! > "$dir/pids"
  # No controller-manager issues service-account tokens, so the ServiceAccount admission plugin would
  # reject every Pod: it is disabled.
  "$apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" --bind-address=127.0.0.1 --secure-port="$port" \
    --insecure-port=0 --cert-dir="$dir/certs" --token-auth-file="$dir/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$dir/sa.pub" \
    --service-account-signing-key-file="$dir/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
    --advertise-address=127.0.0.1 --disable-admission-plugins=ServiceAccount > "$dir/apiserver.log" 2>&1 &
  echo $! >> "$dir/pids"
  local server="https://127.0.0.1:$port" ready=
  for _ in $(seq 120); do
    if curl -sfk -H "Authorization: Bearer admin-token" "$server/readyz" >/dev/null 2>&1 &&
       curl -sfk -H "Authorization: Bearer admin-token" "$server/apis" 2>/dev/null | grep -q '"apiextensions.k8s.io/v1"'; then
      ready=1; break
    fi
    sleep 1
  done
  [ -n "$ready" ] || { log "apiserver did not become ready; see $dir/apiserver.log"; tail -20 "$dir/apiserver.log" >&2; exit 1; }
  kubeconfig admin admin-token "$server" > "$dir/kubeconfig-admin"
  kubeconfig viewer viewer-token "$server" > "$dir/kubeconfig-viewer"
  kubeconfig limited limited-token "$server" > "$dir/kubeconfig-limited"
  echo "$server" > "$dir/server"
  echo "$server"
}

stop() {
  local dir=$1
  [ -f "$dir/pids" ] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$dir/pids"
  while read -r pid; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done < "$dir/pids"
  rm -f "$dir/pids"
}

case ${1:-} in
  provision) provision ;;
  start) start "${2:?usage: testcluster.sh start DIR}" ;;
  stop) stop "${2:?usage: testcluster.sh stop DIR}" ;;
  *) echo "usage: testcluster.sh provision | start DIR | stop DIR" >&2; exit 2 ;;
esac
