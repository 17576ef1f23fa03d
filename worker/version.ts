// Baked into the bundle by scripts/build.mjs (and `npm run dev`) from the VERSION file at the repo root.
declare const __APP_VERSION__: string | undefined;

export const VERSION: string = typeof __APP_VERSION__ === "string" ? __APP_VERSION__ : "dev";
