# Shared by run.sh and test.sh: the project's virtualenv, created and filled on first use
# (and refreshed when the requirements file changes). Offline-safe: nothing reaches a model hub.
ensure_env() {
  local req="$1"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  # shellcheck disable=SC1091
  source .venv/bin/activate
  local stamp=".venv/.installed-$(basename "$req")"
  if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
    python -m pip install --disable-pip-version-check -q --upgrade pip
    python -m pip install --disable-pip-version-check -q -r "$req"
    touch "$stamp"
  fi
  # (tokenizers stay parallel in the UI, e.g. for token statistics; training workers turn it off)
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
}

# The loopback names, exactly (core/gate.py LOOPBACK_HOSTS holds the same list; a test compares
# them): "127.evil.example" is a hostname anyone can register, not a loopback address.
is_loopback() {
  case "$1" in
    127.0.0.1|::1|localhost) return 0 ;;
    *) return 1 ;;
  esac
}

# The Host names the server's WebSocket accepts (Streamlit's server.allowedHosts), one a line: the
# loopback names, plus for a public bind the --host address itself (unless it is a wildcard) and
# the names in WORKBENCH_ALLOWED_HOSTS (space separated).
allowed_hosts() {
  printf '%s\n' localhost 127.0.0.1 ::1
  if ! is_loopback "$1"; then
    case "$1" in 0.0.0.0|::|"") ;; *) printf '%s\n' "$1" ;; esac
    for name in ${WORKBENCH_ALLOWED_HOSTS:-}; do printf '%s\n' "$name"; done
  fi
}
