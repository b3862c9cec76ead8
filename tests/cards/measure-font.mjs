#!/usr/bin/env node
// Measures the advance width of every printable ASCII character in the Adaptive Cards reference
// renderer with Teams' host config (14 px text, regular and bold), and prints the two tables of
// tenths of a pixel that src/render/adaptive_card.rs uses to size short table columns.
// usage: node tests/cards/measure-font.mjs
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { homedir, tmpdir } from 'node:os';

const tools = process.env.SENTINEL_BOT_TOOLS || join(homedir(), '.cache', 'sentinel-bot-tools');
const require = createRequire(join(tools, 'cards', 'package.json'));
const { chromium } = require('playwright-core');
const acDir = dirname(require.resolve('adaptivecards/package.json'));
const host = JSON.parse(readFileSync(join(tools, 'cards', 'hostconfigs', 'microsoft-teams-light.json'), 'utf8'));

const profile = mkdtempSync(join(tmpdir(), 'measure-font-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'],
});
const page = context.pages()[0] || (await context.newPage());
await page.setContent('<html><body><div id="f" style="width:4000px"></div></body></html>');
await page.addStyleTag({ path: join(acDir, 'dist', 'adaptivecards.css') });
await page.addScriptTag({ path: join(acDir, 'dist', 'adaptivecards.min.js') });
const chars = [];
for (let code = 32; code < 127; code++) chars.push(String.fromCharCode(code));
const widths = await page.evaluate(({ host, chars }) => {
  const AC = window.AdaptiveCards;
  const out = {};
  for (const weight of ['Default', 'Bolder']) {
    const card = new AC.AdaptiveCard();
    card.hostConfig = new AC.HostConfig(host);
    // Twenty in a row averages out sub-pixel rounding; a no-break space stands in for space.
    card.parse({ type: 'AdaptiveCard', version: '1.5', body: chars.map((c) => ({ type: 'TextBlock', text: (c === ' ' ? '\u00a0' : c).repeat(20), weight })) });
    const element = card.render();
    const frame = document.getElementById('f');
    frame.innerHTML = '';
    frame.appendChild(element);
    out[weight] = [...element.querySelectorAll('.ac-textBlock')].map((block) => {
      const range = document.createRange();
      range.selectNodeContents(block);
      return Math.round(range.getBoundingClientRect().width / 2);
    });
  }
  return out;
}, { host, chars });
await context.close();
rmSync(profile, { recursive: true, force: true });
console.log(`const REGULAR_TENTHS: [u8; 95] = [${widths.Default.join(', ')}];`);
console.log(`const BOLD_TENTHS: [u8; 95] = [${widths.Bolder.join(', ')}];`);
