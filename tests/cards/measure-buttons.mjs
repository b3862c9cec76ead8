#!/usr/bin/env node
// Measures buttons in the Adaptive Cards reference renderer with Teams' host config and
// container CSS, in the frame tests/cards/dom-check.mjs uses: for each label, the width its
// button takes when nothing squeezes it, and the width an action row has in a card 360 px wide.
// src/render/adaptive_card.rs packs buttons into rows from these (BUTTON_CHROME_PX,
// PHONE_ACTION_ROW_PX, BUTTON_GAP_PX).
// usage: node tests/cards/measure-buttons.mjs [LABEL ...]
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { homedir, tmpdir } from 'node:os';

const tools = process.env.SENTINEL_BOT_TOOLS || join(homedir(), '.cache', 'sentinel-bot-tools');
const require = createRequire(join(tools, 'cards', 'package.json'));
const { chromium } = require('playwright-core');
const acDir = dirname(require.resolve('adaptivecards/package.json'));
const host = JSON.parse(readFileSync(join(tools, 'cards', 'hostconfigs', 'microsoft-teams-light.json'), 'utf8'));
const labels = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['Previous page', 'Next page', 'Recommendations', 'Weekly report', 'Recommend', 'Show incident',
    'Assign to me', 'Confirm', 'Cancel', 'Open full report', 'Show incident 1234', 'Recommend for 1234'];

const profile = mkdtempSync(join(tmpdir(), 'measure-buttons-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'],
});
const page = context.pages()[0] || (await context.newPage());
await page.setContent(`<html><body style="margin:0;padding:20px;font-family:'Segoe UI','Liberation Sans','DejaVu Sans',sans-serif">
  <div id="f" style="border:1px solid #8884"></div></body></html>`);
await page.addStyleTag({ path: join(acDir, 'dist', 'adaptivecards.css') });
await page.addStyleTag({ path: join(tools, 'cards', 'hostconfigs', 'teams-container-light.css') });
await page.addScriptTag({ path: join(acDir, 'dist', 'adaptivecards.min.js') });
const measured = await page.evaluate(({ host, labels }) => {
  const AC = window.AdaptiveCards;
  const render = (width, actions) => {
    const frame = document.getElementById('f');
    frame.style.width = `${width}px`;
    frame.innerHTML = '';
    const card = new AC.AdaptiveCard();
    card.hostConfig = new AC.HostConfig(host);
    card.parse({ type: 'AdaptiveCard', version: '1.5', body: [], actions });
    frame.appendChild(card.render());
    return frame;
  };
  const buttons = {};
  for (const label of labels) {
    const frame = render(4000, [{ type: 'Action.Submit', title: label }]);
    buttons[label] = Math.ceil(frame.querySelector('button.ac-pushButton').getBoundingClientRect().width);
  }
  const frame = render(360, [{ type: 'Action.Submit', title: 'a' }, { type: 'Action.Submit', title: 'b' }]);
  const row = frame.querySelector('.ac-actionSet');
  const [first, second] = frame.querySelectorAll('button.ac-pushButton');
  const gap = Math.round(second.getBoundingClientRect().left - first.getBoundingClientRect().right);
  return { buttons, phoneRow: Math.floor(row.getBoundingClientRect().width), gap };
}, { host, labels });
await context.close();
rmSync(profile, { recursive: true, force: true });
console.log(JSON.stringify(measured, null, 2));
