#!/usr/bin/env node
// An approximate picture of a Slack message, for the README: Block Kit JSON (as the bot sends
// it) drawn as HTML in Slack's manner and screenshotted in headless Chromium. Slack has no
// offline renderer, so this is NOT Slack's own rendering: header, section (mrkdwn: *bold*,
// `code`, <url|label>, :emoji: circles), context, fields, the table block, rich_text (sections
// and bullet or ordered lists) and buttons only.
//
// usage: node tests/cards/slack-preview.mjs MESSAGE.json OUT.png [--width 600]
// env:   SENTINEL_BOT_TOOLS (default ~/.cache/sentinel-bot-tools), CHROMIUM (default /usr/bin/chromium)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { homedir } from 'node:os';

const tools = process.env.SENTINEL_BOT_TOOLS || join(homedir(), '.cache', 'sentinel-bot-tools');
const require = createRequire(join(tools, 'cards', 'package.json'));
const { chromium } = require('playwright-core');

const args = process.argv.slice(2);
const width = args.includes('--width') ? Number(args[args.indexOf('--width') + 1]) : 600;
const [input, output] = args.filter((it, index) => !it.startsWith('--') && args[index - 1] !== '--width');
const message = JSON.parse(readFileSync(input, 'utf8'));

const emoji = { red_circle: '#dd2e44', large_orange_circle: '#f4900c', large_green_circle: '#78b159', warning: '#f4900c' };
const escape = (text) => text.replace(/&(?!(amp|lt|gt);)/g, '&amp;');
// Slack's text is already entity-escaped (&lt; &gt; &amp;); only its markup becomes HTML.
function mrkdwn(text) {
  return escape(text)
    .replace(/```\n?([\s\S]*?)```/g, (_, code) => `<pre>${code}</pre>`)
    .replace(/<(https:[^|>]+)\|([^>]+)>/g, (_, url, label) => `<a href="${url}">${label}</a>`)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1<b>$2</b>')
    .replace(/:([a-z_]+):/g, (all, name) => (name === 'warning' ? '⚠️' : emoji[name] ? `<span class="dot" style="color:${emoji[name]}">●</span>` : all))
    .replace(/\n/g, '<br>');
}
// The inline elements of one rich_text_section; rich text is literal, so only < and & are escaped.
function inlines(elements) {
  return elements.map((element) => {
    const text = (element.text || '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\n/g, '<br>');
    if (element.type === 'emoji') return `<span class="dot" style="color:${emoji[element.name] || '#888'}">●</span>`;
    if (element.type === 'link') return `<a href="${element.url}">${text}</a>`;
    const style = element.style || {};
    if (style.bold) return `<b>${text}</b>`;
    return style.italic ? `<i>${text}</i>` : text;
  }).join('');
}
function richText(cell) {
  if (cell.type === 'raw_text') return escape(cell.text.replace(/&/g, '&amp;').replace(/</g, '&lt;'));
  return inlines(cell.elements.flatMap((section) => section.elements));
}
// A rich_text block: each section a line (italic ones muted), each list a <ul> or <ol>.
function richBlock(it) {
  const parts = it.elements.map((element) => {
    if (element.type === 'rich_text_list') {
      const tag = element.style === 'ordered' ? 'ol' : 'ul';
      const items = element.elements.map((section) => `<li>${inlines(section.elements)}</li>`).join('');
      return `<${tag}>${items}</${tag}>`;
    }
    const muted = element.elements.every((inline) => inline.style && inline.style.italic);
    return `<div${muted ? ' class="muted"' : ''}>${inlines(element.elements)}</div>`;
  });
  return `<div class="rich">${parts.join('')}</div>`;
}
function block(it) {
  switch (it.type) {
    case 'header': return `<h1>${it.text.text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</h1>`;
    case 'section': {
      const text = it.text ? `<div>${mrkdwn(it.text.text)}</div>` : '';
      const fields = it.fields ? `<div class="fields">${it.fields.map((f) => `<div>${mrkdwn(f.text)}</div>`).join('')}</div>` : '';
      return `<section>${text}${fields}</section>`;
    }
    case 'context': return `<div class="context">${it.elements.map((e) => mrkdwn(e.text)).join(' ')}</div>`;
    case 'table': {
      const settings = it.column_settings || [];
      const rows = it.rows.map((row, index) => `<tr>${row.map((cell, column) => {
        const tag = index === 0 ? 'th' : 'td';
        const s = settings[column] || {};
        const style = `text-align:${s.align || 'left'};${s.is_wrapped ? '' : 'white-space:nowrap'}`;
        return `<${tag} style="${style}">${richText(cell)}</${tag}>`;
      }).join('')}</tr>`).join('');
      return `<table>${rows}</table>`;
    }
    case 'rich_text': return richBlock(it);
    case 'actions': return `<div class="actions">${it.elements.map((b) => `<span class="button ${b.style || ''}">${b.text.text}</span>`).join('')}</div>`;
    default: return `<div class="context">[${it.type} block]</div>`;
  }
}
const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;padding:16px;background:#fff;font:15px/1.46668 "Lato","Liberation Sans","DejaVu Sans",sans-serif;color:#1d1c1d;width:${width}px}
.msg{display:flex;gap:8px}.avatar{width:36px;height:36px;border-radius:6px;background:#4a154b;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center;flex:none}
.name{font-weight:900}.app{font-size:10px;background:#e8e8e8;color:#616061;padding:1px 3px;border-radius:2px;margin-left:4px}.body{flex:1;min-width:0}
h1{font-size:18px;margin:4px 0}section{margin:4px 0}code{font:12px monospace;color:#e01e5a;background:#f6f6f6;border:1px solid #ddd;border-radius:3px;padding:1px 3px}
pre{font:12px monospace;background:#f8f8f8;border:1px solid #ddd;border-radius:4px;padding:8px;white-space:pre-wrap}
.context{font-size:12px;color:#616061;margin:4px 0}.fields{display:grid;grid-template-columns:1fr 1fr;gap:4px 16px}
table{border-collapse:collapse;margin:6px 0;font-size:14px}th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top}th{background:#f8f8f8}
td i{color:#616061;font-size:12px}a{color:#1264a3;text-decoration:none}.dot{font-size:12px}
.actions{margin:8px 0;display:flex;gap:8px;flex-wrap:wrap}.button{border:1px solid #bbb;border-radius:4px;padding:3px 12px;font-weight:700;font-size:13px}
.button.primary{background:#007a5a;color:#fff;border-color:#007a5a}.button.danger{color:#e01e5a}
.rich{margin:6px 0}.rich ul,.rich ol{margin:2px 0;padding-left:24px}.rich .muted{font-size:12px;color:#616061}
.note{font-size:11px;color:#888;margin-top:12px}</style></head><body>
<div class="msg"><div class="avatar">S</div><div class="body"><div><span class="name">sentinel-bot</span><span class="app">APP</span></div>
${message.blocks.map(block).join('\n')}</div></div>
<div class="note">Approximate preview of the Block Kit message (drawn by tests/cards/slack-preview.mjs, not by Slack).</div>
</body></html>`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: width + 32, height: 400 } });
await page.route(/^https?:/, (route) => route.abort());
await page.setContent(html);
await page.screenshot({ path: output, fullPage: true });
await browser.close();
