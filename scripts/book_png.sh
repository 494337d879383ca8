#!/usr/bin/env bash
# Renders the book's figures: docs/book/img/*.svg -> docs/book/img/*.png, with headless Chromium
# (the browser the test command installs). Run it after `NEEDLESIM_BLESS=1 cargo test -p
# needlesim-cli --test book` rewrote the SVGs. Usage: scripts/book_png.sh [NAME.svg ...]
set -euo pipefail
cd "$(dirname "$0")/.."
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "book_png.sh: needs chromium (apt-get install chromium)"; exit 1; }
if [ $# -gt 0 ]; then files=("$@"); else files=(docs/book/img/*.svg); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for svg in "${files[@]}"; do
  case "$svg" in */*) ;; *) svg="docs/book/img/$svg" ;; esac
  # The figure's size: the width and height of the root <svg> element.
  head=$(grep -o '<svg[^>]*>' "$svg" | head -n 1)
  w=$(sed -n 's/.* width="\([0-9.]*\)".*/\1/p' <<<"$head"); w=${w%.*}
  h=$(sed -n 's/.* height="\([0-9.]*\)".*/\1/p' <<<"$head"); h=${h%.*}
  [ -n "$w" ] && [ -n "$h" ] || { echo "book_png.sh: $svg has no width/height"; exit 1; }
  # A page that shows the SVG on white at its own size (SVGs are transparent by default).
  page="$tmp/page.html"
  printf '<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0;background:#fff">%s</body></html>' "$(cat "$svg")" > "$page"
  png="${svg%.svg}.png"
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$w,$h" --screenshot="$tmp/shot.png" "file://$page" >/dev/null 2>&1
  mv "$tmp/shot.png" "$png"
  echo "$png (${w}x${h})"
done
