#!/usr/bin/env bash
# Start the workbench: ./run.sh [--host ADDR] [--port PORT]
# Creates .venv and installs requirements.txt on first use, then serves Streamlit on
# 127.0.0.1:6006 (reach it with: ssh -L 6006:127.0.0.1:6006 server).
# Bound beyond localhost, it refuses to start without WORKBENCH_PASSWORD.
set -euo pipefail
cd "$(dirname "$0")"
source ./env.sh
ensure_env requirements.txt

host=127.0.0.1
port=6006
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "usage: ./run.sh [--host ADDR] [--port PORT]" >&2; exit 2 ;;
  esac
done
case "$host" in
  127.*|localhost|::1) ;;
  *)
    if [ -z "${WORKBENCH_PASSWORD:-}" ]; then
      echo "Refusing to listen on $host without a password: anyone who can reach this address could" >&2
      echo "run code on this server. Set WORKBENCH_PASSWORD=... or keep the default 127.0.0.1 and use" >&2
      echo "  ssh -L $port:127.0.0.1:$port server" >&2
      exit 1
    fi ;;  # with WORKBENCH_PASSWORD set, the app asks for it in the browser (ui/auth.py)
esac
# The printed URL follows the real port (config.toml's browser.serverPort would otherwise win).
echo "Workbench on http://$host:$port  (from a laptop: ssh -L $port:127.0.0.1:$port you@this-server, then http://localhost:$port)"
exec streamlit run Home.py --server.address "$host" --server.port "$port" --browser.serverPort "$port"
