#!/usr/bin/env bash
# The local consortium of Network/local.json on 127.0.0.1 (ports in Network/README.md).
#   Network/local.sh init     create it under $TWINLEDGER_HOME (default ./.twinledger/consortium), replacing an old one
#   Network/local.sh start    start every node in the background (logs in $TWINLEDGER_HOME/<name>.log)
#   Network/local.sh status   each node's height, block hash, peers and health
#   Network/local.sh block H  each node's hash and state root of block H (the same on every node)
#   Network/local.sh stop     SIGTERM every node and wait for each to stop cleanly
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TWINLEDGER_BIN:-.build/release/twinledger}
HOME_DIR=${TWINLEDGER_HOME:-.twinledger/consortium}
DEFINITION=${TWINLEDGER_DEFINITION:-Network/local.json}
names() { python3 -c 'import json,sys; [print(n["name"], n["api_port"]) for n in json.load(open(sys.argv[1]))["nodes"]]' "$DEFINITION"; }

case "${1:-}" in
init)
    rm -rf "$HOME_DIR"
    mkdir -p "$(dirname "$HOME_DIR")"
    $T net init --definition "$DEFINITION" --home "$HOME_DIR"
    ;;
start)
    names | while read -r name port; do
        if [ -f "$HOME_DIR/$name.pid" ] && kill -0 "$(cat "$HOME_DIR/$name.pid")" 2>/dev/null; then continue; fi
        nohup $T node start --home "$HOME_DIR/$name" >> "$HOME_DIR/$name.log" 2>&1 &
        echo $! > "$HOME_DIR/$name.pid"
    done
    names | while read -r name port; do
        for _ in $(seq 1 150); do
            curl -sf "http://127.0.0.1:$port/health" > /dev/null 2>&1 && break
            sleep 0.1
        done
        curl -sf "http://127.0.0.1:$port/health" > /dev/null || { echo "node $name did not start; see $HOME_DIR/$name.log"; exit 1; }
    done
    ;;
status)
    names | while read -r name port; do
        printf '%-12s ' "$name"
        curl -sf "http://127.0.0.1:$port/health" | python3 -c '
import json, sys
h = json.load(sys.stdin)
print("height %-6s block %s  peers %s  %s" % (h.get("height"), (h.get("block") or "-")[:16], h.get("peers"),
      "caught up" if h.get("caught_up") else "syncing"))' || echo "down"
    done
    ;;
block)
    names | while read -r name port; do
        printf '%-12s ' "$name"
        curl -sf "http://127.0.0.1:$port/v1/blocks/${2:?height}" | python3 -c '
import json, sys
h = json.load(sys.stdin)["header"]
print("block %s: hash %s  state root %s" % (h["height"], h["hash"][:16], h["state_root"][:16]))' || echo "no block ${2} (yet)"
    done
    ;;
stop)
    for pidfile in "$HOME_DIR"/*.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pidfile in "$HOME_DIR"/*.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$pidfile" .pid) did not stop; killing it"; kill -9 "$pid"; fi
        rm -f "$pidfile"
    done
    ;;
*)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
