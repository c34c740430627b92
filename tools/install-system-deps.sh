#!/usr/bin/env bash
# Install the Debian packages the project needs, once. Idempotent; needs root.
# chromium and chromium-driver are for the web page's real-browser test (tests/e2e).
set -euo pipefail
need=()
for pkg in openvswitch-switch bridge-utils iputils-ping iproute2 etcd-server etcd-client \
           chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]}; run as root or install them first" >&2
    exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
