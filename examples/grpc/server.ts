/**
 * The kv store as a gRPC service (schemas/kv_service.proto) on @sgwire/grpc's GrpcServer.
 *
 *   npx tsx grpc/server.ts [--port 50051] [--host 127.0.0.1] [--tls [--key FILE --cert FILE]]
 *
 * Prints `kv gRPC server listening on http://HOST:PORT` (https with --tls; without --key/--cert a
 * self-signed certificate for localhost and 127.0.0.1 is made with openssl, and its path printed
 * as `ca: FILE` for the clients' --ca). Ctrl-C closes it, letting calls in progress finish.
 *
 * Get, GetMany and Watch answer with the stored values by reference: the generated encoder makes
 * the value a segment of its own, and the server writes the segments to the HTTP/2 stream as they
 * are, so the value is not copied into a response buffer (the kernel still copies it into the
 * socket). Any gRPC client can call it: examples/grpc/client.ts runs the same calls with sgwire's
 * client and, with --grpc-js, with @grpc/grpc-js and @grpc/proto-loader on the same .proto.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GrpcError, GrpcServer, Status, type ServerContext } from "@sgwire/grpc";
import { Change_Kind, Kv, type Change, type KvServer, type WatchRequest } from "../gen/kv_service.sg.js";
import { isMain, parseArgs, portOption, UsageError } from "./args.js";
import { KvStore, StoreError, type StoreChange } from "./store.js";

const EMPTY = new Uint8Array(0);

export interface KvServiceOptions {
  /** Changes a watcher may have queued before its call is ended with RESOURCE_EXHAUSTED (default 1024). */
  maxWatchBacklog?: number;
  /** Prefixes one Watch call may watch (default 64). */
  maxWatchPrefixes?: number;
}

function storeStatus(e: unknown): unknown {
  if (e instanceof StoreError) return new GrpcError(e.reason === "empty-key" ? Status.INVALID_ARGUMENT : Status.RESOURCE_EXHAUSTED, e.message);
  return e;
}

/**
 * The changes of one Watch call, waiting to be sent: an async iterable that ends after what was
 * pushed before `end()`, or throws what `fail()` was given.
 */
class ChangeQueue implements AsyncIterable<Change> {
  readonly #items: Change[] = [];
  #ended = false;
  #error: unknown = undefined;
  #wake: (() => void) | null = null;

  /** `onEnd` runs once, when the queue ends or fails (the Watch handler unsubscribes there). */
  constructor(
    private readonly max: number,
    private readonly onEnd: () => void,
  ) {}

  push(c: Change): void {
    if (this.#ended) return;
    if (this.#items.length >= this.max) {
      this.fail(new GrpcError(Status.RESOURCE_EXHAUSTED, `the watcher fell ${this.max} changes behind`));
      return;
    }
    this.#items.push(c);
    this.#signal();
  }

  end(): void {
    if (!this.#ended) {
      this.#ended = true;
      this.onEnd();
    }
    this.#signal();
  }

  fail(e: unknown): void {
    if (this.#ended) return;
    this.#error = e;
    this.#items.length = 0;
    this.end();
  }

  #signal(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Change> {
    for (;;) {
      const c = this.#items.shift();
      if (c !== undefined) {
        yield c;
        continue;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
}

function toChange(c: StoreChange): Change {
  return c.kind === "put"
    ? { kind: Change_Kind.PUT, key: c.key, value: c.value, version: c.version }
    : { kind: Change_Kind.DELETE, key: c.key, value: EMPTY, version: 0n };
}

/** The handlers of the Kv service over `store`. */
export function kvService(store: KvStore, options: KvServiceOptions = {}): KvServer {
  const maxBacklog = options.maxWatchBacklog ?? 1024;
  const maxPrefixes = options.maxWatchPrefixes ?? 64;
  return {
    get(req) {
      const s = store.get(req.key);
      if (s === undefined) throw new GrpcError(Status.NOT_FOUND, `no value stored under ${JSON.stringify(req.key)}`);
      return { value: s.value, version: s.version }; // the stored bytes themselves: sent by reference
    },

    put(req) {
      try {
        return { version: store.put(req.key, req.value) };
      } catch (e) {
        throw storeStatus(e);
      }
    },

    delete(req) {
      return { existed: store.delete(req.key) };
    },

    async *getMany(req) {
      for (const key of req.keys) {
        const s = store.get(key);
        yield s === undefined ? { key, value: EMPTY, version: 0n, found: false } : { key, value: s.value, version: s.version, found: true };
      }
    },

    async putMany(requests) {
      let count = 0;
      let bytes = 0n;
      for await (const e of requests) {
        try {
          store.put(e.key, e.value);
        } catch (err) {
          throw storeStatus(err);
        }
        count++;
        bytes += BigInt(e.value.length);
      }
      return { count, bytes };
    },

    watch(requests: AsyncIterable<WatchRequest>, ctx: ServerContext) {
      const prefixes: string[] = [];
      // a watcher that falls behind is dropped at once (not when its stream next has room)
      const queue = new ChangeQueue(maxBacklog, () => unsubscribe());
      const unsubscribe = store.subscribe((c) => {
        if (prefixes.some((p) => c.key.startsWith(p))) queue.push(toChange(c));
      });
      // read the prefixes while changes are being sent; the client ending its stream ends the call
      void (async () => {
        for await (const r of requests) {
          if (prefixes.length >= maxPrefixes) throw new GrpcError(Status.INVALID_ARGUMENT, `a Watch call watches at most ${maxPrefixes} prefixes`);
          prefixes.push(r.prefix);
          queue.push({ kind: Change_Kind.WATCHING, key: r.prefix, value: EMPTY, version: 0n });
        }
        queue.end();
      })().catch((e: unknown) => queue.fail(e));
      ctx.signal.addEventListener("abort", () => queue.end(), { once: true });
      return (async function* () {
        try {
          yield* queue;
        } finally {
          queue.end(); // the call ended first (cancelled, failed): stop watching
        }
      })();
    },
  };
}

export interface KvGrpcServer {
  server: GrpcServer;
  store: KvStore;
  /** "http://127.0.0.1:50051" */
  address: string;
}

/** Makes a store and serves it. */
export async function startKvServer(o: { host?: string; port: number; tls?: { key: string | Buffer; cert: string | Buffer } }): Promise<KvGrpcServer> {
  const store = new KvStore();
  const server = new GrpcServer().addService(Kv, kvService(store));
  const { host, port } = await server.listen({ host: o.host ?? "127.0.0.1", port: o.port, ...(o.tls ? { tls: o.tls } : {}) });
  return { server, store, address: `${o.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}` };
}

/** A self-signed certificate for localhost and 127.0.0.1 (openssl), in a new directory. */
export function selfSignedCertificate(): { dir: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "sgwire-kv-grpc-"));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "7", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`--tls without --key/--cert needs openssl to make a self-signed certificate: ${(e as Error).message}`);
  }
  return { dir, key, cert };
}

const USAGE = "usage: tsx grpc/server.ts [--port 50051] [--host 127.0.0.1] [--tls [--key FILE --cert FILE]]";

async function main(argv: string[]): Promise<number> {
  let a: Map<string, string>;
  try {
    a = parseArgs(argv, { port: true, host: true, tls: false, key: true, cert: true, help: false });
    if (a.has("help")) {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    if ((a.has("key") || a.has("cert")) && !(a.has("key") && a.has("cert"))) throw new UsageError("--key and --cert go together");
    if (a.has("key") && !a.has("tls")) throw new UsageError("--key and --cert need --tls");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`kv gRPC server: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  let generated: { dir: string; cert: string } | undefined;
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (a.has("tls")) {
    if (a.has("key")) tls = { key: readFileSync(a.get("key")!), cert: readFileSync(a.get("cert")!) };
    else {
      const c = selfSignedCertificate();
      generated = c;
      tls = { key: readFileSync(c.key), cert: readFileSync(c.cert) };
    }
  }
  const { server, address } = await startKvServer({ host: a.get("host"), port: portOption(a.get("port"), 50051), ...(tls ? { tls } : {}) });
  process.stdout.write(`kv gRPC server listening on ${address}\n`);
  if (generated) process.stdout.write(`ca: ${generated.cert}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close(2000);
  if (generated) rmSync(generated.dir, { recursive: true, force: true });
  return 0;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`kv gRPC server: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
