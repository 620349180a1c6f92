#!/usr/bin/env bash
# Make sure a Redis server answers at REDIS_URL (default redis://127.0.0.1:6379/0).
# Order: use the one that answers; else start Debian's redis-server with its data under var/,
# installing it first when we are allowed to; else stop with a message saying what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
py=".venv/bin/python"

answers() {
  "$py" - "$url" <<'PY'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
except Exception:
    sys.exit(1)
PY
}

if answers; then
  exit 0
fi

hostport=$("$py" -c 'import sys; from urllib.parse import urlparse; u = urlparse(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or 6379)' "$url")
read -r host port <<<"$hostport"
case "$host" in
  127.*|localhost|::1) ;;
  *) echo "Redis at $url does not answer, and it is not on this machine: start it, or unset REDIS_URL to use a local one." >&2; exit 1 ;;
esac

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's redis-server ..."
    (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-server; }) >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's redis-server with sudo ..."
    sudo -n apt-get install -y -qq redis-server >/dev/null 2>&1 || { sudo -n apt-get update -qq && sudo -n apt-get install -y -qq redis-server; }
  fi
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "No Redis server answers at $url and none could be installed." >&2
  echo "Install one (Debian/Ubuntu: sudo apt-get install redis-server) or point REDIS_URL at a running Redis." >&2
  exit 1
fi

mkdir -p var/redis
redis-server --daemonize yes --bind "$host" --port "$port" --dir "$PWD/var/redis" \
  --logfile "$PWD/var/redis/redis.log" --pidfile "$PWD/var/redis/redis.pid" --save 60 1000 --appendonly no
for _ in $(seq 1 50); do
  answers && { echo "started redis-server on $host:$port (data in var/redis)"; exit 0; }
  sleep 0.1
done
echo "redis-server did not start: see var/redis/redis.log" >&2
exit 1
