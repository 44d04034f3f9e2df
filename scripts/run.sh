#!/usr/bin/env bash
# run.sh (make run): Postgres and Redis up (started if needed), migrations
# applied, origin and edge running in the foreground under a supervisor that
# restarts a crashed process. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

# Settings come from the environment, then .env for what the environment
# lacks (as the binary reads them). A DATABASE_URL or REDIS_URL given either
# way is used as it is. services.sh brings up the local servers such a URL
# names (127.0.0.1 or localhost on services.sh's port, as in .env.example),
# and those no URL names; it is not asked for a server elsewhere, so a remote
# database does not get a local Postgres installed and started beside it.
if [ -f .env ]; then
  caller_env=$(export -p)
  set -a; . ./.env; set +a
  eval "$caller_env" 2>/dev/null || true
fi

# names_local URL DEFAULT_PORT PORT: whether URL names a server on this
# machine's PORT (DEFAULT_PORT when the URL gives none), or is no URL.
names_local() {
  [[ $1 == *://* ]] || return 0 # not a URL (a key=value DSN): asked for, as before
  local addr=${1#*://}
  addr=${addr%%[/?]*}  # [user[:password]@]host[:port]
  addr=${addr##*@}
  local host=$addr port=$2
  case $addr in
    \[*\]:*) host=${addr%:*} port=${addr##*:} ;;
    \[*\]) ;;
    *:*) host=${addr%:*} port=${addr##*:} ;;
  esac
  case $host in 127.0.0.1 | localhost | '[::1]') [ "$port" = "$3" ] ;; *) return 1 ;; esac
}

db_url=${DATABASE_URL:-} redis_url=${REDIS_URL:-}
wanted=()
if [ -z "$db_url" ] || names_local "$db_url" 5432 "${PG_PORT:-5432}"; then
  wanted+=(postgres)
fi
if [ -z "${REDIS_CLUSTER_ADDRS:-}" ] &&
  { [ -z "$redis_url" ] || names_local "$redis_url" 6379 "${REDIS_PORT:-6379}"; }; then
  wanted+=(redis)
fi
REBOUND_STARTED_SERVICES=
if [ ${#wanted[@]} -gt 0 ]; then
  eval "$(bash scripts/services.sh "${wanted[@]}")"
fi
# services.sh reports its own role's URLs; the ones given win.
[ -z "$db_url" ] || DATABASE_URL=$db_url
[ -z "$redis_url" ] || REDIS_URL=$redis_url
if [ -z "${REBOUND_API_TOKENS:-}" ]; then
  REBOUND_API_TOKENS=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  export REBOUND_API_TOKENS
fi
token=${REBOUND_API_TOKENS%%,*}
edge_addr=${REBOUND_EDGE_ADDR:-:8080} origin_addr=${REBOUND_ORIGIN_ADDR:-:8081}
edge_port=${edge_addr##*:} origin_port=${origin_addr##*:}

mkdir -p bin
go build -o bin/rebound ./cmd/rebound
bin/rebound migrate

pids=()
# supervise NAME: run "rebound NAME", restarting it when it fails, until
# stopped. A clean exit is a stop someone asked for, not a crash, and is not
# undone: Ctrl-C sends SIGINT to the services too, and their graceful stop
# may end before this loop's trap runs (or with the trap never running: a
# background subshell ignores SIGINT when make run was itself started in the
# background).
supervise() {
  while true; do
    bin/rebound "$1" &
    child=$!
    trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT
    status=0
    wait $child || status=$?
    if [ "$status" = 0 ]; then
      echo "run: $1 stopped" >&2
      return 0
    fi
    echo "run: $1 exited with status $status; restarting in 1s" >&2
    sleep 1
  done
}
supervise origin & pids+=($!)
supervise edge & pids+=($!)

stop() {
  echo "run: stopping" >&2
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
  # What services.sh started, on the port it started it on; Postgres as
  # services.sh started it (as root, or through sudo).
  for s in $REBOUND_STARTED_SERVICES; do
    case $s in
      redis:*)
        redis-cli -p "${s#redis:}" shutdown nosave >/dev/null 2>&1 ||
          echo "run: could not stop Redis on port ${s#redis:}; it is still running" >&2 ;;
      postgres:*)
        sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo -n)
        "${sudo[@]}" pg_ctlcluster "${s#postgres:}" main stop >/dev/null 2>&1 ||
          echo "run: could not stop Postgres ${s#postgres:}; it is still running" >&2 ;;
    esac
  done
  exit 0
}
trap stop INT TERM

for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$origin_port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
cat <<MSG

Rebound is running.
  edge:   http://localhost:$edge_port    origin (admin API): http://localhost:$origin_port
  admin token: $token

Try it:
  curl -s -X POST http://localhost:$origin_port/urls \\
       -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' \\
       -d '{"original_url":"https://example.com","short_code":"hello"}'
  curl -si http://localhost:$edge_port/hello

Ctrl-C stops origin, edge and any database this command started.
MSG
wait
