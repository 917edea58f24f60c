/**
 * The gRPC benchmark's load generator: a fixed client keeping N unary calls in flight against one
 * server, checking every response against what the server must answer (data.ts).
 *
 * Two clients, the same for every server row of a run so that only the server differs:
 *
 *   sgwire (default)   @sgwire/grpc createClient with the generated service: on this machine it
 *                      needs a fraction of grpc-js's CPU per call, so the servers get busier
 *   grpc-js            @grpc/grpc-js generic client; requests are pre-encoded Buffers (passed
 *                      through), responses are decoded by protobufjs (a decoder independent of
 *                      sgwire, so an sgwire encoding bug cannot hide behind a matching sgwire
 *                      decoder; the bench's test runs both clients)
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { blobStore, smallMismatch, smallRequest, smallResponse, type SmallIn, type SmallOut } from "./data.js";
import { GRPC_BENCH_PROTO } from "./es.js";
import { Bench } from "../generated/grpc-bench.sg.js";

export const CLIENT_KINDS = ["sgwire", "grpc-js"] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export type MethodName = "getBlob" | "small";

/** Completes one call; `problem` says what was wrong (an error status or a wrong answer). */
type Done = (problem?: { kind: "error" | "mismatch"; message: string }) => void;

export interface LoadClient {
  /** Calls `method` with request number `i` and checks the answer. */
  call(method: MethodName, i: number, done: Done): void;
  close(): void;
}

export interface ClientSetup {
  port: number;
  blobBytes: number;
  keys: number;
}

const SMALL_REQUESTS = 4096;
const MAX_MESSAGE = 64 * 1024 * 1024;

/** A client of the benchmark service on 127.0.0.1:`port`. */
export async function openClient(kind: ClientKind, s: ClientSetup): Promise<LoadClient> {
  const store = blobStore(s.keys, s.blobBytes);
  const keys = [...store.keys()];
  const smallIn: SmallIn[] = Array.from({ length: SMALL_REQUESTS }, (_, i) => smallRequest(i));
  const smallOut: SmallOut[] = smallIn.map(smallResponse);

  const checkBlob = (i: number, got: { key?: unknown; value?: unknown; version?: unknown }): string | undefined => {
    const key = keys[i % keys.length]!;
    const want = store.get(key)!;
    if (got.key !== key) return `GetBlob ${key}: key ${JSON.stringify(got.key)}`;
    if (got.version !== want.version) return `GetBlob ${key}: version ${String(got.version)}, expected ${want.version}`;
    const v = got.value;
    if (!(v instanceof Uint8Array)) return `GetBlob ${key}: value is not bytes`;
    if (v.length !== want.value.length) return `GetBlob ${key}: ${v.length} value bytes, expected ${want.value.length}`;
    if (Buffer.compare(Buffer.from(v.buffer, v.byteOffset, v.byteLength), want.value) !== 0) return `GetBlob ${key}: value bytes differ from the stored value`;
    return undefined;
  };
  const checkSmall = (i: number, got: Record<string, unknown>): string | undefined => {
    const m = smallMismatch(smallOut[i % SMALL_REQUESTS]!, got);
    return m === undefined ? undefined : `Small #${i % SMALL_REQUESTS}: ${m}`;
  };

  if (kind === "grpc-js") {
    const root = new protobuf.Root();
    root.loadSync(GRPC_BENCH_PROTO);
    root.resolveAll();
    const T = (n: string) => root.lookupType(`grpcbench.${n}`);
    const blobReqs = keys.map((key) => Buffer.from(T("GetBlobRequest").encode({ key }).finish()));
    const smallReqs = smallIn.map((m) => Buffer.from(T("SmallRequest").encode(m).finish()));
    const BlobRes = T("GetBlobResponse");
    const SmallRes = T("SmallResponse");
    const raw = (path: string) => ({
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    });
    const Ctor = grpc.makeGenericClientConstructor({ getBlob: raw("/grpcbench.Bench/GetBlob"), small: raw("/grpcbench.Bench/Small") }, "Bench");
    const client = new Ctor(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": MAX_MESSAGE }) as unknown as Record<
      MethodName,
      (req: Buffer, cb: (err: grpc.ServiceError | null, res?: Buffer) => void) => void
    > & { close(): void };
    return {
      call(method, i, done) {
        if (method === "getBlob") {
          client.getBlob(blobReqs[i % blobReqs.length]!, (err, res) => {
            if (err) return done({ kind: "error", message: `GetBlob: ${err.code} ${err.details}` });
            let problem: string | undefined;
            try {
              problem = checkBlob(i, BlobRes.decode(res!) as unknown as Record<string, unknown>);
            } catch (e) {
              problem = `GetBlob: undecodable response: ${(e as Error).message}`;
            }
            done(problem === undefined ? undefined : { kind: "mismatch", message: problem });
          });
        } else {
          client.small(smallReqs[i % SMALL_REQUESTS]!, (err, res) => {
            if (err) return done({ kind: "error", message: `Small: ${err.code} ${err.details}` });
            let problem: string | undefined;
            try {
              problem = checkSmall(i, SmallRes.decode(res!) as unknown as Record<string, unknown>);
            } catch (e) {
              problem = `Small: undecodable response: ${(e as Error).message}`;
            }
            done(problem === undefined ? undefined : { kind: "mismatch", message: problem });
          });
        }
      },
      close: () => client.close(),
    };
  }

  if (kind === "sgwire") {
    const { createChannel, createClient } = await import("@sgwire/grpc");
    const channel = createChannel(`http://127.0.0.1:${s.port}`, { maxReceiveMessageBytes: MAX_MESSAGE });
    const client = createClient(Bench, channel);
    const failed = (what: string, done: Done) => (e: unknown) => {
      const err = e as { code?: unknown; details?: unknown; message?: string };
      done({ kind: "error", message: `${what}: ${err.code !== undefined ? `${String(err.code)} ${String(err.details)}` : (err.message ?? String(e))}` });
    };
    return {
      call(method, i, done) {
        if (method === "getBlob") {
          client.getBlob({ key: keys[i % keys.length]! }).then((res) => {
            const p = checkBlob(i, res);
            done(p === undefined ? undefined : { kind: "mismatch", message: p });
          }, failed("GetBlob", done));
        } else {
          client.small(smallIn[i % SMALL_REQUESTS]!).then((res) => {
            const p = checkSmall(i, res as unknown as Record<string, unknown>);
            done(p === undefined ? undefined : { kind: "mismatch", message: p });
          }, failed("Small", done));
        }
      },
      close: () => channel.close(),
    };
  }
  throw new Error(`unknown client ${String(kind)} (one of ${CLIENT_KINDS.join(", ")})`);
}

/** What a load run counted. */
export interface LoadCounts {
  completed: number;
  errors: number;
  mismatches: number;
  /** the first problems seen (at most 5) */
  problems: string[];
}

/**
 * Keeps `concurrency` calls of `method` in flight on `client` until `stop()`. Latencies (ns) are
 * recorded while `recording` is set.
 */
export class Load {
  readonly counts: LoadCounts = { completed: 0, errors: 0, mismatches: 0, problems: [] };
  recording = false;
  private readonly lat: Float64Array;
  private nLat = 0;
  private next = 0;
  private inFlight = 0;
  private stopping = false;
  private drained: (() => void) | undefined;
  private target = Infinity;
  private reached: (() => void) | undefined;

  constructor(
    private readonly client: LoadClient,
    private readonly method: MethodName,
    private readonly concurrency: number,
    maxSamples = 1 << 20,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    this.lat = new Float64Array(maxSamples);
  }

  start(): void {
    for (let k = 0; k < this.concurrency; k++) this.issue();
  }

  private issue(): void {
    const i = this.next++;
    const t0 = process.hrtime.bigint();
    this.inFlight++;
    this.client.call(this.method, i, (problem) => {
      this.inFlight--;
      const c = this.counts;
      c.completed++;
      if (problem !== undefined) {
        if (problem.kind === "error") c.errors++;
        else c.mismatches++;
        if (c.problems.length < 5) c.problems.push(problem.message);
      }
      if (c.completed >= this.target) {
        this.target = Infinity;
        this.reached?.();
      }
      if (this.recording && this.nLat < this.lat.length) this.lat[this.nLat++] = Number(process.hrtime.bigint() - t0);
      if (!this.stopping) this.issue();
      else if (this.inFlight === 0) this.drained?.();
    });
  }

  /** Latency percentiles (us) of the recorded calls, and drops the samples. */
  takeLatencies(): { p50Us: number; p99Us: number; samples: number } {
    const a = this.lat.subarray(0, this.nLat).slice().sort();
    const q = (p: number) => (a.length === 0 ? 0 : a[Math.min(a.length - 1, Math.floor(p * a.length))]! / 1000);
    const out = { p50Us: q(0.5), p99Us: q(0.99), samples: a.length };
    this.nLat = 0;
    return out;
  }

  /** Resolves once `n` calls have completed in all (at once if they have). */
  completedAtLeast(n: number): Promise<void> {
    if (this.counts.completed >= n) return Promise.resolve();
    this.target = n;
    return new Promise((resolve) => (this.reached = resolve));
  }

  /** Stops issuing calls; resolves when every call in flight has completed. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }
}
