#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the web app's tests; print the shell lines that point them at it.
#   eval "$(bash .ci/start_postgres.sh)"   -> DATABASE_URL=postgres://riskpipe@127.0.0.1:<port>/riskpipe
#   stop it with: pg_ctl -D "$RISKPIPE_PG_DIR/data" stop  (as the cluster's owner)
# Installs Debian's postgresql if no server is found. Prints nothing (and exits 1) if it cannot start one,
# so the tests fall back to SQLite.
set -euo pipefail
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) >&2 || { echo "postgresql install failed" >&2; exit 1; }
  bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi
dir="$(mktemp -d /tmp/riskpipe-pg.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_owner=()
if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root
  chown postgres "$dir"
  as_owner=(runuser -u postgres --)
fi
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U riskpipe -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >&2 \
  || { cat "$dir/server.log" >&2; exit 1; }
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U riskpipe riskpipe >&2
echo "export DATABASE_URL=postgres://riskpipe@127.0.0.1:$port/riskpipe"
echo "export RISKPIPE_PG_DIR=$dir"
echo "export RISKPIPE_PG_STOP='${as_owner[*]} $bindir/pg_ctl -D $dir/data -m fast stop'"
