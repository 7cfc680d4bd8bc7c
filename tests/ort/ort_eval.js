#!/usr/bin/env node
// Runs an ONNX file in ONNX Runtime (npm onnxruntime-node) on the first N images of Fashion-MNIST's test split,
// preprocessed as the demo model and `lathe-cli eval` expect (pixel / 255, float [N,1,28,28]), and prints
// {"top1", "correct", "n", "predictions", ...} as JSON. Errors: one line on stderr naming the file, exit 1.
//
// usage: node ort_eval.js MODEL.onnx [--data DIR] [--limit N] [--batch B] [--modules NODE_MODULES_DIR]
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function fail(message) {
    process.stderr.write('ort_eval: ' + message.replace(/\s*\n\s*/g, ' ') + '\n');
    process.exit(1);
}

function parseArgs(argv) {
    const args = {model: '', data: '/usr/share/datasets/fashion-mnist', limit: 0, batch: 100, modules: ''};
    for (let i = 0; i < argv.length; ++i) {
        const a = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) fail(a + ' needs a value');
            return argv[++i];
        };
        const positive = (text) => {
            const n = Number(text);
            if (!Number.isInteger(n) || n < 1) fail(a + ' needs a positive integer, got \'' + text + '\'');
            return n;
        };
        if (a === '--data') args.data = value();
        else if (a === '--limit') args.limit = positive(value());
        else if (a === '--batch') args.batch = positive(value());
        else if (a === '--modules') args.modules = value();
        else if (a.startsWith('-')) fail('unknown option \'' + a + '\'');
        else if (!args.model) args.model = a;
        else fail('more than one model given (\'' + args.model + '\', \'' + a + '\')');
    }
    if (!args.model) fail('usage: node ort_eval.js MODEL.onnx [--data DIR] [--limit N] [--batch B] [--modules DIR]');
    return args;
}

function loadOrt(modules) {
    const where = modules ? path.resolve(modules, 'onnxruntime-node') : 'onnxruntime-node';
    try {
        return require(where);
    } catch (e) {
        fail(where + ': cannot load onnxruntime-node (' + e.message.split('\n')[0] + '); scripts/test.sh installs it '
             + 'with `ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix BUILD/ort onnxruntime-node@1.30.0`');
    }
}

// An IDX file (gzipped): its dimensions and the bytes after the header; `magic` is 2051 (images) or 2049 (labels).
function readIdx(file, magic) {
    let bytes;
    try {
        bytes = zlib.gunzipSync(fs.readFileSync(file));
    } catch (e) {
        const why = e.code === 'ENOENT' ? 'no such file (install Debian\'s dataset-fashion-mnist)' : e.message;
        fail(file + ': ' + why);
    }
    if (bytes.length < 8 || bytes.readUInt32BE(0) !== magic)
        fail(file + ': not an IDX file with magic ' + magic);
    const rank = bytes.readUInt8(3);
    const dims = [];
    for (let d = 0; d < rank; ++d) dims.push(bytes.readUInt32BE(4 + 4 * d));
    const offset = 4 + 4 * rank;
    const expected = dims.reduce((a, b) => a * b, 1);
    if (bytes.length - offset !== expected)
        fail(file + ': ' + (bytes.length - offset) + ' data bytes for dimensions [' + dims.join(', ') + ']');
    return {dims, data: bytes.subarray(offset)};
}

function argmax(values, start, count) {
    let best = 0;
    for (let i = 1; i < count; ++i)
        if (values[start + i] > values[start + best]) best = i;
    return best;
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const ort = loadOrt(args.modules);
    if (!fs.existsSync(args.model)) fail(args.model + ': no such file');
    const images = readIdx(path.join(args.data, 't10k-images-idx3-ubyte.gz'), 2051);
    const labels = readIdx(path.join(args.data, 't10k-labels-idx1-ubyte.gz'), 2049);
    const [count, rows, cols] = images.dims;
    if (labels.dims[0] !== count) fail(args.data + ': ' + count + ' images but ' + labels.dims[0] + ' labels');
    const n = args.limit ? Math.min(args.limit, count) : count;

    let session;
    try {
        session = await ort.InferenceSession.create(args.model, {
            executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3});
    } catch (e) {
        fail(args.model + ': ONNX Runtime cannot load it: ' + e.message);
    }
    const input = session.inputNames[0];
    const output = session.outputNames[0];
    const pixels = rows * cols;
    const predictions = new Array(n);
    let correct = 0;
    let classes = 0;
    for (let start = 0; start < n; start += args.batch) {
        const b = Math.min(args.batch, n - start);
        const x = new Float32Array(b * pixels);
        for (let i = 0; i < b * pixels; ++i) x[i] = images.data[start * pixels + i] / 255;
        let result;
        try {
            result = await session.run({[input]: new ort.Tensor('float32', x, [b, 1, rows, cols])});
        } catch (e) {
            fail(args.model + ': ONNX Runtime failed on images ' + start + '..' + (start + b - 1) + ': ' + e.message);
        }
        const y = result[output];
        classes = y.dims[y.dims.length - 1];
        if (y.type !== 'float32' || y.data.length !== b * classes)
            fail(args.model + ': output \'' + output + '\' is ' + y.type + ' [' + y.dims.join(', ') +
                 '], expected float32 [' + b + ', classes]');
        for (let i = 0; i < b; ++i) {
            const p = argmax(y.data, i * classes, classes);
            predictions[start + i] = p;
            if (p === labels.data[start + i]) ++correct;
        }
    }
    process.stdout.write(JSON.stringify({
        model: args.model,
        runtime: 'onnxruntime-node ' + ort.env.versions.node,
        input, output, classes, n, correct,
        top1: Math.round(1e6 * correct / n) / 1e4,
        predictions,
    }) + '\n');
}

main().catch((e) => fail(e.message));
