// Storage scenarios of `npm run bench`: 10 MiB uploads and downloads through the API against the
// same transfer straight to the S3 server (target: the API reaches ≥ 50 % of direct), and workerd's
// peak memory while moving 1, 10 and 50 MiB objects (it must not grow with the object size).
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { startApiProcess } from "./api-process.mjs";
import { freePort } from "./postgres.mjs";
import { startS3, storageEnv } from "./s3.mjs";

const MiB = 1024 * 1024;
const ORIGIN = "http://localhost:3000";
const REPEAT = Number(process.env.BENCH_TRANSFERS || 7);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** MiB/s of `fn` moving `bytes`, median of REPEAT runs after one warm-up. */
async function throughput(bytes, fn) {
  await fn();
  const rates = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = process.hrtime.bigint();
    await fn();
    rates.push(bytes / MiB / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  return median(rates);
}

async function expectOk(res, what) {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
}

/** Reads a body to the end without keeping it. */
async function drain(res) {
  let n = 0;
  for await (const chunk of res.body) n += chunk.byteLength;
  return n;
}

const memory = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)[1]);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
};

/** workerd itself: the process started, or its one child when a launcher starts workerd. */
const workerdPid = (api) => api.workerPids?.()[0] ?? api.pid;

/** Resets the kernel's peak-RSS counter of the process (Linux ≥ 4.0). */
const resetPeak = (pid) => writeFileSync(`/proc/${pid}/clear_refs`, "5");

export async function benchStorage({ env, cookie, cleanups }) {
  const dir = mkdtempSync(join(tmpdir(), "ignition-bench-s3-"));
  const s3 = await startS3({ port: await freePort(), directory: dir });
  cleanups.push(async () => (await s3.close(), rmSync(dir, { recursive: true, force: true })));
  const startApi = async () => {
    const p = await startApiProcess({ env: { ...env, ...storageEnv(s3), RATE_LIMIT_API_PER_MINUTE: "1000000" }, port: await freePort(), readyPath: "/health/ready" });
    cleanups.push(() => p.stop());
    return p;
  };
  let api = await startApi();

  const client = new AwsClient({ accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, service: "s3", region: "us-east-1", retries: 0 });
  const direct = (key) => `${s3.endpoint}/${s3.bucket}/bench/${key}`;
  const headers = { Cookie: cookie, Origin: ORIGIN };
  const upload = async (data, type = "application/zip") =>
    (await expectOk(await fetch(`${api.url}/api/blobs/upload`, { method: "POST", headers: { ...headers, "Content-Type": type }, body: data }), "API upload")).json();
  const uploadForm = async (data) => {
    const form = new FormData();
    form.append("file", new Blob([data], { type: "application/zip" }), "bench.zip");
    return (await expectOk(await fetch(`${api.url}/api/blobs/upload`, { method: "POST", headers, body: form }), "API multipart upload")).json();
  };
  const download = async (id) => drain(await expectOk(await fetch(`${api.url}/api/blobs/${id}`, { headers }), "API download"));

  console.log(`\nstorage: ${REPEAT} sequential transfers per figure (median), s3rver on loopback`);
  const ten = randomBytes(10 * MiB);
  const stored = await upload(ten);
  await expectOk(await client.fetch(direct("10mib"), { method: "PUT", body: ten }), "direct PUT");
  const rates = {
    "upload, straight to S3": await throughput(10 * MiB, async () => expectOk(await client.fetch(direct("10mib"), { method: "PUT", body: ten }), "direct PUT")),
    "upload through the API (raw body)": await throughput(10 * MiB, () => upload(ten)),
    "upload through the API (multipart)": await throughput(10 * MiB, () => uploadForm(ten)),
    "download, straight from S3": await throughput(10 * MiB, async () => drain(await expectOk(await client.fetch(direct("10mib")), "direct GET"))),
    "download through the API": await throughput(10 * MiB, () => download(stored.id)),
  };
  console.table(Object.entries(rates).map(([scenario, r]) => ({ scenario, "MiB/s": Number(r.toFixed(1)) })));

  // Each figure from a fresh workerd, warmed with one small upload of each kind and a download, so
  // no run inherits the heap another one (or the throughput runs) grew.
  const modes = {
    "raw upload + download": async (data, id) => (await upload(data), await download(id)),
    "multipart upload": async (data) => uploadForm(data),
  };
  const rows = [];
  for (const [mode, run] of Object.entries(modes)) {
    for (const size of [1, 10, 50]) {
      await api.stop();
      api = await startApi();
      await download((await upload(randomBytes(1024))).id);
      await uploadForm(randomBytes(1024));
      const data = randomBytes(size * MiB);
      const blob = await upload(data);
      const pid = workerdPid(api);
      resetPeak(pid);
      const start = memory(pid).rss;
      for (let i = 0; i < 3; i++) await run(data, blob.id);
      const { peak } = memory(pid);
      rows.push({ mode, object: `${size} MiB`, "RSS before": Number(start.toFixed(1)), peak: Number(peak.toFixed(1)), "peak − before": Number((peak - start).toFixed(1)) });
    }
  }
  console.log("workerd memory (MiB), 3 transfers per row, each row a fresh process:");
  console.table(rows);
  const delta = (mode, size) => rows.find((r) => r.mode === mode && r.object === `${size} MiB`)["peak − before"];

  const up = rates["upload through the API (raw body)"] / rates["upload, straight to S3"];
  const upForm = rates["upload through the API (multipart)"] / rates["upload, straight to S3"];
  const down = rates["download through the API"] / rates["download, straight from S3"];
  const rawGrowth = delta("raw upload + download", 50) - delta("raw upload + download", 1);
  const formGrowth = delta("multipart upload", 50) - delta("multipart upload", 10);
  const mark = (ok) => (ok ? "PASS" : "MISS");
  console.log(`${mark(up >= 0.5)}  10 MiB upload through the API (raw body) ≥ 50% of direct: ${(up * 100).toFixed(0)}%`);
  console.log(`info  10 MiB upload through the API (multipart): ${(upForm * 100).toFixed(0)}% of direct`);
  console.log(`${mark(down >= 0.5)}  10 MiB download through the API ≥ 50% of direct: ${(down * 100).toFixed(0)}%`);
  const signed = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)} MiB`;
  // "Does not grow with size": streamed paths stay flat; the multipart path holds one 5 MiB part,
  // so it is flat once objects are larger than a part.
  console.log(`${mark(rawGrowth <= 5)}  peak memory, raw upload + download, 50 MiB vs 1 MiB objects: ${signed(rawGrowth)}`);
  console.log(`${mark(formGrowth <= 5)}  peak memory, multipart upload, 50 MiB vs 10 MiB objects: ${signed(formGrowth)}`);
}
