#!/usr/bin/env node
// Runs ONNX models in ONNX Runtime (npm onnxruntime-node) on raw float32 inputs and writes their first output as raw
// float32, for comparisons with Lathe's executor. Each job is MODEL.onnx INPUT.bin OUTPUT.bin; the input is fed to the
// model's first input with the given shape. Errors: one line on stderr naming the model, exit 1.
//
// --optimization disabled|basic|extended|all sets ONNX Runtime's graph optimization level for the jobs after it (default
// all); "disabled" runs a QDQ file op by op (float math between DequantizeLinear and QuantizeLinear) instead of fusing
// it into integer kernels.
//
// usage: node ort_run.js --modules NODE_MODULES_DIR [--optimization LEVEL] --shape 1,3,224,224 MODEL INPUT OUTPUT
//        [MODEL INPUT OUTPUT ...]
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
    process.stderr.write('ort_run: ' + message.replace(/\s*\n\s*/g, ' ') + '\n');
    process.exit(1);
}

async function main() {
    const argv = process.argv.slice(2);
    let modules = '';
    const jobs = [];
    let shape = null;
    let optimization = 'all';
    for (let i = 0; i < argv.length; ++i) {
        if (argv[i] === '--modules') modules = argv[++i];
        else if (argv[i] === '--shape') shape = argv[++i].split(',').map(Number);
        else if (argv[i] === '--optimization') optimization = argv[++i];
        else {
            if (i + 2 >= argv.length) fail('each job needs MODEL INPUT OUTPUT');
            jobs.push({model: argv[i], input: argv[i + 1], output: argv[i + 2], shape, optimization});
            i += 2;
        }
    }
    if (!jobs.length) fail('usage: node ort_run.js --modules DIR --shape D0,D1,… MODEL INPUT OUTPUT …');
    let ort;
    try {
        ort = require(modules ? path.resolve(modules, 'onnxruntime-node') : 'onnxruntime-node');
    } catch (e) {
        fail('cannot load onnxruntime-node from ' + (modules || 'the default path') + ' (' + e.message.split('\n')[0] +
             '); install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix BUILD/ort onnxruntime-node@1.30.0`');
    }
    for (const job of jobs) {
        if (!job.shape) fail(job.model + ': no --shape given before it');
        const bytes = fs.readFileSync(job.input);
        const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
        let session;
        try {
            session = await ort.InferenceSession.create(job.model, {intraOpNumThreads: 2, graphOptimizationLevel: job.optimization});
            const feeds = {};
            feeds[session.inputNames[0]] = new ort.Tensor('float32', Float32Array.from(data), job.shape);
            const results = await session.run(feeds);
            const out = results[session.outputNames[0]];
            fs.writeFileSync(job.output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
        } catch (e) {
            fail(job.model + ': ' + e.message);
        } finally {
            if (session && session.release) await session.release();
        }
    }
}

main().catch((e) => fail(e.message));
