#!/usr/bin/env bash
# Installs what TwinLedger needs and is missing: Debian/Ubuntu packages for the C libraries and build tools.
# Uses sudo only when not root. Safe to run repeatedly: it does nothing when everything is present.
set -euo pipefail

packages=(libleveldb-dev libsecp256k1-dev libssl-dev pkg-config curl)
for group in "$@"; do
    case "$group" in
        # make test, make test-ui: headless Chromium and its WebDriver for the explorer page's tests.
        ui) packages+=(chromium chromium-driver) ;;
        # make bench-cluster: etcd, the crash-fault-tolerant reference measured beside the consortium.
        bench) packages+=(etcd-server etcd-client) ;;
        # make test, make test-netns: namespaces, veth and bridges (iproute2), loss where tc netem is missing (nftables).
        netns) packages+=(iproute2 nftables python3) ;;
        *) echo "deps: unknown group $group" >&2; exit 2 ;;
    esac
done
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "deps: missing ${missing[*]}, and apt-get is not available; install them with your package manager." >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            echo "deps: missing ${missing[*]}; run as root or install sudo." >&2
            exit 1
        fi
    fi
    echo "deps: installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "deps: no 'swift' on PATH. TwinLedger needs a Swift 6 toolchain (https://www.swift.org/install/linux/)." >&2
    exit 1
fi
if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    echo "deps: no C compiler (cc); 'make bench' needs one for its C reference. apt-get install gcc" >&2
fi
