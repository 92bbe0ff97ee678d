# Sourced by tests/run: the container tools and services the image and podman tests need, all offline.
#   - installs podman, buildah, runc, skopeo, umoci and docker-registry from apt when missing;
#   - writes a containers.conf that uses runc (crun fails on cgroups v1/hybrid kernels) and rlimits podman can set;
#   - starts Debian's docker-registry on 127.0.0.1 in a temporary folder (stopped by containers_stop);
#   - builds a small .NET runtime base image with buildah from this machine's .NET runtime and the shared libraries it
#     loads (cached in buildah's storage by runtime version and this file's hash), and pushes it to that registry;
#   - checks that this kernel runs a container at all.
# Exports MODAL_TEST_REGISTRY (host:port), MODAL_TEST_BASE_IMAGE (registry/name:tag) and CONTAINERS_CONF; when something
# fails it exports MODAL_TEST_CONTAINERS_UNAVAILABLE with the reason instead, and the container tests fail with it.

containers_dir=""
registry_pid=""

containers_unavailable() {
  echo "tests/run: containers unavailable: $1" >&2
  export MODAL_TEST_CONTAINERS_UNAVAILABLE="$1"
}

containers_install() {
  local missing=()
  for tool in podman buildah runc skopeo umoci; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    containers_unavailable "${missing[*]} missing and this is not root: sudo apt-get install -y podman buildah runc skopeo umoci docker-registry"
    return 1
  fi
  echo "tests/run: installing ${missing[*]} (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc skopeo umoci docker-registry >/dev/null \
    || { containers_unavailable "apt-get install of ${missing[*]} failed"; return 1; }
}

containers_start_registry() {
  local port="$1"
  cat >"$containers_dir/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $containers_dir/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  docker-registry serve "$containers_dir/registry.yml" >"$containers_dir/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
      export MODAL_TEST_REGISTRY="localhost:$port"
      return 0
    fi
    kill -0 "$registry_pid" 2>/dev/null || break
    sleep 0.1
  done
  containers_unavailable "docker-registry did not start on 127.0.0.1:$port (port taken? set MODAL_TEST_REGISTRY_PORT): $(tail -3 "$containers_dir/registry.log" | tr '\n' ' ')"
  return 1
}

# The .NET runtime of this machine (the host, both shared frameworks) and the libraries it loads, in an image of its own.
containers_build_base_image() {
  local dotnet_root runtime key image
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  runtime="$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\) .*/\1/p' | sort -V | tail -1)"
  key="$runtime-$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)"
  image="localhost/modal-test/dotnet-runtime:$key"
  if ! buildah inspect --type image "$image" >/dev/null 2>&1; then
    echo "tests/run: building the base image $image from $dotnet_root (.NET $runtime)"
    local container mount lib
    container="$(buildah from scratch)" || return 1
    mount="$(buildah mount "$container")" || return 1
    mkdir -p "$mount/usr/share/dotnet/shared" "$mount/usr/bin" "$mount/tmp" "$mount/etc" "$mount/app" "$mount/lib64" "$mount/lib/x86_64-linux-gnu"
    chmod 1777 "$mount/tmp"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$mount/usr/share/dotnet/"
    for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
      mkdir -p "$mount/usr/share/dotnet/shared/$framework"
      cp -a "$dotnet_root/shared/$framework/$runtime" "$mount/usr/share/dotnet/shared/$framework/"
    done
    ln -s /usr/share/dotnet/dotnet "$mount/usr/bin/dotnet"
    # What ldd lists for the host and the runtime, plus what .NET opens with dlopen (ICU, OpenSSL, zlib).
    for lib in $( (ldd "$dotnet_root/dotnet" "$dotnet_root"/shared/Microsoft.NETCore.App/"$runtime"/*.so 2>/dev/null | awk '/=> \//{print $3}';
                   ls /usr/lib/x86_64-linux-gnu/libicu{uc,i18n,data}.so.[0-9]* /usr/lib/x86_64-linux-gnu/lib{ssl,crypto}.so.3 \
                      /lib/x86_64-linux-gnu/libz.so.1* 2>/dev/null) | sort -u); do
      mkdir -p "$mount$(dirname "$lib")"
      cp -a "$lib" "$mount$lib"
      [ -L "$lib" ] && cp -a "$(readlink -f "$lib")" "$mount$(dirname "$lib")/"
    done
    cp -aL /lib64/ld-linux-x86-64.so.2 "$mount/lib64/"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$mount/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$mount/etc/group"
    buildah umount "$container" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env DOTNET_ROOT=/usr/share/dotnet \
      --env HOME=/tmp --env TMPDIR=/tmp --env DOTNET_CLI_TELEMETRY_OPTOUT=1 --workingdir /app \
      --label "org.opencontainers.image.title=.NET $runtime runtime (modal tests)" "$container"
    buildah commit --quiet --rm --format oci "$container" "$image" >/dev/null || return 1
    # Base images of an older runtime or an older version of this file are not used again.
    buildah images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/modal-test/dotnet-runtime:' | grep -v ":$key\$" |
      while read -r old; do buildah rmi "$old" >/dev/null 2>&1 || true; done
  fi
  local target="$MODAL_TEST_REGISTRY/modal/dotnet-runtime:$runtime"
  buildah push --quiet --tls-verify=false "$image" "docker://$target" >/dev/null || return 1
  export MODAL_TEST_BASE_IMAGE="$target"
  echo "tests/run: base image $MODAL_TEST_BASE_IMAGE (from $image)"
}

containers_start() {
  containers_install || return 0
  containers_dir="$(mktemp -d /tmp/modal-test-containers.XXXXXX)"
  # crun fails on this kind of kernel (cgroups v1 or hybrid) and podman cannot raise its default rlimits: runc, and limits it can set.
  cat >"$containers_dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF="$containers_dir/containers.conf"
  local port="${MODAL_TEST_REGISTRY_PORT:-$(( ${MODAL_TEST_POSTGRES_PORT:-54329} + 1000 ))}"
  containers_start_registry "$port" || return 0
  if ! containers_build_base_image >"$containers_dir/base-image.log" 2>&1; then
    containers_unavailable "building or pushing the .NET base image failed: $(tail -5 "$containers_dir/base-image.log" | tr '\n' ' ')"
    return 0
  fi
  cat "$containers_dir/base-image.log"
  # The kernel must let podman run a container as the tests do (runc, no network, read-only root).
  local probe
  if ! probe="$(podman run --rm --tls-verify=false --network=none --read-only "$MODAL_TEST_BASE_IMAGE" dotnet --list-runtimes 2>&1)"; then
    containers_unavailable "this kernel refused to run a container (podman run with runc): $(tail -3 <<<"$probe" | tr '\n' ' ')"
    return 0
  fi
}

containers_stop() {
  # Images of the temporary registry go with it: names are untagged first, then images left without one are removed by
  # id (an id that the cached base image also names is refused without --force, and so kept).
  if [ -n "${MODAL_TEST_REGISTRY:-}" ] && [ -n "$registry_pid" ]; then
    for _ in 1 2; do
      podman images --format '{{.Repository}}:{{.Tag}} {{.ID}}' 2>/dev/null | grep "^$MODAL_TEST_REGISTRY/" |
        while read -r name id; do
          if [[ "$name" == *:\<none\> ]]; then podman rmi "$id" >/dev/null 2>&1 || true; else podman rmi "$name" >/dev/null 2>&1 || true; fi
        done || true # Nothing left to list (grep finds no name) fails the pipeline: under set -e that ended this function before the kill below.
    done
  fi
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  [ -n "$containers_dir" ] && rm -rf "$containers_dir"
}
