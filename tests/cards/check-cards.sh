#!/usr/bin/env bash
# Every card the bot produces on the demo data (every command, page, confirmation state and the
# weekly post): dumped by `cargo test --test api cards::every_card_dumps_to_files_that_parse`, then
#   1. validated against the official Adaptive Cards 1.5 schema (cards/validate-card.sh --teams;
#      Teams' Chart.* elements are replaced by their fallback first),
#   2. rendered with Teams' host configs at 360 and 800 px, light and dark, and checked in the
#      renderer's DOM (tests/cards/dom-check.mjs: no word broken, nothing cut off or sticking
#      out, severity labels at 4.5:1 or more), with a PNG of each render to look at,
#   3. every Slack message through slack_sdk's Block Kit models (slack/validate-blocks.py).
# Needs the card tools (../shared/tools/install.sh); without them it says so and skips.
# usage: tests/cards/check-cards.sh [OUT_DIR]    (default: target/cards)
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="${SENTINEL_BOT_TOOLS:-$HOME/.cache/sentinel-bot-tools}"
OUT="${1:-target/cards}"
if [ ! -x "$TOOLS/cards/validate-card.sh" ] || ! command -v node >/dev/null; then
  echo "card checks SKIPPED: card tools not found in $TOOLS (see ../shared/tools/install.sh)"
  exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
CARD_DUMP_DIR="$OUT" cargo test --quiet --test api cards::every_card_dumps_to_files_that_parse >/dev/null

failed=0
valid=0
for card in "$OUT"/schema/*.json; do
  if "$TOOLS/cards/validate-card.sh" --teams "$card" >"$OUT/validate.log" 2>&1; then
    valid=$((valid + 1))
  else
    echo "INVALID $(basename "$card")"; cat "$OUT/validate.log"; failed=1
  fi
done
echo "schema 1.5: $valid valid of $(ls "$OUT"/schema/*.json | wc -l) cards"

if ! "$TOOLS/venv/bin/python" "$TOOLS/slack/validate-blocks.py" "$OUT"/slack/*.json >"$OUT/slack.log"; then
  grep -v '^VALID' "$OUT/slack.log"; failed=1
fi
echo "slack: $(grep -c '^VALID' "$OUT/slack.log") valid of $(ls "$OUT"/slack/*.json | wc -l) messages"

node tests/cards/dom-check.mjs "$OUT/teams" "$OUT/png" || failed=1
echo "PNGs in $OUT/png; card sizes in $OUT/sizes.json"
exit "$failed"
