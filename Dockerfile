# The queuelab image: one binary that runs every service of the mesh
# (`queuelab serve STATION`, `queuelab serve-analysis`) and the load
# generator (`queuelab experiment`).
#
# No Rust toolchain runs in the build: deploy/build-images.sh compiles the
# binary on the host (Debian bookworm, the same glibc as the base image),
# copies it to target/image/queuelab and runs `docker build`. The base image
# comes from deploy/base-image.sh, because no registry can be assumed.
ARG BASE_IMAGE=queuelab/debian:bookworm
FROM ${BASE_IMAGE}

COPY target/image/queuelab /usr/local/bin/queuelab
COPY deploy/topology.toml /etc/queuelab/topology.toml

# Every service reads the container topology unless a flag or a mounted
# file replaces it; the addresses in it are the service names.
ENV QUEUELAB_TOPOLOGY=/etc/queuelab/topology.toml

# Any unprivileged user works: the services write no files.
USER 10001:10001
WORKDIR /tmp

ENTRYPOINT ["/usr/local/bin/queuelab"]
CMD ["--help"]
