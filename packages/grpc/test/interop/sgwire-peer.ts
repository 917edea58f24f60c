/**
 * sgwire's side of the interop suite: its implementation of interop.proto (the generated
 * `Interop` service on GrpcServer) and a client running CallPlans (createClient on a Channel).
 */
import { GrpcError, Metadata, Status, createClient, type CallOptions, type Channel, type Client, type ServerContext, type ServiceImplementation } from "../../src/index.js";
import { Interop, Request, type Response, type StatusRequest } from "./gen/interop.sg.js";

// The generated InteropClient/InteropServer are the same types from the built @sgwire/grpc (dist);
// the suite tests the sources, so it names them from src.
/** A client of Interop. */
export type InteropClient = Client<typeof Interop>;
/** An implementation of Interop. */
export type InteropServer = ServiceImplementation<typeof Interop>;
import {
  EventLog, cancellableDelay, deadlineLeft, metadataValue, pattern, responsePayload, summarize,
  type CallPlan, type CallResult, type HeaderPlan, type RequestPlan, type ResponseSummary,
} from "./scenarios.js";

// ---------------------------------------------------------------------------------------------
// Server

function echoInto(ctx: ServerContext): Metadata {
  const echoed = new Metadata();
  for (const [k, v] of ctx.metadata) {
    if (!k.startsWith("x-echo-")) continue;
    ctx.responseHeader.add(k, v);
    ctx.responseTrailer.add(k, v);
    echoed.add(k, v);
  }
  return echoed;
}

/** The error a request's `status` asks for; its trailers are the request's. */
function statusError(s: StatusRequest): GrpcError {
  const md = new Metadata();
  for (const h of s.trailers) md.add(h.key, h.key.endsWith("-bin") ? h.binary : h.text);
  return new GrpcError(s.code as Status, s.message, md);
}

const SERVER_CANCEL = () => new GrpcError(Status.CANCELLED, "cancelled by the server");
const FAILURE = () => new Error("the request asked the handler to fail");

/** Logs "cancelled" for `id` if the call's signal aborts while the handler runs; returns the unwatch. */
function watchCancel(ctx: ServerContext, id: string, log: EventLog): () => void {
  const onAbort = () => log.push({ id, event: "cancelled" });
  if (ctx.signal.aborted) {
    onAbort();
    return () => {};
  }
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  return () => ctx.signal.removeEventListener("abort", onAbort);
}

function response(init: Partial<Response>): Response {
  return { id: "", payload: new Uint8Array(0), seq: 0n, tags: [], count: 0n, totalBytes: 0n, deadlineMs: 0n, ...init };
}

/** sgwire's implementation of interop.proto, logging cancellations its handlers see to `log`. */
export function sgwireImplementation(log: EventLog): InteropServer {
  return {
    async unary(req, ctx) {
      const unwatch = watchCancel(ctx, req.id, log);
      try {
        if (req.echoMetadata) echoInto(ctx);
        if (await cancellableDelay(req.delayMs, ctx.signal)) throw new GrpcError(Status.CANCELLED, "cancelled");
        if (req.fail) throw FAILURE();
        if (req.serverCancel) throw SERVER_CANCEL();
        if (req.status !== undefined) throw statusError(req.status);
        const payload = req.responseSizes.length > 0 ? responsePayload(req.responseSizes[0]!, req.seq, 0) : req.payload;
        return response({ id: req.id, payload, seq: req.seq, tags: req.tags, deadlineMs: deadlineLeft(ctx.deadline) });
      } finally {
        unwatch();
      }
    },

    async *serverStream(req, ctx) {
      const unwatch = watchCancel(ctx, req.id, log);
      try {
        if (req.echoMetadata) {
          echoInto(ctx);
          ctx.sendHeader();
        }
        for (let i = 0; i < req.responseSizes.length; i++) {
          if (await cancellableDelay(req.delayMs, ctx.signal)) return;
          yield response({
            id: req.id, payload: responsePayload(req.responseSizes[i]!, req.seq, i), seq: (req.seq + BigInt(i)) % 2n ** 64n,
            tags: req.tags, deadlineMs: deadlineLeft(ctx.deadline),
          });
        }
        if (req.fail) throw FAILURE();
        if (req.serverCancel) throw SERVER_CANCEL();
        if (req.status !== undefined) throw statusError(req.status);
      } finally {
        unwatch();
      }
    },

    async clientStream(requests, ctx) {
      let unwatch = () => {};
      let first: Request | undefined;
      const payloads: Uint8Array[] = [];
      const tags: string[] = [];
      try {
        for await (const req of requests) {
          if (first === undefined) {
            first = req;
            unwatch = watchCancel(ctx, req.id, log);
            if (req.echoMetadata) echoInto(ctx);
          }
          if (await cancellableDelay(req.delayMs, ctx.signal)) throw new GrpcError(Status.CANCELLED, "cancelled");
          if (req.fail) throw FAILURE();
          if (req.serverCancel) throw SERVER_CANCEL();
          if (req.status !== undefined) throw statusError(req.status);
          // the payload is a view of the received data: copy what outlives this iteration
          payloads.push(req.payload.slice());
          tags.push(...req.tags);
        }
        const payload = Buffer.concat(payloads);
        return response({
          id: first?.id ?? "", payload, tags, count: BigInt(payloads.length), totalBytes: BigInt(payload.length),
          deadlineMs: deadlineLeft(ctx.deadline),
        });
      } finally {
        unwatch();
      }
    },

    async *bidi(requests, ctx) {
      let unwatch = () => {};
      let first = true;
      try {
        for await (const req of requests) {
          if (first) {
            first = false;
            unwatch = watchCancel(ctx, req.id, log);
            if (req.echoMetadata) {
              echoInto(ctx);
              ctx.sendHeader();
            }
          }
          if (await cancellableDelay(req.delayMs, ctx.signal)) return;
          if (req.fail) throw FAILURE();
          if (req.serverCancel) throw SERVER_CANCEL();
          if (req.status !== undefined) throw statusError(req.status);
          yield response({ id: req.id, payload: req.payload, seq: req.seq, tags: req.tags, deadlineMs: deadlineLeft(ctx.deadline) });
        }
      } finally {
        unwatch();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client

/** The request of a plan. */
export function sgwireRequest(p: RequestPlan): Request {
  return Request.create({
    id: p.id ?? "",
    payload: p.payload ? pattern(p.payload.size, p.payload.seed) : new Uint8Array(0),
    responseSizes: p.responseSizes ?? [],
    seq: BigInt(p.seq ?? "0"),
    tags: p.tags ?? [],
    ...(p.status ? {
      status: {
        code: p.status.code, message: p.status.message,
        trailers: (p.status.trailers ?? []).map((h) => ({ key: h.key, text: h.text ?? "", binary: Buffer.from(h.base64 ?? "", "base64") })),
      },
    } : {}),
    delayMs: p.delayMs ?? 0,
    echoMetadata: p.echoMetadata ?? false,
    fail: p.fail ?? false,
    serverCancel: p.serverCancel ?? false,
  });
}

export function sgwireMetadata(headers: HeaderPlan[] | undefined): Metadata {
  const md = new Metadata();
  for (const h of headers ?? []) md.add(h.key, h.key.endsWith("-bin") ? new Uint8Array(Buffer.from(h.base64 ?? "", "base64")) : h.text ?? "");
  return md;
}

/** The "x-" entries of `md`, binary values as base64. */
export function fromSgwireMetadata(md: Metadata | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of md ?? []) if (k.startsWith("x-")) (out[k] ??= []).push(metadataValue(v));
  return out;
}

/** A client of Interop on `channel`. */
export function sgwireClient(channel: Channel): InteropClient {
  return createClient(Interop, channel);
}

/** Runs one CallPlan with sgwire's client; never rejects for a failed call (its status is the result). */
export async function runSgwireCall(client: InteropClient, plan: CallPlan): Promise<CallResult> {
  const started = Date.now();
  const abort = new AbortController();
  let headers: Metadata | undefined;
  let trailers: Metadata | undefined;
  const options: CallOptions = {
    metadata: sgwireMetadata(plan.metadata),
    signal: abort.signal,
    onHeader: (h) => { headers = h; },
    onTrailer: (t) => { trailers = t; },
    ...(plan.deadlineMs !== undefined ? { deadline: plan.deadlineMs } : {}),
  };
  const reqs = plan.requests.map(sgwireRequest);
  const responses: ResponseSummary[] = [];
  // paces ping-pong and holds the request stream open until the call is over
  let wake: (() => void) | undefined;
  let over = false;
  const overPromise = new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve(), { once: true }));
  let endHold: () => void = () => {};
  const held = new Promise<void>((resolve) => { endHold = resolve; });
  const waitForResponse = (count: number) => new Promise<void>((resolve) => {
    const check = () => (responses.length >= count || over ? resolve() : (wake = check));
    check();
  });
  async function* requestStream(): AsyncGenerator<Request> {
    for (let i = 0; i < reqs.length; i++) {
      if (plan.pingPong && i > 0) await waitForResponse(i);
      if (over) return;
      yield reqs[i]!;
    }
    if (plan.holdOpen) await Promise.race([held, overPromise]);
  }
  const onResponse = (r: Response) => {
    responses.push(summarize(r));
    const w = wake;
    wake = undefined;
    w?.();
    if (plan.cancelAfterResponses !== undefined && responses.length >= plan.cancelAfterResponses) abort.abort();
  };
  const timer = plan.cancelAfterMs !== undefined ? setTimeout(() => abort.abort(), plan.cancelAfterMs) : undefined;
  let code: number = Status.OK;
  let details = "";
  try {
    switch (plan.method) {
      case "unary":
        onResponse(await client.unary(reqs[0]!, options));
        break;
      case "clientStream":
        onResponse(await client.clientStream(requestStream(), options));
        break;
      case "serverStream":
        for await (const r of client.serverStream(reqs[0]!, options)) onResponse(r);
        break;
      case "bidi":
        for await (const r of client.bidi(requestStream(), options)) onResponse(r);
        break;
    }
  } catch (err) {
    if (!(err instanceof GrpcError)) throw err;
    code = err.code;
    details = err.details;
    trailers ??= err.metadata;
  } finally {
    over = true;
    clearTimeout(timer);
    endHold();
    const w = wake;
    wake = undefined;
    w?.();
  }
  return {
    label: plan.label, code, details, headers: fromSgwireMetadata(headers), trailers: fromSgwireMetadata(trailers),
    responses, elapsedMs: Date.now() - started,
  };
}
