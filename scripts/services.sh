#!/usr/bin/env bash
# services.sh: make sure PostgreSQL and Redis run on this machine, installing
# them from Debian's packages when they are missing, and make sure Rebound has
# its own Postgres role and database.
#
# Prints shell assignments to stdout (eval them); progress goes to stderr.
# Reuses servers that already run. Works with a stock Debian Postgres (peer
# and password authentication): the role is created through the postgres OS
# user and logs in with a password over TCP.
#
# Arguments name the services wanted, `postgres` and/or `redis` (both when
# none is given): `make run` asks only for what the environment does not
# already point at elsewhere. A service not wanted is neither installed nor
# started, and its URL is not printed.
#
# REBOUND_STARTED_SERVICES (printed) lists what this script started, as
# postgres:VERSION and redis:PORT, so that `make run` can stop exactly that on
# Ctrl-C.
set -euo pipefail

want_postgres=0 want_redis=0
for s in ${*:-postgres redis}; do
  case $s in
    postgres) want_postgres=1 ;;
    redis) want_redis=1 ;;
    *) echo "services: unknown service $s (want postgres or redis)" >&2; exit 2 ;;
  esac
done

PG_HOST=127.0.0.1 PG_PORT=${PG_PORT:-5432}
REDIS_HOST=127.0.0.1 REDIS_PORT=${REDIS_PORT:-6379}
DB_USER=rebound DB_PASS=rebound DB_NAME=rebound
started=()

say() { echo "services: $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" "$2" && return 0; sleep 0.5; done
  say "nothing answers on $1:$2"; return 1
}

missing=()
if [ $want_postgres = 1 ]; then
  if ! port_open $PG_HOST $PG_PORT && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    missing+=(postgresql)
  fi
  if ! command -v psql >/dev/null; then
    missing+=(postgresql-client)
  fi
fi
if [ $want_redis = 1 ] && ! port_open $REDIS_HOST $REDIS_PORT && ! command -v redis-server >/dev/null; then
  missing+=(redis-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} from Debian's packages"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

# psql as the database superuser: through the postgres OS user (peer auth on
# a stock install), else over TCP as postgres (trust auth on CI images).
psql_admin() {
  if id postgres >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
    # -p picks the server's socket: a cluster listens on one per port.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql -p $PG_PORT -v ON_ERROR_STOP=1 -qAt "$@"
    else sudo -u postgres psql -p $PG_PORT -v ON_ERROR_STOP=1 -qAt "$@"; fi
  else
    psql -h $PG_HOST -p $PG_PORT -U postgres -v ON_ERROR_STOP=1 -qAt "$@"
  fi
}

# cluster_port VERSION: the port Debian's main cluster of VERSION is set up for.
cluster_port() { pg_lsclusters -h 2>/dev/null | awk -v v="$1" '$1 == v && $2 == "main" { print $3 }'; }

# ensure_postgres starts Postgres when nothing answers on its port (PG_PORT)
# and makes sure Rebound's role and database exist. The server it starts is
# Debian's main cluster of the newest version, created for PG_PORT when there
# is none; one set up for another port is not started (it would never answer
# on PG_PORT).
ensure_postgres() {
  if ! port_open $PG_HOST $PG_PORT; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    if ! ls /etc/postgresql/"$ver"/main >/dev/null 2>&1; then
      say "creating Postgres $ver cluster on port $PG_PORT"
      as_root pg_createcluster -p $PG_PORT "$ver" main >&2
    fi
    port=$(cluster_port "$ver")
    if [ "$port" != "$PG_PORT" ]; then
      say "nothing answers on $PG_HOST:$PG_PORT (PG_PORT), and Postgres $ver's main cluster is set up for port ${port:-unknown}: set PG_PORT=${port:-its port}, or start a server on $PG_PORT"
      exit 1
    fi
    say "starting Postgres $ver"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || as_root pg_ctlcluster "$ver" main start >&2
    wait_port $PG_HOST $PG_PORT
    started+=("postgres:$ver")
  fi

  if ! PGPASSWORD=$DB_PASS psql -h $PG_HOST -p $PG_PORT -U $DB_USER -d $DB_NAME -qAt -c 'select 1' >/dev/null 2>&1; then
    say "creating role $DB_USER and database $DB_NAME"
    psql_admin -d postgres -c "DO \$\$BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASS';
      ELSE ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASS'; END IF; END\$\$;" >&2
    if [ -z "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
      psql_admin -d postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2
    fi
  fi

  # pg_checkpoint (Postgres 15) lets make bench checkpoint after its import, so
  # that the writes it measures next do not flush the import's buffers. Best
  # effort, once, and never a password prompt: sudo only when it needs none,
  # psql with -w. Without the grant the bench only skips that step.
  needs_grant=$(PGPASSWORD=$DB_PASS psql -h $PG_HOST -p $PG_PORT -U $DB_USER -d $DB_NAME -qAt -c \
    "SELECT CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = 'pg_checkpoint')
       THEN NOT pg_has_role('pg_checkpoint', 'member') ELSE false END" 2>/dev/null || true)
  if [ "$needs_grant" = t ] &&
    { [ "$(id -u)" = 0 ] || ! id postgres >/dev/null 2>&1 || sudo -n true 2>/dev/null; }; then
    psql_admin -w -d postgres -c "GRANT pg_checkpoint TO $DB_USER" >/dev/null 2>&1 || true
  fi
}

# ensure_redis starts Redis, with nothing persisted, when nothing answers on
# its port.
ensure_redis() {
  if ! port_open $REDIS_HOST $REDIS_PORT; then
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port $REDIS_PORT --save "" --appendonly no \
      --dir /tmp --logfile /tmp/rebound-redis-$REDIS_PORT.log >&2
    wait_port $REDIS_HOST $REDIS_PORT
    started+=("redis:$REDIS_PORT")
  fi
}

if [ $want_postgres = 1 ]; then
  ensure_postgres
  url="postgres://$DB_USER:$DB_PASS@$PG_HOST:$PG_PORT/$DB_NAME?sslmode=disable"
  echo "export DATABASE_URL='$url'"
  echo "export TEST_DATABASE_URL='$url'"
fi
if [ $want_redis = 1 ]; then
  ensure_redis
  echo "export REDIS_URL='redis://$REDIS_HOST:$REDIS_PORT/0'"
  echo "export TEST_REDIS_URL='redis://$REDIS_HOST:$REDIS_PORT/0'"
fi
echo "export REBOUND_STARTED_SERVICES='${started[*]:-}'"
