#!/usr/bin/env bash
# Build local/debian:bookworm with debootstrap + docker import, for machines where no
# registry serves debian:bookworm. Skips the work when the image already exists.
# The mirror is the one apt already uses (read from apt's sources at run time).
set -euo pipefail
IMAGE=${BASE_IMAGE:-local/debian:bookworm}
SUITE=${SUITE:-bookworm}

if ! docker info >/dev/null 2>&1; then
  echo "Error: no Docker engine answers; start dockerd first (make system)" >&2
  exit 1
fi
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE already present"
  exit 0
fi
if docker pull "debian:$SUITE" >/dev/null 2>&1; then
  docker tag "debian:$SUITE" "$IMAGE"
  echo "base image $IMAGE tagged from debian:$SUITE"
  exit 0
fi

# The http(s) URI of the deb822 stanza (*.sources) that serves $SUITE with main; a
# mirror+file: URI (Debian's cloud images) names a file of mirrors: take its first.
mirror_from_sources() {
  awk -v suite="${WANT_SUITE:-$SUITE}" '
    function flush() {
      if (uris != "" && types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" suite "( |$)") \
          && comps ~ /(^| )main( |$)/) { print uris; found = 1; exit }
      uris = types = suites = comps = ""
    }
    FNR == 1 { flush() }
    /^[[:space:]]*$/ { flush(); next }
    /^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0 }
    /^URIs:/ { sub(/^URIs:[[:space:]]*/, ""); uris = $1 }
    /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
    /^Components:/ { sub(/^Components:[[:space:]]*/, ""); comps = $0 }
    END { if (!found) flush() }
  ' "$@" 2>/dev/null | head -n 1
}
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror=$(mirror_from_sources "$f")
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk -v suite="$SUITE" '$1 == "deb" && $0 ~ (" " suite " ") && / main/ {
    for (i = 2; i <= NF; i++) if ($i ~ /^(https?|mirror\+file):/) { print $i; exit } }' \
    /etc/apt/sources.list)
fi
case "$mirror" in
  mirror+file:*)
    list=${mirror#mirror+file:}
    list=${list#//}
    mirror=$(grep -Eo '^[[:space:]]*https?://[^[:space:]]+' "$list" 2>/dev/null | head -n 1 | tr -d '[:space:]')
    ;;
esac
case "$mirror" in
  http://* | https://*) ;;
  *) echo "Error: no http(s) Debian mirror for $SUITE main found in apt's sources" >&2; exit 1 ;;
esac
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || {
  echo "Error: debootstrap is not installed" >&2; exit 1; }

# Not /tmp: it may be mounted noexec/nodev, and debootstrap runs programs in the root.
root=$(mktemp -d "${TMPDIR_ROOTFS:-/var/tmp}/ciorch-rootfs.XXXXXX")
log=$(mktemp /var/tmp/ciorch-debootstrap.XXXXXX.log)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $SUITE (minbase) from $mirror, about 30 s ..."
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$log" 2>&1 || {
  echo "Error: debootstrap failed, see $log" >&2; tail -20 "$log" >&2; exit 1; }
# apt inside the image: the same mirror, with updates and security fixes where the
# host's apt has them.
{
  echo "deb $mirror $SUITE main"
  updates=$(WANT_SUITE="$SUITE-updates" mirror_from_sources /etc/apt/sources.list.d/*.sources)
  [ -n "$updates" ] && echo "deb $mirror $SUITE-updates main"
  security=$(WANT_SUITE="$SUITE-security" mirror_from_sources /etc/apt/sources.list.d/*.sources)
  case "$security" in http://* | https://*) echo "deb $security $SUITE-security main" ;; esac
} >"$root/etc/apt/sources.list"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$IMAGE" >/dev/null
rm -f "$log"
echo "base image $IMAGE built"
