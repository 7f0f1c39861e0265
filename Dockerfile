# meshcheck in a minimal image: the binary and the C runtime it links (glibc, for zstd), running
# as a non-root user. Used by deploy/ (in-cluster scheduled collection) and for `meshcheck serve`.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p meshcheck

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/meshcheck /usr/local/bin/meshcheck
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/meshcheck"]
