#!/usr/bin/env node
// Screenshots the top of a standalone HTML page (the web report) at a given width.
// usage: node tests/cards/page-shot.mjs PAGE.html OUT.png WIDTH HEIGHT
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { homedir } from 'node:os';

const tools = process.env.SENTINEL_BOT_TOOLS || join(homedir(), '.cache', 'sentinel-bot-tools');
const require = createRequire(join(tools, 'cards', 'package.json'));
const { chromium } = require('playwright-core');
const [input, output, width, height] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
await page.route(/^https?:/, (route) => route.abort());
await page.setContent(readFileSync(input, 'utf8'));
await page.screenshot({ path: output });
await browser.close();
