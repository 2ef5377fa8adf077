# chatprobe in a container: a build stage with the Rust toolchain, and a small runtime image that
# runs as an unprivileged user. Build from the repository root:
#   docker build -t chatprobe:latest .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY schemas ./schemas
COPY scenarios ./scenarios
COPY tests ./tests
COPY docs ./docs
RUN cargo build --release --locked --bin chatprobe

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --create-home --shell /usr/sbin/nologin chatprobe
COPY --from=build /src/target/release/chatprobe /usr/local/bin/chatprobe
COPY --from=build /src/scenarios /opt/chatprobe/scenarios
COPY --from=build /src/schemas /opt/chatprobe/schemas
WORKDIR /opt/chatprobe
USER 10001:10001
ENTRYPOINT ["chatprobe"]
CMD ["--help"]
