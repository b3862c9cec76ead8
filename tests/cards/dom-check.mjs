#!/usr/bin/env node
// Renders every card in a directory with Microsoft's Adaptive Cards JS renderer and Teams'
// host configs (the card tools of ../shared/tools, installed in ~/.cache/sentinel-bot-tools),
// at 360 px (phone) and 800 px (desktop), light and dark, in headless Chromium, and checks the
// renderer's DOM, not the picture:
//   - no word is broken across lines (numbers, ids, severities, statuses, any word up to 30
//     characters; a break at a hyphen is a normal line break);
//   - no short (non-wrapping) text is cut off with an ellipsis;
//   - nothing sticks out of the card sideways;
//   - no button label is clipped or cut to an ellipsis (the renderer squeezes buttons that do
//     not fit in their row and ends their title with "…");
//   - every severity label has at least 4.5:1 contrast with what is behind it (WCAG 1.4.3).
// Writes a PNG of every render to OUT_DIR and exits 1 when any check fails.
//
// usage: node tests/cards/dom-check.mjs CARD_DIR OUT_DIR [--only NAME_SUBSTRING]
// env:   SENTINEL_BOT_TOOLS (default ~/.cache/sentinel-bot-tools), CHROMIUM (default /usr/bin/chromium)
import { readFileSync, readdirSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, basename, dirname } from 'node:path';
import { tmpdir, homedir } from 'node:os';

const tools = process.env.SENTINEL_BOT_TOOLS || join(homedir(), '.cache', 'sentinel-bot-tools');
const require = createRequire(join(tools, 'cards', 'package.json'));
const { chromium } = require('playwright-core');
const acDir = dirname(require.resolve('adaptivecards/package.json'));
const mdJs = join(dirname(require.resolve('markdown-it/package.json')), 'dist', 'browser', 'markdown-it.umd.min.js');

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const [cardDir, outDir] = args.filter((it, index) => !it.startsWith('--') && args[index - 1] !== '--only');
if (!cardDir || !outDir) {
  console.error('usage: dom-check.mjs CARD_DIR OUT_DIR [--only NAME_SUBSTRING]');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const hosts = {
  'teams-light': { file: 'microsoft-teams-light.json', css: 'teams-container-light.css', page: '#f5f5f5', card: '#ffffff' },
  'teams-dark': { file: 'microsoft-teams-dark.json', css: 'teams-container-dark.css', page: '#1f1f1f', card: '#292929' },
};
const widths = [360, 800];
const severities = ['High', 'Medium', 'Low', 'Informational'];

const profile = mkdtempSync(join(tmpdir(), 'dom-check-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 840, height: 600 },
  deviceScaleFactor: 1,
});
const page = context.pages()[0] || (await context.newPage());
await page.route(/^https?:/, (route) => route.abort());

/// The checks, run in the page on the rendered card.
function inspect({ severities }) {
  const problems = [];
  const frame = document.getElementById('frame');
  const parse = (color) => {
    const m = color.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(',').map((it) => parseFloat(it));
    return { r, g, b, a };
  };
  const luminance = ({ r, g, b }) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (element) => {
    for (let it = element; it; it = it.parentElement) {
      const color = parse(getComputedStyle(it).backgroundColor);
      if (color && color.a > 0.5) return color;
    }
    return { r: 255, g: 255, b: 255 };
  };
  const blend = (fg, bg) => ({ r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a), b: fg.b * fg.a + bg.b * (1 - fg.a) });
  const texts = frame.querySelectorAll('.ac-textBlock, .ac-richTextBlock');
  for (const element of texts) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent;
      const word = /[^\s\-–]+/g;
      for (let m = word.exec(text); m; m = word.exec(text)) {
        if (m[0].length > 30) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) problems.push({ check: 'broken word', word: m[0], in: text.slice(0, 80) });
      }
      const trimmed = text.trim();
      if (severities.includes(trimmed)) {
        const owner = node.parentElement;
        const style = getComputedStyle(owner);
        const bg = background(owner);
        const fg = blend(parse(style.color), bg);
        const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
        const ratio = (light + 0.05) / (dark + 0.05);
        if (ratio < 4.5) problems.push({ check: 'severity contrast', word: trimmed, ratio: Math.round(ratio * 100) / 100, color: style.color });
      }
    }
    const style = getComputedStyle(element);
    if (style.whiteSpace === 'nowrap' && element.scrollWidth > element.clientWidth + 1) {
      problems.push({ check: 'cut off', text: element.innerText.slice(0, 80), need: element.scrollWidth, have: element.clientWidth });
    }
  }
  for (const button of frame.querySelectorAll('button.ac-pushButton')) {
    const label = button.getAttribute('aria-label') || button.innerText;
    // The title sits in a child with overflow hidden and text-overflow ellipsis; Chromium draws
    // the ellipsis as soon as the text is a fraction of a pixel wider than its box, which
    // scrollWidth (whole pixels) can miss, so the text's own width is compared as well.
    for (const element of [button, ...button.querySelectorAll('*')]) {
      const style = getComputedStyle(element);
      const range = document.createRange();
      range.selectNodeContents(element);
      const textWidth = range.getBoundingClientRect().width;
      const box = element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      const overflows = element.scrollWidth > element.clientWidth || textWidth > box + 0.5;
      if (overflows && element.innerText.trim()) {
        const how = style.textOverflow === 'ellipsis' ? 'truncated with an ellipsis' : 'clipped';
        problems.push({ check: 'button label cut', label, how, need: Math.ceil(textWidth), have: Math.floor(box) });
        break;
      }
    }
  }
  const card = frame.firstElementChild;
  if (card && card.scrollWidth > card.clientWidth + 1) {
    problems.push({ check: 'sticks out sideways', need: card.scrollWidth, have: card.clientWidth });
  }
  return problems;
}

const files = readdirSync(cardDir).filter((it) => it.endsWith('.json') && (!only || it.includes(only))).sort();
const report = { renders: 0, failures: [] };
for (const [hostName, host] of Object.entries(hosts)) {
  const hostConfig = JSON.parse(readFileSync(join(tools, 'cards', 'hostconfigs', host.file), 'utf8'));
  await page.setContent(`<!doctype html><html><head><meta charset="utf-8">
    <style>body{margin:0;padding:20px;background:${host.page};font-family:"Segoe UI","Liberation Sans","DejaVu Sans",sans-serif}
    #frame{background:${host.card};border:1px solid #8884;border-radius:4px;padding:0}</style></head>
    <body><div id="frame"></div></body></html>`);
  await page.addStyleTag({ path: join(acDir, 'dist', 'adaptivecards.css') });
  await page.addStyleTag({ path: join(tools, 'cards', 'hostconfigs', host.css) });
  await page.addScriptTag({ path: mdJs });
  await page.addScriptTag({ path: join(acDir, 'dist', 'adaptivecards.min.js') });
  for (const file of files) {
    let card = JSON.parse(readFileSync(join(cardDir, file), 'utf8'));
    if (card.contentType && card.content) card = card.content;
    for (const width of widths) {
      const rendered = await page.evaluate(({ card, hostConfig, width }) => {
        const AC = window.AdaptiveCards;
        const md = window.markdownit();
        AC.AdaptiveCard.onProcessMarkdown = (text, result) => { result.outputHtml = md.render(text); result.didProcess = true; };
        const frame = document.getElementById('frame');
        frame.style.width = `${width}px`;
        frame.innerHTML = '';
        const ac = new AC.AdaptiveCard();
        ac.hostConfig = new AC.HostConfig(hostConfig);
        ac.parse(card, new AC.SerializationContext());
        const element = ac.render();
        if (!element) return false;
        frame.appendChild(element);
        return true;
      }, { card, hostConfig, width });
      report.renders += 1;
      const name = `${basename(file, '.json')}-${width}-${hostName}`;
      if (!rendered) {
        report.failures.push({ card: name, check: 'did not render' });
        continue;
      }
      const problems = await page.evaluate(inspect, { severities });
      for (const problem of problems) report.failures.push({ card: name, ...problem });
      await page.locator('#frame').screenshot({ path: join(outDir, `${name}.png`) });
    }
  }
}
await context.close();
rmSync(profile, { recursive: true, force: true });
writeFileSync(join(outDir, 'dom-check.json'), JSON.stringify(report, null, 2));
console.log(`${report.renders} renders of ${files.length} cards at ${widths.join(' and ')} px, light and dark: ${report.failures.length} problem(s)`);
for (const failure of report.failures.slice(0, 60)) console.log('  ' + JSON.stringify(failure));
process.exit(report.failures.length ? 1 : 0);
