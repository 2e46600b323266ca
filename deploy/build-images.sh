#!/usr/bin/env bash
# Builds the queuelab container image from a binary compiled on this host.
#
# Steps: the base image (deploy/base-image.sh), `cargo build` of the
# queuelab binary, a copy without debug info at target/image/queuelab, then
# `docker build` with the repository root as the (filtered) context.
#
# Usage: deploy/build-images.sh [--profile debug|release] [--binary FILE] [--tag IMAGE]
#   --profile  cargo profile to build (default: release)
#   --binary   use this queuelab binary instead of running cargo build
#              (tests pass the debug binary that `cargo test` already built)
#   --tag      image name (default: queuelab:latest)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
binary=""
tag=queuelab:latest

usage() {
  echo "usage: deploy/build-images.sh [--profile debug|release] [--binary FILE] [--tag IMAGE]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --profile)
      [ $# -ge 2 ] || usage
      profile="$2"
      shift 2
      ;;
    --binary)
      [ $# -ge 2 ] || usage
      binary="$2"
      shift 2
      ;;
    --tag)
      [ $# -ge 2 ] || usage
      tag="$2"
      shift 2
      ;;
    -h | --help)
      usage
      ;;
    *)
      echo "error: unknown argument $1" >&2
      usage
      ;;
  esac
done

case "$profile" in
  debug) cargo_flags=() ;;
  release) cargo_flags=(--release) ;;
  *)
    echo "error: invalid --profile $profile: use debug or release" >&2
    exit 2
    ;;
esac

deploy/base-image.sh

if [ -z "$binary" ]; then
  echo "building the queuelab binary ($profile profile)"
  cargo build -p queuelab "${cargo_flags[@]}"
  binary="target/$profile/queuelab"
fi
if [ ! -x "$binary" ]; then
  echo "error: binary $binary not found or not executable: build it or pass --binary FILE" >&2
  exit 2
fi

# Debug info is most of the binary: a debug build shrinks from about 190 MB
# to 40 MB without it. The symbols stay, so backtraces still name functions.
mkdir -p target/image
objcopy --strip-debug "$binary" target/image/queuelab.tmp
mv target/image/queuelab.tmp target/image/queuelab

echo "building image $tag"
docker build --quiet --tag "$tag" . >/dev/null
echo "built image $tag"
