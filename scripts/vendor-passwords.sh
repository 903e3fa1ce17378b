#!/usr/bin/env bash
# Refreshes internal/auth/common-passwords.txt from the npm package
# @zxcvbn-ts/language-common (MIT). Only passwords that our other rules would
# not already refuse are kept (8+ characters, not all digits), lower-cased.
set -euo pipefail
version=4.1.3
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@zxcvbn-ts/language-common@$version" >/dev/null && tar xzf ./*.tgz)
node -e '
const list = require(process.argv[1]);
const seen = new Set();
for (const p of list) {
  const s = String(p).toLowerCase();
  if ([...s].length >= 8 && !/^[0-9]+$/.test(s)) seen.add(s);
}
process.stdout.write([...seen].join("\n") + "\n");
' "$tmp/package/src/passwords.json" > "$root/internal/auth/common-passwords.txt"
cp "$tmp/package/LICENSE.txt" "$root/internal/auth/common-passwords.LICENSE.txt"
echo "wrote $(wc -l < "$root/internal/auth/common-passwords.txt") passwords from @zxcvbn-ts/language-common@$version"
