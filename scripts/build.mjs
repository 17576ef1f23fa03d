#!/usr/bin/env node
// Bundles the worker with wrangler (offline: --dry-run) into dist/worker.js, with the VERSION
// file baked in, then assembles build/runtime: exactly what the container image runs.
import { assembleRuntime, bundleWorker } from "./lib/runtime.mjs";

const outdir = await bundleWorker();
const runtime = await assembleRuntime();
console.log(`bundle: ${outdir}/worker.js\nruntime: ${runtime}`);
