#!/usr/bin/env bash
# Fetch axe-core (the accessibility engine the portal's browser test injects, tests/test_public_portal_browser.py)
# from the npm registry with npm itself, check the tarball against the registry's pinned integrity, and keep
# axe.min.js with its licences under tests/data/axe-core/. The vendored copy is committed; run this to
# refresh it (change VERSION and INTEGRITY together: `npm view axe-core@<v> dist.integrity`).
set -euo pipefail
VERSION="4.14.1"
INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
here="$(cd "$(dirname "$0")/.." && pwd)"
target="$here/tests/data/axe-core"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "axe-core@$VERSION" --silent >/dev/null)
tarball="$work/axe-core-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "axe-core $VERSION: integrity $actual does not match the pinned $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt
mkdir -p "$target"
cp "$work"/package/{axe.min.js,LICENSE,LICENSE-3RD-PARTY.txt} "$target/"
echo "$VERSION" > "$target/VERSION"
echo "axe-core $VERSION -> $target"
