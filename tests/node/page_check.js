#!/usr/bin/env node
/*
 * Opens psc-serve's page in Debian's Chromium (headless, through
 * playwright-core), waits for the page to say it is done (body[data-state],
 * set by serve/page/app.js: an event, not a sleep), reads the class each
 * image card shows for the REST API and for TensorFlow.js, and checks them:
 * the REST labels equal the server's own answers to the same images
 * (asked from node), and TF.js agrees with REST on every image. Saves a
 * screenshot.
 *
 * Usage: node page_check.js --url http://127.0.0.1:PORT/ --model NAME
 *          --screenshot FILE.png [--images 8] [--timeout 60]
 * Prints one line per image and a summary; exits 0 when all agree, 1 when
 * not, 2 on a usage error or a page that never finished.
 */
'use strict';

const {chromium} = require('playwright-core');

function parseArgs(argv) {
  const a = {images: '8', timeout: '60'};
  for (let i = 0; i < argv.length; i += 2) {
    const m = /^--(url|model|screenshot|images|timeout)$/.exec(argv[i]);
    if (m === null || i + 1 >= argv.length)
      throw new Error(`bad argument '${argv[i]}'; usage: page_check.js --url URL ` +
                      '--model NAME --screenshot FILE [--images N] [--timeout S]');
    a[m[1]] = argv[i + 1];
  }
  for (const k of ['url', 'model', 'screenshot'])
    if (a[k] === undefined)
      throw new Error(`--${k} is missing`);
  a.images = Number(a.images);
  a.timeout = Number(a.timeout) * 1000;
  return a;
}

function argmax(row) {
  let best = 0;
  for (let j = 1; j < row.length; j++)
    if (row[j] > row[best])
      best = j;
  return best;
}

async function json(url, init) {
  const r = await fetch(url, init);
  const body = await r.json();
  if (!r.ok)
    throw new Error(`${url}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

async function main(argv) {
  const a = parseArgs(argv);
  const origin = new URL(a.url).origin;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  let cards;
  let status;
  const logs = [];
  try {
    const page = await browser.newPage({viewport: {width: 900, height: 700}});
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${a.url}?n=${a.images}&model=${encodeURIComponent(a.model)}`);
    try {
      await page.waitForSelector('body[data-state]', {timeout: a.timeout});
    } catch (e) {
      throw new Error(`the page did not finish in ${a.timeout / 1000} s; ` +
                      logs.join('; '));
    }
    await page.screenshot({path: a.screenshot, fullPage: true});
    const state = await page.getAttribute('body', 'data-state');
    status = await page.textContent('#status');
    if (state !== 'done')
      throw new Error(`the page says: ${status}; ${logs.join('; ')}`);
    cards = await page.$$eval('.card', (els) => els.map((e) => ({
      rest: Number(e.dataset.rest),
      tfjs: e.dataset.tfjs === '' ? null : Number(e.dataset.tfjs),
      text: e.innerText.replace(/\s+/g, ' ').trim(),
    })));
  } finally {
    await browser.close();
  }
  console.log(`page: ${status}`);
  if (cards.length !== a.images)
    throw new Error(`the page shows ${cards.length} images, not ${a.images}`);

  /* The same images and version, asked from node. */
  const info = await json(`${origin}/page/info`);
  const m = info.models.find((x) => x.name === a.model);
  const images = await json(`${origin}/page/images/${a.images}`);
  const answer = await json(
      `${origin}/v1/models/${a.model}/versions/${m.version}:predict`, {
        method: 'POST',
        body: JSON.stringify({instances: images.images}),
      });
  const rest = answer.predictions.map(argmax);
  let bad = 0;
  cards.forEach((c, i) => {
    const ok = c.rest === rest[i] && c.tfjs === c.rest;
    if (!ok)
      bad++;
    console.log(`  image ${i}: ${c.text} (REST from node: ` +
                `${m.class_names[rest[i]]})${ok ? '' : '  <-- wrong'}`);
  });
  console.log(`page_check: ${cards.length} images, ${cards.length - bad} with ` +
              'REST = node\'s answer = TF.js');
  return bad === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`page_check.js: ${e && e.message ? e.message : e}`);
    process.exit(2);
  });
