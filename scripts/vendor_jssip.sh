#!/usr/bin/env bash
# Rebuilds api/static/vendor/jssip-<version>.min.js: JsSIP from the npm registry, bundled
# with its three dependencies into one browser script (window.JsSIP) by esbuild, and the
# licences of all of them into jssip-LICENSES.txt. The built file is committed: the pages
# have no build step and the platform serves them as they are (README.md, "Dependencies").
# Needs node and npm (not the platform: only whoever updates the vendored copy).
set -euo pipefail
VERSION=${1:-3.13.8}
ESBUILD=0.24.0
cd "$(dirname "$0")/.."
out=$PWD/api/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts "jssip@$VERSION" >/dev/null
npm install --no-audit --no-fund "esbuild@$ESBUILD" >/dev/null
echo 'window.JsSIP = require("jssip");' > entry.js
npx esbuild entry.js --bundle --minify --format=iife --platform=browser --target=chrome100 \
  --legal-comments=inline \
  --banner:js="/* JsSIP $VERSION (MIT, https://jssip.net) with debug, ms, events, sdp-transform: licences in jssip-LICENSES.txt; built by scripts/vendor_jssip.sh */" \
  --outfile="$out/jssip-$VERSION.min.js"
{
  echo "api/static/vendor/jssip-$VERSION.min.js bundles these npm packages (all MIT); their licences follow."
  for p in jssip debug ms events sdp-transform; do
    f=$(ls "node_modules/$p" | grep -i '^licen' | head -1)
    echo
    echo "==== $p $(node -p "require('./node_modules/$p/package.json').version") ($p/$f) ===="
    cat "node_modules/$p/$f"
  done
} > "$out/jssip-LICENSES.txt"
echo "vendored: $out/jssip-$VERSION.min.js"
