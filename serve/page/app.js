/*
 * psc-serve's page: N test images (from /page/images/N, raw 0..255
 * pixels), classified by the REST API (POST :predict on the version
 * /page/info names) and by that version's TensorFlow.js export
 * (tf.loadLayersModel on /page/model/NAME/VERSION/model.json), shown side
 * by side. When done, body[data-state] is "done" (or "error") and each
 * card carries data-rest and data-tfjs, the class indices.
 * ?n=8 sets how many images, ?model=NAME which model.
 */
'use strict';

function argmax(row) {
  let best = 0;
  for (let j = 1; j < row.length; j++)
    if (row[j] > row[best])
      best = j;
  return best;
}

async function getJson(url, init) {
  const r = await fetch(url, init);
  const body = await r.json();
  if (!r.ok)
    throw new Error(`${url}: ${r.status} ${body.error || ''}`);
  return body;
}

function drawImage(canvas, pixels, height, width) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < pixels.length; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = pixels[i];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/* The TF.js export's classes, or null (with why) when it cannot run. */
async function tfjsClasses(url, images, dim) {
  if (typeof tf === 'undefined')
    return {classes: null, why: 'tf.min.js not loaded (psc-serve --tfjs_script)'};
  const model = await tf.loadLayersModel(url);
  const out = tf.tidy(() => model.predict(
      tf.tensor2d(images.flat(), [images.length, dim])));
  const probs = await out.array();
  out.dispose();
  model.dispose();
  return {classes: probs.map(argmax), why: ''};
}

function card(i, pixels, images, names, rest, tfjs) {
  const div = document.createElement('div');
  const agree = tfjs === null ? null : rest === tfjs;
  div.className = 'card' + (agree === null ? '' : agree ? ' yes' : ' no');
  div.dataset.index = i;
  div.dataset.rest = rest;
  div.dataset.tfjs = tfjs === null ? '' : tfjs;
  const canvas = document.createElement('canvas');
  drawImage(canvas, pixels, images.height, images.width);
  div.appendChild(canvas);
  const line = (cls, text) => {
    const p = document.createElement('div');
    p.className = cls;
    p.textContent = text;
    div.appendChild(p);
  };
  line('rest', `REST: ${names[rest] || rest}`);
  line('tfjs', `TF.js: ${tfjs === null ? '-' : names[tfjs] || tfjs}`);
  line('agree', agree === null ? '' : agree ? 'agree' : 'DISAGREE');
  return div;
}

async function main() {
  const params = new URLSearchParams(location.search);
  const n = Number(params.get('n') || 8);
  const status = document.getElementById('status');
  const info = await getJson('/page/info');
  const name = params.get('model') || info.models[0].name;
  const m = info.models.find((x) => x.name === name);
  if (m === undefined || m.version === null)
    throw new Error(`no version of model '${name}' is loaded`);
  document.getElementById('model').textContent = name;
  const images = await getJson(`/page/images/${n}`);
  const dim = images.height * images.width;
  const base = `/v1/models/${encodeURIComponent(name)}/versions/${m.version}`;
  const answer = await getJson(`${base}:predict`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({instances: images.images}),
  });
  const rest = answer.predictions.map(argmax);
  const tfjs = await tfjsClasses(
      `/page/model/${encodeURIComponent(name)}/${m.version}/model.json`,
      images.images, dim);
  const box = document.getElementById('images');
  let agree = 0;
  images.images.forEach((pixels, i) => {
    const t = tfjs.classes === null ? null : tfjs.classes[i];
    if (t === rest[i])
      agree++;
    box.appendChild(card(i, pixels, images, m.class_names, rest[i], t));
  });
  status.textContent = `model '${name}' version ${m.version}: ` +
      `${images.images.length} images; ` +
      (tfjs.classes === null ? tfjs.why
                             : `REST and TF.js agree on ${agree}`);
}

main().then(
  () => { document.body.dataset.state = 'done'; },
  (e) => {
    document.getElementById('status').textContent = `error: ${e.message}`;
    document.body.dataset.state = 'error';
  });
