/**
 * The @grpc/grpc-js peer: a server implementing interop.proto and a client running CallPlans,
 * both loading the schema with @grpc/proto-loader (protobufjs codecs), as a grpc-js user does.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { toGrpcJsService } from "../../src/index.js";
import { Interop } from "./gen/interop.sg.js";
import { sgwireRequest } from "./sgwire-peer.js";
import {
  EventLog, MAX_MESSAGE, deadlineLeft, pattern, responsePayload, summarize,
  type CallPlan, type CallResult, type HeaderPlan, type RequestPlan, type ResponseSummary,
} from "./scenarios.js";

export const PROTO_DIR = fileURLToPath(new URL(".", import.meta.url));
export const PROTO_FILE = fileURLToPath(new URL("./interop.proto", import.meta.url));

/** grpc-js options of every peer in the suite: receive limits raised for the 4 MiB messages. */
export const GRPCJS_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE,
  "grpc.max_send_message_length": MAX_MESSAGE,
};

/** What protobufjs hands a grpc-js handler (longs as strings, bytes as Buffers). */
interface JsRequest {
  id: string;
  payload: Buffer;
  responseSizes: number[];
  seq: string;
  tags: string[];
  status: { code: number; message: string; trailers: Array<{ key: string; text: string; binary: Buffer }> } | null;
  delayMs: number;
  echoMetadata: boolean;
  fail: boolean;
  serverCancel: boolean;
}

interface JsResponse {
  id: string;
  payload: Uint8Array;
  seq: string;
  tags: string[];
  count: string;
  totalBytes: string;
  deadlineMs: string;
}

/** What every grpc-js server call has (grpc-js does not export its ServerSurfaceCall type). */
interface SurfaceCall {
  cancelled: boolean;
  getDeadline(): grpc.Deadline;
  once(event: "cancelled", listener: () => void): unknown;
  off(event: "cancelled", listener: () => void): unknown;
}

let definition: grpc.ServiceDefinition | undefined;

/** The Interop service as @grpc/proto-loader loads it. */
export function interopDefinition(): grpc.ServiceDefinition {
  if (definition === undefined) {
    const pkg = protoLoader.loadSync(PROTO_FILE, { longs: String, defaults: true, includeDirs: [PROTO_DIR] });
    definition = pkg["sgwire.interop.Interop"] as grpc.ServiceDefinition;
  }
  return definition;
}

// ---------------------------------------------------------------------------------------------
// Server

function echoed(md: grpc.Metadata): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const key of Object.keys(md.getMap())) {
    if (!key.startsWith("x-echo-")) continue;
    for (const v of md.get(key)) out.add(key, v);
  }
  return out;
}

function trailersOf(status: NonNullable<JsRequest["status"]>, base: grpc.Metadata): grpc.Metadata {
  const md = base.clone();
  for (const h of status.trailers) md.add(h.key, h.key.endsWith("-bin") ? h.binary : h.text);
  return md;
}

/** A delay that ends early when the call is cancelled; resolves true if it was. */
function callDelay(ms: number, call: SurfaceCall): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(true);
  if (ms <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const t = setTimeout(() => { call.off("cancelled", onCancel); resolve(false); }, ms);
    const onCancel = () => { clearTimeout(t); resolve(true); };
    call.once("cancelled", onCancel);
  });
}

function deadlineMs(call: SurfaceCall): string {
  const d = call.getDeadline();
  return String(d === Infinity ? -1n : deadlineLeft(d instanceof Date ? d : Number(d)));
}

/**
 * Logs "cancelled" for `id` when grpc-js reports the call cancelled before the handler ended it
 * (grpc-js emits 'cancelled' whenever the stream closes, after a status it sent too).
 */
function watchCancel(call: SurfaceCall, id: string, log: EventLog, ended: () => boolean): void {
  call.once("cancelled", () => { if (!ended()) log.push({ id, event: "cancelled" }); });
}

/** The grpc-js implementation of interop.proto, logging cancellations to `log`. */
export function grpcjsImplementation(log: EventLog): grpc.UntypedServiceImplementation {
  return {
    Unary(call: grpc.ServerUnaryCall<JsRequest, JsResponse>, reply: grpc.sendUnaryData<JsResponse>) {
      const req = call.request;
      let ended = false;
      const callback: grpc.sendUnaryData<JsResponse> = (...args) => { ended = true; reply(...args); };
      watchCancel(call, req.id, log, () => ended);
      const trailers = req.echoMetadata ? echoed(call.metadata) : new grpc.Metadata();
      if (req.echoMetadata) call.sendMetadata(echoed(call.metadata));
      void callDelay(req.delayMs, call).then((cancelled) => {
        if (cancelled) return;
        if (req.fail) return callback(new Error("the request asked the handler to fail"));
        if (req.serverCancel) return callback({ code: grpc.status.CANCELLED, details: "cancelled by the server", metadata: trailers });
        if (req.status) return callback({ code: req.status.code, details: req.status.message, metadata: trailersOf(req.status, trailers) });
        const payload = req.responseSizes.length > 0 ? responsePayload(req.responseSizes[0]!, BigInt(req.seq), 0) : req.payload;
        callback(null, { id: req.id, payload, seq: req.seq, tags: req.tags, count: "0", totalBytes: "0", deadlineMs: deadlineMs(call) }, trailers);
      });
    },

    ServerStream(call: grpc.ServerWritableStream<JsRequest, JsResponse>) {
      const req = call.request;
      let ended = false;
      watchCancel(call, req.id, log, () => ended);
      const trailers = req.echoMetadata ? echoed(call.metadata) : new grpc.Metadata();
      if (req.echoMetadata) call.sendMetadata(echoed(call.metadata));
      void (async () => {
        const seq = BigInt(req.seq);
        for (let i = 0; i < req.responseSizes.length; i++) {
          if (await callDelay(req.delayMs, call)) return;
          const ok = call.write({
            id: req.id, payload: responsePayload(req.responseSizes[i]!, seq, i), seq: String((seq + BigInt(i)) % 2n ** 64n),
            tags: req.tags, count: "0", totalBytes: "0", deadlineMs: deadlineMs(call),
          });
          if (!ok) {
            await new Promise<void>((resolve) => {
              const done = () => { call.off("drain", done); call.off("cancelled", done); resolve(); };
              call.once("drain", done);
              call.once("cancelled", done);
            });
          }
          if (call.cancelled) return;
        }
        ended = true;
        if (req.fail) return void call.emit("error", new Error("the request asked the handler to fail"));
        if (req.serverCancel) return void call.emit("error", { code: grpc.status.CANCELLED, details: "cancelled by the server", metadata: trailers });
        if (req.status) return void call.emit("error", { code: req.status.code, details: req.status.message, metadata: trailersOf(req.status, trailers) });
        call.end(trailers);
      })();
    },

    ClientStream(call: grpc.ServerReadableStream<JsRequest, JsResponse>, callback: grpc.sendUnaryData<JsResponse>) {
      let first: JsRequest | undefined;
      let trailers = new grpc.Metadata();
      const payloads: Buffer[] = [];
      const tags: string[] = [];
      let total = 0;
      let done = false;
      const finish = (err: grpc.ServerErrorResponse | Partial<grpc.StatusObject> | null, res?: JsResponse) => {
        if (done || call.cancelled) return;
        done = true;
        call.removeAllListeners("data");
        callback(err, res, err === null ? trailers : undefined);
      };
      call.on("data", (req: JsRequest) => {
        if (first === undefined) {
          first = req;
          watchCancel(call, req.id, log, () => done);
          if (req.echoMetadata) {
            trailers = echoed(call.metadata);
            call.sendMetadata(echoed(call.metadata));
          }
        }
        if (req.fail) return finish(new Error("the request asked the handler to fail"));
        if (req.serverCancel) return finish({ code: grpc.status.CANCELLED, details: "cancelled by the server" });
        if (req.status) return finish({ code: req.status.code, details: req.status.message, metadata: trailersOf(req.status, trailers) });
        payloads.push(req.payload);
        tags.push(...req.tags);
        total += req.payload.length;
      });
      call.on("end", () => finish(null, {
        id: first?.id ?? "", payload: Buffer.concat(payloads), seq: "0", tags, count: String(payloads.length),
        totalBytes: String(total), deadlineMs: deadlineMs(call),
      }));
      call.on("error", () => { /* cancelled: logged by watchCancel */ });
    },

    Bidi(call: grpc.ServerDuplexStream<JsRequest, JsResponse>) {
      let first = true;
      let trailers = new grpc.Metadata();
      let chain = Promise.resolve();
      let ended = false;
      const end = (f: () => void) => { if (!ended) { ended = true; f(); } };
      call.on("data", (req: JsRequest) => {
        if (first) {
          first = false;
          watchCancel(call, req.id, log, () => ended);
          if (req.echoMetadata) {
            trailers = echoed(call.metadata);
            call.sendMetadata(echoed(call.metadata));
          }
        }
        chain = chain.then(async () => {
          if (ended || await callDelay(req.delayMs, call)) return;
          if (req.fail) return end(() => call.emit("error", new Error("the request asked the handler to fail")));
          if (req.serverCancel) return end(() => call.emit("error", { code: grpc.status.CANCELLED, details: "cancelled by the server" }));
          if (req.status) return end(() => call.emit("error", { code: req.status!.code, details: req.status!.message, metadata: trailersOf(req.status!, trailers) }));
          call.write({ id: req.id, payload: req.payload, seq: req.seq, tags: req.tags, count: "0", totalBytes: "0", deadlineMs: deadlineMs(call) });
        });
      });
      call.on("end", () => void chain.then(() => end(() => call.end(trailers))));
      call.on("error", () => { /* cancelled: logged by watchCancel */ });
    },
  };
}

/**
 * A grpc-js server of interop.proto on 127.0.0.1, an ephemeral port; TLS (h2) with `tls`; limits
 * raised to MAX_MESSAGE unless `options` say otherwise.
 */
export async function startGrpcjsServer(log: EventLog, tls?: { key: Buffer; cert: Buffer }, options: grpc.ServerOptions = GRPCJS_OPTIONS): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(options);
  server.addService(interopDefinition(), grpcjsImplementation(log));
  const creds = tls ? grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }]) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { server, port };
}

export function stopGrpcjsServer(server: grpc.Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
    server.tryShutdown(() => { clearTimeout(t); resolve(); });
  });
}

// ---------------------------------------------------------------------------------------------
// Client

/** The request object of a plan, as protobufjs takes it. */
export function jsRequest(p: RequestPlan): JsRequest {
  return {
    id: p.id ?? "",
    payload: p.payload ? Buffer.from(pattern(p.payload.size, p.payload.seed)) : Buffer.alloc(0),
    responseSizes: p.responseSizes ?? [],
    seq: p.seq ?? "0",
    tags: p.tags ?? [],
    status: p.status ? {
      code: p.status.code, message: p.status.message,
      trailers: (p.status.trailers ?? []).map((h) => ({ key: h.key, text: h.text ?? "", binary: Buffer.from(h.base64 ?? "", "base64") })),
    } : null,
    delayMs: p.delayMs ?? 0,
    echoMetadata: p.echoMetadata ?? false,
    fail: p.fail ?? false,
    serverCancel: p.serverCancel ?? false,
  };
}

export function grpcjsMetadata(headers: HeaderPlan[] | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const h of headers ?? []) md.add(h.key, h.key.endsWith("-bin") ? Buffer.from(h.base64 ?? "", "base64") : h.text ?? "");
  return md;
}

/** The "x-" entries of grpc-js metadata, binary values as base64. */
export function fromGrpcjsMetadata(md: grpc.Metadata | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (md === undefined) return out;
  for (const key of Object.keys(md.getMap())) {
    if (!key.startsWith("x-")) continue;
    out[key] = md.get(key).map((v) => (typeof v === "string" ? v : v.toString("base64")));
  }
  return out;
}

type AnyCall = grpc.ClientUnaryCall | grpc.ClientReadableStream<JsResponse> | grpc.ClientWritableStream<JsRequest> | grpc.ClientDuplexStream<JsRequest, JsResponse>;

/**
 * The codecs a grpc-js client uses: protobufjs through @grpc/proto-loader, or sgwire's generated
 * ones through toGrpcJsService (the drop-in switch; requests and responses are then sgwire messages).
 */
export type GrpcjsCodecs = "proto-loader" | "sgwire";

const METHOD_NAMES = { unary: "Unary", serverStream: "ServerStream", clientStream: "ClientStream", bidi: "Bidi" } as const;

/** Runs one CallPlan with a grpc-js client; never rejects for a failed call (its status is the result). */
export function runGrpcjsCall(client: grpc.Client, plan: CallPlan, codecs: GrpcjsCodecs = "proto-loader"): Promise<CallResult> {
  const started = Date.now();
  const path = `/sgwire.interop.Interop/${METHOD_NAMES[plan.method]}`;
  const def = codecs === "sgwire" ? toGrpcJsService(Interop)[plan.method] : interopDefinition()[METHOD_NAMES[plan.method]]!;
  const ser = def.requestSerialize as (v: unknown) => Buffer;
  const de = def.responseDeserialize as (b: Buffer) => JsResponse;
  const md = grpcjsMetadata(plan.metadata);
  const options: grpc.CallOptions = plan.deadlineMs !== undefined ? { deadline: Date.now() + plan.deadlineMs } : {};
  // summarize() reads either kind of message (uint64 as string or bigint)
  const reqs = plan.requests.map(codecs === "sgwire" ? (p) => sgwireRequest(p) as unknown as JsRequest : jsRequest);
  const responses: ResponseSummary[] = [];
  let headers: grpc.Metadata | undefined;

  return new Promise<CallResult>((resolve) => {
    let call: AnyCall;
    let settled = false;
    let cancelTimer: NodeJS.Timeout | undefined;
    const finish = (code: number, details: string, trailers: grpc.Metadata | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(cancelTimer);
      resolve({
        label: plan.label, code, details, headers: fromGrpcjsMetadata(headers), trailers: fromGrpcjsMetadata(trailers),
        responses, elapsedMs: Date.now() - started,
      });
    };
    const onResponse = (r: JsResponse) => {
      responses.push(summarize(r));
      if (plan.cancelAfterResponses !== undefined && responses.length >= plan.cancelAfterResponses) call.cancel();
      else if (plan.pingPong) sendNext();
    };
    let next = 0;
    const sendNext = () => {
      const w = call as grpc.ClientWritableStream<JsRequest>;
      if (next < reqs.length) w.write(reqs[next++]);
      if (next >= reqs.length && !plan.holdOpen && !(w as { writableEnded?: boolean }).writableEnded) w.end();
    };
    const unaryCallback = (err: grpc.ServiceError | null, res?: JsResponse) => {
      if (res) responses.push(summarize(res));
      if (err) finish(err.code, err.details, err.metadata);
    };
    switch (plan.method) {
      case "unary":
        call = client.makeUnaryRequest(path, ser, de, reqs[0], md, options, unaryCallback);
        break;
      case "serverStream": {
        const s = client.makeServerStreamRequest(path, ser, de, reqs[0], md, options);
        s.on("data", onResponse);
        s.on("error", () => { /* the status event carries it */ });
        call = s;
        break;
      }
      case "clientStream":
        call = client.makeClientStreamRequest(path, ser, de, md, options, unaryCallback);
        break;
      case "bidi": {
        const s = client.makeBidiStreamRequest(path, ser, de, md, options);
        s.on("data", onResponse);
        s.on("error", () => { /* the status event carries it */ });
        call = s;
        break;
      }
    }
    call.on("metadata", (m: grpc.Metadata) => { headers = m; });
    call.on("status", (st: grpc.StatusObject) => finish(st.code, st.details, st.metadata));
    if (plan.method === "clientStream") {
      const w = call as grpc.ClientWritableStream<JsRequest>;
      for (const r of reqs) w.write(r);
      if (!plan.holdOpen) w.end();
    } else if (plan.method === "bidi") {
      if (plan.pingPong) sendNext();
      else {
        const w = call as grpc.ClientDuplexStream<JsRequest, JsResponse>;
        for (const r of reqs) w.write(r);
        if (!plan.holdOpen) w.end();
      }
    }
    cancelTimer = plan.cancelAfterMs !== undefined ? setTimeout(() => call.cancel(), plan.cancelAfterMs) : undefined;
  });
}

/**
 * A grpc-js client of the server at `target` ("host:port"); over TLS with `tls`, trusting `ca` and
 * checking the server's name against `name`.
 */
export function grpcjsClient(target: string, tls?: { ca: Buffer; name: string }, options: grpc.ChannelOptions = GRPCJS_OPTIONS): grpc.Client {
  if (tls === undefined) return new grpc.Client(target, grpc.credentials.createInsecure(), options);
  return new grpc.Client(target, grpc.credentials.createSsl(tls.ca), { ...options, "grpc.ssl_target_name_override": tls.name, "grpc.default_authority": tls.name });
}
