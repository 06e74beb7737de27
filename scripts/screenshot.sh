#!/usr/bin/env bash
# Render the shipped catalog's dashboard and take the README's screenshot with headless Chromium.
#
#   scripts/screenshot.sh [OUT.png] [kpictl report options…]     (default OUT: docs/report.png)
#   SIZE=390,2400 scripts/screenshot.sh phone.png                 (a phone's width; default 1280,2400)
#   scripts/screenshot.sh report.pdf                              (print media, A4, as a PDF)
#
# Needs Debian's Chromium (apt-get install -y chromium); pngquant, when installed, makes the PNG
# about three times smaller. Chromium runs with a throw-away profile and no network features,
# on a file:// URL: the page needs nothing else, which is the point of the report.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-docs/report.png}
shift || true
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium not found: apt-get install -y chromium" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start=$(date +%s%N)
python -m kpictl report --out "$work/report.html" "$@"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "report: $(wc -c <"$work/report.html") bytes in ${ms} ms" >&2

flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
  --disable-sync --no-first-run --hide-scrollbars --user-data-dir="$work/profile")
mkdir -p "$(dirname "$out")"
if [[ "$out" == *.pdf ]]; then  # print media: what the page looks like on paper
  "$browser" "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$out" "file://$work/report.html" 2>/dev/null
  echo "wrote $out: $(wc -c <"$out") bytes" >&2
  exit 0
fi
# The top of the page is what a reader sees first: header, status summary and the first cards.
"$browser" "${flags[@]}" --window-size="${SIZE:-1280,2400}" \
  --screenshot="$work/report.png" "file://$work/report.html" 2>/dev/null

if command -v pngquant >/dev/null; then
  pngquant --force --quality=70-95 --strip --output "$out" "$work/report.png"
else
  cp "$work/report.png" "$out"
fi
echo "wrote $out: $(wc -c <"$out") bytes" >&2
