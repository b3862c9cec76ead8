#!/usr/bin/env bash
# Regenerates the README screenshots in docs/screenshots from the demo data: a Teams card
# (reference renderer, Teams host config), an approximate Slack preview, the web report page
# and a chart PNG. Needs the card tools (../shared/tools/install.sh).
# usage: tests/cards/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/screenshots
CARDS=target/cards
tests/cards/check-cards.sh "$CARDS" >/dev/null
mkdir -p "$OUT"
crop() { # IN OUT TOP HEIGHT [WIDTH]: a window of a screenshot
  node tests/cards/crop.mjs "$@"
}
crop "$CARDS/png/weekly-post-800-teams-light.png" "$OUT/teams-weekly-post-desktop.png" 0 1240
crop "$CARDS/png/incidents-week-360-teams-dark.png" "$OUT/teams-incidents-week-phone-dark.png" 2060 1080
node tests/cards/slack-preview.mjs "$CARDS/slack/weekly-post-1.json" "$CARDS/slack-weekly-post.png" --width 600
crop "$CARDS/slack-weekly-post.png" "$OUT/slack-weekly-post.png" 0 1560
node tests/cards/page-shot.mjs "$CARDS/web/report-week.html" "$OUT/web-report.png" 1000 1500
cp "$CARDS/charts/incidents-30d.png" "$OUT/chart-30-days.png"
ls -l "$OUT"
