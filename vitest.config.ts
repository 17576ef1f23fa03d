import { defineConfig } from "vitest/config";

// Unit tests run in Node; end-to-end tests talk HTTP to the real workerd serving the built bundle
// with container/config.capnp, against real PostgreSQL (embedded 17, or DATABASE_URL).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
