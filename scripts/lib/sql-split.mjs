// Splits a SQL script into statements the way psql does: on semicolons outside quotes, quoted
// identifiers, dollar-quoted bodies and comments. Running statements one by one lets the migration
// runner name the exact statement (and line) that failed; PostgreSQL often gives no position.

/** @returns {{ text: string, line: number }[]} statements with the line each starts on */
export function splitSql(sql) {
  const out = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  const push = (end) => {
    const raw = sql.slice(start, end);
    // Leading comments and blank lines belong to no statement: skip them for the text and line.
    const lead = leadingTrivia(raw);
    const text = raw.slice(lead).trim();
    if (text !== "") {
      out.push({ text, line: sql.slice(0, start + lead).split("\n").length });
    }
  };
  while (i < n) {
    if (sql[i] === "-" || sql[i] === "/") {
      const skipped = skipComment(sql, i);
      if (skipped !== i) {
        i = skipped;
        continue;
      }
    }
    const c = sql[i];
    if (c === "'" || c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
    } else if (c === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? "")) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? n : close + tag[0].length;
      } else i++;
    } else if (c === ";") {
      push(i);
      start = i + 1;
      i++;
    } else i++;
  }
  push(n);
  return out;
}

/** Index after a -- comment or a (nested) block comment starting at i; i itself if none starts there. */
function skipComment(sql, i) {
  if (sql[i] === "-" && sql[i + 1] === "-") {
    const eol = sql.indexOf("\n", i);
    return eol === -1 ? sql.length : eol + 1;
  }
  if (sql[i] === "/" && sql[i + 1] === "*") {
    let depth = 1;
    let j = i + 2;
    while (j < sql.length && depth > 0) {
      if (sql[j] === "/" && sql[j + 1] === "*") (depth++, (j += 2));
      else if (sql[j] === "*" && sql[j + 1] === "/") (depth--, (j += 2));
      else j++;
    }
    return j;
  }
  return i;
}

/** Length of the whitespace and comments before a statement's first token. */
function leadingTrivia(text) {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++;
    const after = skipComment(text, i);
    if (after === i) return i;
    i = after;
  }
}
