import { connect } from "cloudflare:sockets";

type Listener = (event: unknown) => void;

/**
 * A WebSocket-shaped object over a plain TCP socket, for @neondatabase/serverless.
 *
 * The driver speaks the PostgreSQL wire protocol through whatever it believes is a WebSocket to a
 * proxy (wsproxy). Handing it this class, with wsProxy = (host, port) => `${host}:${port}`, makes
 * it talk to PostgreSQL directly over `cloudflare:sockets`, with no proxy process. Only the subset
 * of the WebSocket API the driver uses is implemented: binaryType, addEventListener, send, close.
 * No TLS: this is for a private network between the API and its database.
 */
export class TcpWebSocket {
  binaryType = "arraybuffer";
  readyState = 0;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly socket: Socket;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private writing: Promise<void> = Promise.resolve();
  private pending: Uint8Array[] = [];
  private closed = false;

  constructor(url: string) {
    const target = url.replace(/^wss?:\/\//, "");
    const colon = target.lastIndexOf(":");
    const hostname = target.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = Number(target.slice(colon + 1).replace(/\/.*$/, ""));
    this.socket = connect({ hostname, port }, { allowHalfOpen: false });
    this.writer = this.socket.writable.getWriter();
    this.socket.opened.then(
      () => {
        this.readyState = 1;
        this.emit("open", {});
        void this.readLoop();
      },
      (err: unknown) => this.fail(err),
    );
  }

  addEventListener(type: string, fn: Listener): void {
    const list = this.listeners.get(type) ?? [];
    list.push(fn);
    this.listeners.set(type, list);
  }

  removeEventListener(type: string, fn: Listener): void {
    const list = this.listeners.get(type);
    if (list) this.listeners.set(type, list.filter((l) => l !== fn));
  }

  send(data: Uint8Array | ArrayBuffer): void {
    if (this.closed) return;
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    // The driver sends a query as several small messages (Parse, Bind, Execute, Sync) in one
    // synchronous burst: gather them and write once, in a microtask, instead of one TCP write each.
    this.pending.push(bytes);
    if (this.pending.length === 1) queueMicrotask(() => this.flush());
  }

  private flush(): void {
    const chunks = this.pending;
    this.pending = [];
    let bytes: Uint8Array;
    if (chunks.length === 1) bytes = chunks[0]!;
    else {
      bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
      let offset = 0;
      for (const c of chunks) {
        bytes.set(c, offset);
        offset += c.byteLength;
      }
    }
    // Writes are chained so they reach the socket in order.
    this.writing = this.writing.then(() => this.writer.write(bytes)).catch((err: unknown) => this.fail(err));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readyState = 3;
    void this.socket.close().catch(() => {});
    this.emit("close", { code: 1000, reason: "" });
  }

  private async readLoop(): Promise<void> {
    const reader = this.socket.readable.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.emit("message", { data: value });
      }
      this.close();
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.emit("error", { error: err, message: err instanceof Error ? err.message : String(err) });
    this.close();
  }

  private emit(type: string, event: unknown): void {
    for (const fn of this.listeners.get(type) ?? []) fn(event);
  }
}
