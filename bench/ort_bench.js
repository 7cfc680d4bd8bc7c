#!/usr/bin/env node
// Images per second of ONNX Runtime (npm onnxruntime-node) on raw float32 inputs, for bench_executor. Each job is
// MODEL INPUT.bin BATCH: the input is fed to the model's first input with shape [BATCH, ...rest of --shape]. Every job
// runs at graph optimization level 'all' and 'disabled' (one session each, intraOpNumThreads = --threads,
// interOpNumThreads 1, sequential execution), 3 warm-up runs, then timed runs for --seconds (at least 6); the median
// run gives the rate. One line per job and level on stdout:
//   ort MODEL BATCH LEVEL IMAGES_PER_SECOND RUNS
// or `ort MODEL BATCH LEVEL error MESSAGE` when the session cannot be created or run. With --profile, each job then
// runs 10 more times at level 'all' with ONNX Runtime's profiler on, and its kernels' median times follow in lines
// that do not start with `ort ` (bench_executor prints them as they are).
//
// usage: node ort_bench.js --modules NODE_MODULES_DIR --threads 2 --seconds 2 --shape 1,1,28,28 [--profile]
//        MODEL INPUT BATCH ...
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

// A session on job.model at graph optimization `level` (with `extra` session options) and its feeds: the job's input
// file as the first input, shaped [batch, ...rest of --shape].
async function openSession(ort, job, level, options, extra = {}) {
    const bytes = fs.readFileSync(job.input);
    const data = Float32Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    const session = await ort.InferenceSession.create(job.model, {
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: level,
        logSeverityLevel: 3,
        ...extra,
    });
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', data, [job.batch, ...options.shape.slice(1)]);
    return {session, feeds};
}

async function measure(ort, job, level, options) {
    let session;
    try {
        let feeds;
        ({session, feeds} = await openSession(ort, job, level, options));
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

// ONNX Runtime's per-node kernel times (median of 10 profiled runs), in execution order, as printable lines.
async function profile(ort, job, options) {
    const os = require('os');
    const prefix = path.join(os.tmpdir(), `lathe_ort_profile_${process.pid}`);
    let session;
    try {
        let feeds;
        ({session, feeds} =
             await openSession(ort, job, 'all', options, {enableProfiling: true, profileFilePrefix: prefix}));
        for (let i = 0; i < 13; ++i) await session.run(feeds);
        if (session.endProfiling) await session.endProfiling();
    } catch (e) {
        return ['profile of ' + job.model + ' failed: ' + e.message.replace(/\s*\n\s*/g, ' ')];
    } finally {
        if (session && session.release) await session.release();
    }
    const dir = path.dirname(prefix);
    const files = fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.json'));
    if (!files.length) return ['profile of ' + job.model + ': ONNX Runtime wrote no profile'];
    const times = new Map();
    for (const file of files) {
        for (const event of JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))) {
            if (event.cat !== 'Node' || !event.name.endsWith('_kernel_time')) continue;
            const key = `${event.args.op_name} ${event.name.slice(0, -'_kernel_time'.length)}`;
            if (!times.has(key)) times.set(key, []);
            times.get(key).push(event.dur / 1000);
        }
        fs.unlinkSync(path.join(dir, file));
    }
    // The first 3 runs warm up: the median of the rest.
    const rows = [...times].map(([key, ms]) => [median(ms.slice(Math.min(3, ms.length - 1))), key]);
    const total = rows.reduce((sum, [ms]) => sum + ms, 0);
    return [`profile of ${path.basename(job.model)} at batch ${job.batch}, level all (${total.toFixed(3)} ms of ` +
            'kernels per run, median of 10 runs):', ...rows.map(([ms, key]) => `  ${ms.toFixed(3).padStart(8)} ms  ${key}`)];
}

async function main() {
    const argv = process.argv.slice(2);
    const options = {modules: '', threads: 2, seconds: 2, shape: null, profile: false};
    const jobs = [];
    for (let i = 0; i < argv.length; ++i) {
        if (argv[i] === '--modules') options.modules = argv[++i];
        else if (argv[i] === '--threads') options.threads = Number(argv[++i]);
        else if (argv[i] === '--seconds') options.seconds = Number(argv[++i]);
        else if (argv[i] === '--shape') options.shape = argv[++i].split(',').map(Number);
        else if (argv[i] === '--profile') options.profile = true;
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
    for (const job of jobs) {
        for (const level of ['all', 'disabled'])
            process.stdout.write(`ort ${job.model} ${job.batch} ${level} ${await measure(ort, job, level, options)}\n`);
        if (options.profile)
            for (const line of await profile(ort, job, options)) process.stdout.write(line + '\n');
    }
}

main().catch((e) => fail(e.message));
