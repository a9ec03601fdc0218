#!/usr/bin/env bash
# Makes a Debian 12 machine without Docker able to build and run the compose
# demo with podman and Debian's docker-compose 1.29, without any registry.
#
#   deploy/podman-setup.sh install        install podman & co (needs root)
#   deploy/podman-setup.sh base-image     make debian:bookworm-slim locally
#   deploy/podman-setup.sh service SOCK   start the Docker-API service on SOCK,
#                                         print its pid
#
# base-image runs `debootstrap --variant=minbase bookworm` from the mirror in
# this machine's apt sources (or $PSC_DEBIAN_MIRROR) and imports it as
# debian:bookworm-slim. The root file system tarball is cached in
# $PSC_CACHE_DIR (default /var/cache/psc), so later runs only import it.
#
# Exit status: 0 done; 77 cannot be done here (no root, no apt, no podman);
# 1 failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
cache_dir=${PSC_CACHE_DIR:-/var/cache/psc}
base_image=debian:bookworm-slim
packages=(podman runc netavark aardvark-dns iptables docker-compose debootstrap)

say() { echo "podman-setup: $*" >&2; }

# The first Debian mirror for bookworm in the apt sources (deb822 or
# one-line format). Never written anywhere but the image's own apt sources.
apt_mirror() {
    if [ -n "${PSC_DEBIAN_MIRROR:-}" ]; then
        echo "$PSC_DEBIAN_MIRROR"
        return
    fi
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
            /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri=""; ok=0; next }
            /^URIs:/ { uri=$2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") ok=1 }
            END { if (uri != "" && ok) print uri }
        ' "$f" | head -n1
    done | head -n1 | grep . && return
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3;
                           if (s == "bookworm") { print u; exit } }' | grep .
}

cmd_install() {
    local missing=() p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        say "cannot install ${missing[*]}: not root or no apt-get"
        return 77
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq &&
           apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2; then
        say "apt-get could not install ${missing[*]}"
        return 77
    fi
}

cmd_base_image() {
    if podman image exists "$base_image"; then
        say "$base_image is present"
        return 0
    fi
    local tarball=$cache_dir/debian-bookworm-minbase.tar
    if [ ! -s "$tarball" ]; then
        local mirror dir
        mirror=$(apt_mirror) || { say "no bookworm mirror in the apt sources; set PSC_DEBIAN_MIRROR"; return 1; }
        mkdir -p "$cache_dir"
        dir=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
        say "debootstrap --variant=minbase bookworm (takes about a minute)"
        if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
            tail -n 20 "$dir.log" >&2
            rm -rf "$dir" "$dir.log"
            say "debootstrap failed"
            return 1
        fi
        # The packages debootstrap downloaded are not needed in the image.
        rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
        tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$dir" "$dir.log"
    fi
    say "importing $tarball as $base_image"
    podman import -q "$tarball" "$base_image" >/dev/null
}

cmd_service() {
    local sock=${1:?usage: podman-setup.sh service SOCK}
    rm -f "$sock"
    podman system service --time=0 "unix://$sock" >"$sock.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
        if [ -S "$sock" ] && curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
            echo "$pid"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    say "podman system service did not come up:"
    cat "$sock.log" >&2 || true
    kill "$pid" 2>/dev/null || true
    return 1
}

case "${1:-}" in
    install) cmd_install ;;
    base-image)
        command -v podman >/dev/null || { say "podman is not installed"; exit 77; }
        cmd_base_image ;;
    service) shift; cmd_service "$@" ;;
    mirror) apt_mirror ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
