#!/usr/bin/env bash
# Installs the native BLS12-381 peers `make bench` times beside ours (Docs/performance.md, "Pairing"): pymcl and blspy
# wheels from PyPI, pinned, in a virtual environment under .build/bench/venv, with matplotlib for the plots
# (Benchmarks/python/plots.py). Needs python3 with venv (installs the
# Debian package python3-venv when missing). Without network the bench still runs, without the side-by-side rows.
set -uo pipefail

venv=.build/bench/venv
pins=(pymcl==1.0.2 blspy==2.0.3 matplotlib==3.9.2)

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import pymcl, blspy, matplotlib" 2>/dev/null; then exit 0; fi
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
    echo "bench-peers: installing python3-venv"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null || true
fi
mkdir -p .build/bench
if python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check "${pins[@]}"; then
    echo "bench-peers: ${pins[*]} in $venv"
else
    echo "bench-peers: could not install ${pins[*]}; the pairing rows will have no native peer" >&2
    rm -rf "$venv"
fi
exit 0
