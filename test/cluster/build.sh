#!/usr/bin/env bash
# Builds the e2e test control plane from Go modules: kube-apiserver,
# kube-controller-manager and kubectl (test/cluster/kube), etcd
# (test/cluster/etcd) and helm (test/cluster/helm). The versions are the ones
# each go.mod requires. Binaries go to
#   ${HOTMESH_CLUSTER_CACHE:-$HOME/.cache/hotmesh-operator/control-plane/<k8s version>}/bin
# and a tool whose binaries and version stamp are already there is skipped,
# so a second run does nothing. Needs Go (see the go lines in the go.mod
# files) and the Go module proxy. A cold build took 7 min on 2 cores, with
# about 6 GB of module and build cache (docs/test-control-plane.md).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v go >/dev/null 2>&1; then
  echo "cluster build: go not found in PATH; install Go 1.26 or later to build the test control plane" >&2
  exit 1
fi

# Use the local toolchain; a go line newer than it is an error, not a download.
export GOTOOLCHAIN=local
export CGO_ENABLED=0

module_version() { # module_dir module_path
  go -C "$here/$1" list -m -f '{{.Version}}' "$2"
}

k8s_version="$(module_version kube k8s.io/kubernetes)"
etcd_version="$(module_version etcd go.etcd.io/etcd/server/v3)"
helm_version="$(module_version helm helm.sh/helm/v3)"

cache="${HOTMESH_CLUSTER_CACHE:-$HOME/.cache/hotmesh-operator/control-plane/$k8s_version}"
bin="$cache/bin"
mkdir -p "$bin"

# Returns 0 when every named binary exists and the stamp file of the tool
# group contains the expected version.
is_built() { # group version binary...
  local group="$1" version="$2"
  shift 2
  [ "$(cat "$bin/.$group.version" 2>/dev/null)" = "$version" ] || return 1
  for name in "$@"; do
    [ -x "$bin/$name" ] || return 1
  done
}

# Builds packages into a scratch folder, then moves the binaries into bin/
# and writes the stamp, so an interrupted build never looks finished.
build_group() { # group version module_dir ldflags package...
  local group="$1" version="$2" dir="$3" ldflags="$4"
  shift 4
  if is_built "$group" "$version" "${@##*/}"; then
    echo "cluster build: $group $version already in $bin"
    return
  fi

  local scratch
  scratch="$(mktemp -d "$cache/build-$group.XXXXXX")"
  echo "cluster build: building $group $version ($*)"
  local started=$SECONDS
  go -C "$here/$dir" build -trimpath -ldflags "-s -w $ldflags" -o "$scratch/" "$@"
  for package in "$@"; do
    mv -f "$scratch/${package##*/}" "$bin/"
  done
  rmdir "$scratch"
  echo "$version" > "$bin/.$group.version"
  echo "cluster build: built $group $version in $((SECONDS - started)) s"
}

# kubectl, helm and the operator read the server's /version, so stamp the
# exact release as upstream's hack/lib/version.sh does; without it the
# binaries report v0.0.0-master.
k8s_minor="${k8s_version#v1.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags=""
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $package.gitVersion=$k8s_version"
  k8s_ldflags+=" -X $package.gitMajor=1"
  k8s_ldflags+=" -X $package.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $package.gitTreeState=clean"
done

total_started=$SECONDS
build_group etcd "$etcd_version" etcd "" \
  hotmesh-operator/test/cluster/etcd
build_group helm "$helm_version" helm "-X helm.sh/helm/v3/internal/version.version=$helm_version" \
  helm.sh/helm/v3/cmd/helm
build_group kube "$k8s_version" kube "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kubectl
echo "cluster build: done in $((SECONDS - total_started)) s; binaries in $bin"
