#!/usr/bin/env node
/*
 * Runs an exported psc model in TensorFlow.js or ONNX Runtime on real IDX
 * images and compares its class probabilities with psc's own for the same
 * images. The tfjs model is loaded as a browser would load it: over HTTP,
 * from a tiny server on 127.0.0.1 (ephemeral port) that serves the
 * version's tfjs/ folder to tf.loadLayersModel().
 *
 * Usage: node compare.js --runtime tfjs|onnx --model VERSION_DIR
 *          --images IDX3[.gz] --probabilities FILE [--limit N]
 *          [--labels IDX1[.gz]] [--tolerance 1e-5]
 *          [--optimization disabled|basic|extended|all]
 * --optimization is ONNX Runtime's graph optimization level (default all,
 * as a user gets it). At extended and above ONNX Runtime fuses
 * DequantizeLinear + MatMul into kernels that also quantize the
 * activations, so an int8 model computes other numbers there than the
 * graph says; basic keeps the graph's own arithmetic.
 * FILE is raw little-endian float32, n x classes, in image order.
 * Prints one line; exits 0 when max |diff| <= tolerance, 1 when not, 2 on
 * a usage or load error (one line on stderr).
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');

const CHUNK = 1000;
const IDX_IMAGES = 0x00000803;
const IDX_LABELS = 0x00000801;

const USAGE =
  'usage: compare.js --runtime tfjs|onnx --model VERSION_DIR ' +
  '--images IDX3[.gz] --probabilities FILE [--limit N] [--labels IDX1[.gz]] ' +
  '[--tolerance X] [--optimization LEVEL]';

class UsageError extends Error {}

/* A usage or load error: one line on stderr, exit 2. */
function fail(msg) {
  throw new UsageError(msg);
}

/* An argument error: the same, with the usage on that line. */
function usage(msg) {
  throw new UsageError(`${msg}; ${USAGE}`);
}

function parseArgs(argv) {
  const known = ['runtime', 'model', 'images', 'probabilities', 'limit',
    'labels', 'tolerance', 'optimization'];
  const a = {tolerance: '1e-5', optimization: 'all'};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(argv[i]);
    if (m === null || !known.includes(m[1]))
      usage(`unknown argument '${argv[i]}'`);
    let v = m[2];
    if (v === undefined) {
      if (i + 1 >= argv.length)
        usage(`--${m[1]} needs a value`);
      v = argv[++i];
    }
    a[m[1]] = v;
  }
  for (const k of ['runtime', 'model', 'images', 'probabilities'])
    if (a[k] === undefined)
      usage(`--${k} is missing`);
  if (a.runtime !== 'tfjs' && a.runtime !== 'onnx')
    usage(`--runtime is '${a.runtime}', not tfjs or onnx`);
  if (!['disabled', 'basic', 'extended', 'all'].includes(a.optimization))
    usage(`--optimization is '${a.optimization}', not disabled, basic, ` +
          'extended or all');
  a.tolerance = Number(a.tolerance);
  if (!Number.isFinite(a.tolerance) || a.tolerance < 0)
    usage('--tolerance is not a non-negative number');
  if (a.limit !== undefined) {
    if (!/^[1-9][0-9]*$/.test(a.limit))
      usage(`--limit '${a.limit}' is not a positive integer`);
    a.limit = Number(a.limit);
  }
  return a;
}

function readMaybeGz(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(`cannot read '${file}': ${e.code || e.message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      fail(`cannot gunzip '${file}': ${e.message}`);
    }
  }
  return buf;
}

/* An IDX file's items: {n, itemSize, data} after checking its header. */
function readIdx(file, magic) {
  const buf = readMaybeGz(file);
  const ndims = magic === IDX_IMAGES ? 3 : 1;
  const header = 4 + 4 * ndims;
  if (buf.length < header || buf.readUInt32BE(0) !== magic)
    fail(`'${file}' is not an IDX file of ${ndims === 3 ? 'images' : 'labels'}`);
  const n = buf.readUInt32BE(4);
  let itemSize = 1;
  for (let d = 1; d < ndims; d++)
    itemSize *= buf.readUInt32BE(4 + 4 * d);
  if (buf.length !== header + n * itemSize)
    fail(`'${file}' is ${buf.length} bytes, its header says ${header + n * itemSize}`);
  return {n, itemSize, data: buf.subarray(header)};
}

/* Serves the files of dir (no subfolders) on 127.0.0.1, an ephemeral port. */
function serve(dir) {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname.slice(1));
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(path.join(dir, name), (err, data) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      const type = name.endsWith('.json') ? 'application/json'
                                          : 'application/octet-stream';
      res.writeHead(200, {'Content-Type': type, 'Content-Length': data.length});
      res.end(data);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/* A predict(Float32Array of b x dim, b) -> Float32Array for tfjs. */
async function loadTfjs(versionDir) {
  const tf = require('@tensorflow/tfjs');
  tf.env().set('PROD', true); /* no "install tfjs-node" banner */
  const dir = path.join(versionDir, 'tfjs');
  if (!fs.existsSync(path.join(dir, 'model.json')))
    fail(`'${path.join(dir, 'model.json')}' is missing`);
  const server = await serve(dir);
  const url = `http://127.0.0.1:${server.address().port}/model.json`;
  let model;
  try {
    model = await tf.loadLayersModel(url);
  } catch (e) {
    fail(`cannot load the tfjs model from '${dir}': ${e.message}`);
  } finally {
    server.close();
  }
  const dim = model.inputs[0].shape[1];
  return {
    dim,
    classes: model.outputs[0].shape[1],
    predict: async (x, b) => {
      const out = tf.tidy(() => model.predict(tf.tensor2d(x, [b, dim])));
      const data = await out.data();
      out.dispose();
      return data;
    },
  };
}

async function loadOnnx(versionDir, level) {
  const ort = require('onnxruntime-node');
  const file = path.join(versionDir, 'model.onnx');
  if (!fs.existsSync(file))
    fail(`'${file}' is missing`);
  let session;
  try {
    session = await ort.InferenceSession.create(
        file, {graphOptimizationLevel: level});
  } catch (e) {
    fail(`cannot load '${file}': ${e.message}`);
  }
  if (!session.inputNames.includes('pixels') ||
      !session.outputNames.includes('probabilities'))
    fail(`'${file}' has inputs [${session.inputNames}] and outputs ` +
         `[${session.outputNames}], not pixels and probabilities`);
  return {
    dim: null,
    classes: null,
    predict: async (x, b, dim) => {
      const t = new ort.Tensor('float32', x, [b, dim]);
      const out = await session.run({pixels: t});
      return out.probabilities.data;
    },
  };
}

function argmax(a, off, k) {
  let best = 0;
  for (let j = 1; j < k; j++)
    if (a[off + j] > a[off + best])
      best = j;
  return best;
}

/*
 * psc's probabilities for n images: classes per row when the model says
 * how many, else whatever whole number of float32 per row the file holds.
 */
function readProbabilities(file, n, classes) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(`cannot read '${file}': ${e.code || e.message}`);
  }
  const k = classes !== null ? classes : buf.length / (4 * n);
  if (!Number.isInteger(k) || k < 1 || buf.length !== 4 * n * k)
    fail(`'${file}' is ${buf.length} bytes, not ${n} rows of ` +
         `${classes !== null ? classes : 'k'} float32`);
  const ref = new Float32Array(buf.length / 4);
  for (let i = 0; i < ref.length; i++)
    ref[i] = buf.readFloatLE(4 * i);
  return {ref, classes: k};
}

async function main(argv) {
  const a = parseArgs(argv);
  const images = readIdx(a.images, IDX_IMAGES);
  const n = a.limit === undefined ? images.n : Math.min(a.limit, images.n);
  if (a.limit !== undefined && a.limit > images.n)
    fail(`--limit ${a.limit} is more than the ${images.n} images`);
  const labels = a.labels === undefined ? null : readIdx(a.labels, IDX_LABELS);
  if (labels !== null && labels.n < n)
    fail(`'${a.labels}' has ${labels.n} labels for ${n} images`);
  const rt = a.runtime === 'tfjs' ? await loadTfjs(a.model)
                                  : await loadOnnx(a.model, a.optimization);
  const dim = images.itemSize;
  if (rt.dim !== null && rt.dim !== dim)
    fail(`the model takes ${rt.dim} inputs, the images have ${dim} pixels`);
  const {ref, classes} = readProbabilities(a.probabilities, n, rt.classes);

  let maxDiff = 0;
  let agree = 0;
  let correct = 0;
  for (let s = 0; s < n; s += CHUNK) {
    const b = Math.min(CHUNK, n - s);
    const x = new Float32Array(b * dim);
    for (let i = 0; i < b * dim; i++)
      x[i] = images.data[s * dim + i]; /* raw 0..255; the model scales */
    const got = await rt.predict(x, b, dim);
    if (got.length !== b * classes)
      fail(`the model gives ${got.length / b} probabilities per image, ` +
           `'${a.probabilities}' holds ${classes}`);
    for (let i = 0; i < b; i++) {
      const row = (s + i) * classes;
      for (let j = 0; j < classes; j++) {
        const d = Math.abs(got[i * classes + j] - ref[row + j]);
        /* A NaN sticks (NaN > x is false) and never passes. */
        if (Number.isNaN(d))
          maxDiff = NaN;
        else if (d > maxDiff)
          maxDiff = d;
      }
      const k = argmax(got, i * classes, classes);
      if (k === argmax(ref, row, classes))
        agree++;
      if (labels !== null && k === labels.data[s + i])
        correct++;
    }
  }
  const rate = (labels !== null ? correct : agree) / n;
  const what = labels !== null ? 'accuracy' : 'argmax agreement with psc';
  console.log(`${a.runtime}: ${n} examples, max |diff| ${maxDiff.toExponential(3)}, ` +
              `${what} ${rate.toFixed(4)}`);
  return maxDiff <= a.tolerance ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const msg = e && e.message ? e.message : String(e);
    console.error(`compare.js: ${msg.split('\n')[0]}`);
    process.exit(2);
  });
