#!/usr/bin/env bash
# Builds the netbox-agent image with Debian's buildah, without a container registry: the base
# (Debian minbase + nmap + ca-certificates, user 65532) comes from debootstrap and the apt
# mirror, the binary from `make build`. The result is the image packaging/Dockerfile
# describes, tagged localhost/netbox-agent:VERSION and :latest.
#
#   sudo packaging/build-image.sh            # rootful; vfs storage, chroot isolation
#
# Environment: SUITE (default bookworm), MIRROR (default: the first deb line of apt's
# sources), VERSION (default git describe), STORAGE_DRIVER (default vfs), BASE_DIR (default
# /var/cache/netbox-agent-image, where the base rootfs is kept between builds).
# Where a registry is reachable, `buildah bud -f packaging/Dockerfile .` builds the same
# image from debian:trixie-slim and golang instead.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=${SUITE:-bookworm}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
BASE_DIR=${BASE_DIR:-/var/cache/netbox-agent-image}
export BUILDAH_ISOLATION=chroot
BUILDAH=(buildah --storage-driver "$STORAGE_DRIVER")

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { printf 'build-image: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (rootful buildah with $STORAGE_DRIVER storage)"
command -v buildah >/dev/null || die "buildah not found: apt-get install buildah"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"

if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(grep -hsE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    | grep -v -e security -e updates -e backports | head -n1 | sed -E 's/^deb (\[[^]]*\] )?//; s/^URIs: *//' | awk '{print $1}' || true)
fi
[ -n "$MIRROR" ] || die "no Debian mirror found in apt's sources: set MIRROR"

# 1. the binary: static, version stamped
log "binary $VERSION"
make build VERSION="$VERSION" >/dev/null
file bin/netbox-agent | grep -q 'statically linked' || die "bin/netbox-agent is not static"

# 2. the base rootfs, once per suite
root="$BASE_DIR/$SUITE-rootfs"
if [ ! -e "$root/.complete" ]; then
  log "debootstrap $SUITE from $MIRROR into $root"
  rm -rf "$root"
  mkdir -p "$BASE_DIR"
  debootstrap --variant=minbase --include=nmap,ca-certificates "$SUITE" "$root" "$MIRROR" >&2
  chroot "$root" groupadd --system --gid 65532 netbox-agent
  chroot "$root" useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/netbox-agent \
    --no-create-home --shell /usr/sbin/nologin netbox-agent
  install -d -o 65532 -g 65532 -m 0700 "$root/var/lib/netbox-agent"
  install -d -m 0755 "$root/etc/netbox-agent"
  # what a container never uses: package caches and lists, docs, man pages, locales
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
  touch "$root/.complete"
fi

# 3. the image: the rootfs, the binary, the runtime settings of packaging/Dockerfile
log "image localhost/netbox-agent:$VERSION"
ctr=$("${BUILDAH[@]}" from --name "netbox-agent-build-$$" scratch)
trap '"${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt=$("${BUILDAH[@]}" mount "$ctr")
tar -C "$root" --exclude=./.complete -cf - . | tar -C "$mnt" -xpf -
install -m 0755 bin/netbox-agent "$mnt/usr/local/bin/netbox-agent"
"${BUILDAH[@]}" umount "$ctr" >/dev/null
"${BUILDAH[@]}" config \
  --env STATE_DIRECTORY=/var/lib/netbox-agent \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --volume /var/lib/netbox-agent \
  --workingdir /var/lib/netbox-agent \
  --user 65532:65532 \
  --port 8080 \
  --entrypoint '["/usr/local/bin/netbox-agent"]' \
  --cmd '--http 0.0.0.0:8080 --config /etc/netbox-agent/config.yaml' \
  --label org.opencontainers.image.title=netbox-agent \
  --label org.opencontainers.image.version="$VERSION" \
  --label org.opencontainers.image.source=packaging/build-image.sh \
  "$ctr"
"${BUILDAH[@]}" commit --quiet --rm "$ctr" "localhost/netbox-agent:$VERSION" >/dev/null
trap - EXIT
"${BUILDAH[@]}" tag "localhost/netbox-agent:$VERSION" localhost/netbox-agent:latest
"${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}' localhost/netbox-agent
