// Original filenames are stored for display and for Content-Disposition, never used in keys.
// They come from clients, so they are reduced to a plain name before being stored, and encoded
// per RFC 6266 / RFC 8187 when sent back in a header.

const MAX_FILENAME_CHARS = 255;

// C0/C1 controls, DEL, and the bidirectional overrides/isolates that can disguise an extension
// ("invoice\u202Efdp.exe").
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A safe display name: the last path segment (either slash), without control or bidi characters,
 * whitespace collapsed, leading dots and trailing dots/spaces removed, at most 255 characters
 * (keeping the extension). Returns null when nothing usable is left.
 */
export function sanitizeFilename(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  let name = raw.normalize("NFC").replace(UNSAFE, "");
  name = name.split(/[/\\]/).pop() ?? "";
  name = name.replace(/\s+/g, " ").trim().replace(/^\.+/, "").replace(/[. ]+$/, "");
  if (name === "") return null;
  const chars = [...name];
  if (chars.length > MAX_FILENAME_CHARS) {
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 && name.length - dot <= 16 ? [...name.slice(dot)] : [];
    name = chars.slice(0, MAX_FILENAME_CHARS - ext.length).join("") + ext.join("");
  }
  return name;
}

/** RFC 8187 ext-value encoding: UTF-8, percent-encoding everything outside attr-char. */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A plain-ASCII stand-in for clients that ignore filename*: no quotes, backslashes or %. */
export function asciiFallback(name: string): string {
  const ascii = name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return ascii.trim() === "" ? "download" : ascii;
}

/**
 * `inline` or `attachment` with both an ASCII `filename` and the exact UTF-8 `filename*`
 * (RFC 6266 §4.3: recipients that understand filename* prefer it).
 */
export function contentDisposition(type: "inline" | "attachment", filename: string): string {
  return `${type}; filename="${asciiFallback(filename)}"; filename*=UTF-8''${encodeExtValue(filename)}`;
}

/**
 * For a Content-Disposition carried inside a presigned URL (response-content-disposition): letters,
 * digits, dot, dash and underscore only. filename* is left out there because S3-compatible servers
 * disagree on how its quote characters are encoded in the signed query string.
 */
export function urlSafeFilename(name: string): string {
  const safe = asciiFallback(name).replace(/[^A-Za-z0-9._-]/g, "_");
  return /[A-Za-z0-9]/.test(safe) ? safe : "download";
}
