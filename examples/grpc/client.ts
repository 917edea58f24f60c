/**
 * A client of the gRPC kv example (grpc/server.ts): puts and gets a few values, streams with
 * GetMany, PutMany and Watch, and prints what it got.
 *
 *   npx tsx grpc/client.ts [--address http://127.0.0.1:50051] [--ca FILE] [--grpc-js]
 *
 * By default it uses @sgwire/grpc's client with the generated service. With --grpc-js it runs the
 * same calls with a @grpc/grpc-js client whose service comes from @grpc/proto-loader reading the
 * same schemas/kv_service.proto: nothing of sgwire on that side, and the output is the same line
 * for line (after the first), which is what the example's test checks. --ca FILE (PEM) trusts the
 * server's certificate for an https:// address (the server prints it with --tls).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createChannel, createClient, Status } from "@sgwire/grpc";
import { Change_Kind, Kv } from "../gen/kv_service.sg.js";
import { isMain, parseArgs, UsageError } from "./args.js";

export const KV_SERVICE_PROTO = new URL("../schemas/kv_service.proto", import.meta.url).pathname;

/** An entry, a change or a value as both clients hand them to the scenario. */
export interface Item {
  kind?: string;
  key?: string;
  value: Uint8Array;
  /** uint64 as a decimal string (sgwire gives bigint, proto-loader a string) */
  version: string;
  found?: boolean;
}

/** The Kv service as the scenario calls it, over either client. */
export interface KvApi {
  readonly name: string;
  get(key: string): Promise<Item>;
  put(key: string, value: Uint8Array): Promise<string>;
  delete(key: string): Promise<boolean>;
  getMany(keys: string[]): AsyncIterable<Item>;
  putMany(entries: AsyncIterable<{ key: string; value: Uint8Array }> | Iterable<{ key: string; value: Uint8Array }>): Promise<{ count: number; bytes: string }>;
  watch(prefixes: AsyncIterable<string>): AsyncIterable<Item>;
  close(): void;
}

/** "http://host:port" -> "host:port" and whether it is TLS. */
function splitAddress(address: string): { target: string; tls: boolean } {
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(address);
  if (m === null) throw new UsageError(`--address must look like http://host:port or https://host:port, got ${JSON.stringify(address)}`);
  return { target: m[2]!, tls: m[1] === "https" };
}

/** sgwire's client, with the service generated from kv_service.proto. */
export function sgwireKv(address: string, ca?: Buffer): KvApi {
  const channel = createChannel(address, ca !== undefined ? { ca } : {});
  const kv = createClient(Kv, channel);
  const item = (m: { key?: string; value: Uint8Array; version: bigint; found?: boolean; kind?: Change_Kind }): Item => ({
    ...(m.kind !== undefined ? { kind: Change_Kind[m.kind] } : {}),
    ...(m.key !== undefined ? { key: m.key } : {}),
    value: m.value,
    version: m.version.toString(),
    ...(m.found !== undefined ? { found: m.found } : {}),
  });
  return {
    name: "sgwire (@sgwire/grpc createClient)",
    get: async (key) => item(await kv.get({ key })),
    put: async (key, value) => (await kv.put({ key, value })).version.toString(),
    delete: async (key) => (await kv.delete({ key })).existed,
    async *getMany(keys) {
      for await (const e of kv.getMany({ keys })) yield item(e);
    },
    async putMany(entries) {
      const r = await kv.putMany(
        (async function* () {
          for await (const e of entries) yield { key: e.key, value: e.value, version: 0n, found: false };
        })(),
      );
      return { count: r.count, bytes: r.bytes.toString() };
    },
    async *watch(prefixes) {
      const requests = (async function* () {
        for await (const prefix of prefixes) yield { prefix };
      })();
      for await (const c of kv.watch(requests)) yield item(c);
    },
    close: () => channel.close(),
  };
}

type Callback<T> = (err: grpc.ServiceError | null, res?: T) => void;
interface GrpcJsKv extends grpc.Client {
  Get(req: { key: string }, cb: Callback<{ value: Buffer; version: string }>): void;
  Put(req: { key: string; value: Uint8Array }, cb: Callback<{ version: string }>): void;
  Delete(req: { key: string }, cb: Callback<{ existed: boolean }>): void;
  GetMany(req: { keys: string[] }): grpc.ClientReadableStream<{ key: string; value: Buffer; version: string; found: boolean }>;
  PutMany(cb: Callback<{ count: number; bytes: string }>): grpc.ClientWritableStream<{ key: string; value: Uint8Array }>;
  Watch(): grpc.ClientDuplexStream<{ prefix: string }, { kind: string; key: string; value: Buffer; version: string }>;
}

/** A @grpc/grpc-js client whose service @grpc/proto-loader read from the same kv_service.proto. */
export async function grpcJsKv(address: string, ca?: Buffer): Promise<KvApi> {
  const { target, tls } = splitAddress(address);
  const def = protoLoader.loadSync(KV_SERVICE_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { kv: { Kv: new (target: string, creds: grpc.ChannelCredentials) => GrpcJsKv } };
  const client = new pkg.kv.Kv(target, tls ? grpc.credentials.createSsl(ca ?? null) : grpc.credentials.createInsecure());
  const unary = <Req, Res>(fn: (req: Req, cb: Callback<Res>) => void, req: Req) =>
    new Promise<Res>((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res!))));
  return {
    name: "@grpc/grpc-js with @grpc/proto-loader",
    get: async (key) => {
      const r = await unary(client.Get, { key });
      return { value: r.value, version: r.version };
    },
    put: async (key, value) => (await unary(client.Put, { key, value })).version,
    delete: async (key) => (await unary(client.Delete, { key })).existed,
    async *getMany(keys) {
      for await (const e of client.GetMany({ keys }) as AsyncIterable<{ key: string; value: Buffer; version: string; found: boolean }>) {
        yield { key: e.key, value: e.value, version: e.version, found: e.found };
      }
    },
    putMany(entries) {
      return new Promise((resolve, reject) => {
        const call = client.PutMany((err, res) => (err ? reject(err) : resolve({ count: res!.count, bytes: res!.bytes })));
        void (async () => {
          for await (const e of entries) {
            // respect the stream's buffer: wait for 'drain' when write says it is full
            if (!call.write({ key: e.key, value: e.value })) await new Promise((r) => call.once("drain", r));
          }
          call.end();
        })().catch((e: unknown) => call.destroy(e as Error));
      });
    },
    async *watch(prefixes) {
      const call = client.Watch();
      void (async () => {
        for await (const prefix of prefixes) call.write({ prefix });
        call.end();
      })().catch((e: unknown) => call.destroy(e as Error));
      for await (const c of call as AsyncIterable<{ kind: string; key: string; value: Buffer; version: string }>) {
        yield { kind: c.kind, key: c.key, value: c.value, version: c.version };
      }
    },
    close: () => client.close(),
  };
}

/** A value for printing: short UTF-8 text as is, anything larger as its size and a digest. */
function show(v: Uint8Array): string {
  if (v.length <= 32) return JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.length).toString("utf8"));
  return `${v.length} B sha256:${createHash("sha256").update(v).digest("hex").slice(0, 16)}`;
}

function statusOf(e: unknown): string {
  const err = e as { code?: unknown; details?: unknown };
  if (typeof err.code !== "number") throw e;
  return `${Status[err.code] ?? `status ${err.code}`}: ${String(err.details)}`;
}

/** 64 KiB of deterministic bytes: a value large enough for sgwire to send by reference. */
function bigValue(): Uint8Array {
  const v = new Uint8Array(64 * 1024);
  for (let i = 0; i < v.length; i++) v[i] = (i * 31 + (i >> 8)) & 0xff;
  return v;
}

/**
 * The calls both clients make, and what they print. The keys it creates are deleted at the end,
 * so running it again (with either client) prints the same.
 */
export async function scenario(api: KvApi, log: (line: string) => void): Promise<void> {
  const text = (s: string) => new TextEncoder().encode(s);

  // Watch "user:" first (bidirectional stream): the server acknowledges the prefix, then streams changes
  let endWatch!: () => void;
  const watchEnded = new Promise<void>((r) => (endWatch = r));
  const changes = api.watch(
    (async function* () {
      yield "user:";
      await watchEnded;
    })(),
  )[Symbol.asyncIterator]();
  const ack = await changes.next();
  log(`watch "user:" -> ${ack.done ? "ended" : `${ack.value.kind} ${JSON.stringify(ack.value.key)}`}`);

  const big = bigValue();
  for (const [key, value] of [["user:1", text("alice")], ["user:2", big], ["other:1", text("not watched")], ["user:1", text("alice v2")]] as const) {
    log(`put ${key} ${show(value)} -> version ${await api.put(key, value)}`);
  }
  try {
    await api.put("", text("x"));
    log('put "" -> accepted');
  } catch (e) {
    log(`put "" -> ${statusOf(e)}`);
  }

  for (const key of ["user:1", "user:2", "nope"]) {
    try {
      const r = await api.get(key);
      log(`get ${key} -> ${show(r.value)} version ${r.version}`);
    } catch (e) {
      log(`get ${key} -> ${statusOf(e)}`);
    }
  }

  // GetMany: one response message per key (server streaming)
  const many: string[] = [];
  for await (const e of api.getMany(["user:1", "nope", "user:2"])) many.push(e.found ? `${e.key} ${show(e.value)} v${e.version}` : `${e.key} (none)`);
  log(`getMany -> ${many.join(" | ")}`);

  // PutMany: a stream of entries, one answer (client streaming)
  const batch = Array.from({ length: 3 }, (_, i) => ({ key: `batch:${i}`, value: new Uint8Array(1000 + i).fill(65 + i) }));
  const pm = await api.putMany(
    (async function* () {
      yield* batch;
    })(),
  );
  log(`putMany ${batch.map((b) => b.key).join(" ")} -> ${pm.count} entries, ${pm.bytes} B`);

  log(`delete user:1 -> ${(await api.delete("user:1")) ? "existed" : "did not exist"}`);
  log(`delete user:1 -> ${(await api.delete("user:1")) ? "existed" : "did not exist"}`);

  // ending our side of Watch ends the call once the server has sent what it had queued
  endWatch();
  const seen: string[] = [];
  for (;;) {
    const r = await changes.next();
    if (r.done) break;
    seen.push(`${r.value.kind} ${r.value.key}${r.value.kind === "PUT" ? ` v${r.value.version} ${show(r.value.value)}` : ""}`);
  }
  log(`watch "user:" saw: ${seen.join(", ")}`);

  let removed = 0;
  for (const key of ["user:2", "other:1", ...batch.map((b) => b.key)]) if (await api.delete(key)) removed++;
  log(`cleanup: deleted ${removed} keys`);
}

const USAGE = "usage: tsx grpc/client.ts [--address http://127.0.0.1:50051] [--ca FILE] [--grpc-js]";

async function main(argv: string[]): Promise<number> {
  let a: Map<string, string>;
  try {
    a = parseArgs(argv, { address: true, ca: true, "grpc-js": false, help: false });
    if (a.has("help")) {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    splitAddress(a.get("address") ?? "http://127.0.0.1:50051");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`kv gRPC client: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  const address = a.get("address") ?? "http://127.0.0.1:50051";
  const ca = a.has("ca") ? readFileSync(a.get("ca")!) : undefined;
  const api = a.has("grpc-js") ? await grpcJsKv(address, ca) : sgwireKv(address, ca);
  try {
    process.stdout.write(`client: ${api.name}, server ${address}\n`);
    await scenario(api, (l) => process.stdout.write(l + "\n"));
  } finally {
    api.close();
  }
  return 0;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`kv gRPC client: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
