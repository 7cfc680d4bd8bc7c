#!/usr/bin/env node
// Images per second of ONNX Runtime (npm onnxruntime-node) on raw float32 inputs, for bench_executor. Each job is
// MODEL INPUT.bin BATCH: the input is fed to the model's first input with shape [BATCH, ...rest of --shape]. Every job
// runs at graph optimization level 'all' and 'disabled' (one session each, intraOpNumThreads = --threads,
// interOpNumThreads 1, sequential execution), 3 warm-up runs, then timed runs for --seconds (at least 6); the median
// run gives the rate. One line per job and level on stdout:
//   ort MODEL BATCH LEVEL IMAGES_PER_SECOND RUNS
// or `ort MODEL BATCH LEVEL error MESSAGE` when the session cannot be created or run.
//
// usage: node ort_bench.js --modules NODE_MODULES_DIR --threads 2 --seconds 2 --shape 1,1,28,28 MODEL INPUT BATCH ...
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
    process.stderr.write('ort_bench: ' + message.replace(/\s*\n\s*/g, ' ') + '\n');
    process.exit(1);
}

function median(values) {
    const sorted = values.slice().sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

async function measure(ort, job, level, options) {
    const bytes = fs.readFileSync(job.input);
    const data = Float32Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    const shape = [job.batch, ...options.shape.slice(1)];
    let session;
    try {
        session = await ort.InferenceSession.create(job.model, {
            intraOpNumThreads: options.threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
            graphOptimizationLevel: level,
            logSeverityLevel: 3,
        });
        const feeds = {};
        feeds[session.inputNames[0]] = new ort.Tensor('float32', data, shape);
        for (let i = 0; i < 3; ++i) await session.run(feeds);
        const times = [];
        const start = process.hrtime.bigint();
        while (times.length < 6 ||
               (times.length < 600 && Number(process.hrtime.bigint() - start) / 1e9 < options.seconds)) {
            const t0 = process.hrtime.bigint();
            await session.run(feeds);
            times.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
        return `${job.batch / median(times)} ${times.length}`;
    } catch (e) {
        return 'error ' + e.message.replace(/\s*\n\s*/g, ' ');
    } finally {
        if (session && session.release) await session.release();
    }
}

async function main() {
    const argv = process.argv.slice(2);
    const options = {modules: '', threads: 2, seconds: 2, shape: null};
    const jobs = [];
    for (let i = 0; i < argv.length; ++i) {
        if (argv[i] === '--modules') options.modules = argv[++i];
        else if (argv[i] === '--threads') options.threads = Number(argv[++i]);
        else if (argv[i] === '--seconds') options.seconds = Number(argv[++i]);
        else if (argv[i] === '--shape') options.shape = argv[++i].split(',').map(Number);
        else {
            if (i + 2 >= argv.length) fail('each job needs MODEL INPUT BATCH');
            jobs.push({model: argv[i], input: argv[i + 1], batch: Number(argv[i + 2])});
            i += 2;
        }
    }
    if (!jobs.length || !options.shape) fail('usage: node ort_bench.js --modules DIR --shape D0,D1,… MODEL INPUT BATCH …');
    let ort;
    try {
        ort = require(options.modules ? path.resolve(options.modules, 'onnxruntime-node') : 'onnxruntime-node');
    } catch (e) {
        fail('cannot load onnxruntime-node from ' + (options.modules || 'the default path') + ' (' +
             e.message.split('\n')[0] + '); scripts/test.sh installs it into build/release/ort');
    }
    for (const job of jobs)
        for (const level of ['all', 'disabled'])
            process.stdout.write(`ort ${job.model} ${job.batch} ${level} ${await measure(ort, job, level, options)}\n`);
}

main().catch((e) => fail(e.message));
