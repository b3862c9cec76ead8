# Build stage: compile the release binary with the locked dependency set.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin sentinel-bot \
    && cp target/release/sentinel-bot /usr/local/bin/sentinel-bot

# Runtime stage: small Debian with CA certificates, running as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin sentinel
COPY --from=build /usr/local/bin/sentinel-bot /usr/local/bin/sentinel-bot
# The default bind is 127.0.0.1, which is unreachable from outside a container.
ENV SENTINEL_BOT__SERVER__BIND=0.0.0.0:3978
USER 10001:10001
EXPOSE 3978
ENTRYPOINT ["sentinel-bot"]
CMD ["serve"]
