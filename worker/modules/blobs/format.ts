// Storage usage for people: 1024 steps, two decimals above bytes ("512 bytes", "1.50 MB").

const UNITS = ["KB", "MB", "GB", "TB"] as const;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${UNITS[unit]}`;
}

/** Signed-URL expiry as the spec writes it: RFC 3339 UTC with a "+00:00" offset, whole seconds. */
export function expiryTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "+00:00");
}
