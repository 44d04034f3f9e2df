# syntax=docker/dockerfile:1
# One static binary, one image: `rebound origin`, `rebound edge`, `rebound migrate`.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/rebound ./cmd/rebound

# distroless/static: no shell, no package manager, runs as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rebound /rebound
USER nonroot:nonroot
EXPOSE 8080 8081
ENTRYPOINT ["/rebound"]
CMD ["edge"]
