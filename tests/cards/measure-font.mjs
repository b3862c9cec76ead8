import { createRequire } from 'node:module';
const tools = process.env.HOME + '/.cache/sentinel-bot-tools/cards/';
const require = createRequire(tools + 'package.json');
const { chromium } = require('playwright-core');
const { readFileSync } = require('fs');
const path = require('path');
const acDir = path.dirname(require.resolve('adaptivecards/package.json'));
const host = JSON.parse(readFileSync(tools + 'hostconfigs/microsoft-teams-light.json','utf8'));
const ctx = await chromium.launchPersistentContext('/tmp/measure/profile', {executablePath:'/usr/bin/chromium', headless:true, args:['--no-sandbox']});
const page = ctx.pages()[0];
await page.setContent('<html><body><div id=f style="width:4000px"></div></body></html>');
await page.addStyleTag({ path: path.join(acDir, 'dist', 'adaptivecards.css') });
await page.addScriptTag({ path: path.join(acDir, 'dist', 'adaptivecards.min.js') });
const chars = []; for (let c = 32; c < 127; c++) chars.push(String.fromCharCode(c)); chars.push('·','●','…','–');
const r = await page.evaluate(({host, chars}) => {
  const AC = window.AdaptiveCards; const out = {};
  for (const weight of ['Default','Bolder']) {
    const card = new AC.AdaptiveCard(); card.hostConfig = new AC.HostConfig(host);
    card.parse({type:'AdaptiveCard', version:'1.5', body: chars.map(c=>({type:'TextBlock', text:(c===' '?'\u00a0':c).repeat(20), weight}))});
    const el = card.render(); const f=document.getElementById('f'); f.innerHTML=''; f.appendChild(el);
    el.querySelectorAll('.ac-textBlock').forEach((tb,i)=>{ const range=document.createRange(); range.selectNodeContents(tb); out[weight+chars[i]] = range.getBoundingClientRect().width/20; });
  }
  return out;
}, {host, chars});
const reg = {}, bold = {};
for (const c of chars) { reg[c]=r['Default'+c].toFixed(1); bold[c]=r['Bolder'+c].toFixed(1); }
console.log(JSON.stringify(reg)); console.log(JSON.stringify(bold));
await ctx.close();
