# syntax=docker/dockerfile:1
# raftcdc container image: `docker build -t raftcdc .` from the repository root.
#
# Build stage: the Rust toolchain this repository is built and tested with
# (1.95; Cargo.toml's rust-version is the minimum) plus what the rdkafka
# crate needs to build its bundled librdkafka from source: a C/C++ compiler
# and make for its configure build (cmake if the cmake-build feature is
# ever enabled), pkg-config, and libssl-dev: librdkafka is built with TLS
# and SASL against the system OpenSSL (rdkafka's `ssl` feature). protoc is
# vendored by the build script.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ make pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin raftcdc \
 && install -m 0755 target/release/raftcdc /usr/local/bin/raftcdc

# Runtime stage: Debian slim (same glibc as the build stage), CA certificates
# for TLS to brokers and peers, OpenSSL's libssl3 (librdkafka links it), a
# non-root user, nothing else.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 raftcdc \
 && useradd --system --uid 10001 --gid raftcdc --home-dir /var/lib/raftcdc --shell /usr/sbin/nologin raftcdc \
 && mkdir -p /var/lib/raftcdc /etc/raftcdc /run/raftcdc \
 && chown raftcdc:raftcdc /var/lib/raftcdc /run/raftcdc \
 && chmod 0700 /var/lib/raftcdc
COPY --from=build /usr/local/bin/raftcdc /usr/local/bin/raftcdc
COPY deploy/init-cluster.sh /usr/local/bin/raftcdc-init-cluster
USER 10001:10001
WORKDIR /var/lib/raftcdc
VOLUME ["/var/lib/raftcdc"]
# 7001 control API (gRPC, grpc.health.v1), 7101 node-to-node, 7201 metrics.
EXPOSE 7001 7101 7201
ENV RUST_LOG=info,openraft=warn
# Health: orchestrators should use a gRPC health probe on 7001 (Kubernetes
# `grpc:` probes, see deploy/kubernetes). Without one, this works while the
# control API is plaintext and unauthenticated:
#   HEALTHCHECK CMD ["raftcdc", "cluster", "--endpoint", "http://127.0.0.1:7001", "--timeout", "3", "status"]
# (deploy/compose/compose.yaml sets exactly that per service.)
ENTRYPOINT ["raftcdc"]
CMD ["serve", "--config", "/etc/raftcdc/node.toml"]
