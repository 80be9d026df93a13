#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1:54329 for the PostgreSQL test and export its URL (source this file).
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -n "$pgbin" ]; then
  pgdata=/tmp/claimflow-pg
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata" && chown postgres:postgres "$pgdata"
    su postgres -c "$pgbin/initdb -D $pgdata -A trust -U postgres" >/dev/null
  fi
  if ! su postgres -c "$pgbin/pg_ctl -D $pgdata status" >/dev/null 2>&1; then
    # The server outlives this shell: start it with no descriptor but stdin/out/err, so it cannot hold a caller's
    # lock file or pipe open for ever (a `flock FILE bash scripts/test.sh` would otherwise stay locked).
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd<&-" 2>/dev/null || true; fi
      done
      su postgres -c "$pgbin/pg_ctl -D $pgdata -o '-p 54329 -k /tmp -c listen_addresses=127.0.0.1' -l $pgdata/log start -w" >/dev/null
    )
  fi
  export CLAIMFLOW_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
else
  echo "start-postgres: PostgreSQL is not installed; the PostgreSQL test will fail" >&2
fi
