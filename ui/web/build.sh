#!/bin/sh
# Vendors govuk-frontend's compiled CSS and JS into static/govuk (committed, so `pip install`
# needs no Node). Reproducible: versions come from package-lock.json via `npm ci`.
# GDS Transport and the crown are for GOV.UK services only, so the CSS is switched to Arial
# and the font files and crest are not copied.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
SRC=node_modules/govuk-frontend/dist/govuk
OUT=static/govuk
rm -rf "$OUT"
mkdir -p "$OUT"
sed -E -e 's/@font-face\{[^}]*\}//g' -e 's/"?GDS Transport"?,//g' "$SRC/govuk-frontend.min.css" > "$OUT/govuk-frontend.min.css"
cp "$SRC/govuk-frontend.min.js" "$OUT/govuk-frontend.min.js"
cp node_modules/govuk-frontend/package.json "$OUT/VERSION.json"
cp node_modules/govuk-frontend/LICENSE.txt "$OUT/LICENSE.txt" 2>/dev/null || true
echo "govuk-frontend $(node -p "require('./$OUT/VERSION.json').version") copied to $OUT"
