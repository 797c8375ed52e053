#!/usr/bin/env bash
# Start the workbench: ./run.sh [--host ADDR] [--port PORT]
# Creates .venv and installs requirements.txt on first use, then serves Streamlit on
# 127.0.0.1:6006 (reach it with: ssh -L 6006:127.0.0.1:6006 server).
# Bound beyond loopback (anything but 127.0.0.1, ::1, localhost), it refuses to start without
# WORKBENCH_PASSWORD; the browser's Host must then be one of the loopback names, the --host
# address, or a name listed in WORKBENCH_ALLOWED_HOSTS (space separated).
set -euo pipefail
cd "$(dirname "$0")"
source ./env.sh

host=127.0.0.1
port=6006
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "usage: ./run.sh [--host ADDR] [--port PORT]" >&2; exit 2 ;;
  esac
done
if ! is_loopback "$host" && [ -z "${WORKBENCH_PASSWORD:-}" ]; then
  echo "Refusing to listen on $host without a password: anyone who can reach this address could" >&2
  echo "run code on this server. Set WORKBENCH_PASSWORD=... or keep the default 127.0.0.1 and use" >&2
  echo "  ssh -L $port:127.0.0.1:$port server" >&2
  echo "拒绝在 $host 上无密码监听：能访问该地址的人都可以在这台服务器上运行代码。" >&2
  echo "请设置 WORKBENCH_PASSWORD=...，或保持默认的 127.0.0.1 并使用 ssh -L $port:127.0.0.1:$port server" >&2
  exit 1
fi  # with WORKBENCH_PASSWORD set, the app asks for it in the browser (ui/auth.py)
allowed=()
while IFS= read -r name; do allowed+=(--server.allowedHosts "$name"); done < <(allowed_hosts "$host")
if ! is_loopback "$host" && [ "${#allowed[@]}" -le 6 ]; then
  echo "Note: browsers reach this server only as localhost until you list its name or address in" >&2
  echo "WORKBENCH_ALLOWED_HOSTS (e.g. WORKBENCH_ALLOWED_HOSTS='gpu-server.lan 10.0.0.5')." >&2
  echo "提示：在 WORKBENCH_ALLOWED_HOSTS 中列出本机的名称或地址之前，浏览器只能以 localhost 访问。" >&2
fi
ensure_env requirements.txt
# The printed URL follows the real port (config.toml's browser.serverPort would otherwise win).
echo "Workbench on http://$host:$port  (from a laptop: ssh -L $port:127.0.0.1:$port you@this-server, then http://localhost:$port)"
exec streamlit run Home.py --server.address "$host" --server.port "$port" --browser.serverPort "$port" "${allowed[@]}"
