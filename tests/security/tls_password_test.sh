#!/usr/bin/env bash
# tests/security/tls_password_test.sh BUILD_DIR
#
# Secure connections and credentials, against a real PostgreSQL cluster:
#   * a test certificate authority made here signs a server certificate for
#     "localhost"; source and target DSNs use sslmode=verify-full;
#   * the password is in a libpq password file (0600), never in the config;
#   * capture + sink run over TLS with password (scram) authentication;
#   * the password appears in no log line, no /proc/PID/cmdline, no environment;
#   * a server certificate for another name is refused, naming the mismatch;
#   * a password file readable by others is refused, naming the file and the fix;
#   * a systemd credential ($CREDENTIALS_DIRECTORY/pgpass) is used when
#     PGPASSFILE is not set.
set -euo pipefail

build="${1:?usage: tls_password_test.sh BUILD_DIR}"
bin="$(cd "$build" && pwd)/app/ghostlog"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pgc="$root/scripts/pg-cluster"
PASSWORD="s3cret-Ghost-$RANDOM$RANDOM"

fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok   %s\n' "$*"; }

tmp="$(mktemp -d /tmp/ghostlog-tls-test.XXXXXX)"
chmod 0711 "$tmp"
daemon=""
cleanup() {
  local rc=$?
  [ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null || true
  "$pgc" stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# --- a certificate authority, a right and a wrong server certificate ---------
cd "$tmp"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ghostlog test CA" \
  -keyout ca.key -out ca.crt >/dev/null 2>&1
for name in localhost wrong.example; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$name.key" -out "$name.csr" >/dev/null 2>&1
  printf 'subjectAltName=DNS:%s\n' "$name" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$name.ext" -out "$name.crt" >/dev/null 2>&1
done
ok "test CA, server certificates for localhost and wrong.example"

# --- a cluster on TCP with TLS and scram -------------------------------------
port=$((20000 + RANDOM % 20000))
GHOSTLOG_PG_TCP=1 "$pgc" start "$tmp/pg" "$port" >/dev/null
data="$tmp/pg/data"
use_cert() {  # use_cert NAME: the server presents NAME's certificate
  local owner=()
  [ "$(id -u)" -eq 0 ] && owner=(-o postgres -g postgres)
  install "${owner[@]}" -m 0644 "$tmp/$1.crt" "$data/server.crt"
  install "${owner[@]}" -m 0600 "$tmp/$1.key" "$data/server.key"
}
use_cert localhost
as_pg tee -a "$data/postgresql.auto.conf" >/dev/null <<CONF
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
password_encryption = 'scram-sha-256'
CONF
as_pg tee "$data/pg_hba.conf" >/dev/null <<HBA
local all postgres trust
hostssl all ghostlog 127.0.0.1/32 scram-sha-256
hostssl replication ghostlog 127.0.0.1/32 scram-sha-256
HBA
"$pgc" restart "$tmp/pg"
admin="host=$tmp/pg port=$port user=postgres dbname=postgres"
psql -X -q -v ON_ERROR_STOP=1 "$admin" <<SQL
CREATE ROLE ghostlog LOGIN REPLICATION PASSWORD '$PASSWORD';
CREATE DATABASE src OWNER ghostlog;
CREATE DATABASE dst OWNER ghostlog;
SQL
psql -X -q -v ON_ERROR_STOP=1 "host=$tmp/pg port=$port user=postgres dbname=src" \
  -c "CREATE TABLE items (id int PRIMARY KEY, name text); ALTER TABLE items OWNER TO ghostlog;
      INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g"
psql -X -q -v ON_ERROR_STOP=1 "host=$tmp/pg port=$port user=postgres dbname=dst" \
  -c "CREATE TABLE items (id int PRIMARY KEY, name text); ALTER TABLE items OWNER TO ghostlog"
ok "cluster on 127.0.0.1:$port: ssl = on, hostssl + scram-sha-256 only"

# --- the password file and the config ------------------------------------------
printf 'localhost:%s:*:ghostlog:%s\n' "$port" "$PASSWORD" >"$tmp/pgpass"
chmod 0600 "$tmp/pgpass"
dsn() { echo "host=localhost port=$port dbname=$1 user=ghostlog sslmode=verify-full sslrootcert=$tmp/ca.crt"; }
cat >"$tmp/ghostlog.toml" <<TOML
data_dir = "$tmp/changelog"
[http]
listen = ""
[source]
dsn = "$(dsn src)"
slot = "tls_test"
publication = "tls_test"
heartbeat_interval = "200ms"
[sink]
dsn = "$(dsn dst)"
max_batch_delay = "20ms"
TOML
grep -q "$PASSWORD" "$tmp/ghostlog.toml" && fail "the config holds the password"

export PGPASSFILE="$tmp/pgpass"
"$bin" doctor --config "$tmp/ghostlog.toml" >"$tmp/doctor.out" 2>&1 || { cat "$tmp/doctor.out"; fail "doctor over TLS"; }
ok "doctor passes over TLS (verify-full) with the password file"

# --- capture + sink over TLS; no password anywhere ------------------------------
"$bin" run --config "$tmp/ghostlog.toml" >"$tmp/daemon.log" 2>&1 &
daemon=$!
count() { psql -X -Atq "host=$tmp/pg port=$port user=postgres dbname=dst" -c "SELECT count(*) FROM items"; }
for _ in $(seq 1 300); do [ "$(count)" = 100 ] && break; sleep 0.1; done
[ "$(count)" = 100 ] || { tail -n 30 "$tmp/daemon.log"; fail "snapshot did not arrive over TLS"; }
psql -X -q "host=$tmp/pg port=$port user=postgres dbname=src" -c "INSERT INTO items VALUES (101, 'streamed')"
for _ in $(seq 1 300); do [ "$(count)" = 101 ] && break; sleep 0.1; done
[ "$(count)" = 101 ] || { tail -n 30 "$tmp/daemon.log"; fail "streaming did not arrive over TLS"; }
ssl_rows=$(psql -X -Atq "$admin" -c "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'ghostlog' AND s.ssl")
plain_rows=$(psql -X -Atq "$admin" -c "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'ghostlog' AND NOT s.ssl")
[ "$ssl_rows" -ge 2 ] && [ "$plain_rows" = 0 ] || fail "ghostlog's sessions: $ssl_rows with TLS, $plain_rows without"
ok "snapshot and streaming over TLS: $ssl_rows ghostlog sessions, all encrypted"
for f in "/proc/$daemon/cmdline" "/proc/$daemon/environ"; do
  tr '\0' '\n' <"$f" | grep -qF "$PASSWORD" && fail "$f holds the password"
done
kill -TERM "$daemon"; wait "$daemon" || true; daemon=""
grep -qF "$PASSWORD" "$tmp/daemon.log" && fail "the log holds the password"
grep -rqF "$PASSWORD" "$tmp/changelog" && fail "the changelog holds the password"
ok "the password is in no log line, cmdline, environment or changelog file"

# --- a certificate for another name is refused -----------------------------------
use_cert wrong.example
"$pgc" restart "$tmp/pg"
if "$bin" doctor --config "$tmp/ghostlog.toml" >"$tmp/doctor.out" 2>&1; then fail "doctor accepted a certificate for wrong.example"; fi
grep -q 'does not match host name' "$tmp/doctor.out" || { cat "$tmp/doctor.out"; fail "the refusal does not name the mismatch"; }
ok "a server certificate for wrong.example is refused: $(grep -o 'server certificate[^"]*"[^"]*"[^"]*"[^"]*"' "$tmp/doctor.out" | head -n1)"
use_cert localhost
"$pgc" restart "$tmp/pg"

# --- a password file others can read is refused --------------------------------
chmod 0644 "$tmp/pgpass"
if "$bin" check --config "$tmp/ghostlog.toml" >"$tmp/check.out" 2>&1; then fail "a 0644 password file was accepted"; fi
grep -qF "password file $tmp/pgpass has mode 0644" "$tmp/check.out" || { cat "$tmp/check.out"; fail "no clear message for 0644"; }
ok "a 0644 password file is refused: $(cat "$tmp/check.out")"
chmod 0600 "$tmp/pgpass"

# --- a systemd credential -----------------------------------------------------------
mkdir -p "$tmp/creds"
cp "$tmp/pgpass" "$tmp/creds/pgpass"
chmod 0600 "$tmp/creds/pgpass"
unset PGPASSFILE
CREDENTIALS_DIRECTORY="$tmp/creds" "$bin" doctor --config "$tmp/ghostlog.toml" >"$tmp/doctor.out" 2>&1 \
  || { cat "$tmp/doctor.out"; fail "doctor with the password as a systemd credential"; }
ok "the password is read from \$CREDENTIALS_DIRECTORY/pgpass"

echo "tls_password_test: PASS"
