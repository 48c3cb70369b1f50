#!/usr/bin/env bash
# Installs every Debian package haes needs to build, test and run its demo.
# Idempotent: packages already installed are skipped, and apt is not touched
# at all when nothing is missing. Needs root (or sudo) only when something is
# missing. Works on a fresh Debian 12.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake g++ ccache pkg-config
  clang libclang-rt-14-dev          # libFuzzer and sanitizers
  clang-format clang-tidy           # scripts/lint.sh
  libboost-dev                      # Asio, Beast (1.74)
  protobuf-compiler libprotobuf-dev
  nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libssl-dev
  libgtest-dev libgmock-dev
  # the real parts the tests and the demo start
  haproxy etcd-server etcd-client
  # essim, integration tests, fidelity checks, benchmarks
  python3 python3-pytest python3-elasticsearch openssl curl wrk procps
  rsync                             # sync.repository.copy and its tests
  openssh-client openssh-server     # the copy over ssh, tested against a real sshd on a loopback port
  socat                             # haes.lua tests type on HAProxy's stats socket
  systemd                           # systemd-analyze checks the shipped unit file
  # the container tests (scripts/container-setup.sh, tests/container/): podman as root
  # with runc, the base image made by debootstrap, docker-compose against podman's
  # Docker API, DNS between compose services; python3-yaml and python3-kubernetes
  # (the API's object models) check the k8s manifests offline
  podman runc debootstrap docker-compose golang-github-containernetworking-plugin-dnsname
  python3-yaml python3-kubernetes
  prometheus                        # promtool checks the shipped alert rules; a live Prometheus runs them
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "setup: missing packages (${missing[*]}) and not root; run as root or install sudo" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian enables the packaged services on install; haes starts its own
# processes and must find the default ports free.
for svc in haproxy etcd; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
# openssh-server is here for the tests only, which start their own sshd on
# a loopback port: when this script installed it, it does not leave an SSH
# server listening on port 22 behind.
if [[ " ${missing[*]} " == *" openssh-server "* ]] && [ -d /run/systemd/system ]; then
  echo "setup: openssh-server was installed for the tests only: disabling its system service (port 22)"
  $SUDO systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
fi
echo "setup: done"
