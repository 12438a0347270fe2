#!/usr/bin/env bash
# Makes a Node 20 base image without any registry: a root filesystem holding
# busybox-static, this machine's node and npm with the libraries node links
# (ldd), coreutils' env (the bins' shebangs use `env -S`), the CA bundle and npm's
# global config, and the users root and node (1000), imported with `docker import`.
# For machines that cannot pull the official node image; pass the tag it prints
# as NODE_IMAGE to build-images.mjs.
#
#   deploy/docker/local-node-base.sh [tag]      (default tag: hydra-node-base:20)
#
# Needs: node 20 and npm on this machine, busybox-static (apt-get install busybox-static),
# and a docker CLI reaching an engine (DOCKER_HOST is honoured).
set -euo pipefail

tag=${1:-hydra-node-base:20}
node_bin=$(command -v node) || { echo "local-node-base: node is not installed" >&2; exit 1; }
node_bin=$(readlink -f "$node_bin")
busybox_bin=/bin/busybox
# ldd fails on a static binary: Debian's busybox-static, not the dynamically linked busybox.
if [[ ! -x $busybox_bin ]] || ldd "$busybox_bin" >/dev/null 2>&1; then
  echo "local-node-base: a static busybox is needed at $busybox_bin: apt-get install busybox-static" >&2
  exit 1
fi
case "$("$node_bin" --version)" in
  v20.*) ;;
  *) echo "local-node-base: node $("$node_bin" --version) found; the images are for Node 20" >&2; exit 1 ;;
esac
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,usr/bin,usr/lib/node_modules,usr/etc,etc/ssl/certs,tmp,home/node,root}
chmod 1777 "$rootfs/tmp"

cp "$busybox_bin" "$rootfs/bin/busybox"
for applet in $("$busybox_bin" --list); do
  [[ -e $rootfs/bin/$applet ]] || ln -s busybox "$rootfs/bin/$applet"
done

# node, coreutils' env, and every library they link, at the same paths.
cp "$node_bin" "$rootfs/usr/bin/node"
env_bin=$(readlink -f /usr/bin/env)
cp "$env_bin" "$rootfs/usr/bin/env"
for lib in $(for bin in "$node_bin" "$env_bin"; do ldd "$bin"; done | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

cp -a "$npm_dir" "$rootfs/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"
[[ -f /usr/etc/npmrc ]] && cp /usr/etc/npmrc "$rootfs/usr/etc/npmrc"
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"

cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000:node:/home/node:/bin/sh
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
GROUP
chown 1000:1000 "$rootfs/home/node"
echo 'hosts: files dns' > "$rootfs/etc/nsswitch.conf"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "$tag"
