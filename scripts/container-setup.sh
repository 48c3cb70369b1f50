#!/usr/bin/env bash
# Makes this machine able to build and run haes's images with podman, offline
# from any image registry. Idempotent: each step is skipped when already done.
#   1. the packages (scripts/setup.sh: podman, runc, debootstrap, docker-compose, ...)
#   2. /etc/containers/containers.conf.d/50-haes.conf: runc as the runtime and
#      default ulimits (see below for why)
#   3. the base images docker.io/library/debian:bookworm and :bookworm-slim,
#      made locally with debootstrap when they are not in podman's store
# Needs root (podman runs as root here). Run by the container tests
# (tests/container/), safe to run by hand. Prints how long step 3 took.
# Environment: HAES_DEBIAN_MIRROR (default: the one in apt's sources).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "container-setup: must run as root (the container tests use root podman)" >&2
  exit 1
fi

# Two container tests may start at once: one setup at a time.
exec 9>/run/lock/haes-container-setup.lock
flock 9

scripts/setup.sh

# ---- 2. podman's configuration ----------------------------------------------
# crun (podman's default) refuses a mixed cgroup v1/v2 layout, and podman's
# default ulimits are higher than some sandboxes allow; runc and these limits
# work everywhere we run. A drop-in file leaves containers.conf itself alone.
conf=/etc/containers/containers.conf.d/50-haes.conf
want='# Written by haes scripts/container-setup.sh (delete to undo).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"'
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" >"$conf"
  echo "container-setup: wrote $conf"
fi

# ---- 3. the base images --------------------------------------------------------
base=docker.io/library/debian:bookworm
slim=docker.io/library/debian:bookworm-slim
if podman image exists "$base" && podman image exists "$slim"; then
  echo "container-setup: base images present ($base, $slim)"
  exit 0
fi

# The mirror apt uses here (deb822 or one-line format), else Debian's CDN.
mirror=${HAES_DEBIAN_MIRROR:-}
security=""
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  [ -n "$mirror" ] || mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}
                                     /^deb / && $2 !~ /security/ && $3 == "bookworm" {print $2; exit}' "$f")
  [ -n "$security" ] || security=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}
                                         /^deb / && $2 ~ /security/ {print $2; exit}' "$f")
done
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

root=$(mktemp -d /var/tmp/haes-debootstrap.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "container-setup: debootstrap --variant=minbase bookworm from $mirror (about 2 minutes)"
t0=$(date +%s)
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2; rm -f "$root.log"
  echo "container-setup: debootstrap failed (mirror $mirror; set HAES_DEBIAN_MIRROR)" >&2
  exit 1
}
rm -f "$root.log"
t1=$(date +%s)

# apt sources as in Debian's official image: the release, its updates and the
# security archive, so images get the same package versions as this host.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# No downloaded packages or lists in the image; no daemons started by apt.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/50-haes-no-recommends"

import_image() {  # $1: tag
  tar -C "$root" --numeric-owner -c . |
    podman import -q --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$1" >/dev/null
  echo "container-setup: imported $1 ($(podman image inspect --format '{{.Size}}' "$1") bytes)"
}
podman image exists "$base" || import_image "$base"

# The slim flavour, like Debian's official one: no documentation, manual
# pages or translations, now or in packages installed later.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
podman image exists "$slim" || import_image "$slim"
t2=$(date +%s)
echo "container-setup: base images made in $((t2 - t0)) s (debootstrap $((t1 - t0)) s, import $((t2 - t1)) s)"
