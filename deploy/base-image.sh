#!/usr/bin/env bash
# Builds the Debian base image that the queuelab Dockerfile starts from.
#
# Machines without a container registry cannot pull debian:bookworm, so this
# script makes an equivalent image from Debian packages: debootstrap into a
# temporary folder, then `docker import`. It does nothing when the image exists.
#
# Usage: deploy/base-image.sh [IMAGE]   (default: queuelab/debian:bookworm)
# Environment: DEBIAN_MIRROR (default: http://deb.debian.org/debian).
set -euo pipefail

image="${1:-queuelab/debian:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image exists"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: debootstrap is missing: install it (apt-get install debootstrap) or run this script as root" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y -qq debootstrap >/dev/null
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

echo "building base image $image from $mirror (about a minute)"
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$image" >/dev/null
echo "built base image $image"
