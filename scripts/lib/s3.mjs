// A local S3-compatible server (@20minutes/s3rver, which verifies SigV4 signatures in headers and
// presigned query strings) for `npm start`, the tests and the benchmark.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { portAvailable } from "./postgres.mjs";
import { ROOT } from "./runtime.mjs";

const require = createRequire(join(ROOT, "package.json"));

/** s3rver's built-in account; any other key pair is refused with SignatureDoesNotMatch/InvalidAccessKeyId. */
export const S3_ACCESS_KEY_ID = "S3RVER";
export const S3_SECRET_ACCESS_KEY = "S3RVER";

/** `portVariable` names the setting that chose the port, for the port-in-use message. */
export async function startS3({ port, directory, bucket = "ignition", address = "127.0.0.1", portVariable = null }) {
  const S3rver = require("@20minutes/s3rver");
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    port,
    address,
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: [{ name: bucket }],
  });
  // s3rver does not report a listen error: the server's "error" event would end the process.
  if (!(await portAvailable(port, address))) {
    throw new Error(`port ${port} is already in use (${address}:${port}), wanted by the local S3 store: stop what listens there${portVariable ? ` or set ${portVariable}` : ""}`);
  }
  const addr = await server.run();
  return {
    endpoint: `http://${address}:${addr.port}`,
    bucket,
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
    close: () => server.close(),
  };
}

/** The STORAGE_* variables that point the API at this server. */
export function storageEnv(s3) {
  return {
    STORAGE_ENDPOINT: s3.endpoint,
    STORAGE_BUCKET: s3.bucket,
    STORAGE_REGION: "us-east-1",
    STORAGE_ACCESS_KEY_ID: s3.accessKeyId,
    STORAGE_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}
