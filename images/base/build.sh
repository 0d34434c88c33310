#!/usr/bin/env bash
# Build local/debian:bookworm with debootstrap + docker import, for machines where no
# registry serves debian:bookworm. Skips the work when the image already exists.
# The mirror is the one apt already uses (read from apt's sources at run time).
set -euo pipefail
IMAGE=${BASE_IMAGE:-local/debian:bookworm}
SUITE=${SUITE:-bookworm}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE already present"
  exit 0
fi
if docker pull "debian:$SUITE" >/dev/null 2>&1; then
  docker tag "debian:$SUITE" "$IMAGE"
  echo "base image $IMAGE tagged from debian:$SUITE"
  exit 0
fi

mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror=$(awk '/^URIs:/ {print $2; exit}' "$f")
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "Error: no Debian mirror found in apt's sources" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "Error: debootstrap is not installed" >&2; exit 1; }

root=$(mktemp -d /tmp/ciorch-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $SUITE (minbase) into $root, about 30 s ..."
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >/tmp/ciorch-debootstrap.log 2>&1 || {
  echo "Error: debootstrap failed, see /tmp/ciorch-debootstrap.log" >&2; tail -20 /tmp/ciorch-debootstrap.log >&2; exit 1; }
# Point apt inside the image at the same mirror, and keep it small.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$IMAGE" >/dev/null
echo "base image $IMAGE built"
