#!/usr/bin/env node
// Cuts a window out of a PNG (for README screenshots), in headless Chromium.
// usage: node tests/cards/crop.mjs IN.png OUT.png TOP HEIGHT
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { homedir } from 'node:os';

const tools = process.env.SENTINEL_BOT_TOOLS || join(homedir(), '.cache', 'sentinel-bot-tools');
const require = createRequire(join(tools, 'cards', 'package.json'));
const { chromium } = require('playwright-core');
const [input, output, top, height] = process.argv.slice(2);
const data = readFileSync(input).toString('base64');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
await page.setContent(`<body style="margin:0"><img id="i" src="data:image/png;base64,${data}"></body>`);
const size = await page.evaluate(() => ({ w: document.getElementById('i').naturalWidth, h: document.getElementById('i').naturalHeight }));
const y = Math.min(Number(top), size.h - 1);
const h = Math.min(Number(height), size.h - y);
await page.setViewportSize({ width: size.w, height: y + h });
await page.screenshot({ path: output, clip: { x: 0, y, width: size.w, height: h } });
await browser.close();
