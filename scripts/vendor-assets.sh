#!/usr/bin/env bash
# vendor-assets.sh copies the pinned front-end packages from npm into
# internal/web/static/vendor/<pkg>/, with their licences, so that the Go
# binary embeds them and neither a build nor a run ever needs npm.
#
# Usage: scripts/vendor-assets.sh        (from anywhere in the repository)
# Needs: npm, tar. To upgrade a package, change its version below, run the
# script, check the diff and the pages, and commit the result.
set -euo pipefail

# package@version  file-in-package  destination-dir (under static/vendor)
ASSETS=(
	"@picocss/pico@2.1.1 css/pico.min.css pico"
	"htmx.org@2.0.11 dist/htmx.min.js htmx"
)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/internal/web/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for entry in "${ASSETS[@]}"; do
	read -r spec file dest <<<"$entry"
	work="$tmp/$dest"
	mkdir -p "$work"
	# npm pack fetches the published tarball (checked against the registry's
	# integrity hash) without running any install scripts.
	tarball="$(cd "$work" && npm pack --silent --ignore-scripts "$spec")"
	tar -xzf "$work/$tarball" -C "$work"
	pkg="$work/package"

	version="$(node -p "require('$pkg/package.json').version")"
	if [[ "$spec" != *"@$version" ]]; then
		echo "vendor-assets: asked for $spec, npm gave version $version" >&2
		exit 1
	fi

	licence=""
	for cand in LICENSE LICENSE.md LICENSE.txt LICENCE license license.md; do
		if [[ -f "$pkg/$cand" ]]; then
			licence="$pkg/$cand"
			break
		fi
	done
	if [[ -z "$licence" ]]; then
		echo "vendor-assets: $spec has no licence file" >&2
		exit 1
	fi

	rm -rf "${vendor:?}/$dest"
	mkdir -p "$vendor/$dest"
	cp "$pkg/$file" "$vendor/$dest/"
	cp "$licence" "$vendor/$dest/LICENSE"
	sum="$(sha256sum "$vendor/$dest/$(basename "$file")" | cut -c1-16)"
	echo "vendored $spec: $(basename "$file") (sha256 $sum...) and LICENSE -> ${vendor#"$root"/}/$dest/"
done
