/**
 * The interoperability scenarios, shared by every client and server of the suite.
 *
 * A scenario is data: the calls a client makes (CallPlan: method, requests, metadata, deadline,
 * when to cancel) and a check of what the client saw (CallResult: status, details, headers,
 * trailers, a digest of every response) and of what the server saw (its event log). Three clients
 * run the same plans (sgwire in-process, grpc-js in-process, Python/C-core through
 * peer_client.py, which reads the plan as JSON on stdin) and three servers implement
 * interop.proto the same way (sgwire, grpc-js, peer_server.py), so one check covers every pair.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

export const KiB = 1024;
export const MiB = 1024 * 1024;
/** Every peer of the suite raises its receive limit to this: 4 MiB payloads plus their framing. */
export const MAX_MESSAGE = 8 * MiB;

/** Status codes by name (numbers on the wire; peers report them as numbers). */
export const Code = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  FAILED_PRECONDITION: 9, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

/**
 * The payload every peer generates for (size, seed): byte i is (i + seed) mod 251. A prime period
 * never lines up with power-of-two chunk sizes, so a dropped, repeated or reordered chunk changes
 * the digest. peer_server.py and peer_client.py compute the same.
 */
export function pattern(size: number, seed: bigint | number): Uint8Array {
  const out = new Uint8Array(size);
  const start = Number(BigInt(seed) % 251n);
  const period = new Uint8Array(251);
  for (let j = 0; j < 251; j++) period[j] = (j + start) % 251;
  for (let i = 0; i < size; i += 251) out.set(size - i >= 251 ? period : period.subarray(0, size - i), i);
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// ---------------------------------------------------------------------------------------------
// Plans: what a client does (JSON, so the Python client reads the same thing)

/** A metadata entry of a plan: text, or binary as base64 (keys ending in -bin). */
export interface HeaderPlan {
  key: string;
  text?: string;
  base64?: string;
}

export interface RequestPlan {
  id?: string;
  /** the request's payload: pattern(size, seed) */
  payload?: { size: number; seed: number };
  responseSizes?: number[];
  /** uint64 as a decimal string */
  seq?: string;
  tags?: string[];
  status?: { code: number; message: string; trailers?: HeaderPlan[] };
  delayMs?: number;
  echoMetadata?: boolean;
  fail?: boolean;
  serverCancel?: boolean;
}

export type MethodName = "unary" | "serverStream" | "clientStream" | "bidi";

export interface CallPlan {
  label: string;
  method: MethodName;
  /** unary and serverStream send requests[0]; the streaming methods send them all, in order */
  requests: RequestPlan[];
  metadata?: HeaderPlan[];
  /** a deadline this many milliseconds after the call starts */
  deadlineMs?: number;
  /** the client cancels the call once it has received this many responses */
  cancelAfterResponses?: number;
  /** the client cancels the call this many milliseconds after it starts */
  cancelAfterMs?: number;
  /** bidi: send each request only once the response to the previous one arrived */
  pingPong?: boolean;
  /** bidi and clientStream: after sending the requests, keep the request stream open (cancel tests) */
  holdOpen?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Results: what a client saw, in the same shape from every client

export interface ResponseSummary {
  id: string;
  /** uint64 / int64 fields as decimal strings */
  seq: string;
  tags: string[];
  count: string;
  totalBytes: string;
  deadlineMs: string;
  size: number;
  sha256: string;
}

export interface CallResult {
  label: string;
  code: number;
  details: string;
  /** custom metadata whose key starts with "x-", binary values as base64 */
  headers: Record<string, string[]>;
  trailers: Record<string, string[]>;
  responses: ResponseSummary[];
  elapsedMs: number;
}

/** What a server saw: "cancelled" when a handler found its call cancelled (by the client, a deadline, the connection). */
export interface ServerEvent {
  id: string;
  event: "cancelled";
}

/** A server's events as they come, and a wait for one. */
export class EventLog {
  readonly events: ServerEvent[] = [];
  #waiters: Array<() => void> = [];

  push(e: ServerEvent): void {
    this.events.push(e);
    for (const w of this.#waiters.splice(0)) w();
  }

  has(id: string, event: ServerEvent["event"]): boolean {
    return this.events.some((e) => e.id === id && e.event === event);
  }

  /** Resolves when the server has logged `event` for call `id`; rejects naming both after `timeoutMs`. */
  async waitFor(id: string, event: ServerEvent["event"], timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.has(id, event)) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`the server never logged "${event}" for call ${id} (it logged: ${JSON.stringify(this.events)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
}

/** What a check gets besides the results. */
export interface CheckEnv {
  /** the server's event log */
  server: EventLog;
}

export interface Scenario {
  name: string;
  /** what it shows, for test titles */
  title: string;
  calls: CallPlan[];
  check(results: CallResult[], env: CheckEnv): Promise<void> | void;
}

// ---------------------------------------------------------------------------------------------
// Helpers of the checks

function b64(bytes: number[]): string {
  return Buffer.from(bytes).toString("base64");
}

function result(results: CallResult[], label: string): CallResult {
  const r = results.find((x) => x.label === label);
  assert.ok(r, `no result for call ${label} (results: ${results.map((x) => x.label).join(", ")})`);
  return r;
}

/** The call ended with `code` (and `details`, when given). */
function expectStatus(r: CallResult, code: number, details?: string): void {
  assert.equal(r.code, code, `${r.label}: status ${r.code} (${JSON.stringify(r.details)}), expected ${code}`);
  if (details !== undefined) assert.equal(r.details, details, `${r.label}: grpc-message`);
}

function expectPayload(r: CallResult, i: number, size: number, seed: bigint | number): void {
  const got = r.responses[i];
  assert.ok(got, `${r.label}: no response #${i} (got ${r.responses.length})`);
  assert.equal(got.size, size, `${r.label}: response #${i} payload size`);
  assert.equal(got.sha256, sha256(pattern(size, seed)), `${r.label}: response #${i} payload bytes differ from pattern(${size}, ${seed})`);
}

function expectBytes(r: CallResult, i: number, bytes: Uint8Array, what: string): void {
  const got = r.responses[i];
  assert.ok(got, `${r.label}: no response #${i} (got ${r.responses.length})`);
  assert.equal(got.size, bytes.length, `${r.label}: response #${i} payload size (${what})`);
  assert.equal(got.sha256, sha256(bytes), `${r.label}: response #${i} payload bytes differ (${what})`);
}

/**
 * `got` has exactly the entries of `want`. Several text values of one key may arrive as one
 * comma-joined value (HTTP/2 peers may join repeated headers: RFC 9110 5.3), so both are accepted.
 */
function expectMetadata(got: Record<string, string[]>, want: Record<string, string[]>, what: string): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: keys`);
  for (const [k, vs] of Object.entries(want)) {
    const g = got[k]!;
    if (k.endsWith("-bin")) {
      // base64 values may arrive comma-joined too; compare the decoded bytes in order
      const bytes = (xs: string[]) => xs.flatMap((x) => x.split(",")).map((x) => Buffer.from(x.trim(), "base64").toString("hex"));
      assert.deepEqual(bytes(g), bytes(vs), `${what}: ${k}`);
    } else if (vs.length > 1 && g.length === 1) {
      assert.equal(g[0]!.split(",").map((s) => s.trim()).join(","), vs.join(","), `${what}: ${k}`);
    } else {
      assert.deepEqual(g, vs, `${what}: ${k}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The table

const U64_MAX = "18446744073709551615";
const BEYOND_DOUBLES = "9007199254740993"; // 2^53 + 1: not a double
const ECHO_META: HeaderPlan[] = [
  { key: "x-echo-text", text: "hello interop" },
  { key: "x-echo-multi", text: "one" },
  { key: "x-echo-multi", text: "two" },
  { key: "x-echo-data-bin", base64: b64([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]) },
  { key: "x-echo-empty-bin", base64: "" },
  { key: "x-not-echoed", text: "stays with the request" },
];
const ECHOED: Record<string, string[]> = {
  "x-echo-text": ["hello interop"],
  "x-echo-multi": ["one", "two"],
  "x-echo-data-bin": [b64([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff])],
  "x-echo-empty-bin": [""],
};
/** A grpc-message that needs percent-encoding: non-ASCII, '%', a literal "%25", a tab. */
const ODD_MESSAGE = "précondition échouée: 100% sûr, pas 50%25 \u2713 \u{1F600}\ttab";
const ERR_TRAILERS: HeaderPlan[] = [
  { key: "x-err-text", text: "retry later" },
  { key: "x-err-data-bin", base64: b64([0xde, 0xad, 0xbe, 0xef, 0]) },
];
const ERR_TRAILERS_WANT: Record<string, string[]> = {
  "x-err-text": ["retry later"],
  "x-err-data-bin": [b64([0xde, 0xad, 0xbe, 0xef, 0])],
};

export const scenarios: Scenario[] = [
  {
    name: "unary",
    title: "unary: payloads of 0 B, 1 KiB and 4 MiB echoed byte for byte, a generated 4 MiB response, uint64 and repeated fields",
    calls: [
      { label: "echo-0", method: "unary", requests: [{ id: "u0", payload: { size: 0, seed: 0 }, seq: "0" }] },
      { label: "echo-1k", method: "unary", requests: [{ id: "u1", payload: { size: KiB, seed: 1 }, seq: BEYOND_DOUBLES, tags: ["a", "ü", ""] }] },
      { label: "echo-4m", method: "unary", requests: [{ id: "u4", payload: { size: 4 * MiB, seed: 4 }, seq: U64_MAX }] },
      { label: "gen-4m", method: "unary", requests: [{ id: "g4", responseSizes: [4 * MiB], seq: "77" }] },
    ],
    check(results, env) {
      const cases: Array<[string, number, number, string, string[]]> = [
        ["echo-0", 0, 0, "0", []], ["echo-1k", KiB, 1, BEYOND_DOUBLES, ["a", "ü", ""]], ["echo-4m", 4 * MiB, 4, U64_MAX, []],
      ];
      for (const [label, size, seed, seq, tags] of cases) {
        const r = result(results, label);
        expectStatus(r, Code.OK);
        assert.equal(r.responses.length, 1, `${label}: one response`);
        expectPayload(r, 0, size, seed);
        assert.equal(r.responses[0]!.seq, seq, `${label}: uint64 seq echoed`);
        assert.deepEqual(r.responses[0]!.tags, tags, `${label}: repeated string echoed`);
        assert.equal(r.responses[0]!.id, label === "echo-0" ? "u0" : label === "echo-1k" ? "u1" : "u4");
      }
      const g = result(results, "gen-4m");
      expectStatus(g, Code.OK);
      expectPayload(g, 0, 4 * MiB, 77n);
      for (const id of ["u0", "u1", "u4", "g4"]) assert.ok(!env.server.has(id, "cancelled"), `the server saw call ${id}, which succeeded, cancelled`);
    },
  },
  {
    name: "server-stream",
    title: "server streaming: responses of 0 B, 1 KiB, 4 MiB and 3 B in order, and an empty stream",
    calls: [
      { label: "four", method: "serverStream", requests: [{ id: "s4", responseSizes: [0, KiB, 4 * MiB, 3], seq: "100" }] },
      { label: "none", method: "serverStream", requests: [{ id: "s0", responseSizes: [] }] },
      { label: "many", method: "serverStream", requests: [{ id: "sm", responseSizes: Array.from({ length: 200 }, (_, i) => i * 10), seq: U64_MAX }] },
    ],
    check(results) {
      const r = result(results, "four");
      expectStatus(r, Code.OK);
      assert.equal(r.responses.length, 4);
      [0, KiB, 4 * MiB, 3].forEach((size, i) => {
        expectPayload(r, i, size, 100 + i);
        assert.equal(r.responses[i]!.seq, String(100 + i));
      });
      const none = result(results, "none");
      expectStatus(none, Code.OK);
      assert.equal(none.responses.length, 0);
      const many = result(results, "many");
      expectStatus(many, Code.OK);
      assert.equal(many.responses.length, 200);
      // seq wraps modulo 2^64 past U64_MAX
      for (let i = 0; i < 200; i++) expectPayload(many, i, i * 10, (2n ** 64n - 1n + BigInt(i)) % 2n ** 64n);
      assert.equal(many.responses[1]!.seq, "0");
    },
  },
  {
    name: "client-stream",
    title: "client streaming: requests of 0 B, 1 KiB, 4 MiB and 5 B counted, summed and concatenated; an empty request stream",
    calls: [
      {
        label: "four", method: "clientStream",
        requests: [{ id: "c4", payload: { size: 0, seed: 0 } }, { payload: { size: KiB, seed: 1 } }, { payload: { size: 4 * MiB, seed: 2 } }, { payload: { size: 5, seed: 3 } }],
      },
      { label: "none", method: "clientStream", requests: [] },
    ],
    check(results) {
      const r = result(results, "four");
      expectStatus(r, Code.OK);
      assert.equal(r.responses.length, 1);
      assert.equal(r.responses[0]!.count, "4");
      assert.equal(r.responses[0]!.totalBytes, String(KiB + 4 * MiB + 5));
      assert.equal(r.responses[0]!.id, "c4");
      expectBytes(r, 0, Buffer.concat([pattern(0, 0), pattern(KiB, 1), pattern(4 * MiB, 2), pattern(5, 3)]), "the requests' payloads concatenated");
      const none = result(results, "none");
      expectStatus(none, Code.OK);
      assert.equal(none.responses[0]!.count, "0");
      assert.equal(none.responses[0]!.size, 0);
    },
  },
  {
    name: "bidi",
    title: "bidi streaming: ping-pong echo of 1 KiB, 0 B, 4 MiB and 17 B, and 32 x 128 KiB each way at once (flow control)",
    calls: [
      {
        label: "ping-pong", method: "bidi", pingPong: true,
        requests: [KiB, 0, 4 * MiB, 17].map((size, i) => ({ id: `b${i}`, payload: { size, seed: 10 + i }, seq: String(i) })),
      },
      {
        label: "burst", method: "bidi",
        requests: Array.from({ length: 32 }, (_, i) => ({ id: `burst${i}`, payload: { size: 128 * KiB, seed: i }, seq: String(i) })),
      },
    ],
    check(results) {
      const p = result(results, "ping-pong");
      expectStatus(p, Code.OK);
      assert.equal(p.responses.length, 4);
      [KiB, 0, 4 * MiB, 17].forEach((size, i) => {
        expectPayload(p, i, size, 10 + i);
        assert.equal(p.responses[i]!.id, `b${i}`);
      });
      const b = result(results, "burst");
      expectStatus(b, Code.OK);
      assert.equal(b.responses.length, 32);
      for (let i = 0; i < 32; i++) {
        expectPayload(b, i, 128 * KiB, i);
        assert.equal(b.responses[i]!.seq, String(i));
      }
    },
  },
  {
    name: "metadata",
    title: "metadata: text, repeated and -bin request headers echoed back in response headers and trailers (unary, server and bidi streaming)",
    calls: [
      { label: "unary", method: "unary", metadata: ECHO_META, requests: [{ id: "m1", echoMetadata: true, payload: { size: 3, seed: 3 } }] },
      { label: "stream", method: "serverStream", metadata: ECHO_META, requests: [{ id: "m2", echoMetadata: true, responseSizes: [1, 2] }] },
      { label: "bidi", method: "bidi", metadata: ECHO_META, requests: [{ id: "m3", echoMetadata: true, payload: { size: 4, seed: 4 } }] },
      { label: "plain", method: "unary", metadata: ECHO_META, requests: [{ id: "m4" }] },
    ],
    check(results) {
      for (const label of ["unary", "stream", "bidi"]) {
        const r = result(results, label);
        expectStatus(r, Code.OK);
        expectMetadata(r.headers, ECHOED, `${label}: response headers`);
        expectMetadata(r.trailers, ECHOED, `${label}: trailers`);
      }
      assert.equal(result(results, "stream").responses.length, 2);
      expectPayload(result(results, "unary"), 0, 3, 3);
      const plain = result(results, "plain");
      expectStatus(plain, Code.OK);
      expectMetadata(plain.headers, {}, "plain: response headers");
      expectMetadata(plain.trailers, {}, "plain: trailers");
    },
  },
  {
    name: "errors",
    title: "errors: status codes with percent-encoded non-ASCII messages and text/-bin trailers, from each method kind, after responses",
    calls: [
      { label: "unary", method: "unary", requests: [{ id: "e1", status: { code: Code.FAILED_PRECONDITION, message: ODD_MESSAGE, trailers: ERR_TRAILERS } }] },
      { label: "unary-empty", method: "unary", requests: [{ id: "e2", status: { code: Code.NOT_FOUND, message: "" } }] },
      {
        label: "stream-after-2", method: "serverStream",
        requests: [{ id: "e3", responseSizes: [KiB, 0], seq: "5", status: { code: Code.UNAUTHENTICATED, message: "token expired", trailers: ERR_TRAILERS } }],
      },
      {
        label: "client-stream", method: "clientStream",
        requests: [{ id: "e4", payload: { size: 10, seed: 1 } }, { status: { code: Code.INVALID_ARGUMENT, message: "second request refused" } }],
      },
      {
        label: "bidi-third", method: "bidi", pingPong: true,
        requests: [{ id: "e5", payload: { size: 1, seed: 1 } }, { payload: { size: 2, seed: 2 } }, { status: { code: Code.RESOURCE_EXHAUSTED, message: "quota: 100%", trailers: ERR_TRAILERS } }],
      },
    ],
    check(results) {
      const u = result(results, "unary");
      expectStatus(u, Code.FAILED_PRECONDITION, ODD_MESSAGE);
      expectMetadata(u.trailers, ERR_TRAILERS_WANT, "unary: trailers");
      assert.equal(u.responses.length, 0);
      expectStatus(result(results, "unary-empty"), Code.NOT_FOUND, "");
      const s = result(results, "stream-after-2");
      expectStatus(s, Code.UNAUTHENTICATED, "token expired");
      assert.equal(s.responses.length, 2, "stream-after-2: the responses sent before the status arrive");
      expectPayload(s, 0, KiB, 5);
      expectPayload(s, 1, 0, 6);
      expectMetadata(s.trailers, ERR_TRAILERS_WANT, "stream-after-2: trailers");
      expectStatus(result(results, "client-stream"), Code.INVALID_ARGUMENT, "second request refused");
      const b = result(results, "bidi-third");
      expectStatus(b, Code.RESOURCE_EXHAUSTED, "quota: 100%");
      assert.equal(b.responses.length, 2);
      expectPayload(b, 1, 2, 2);
      expectMetadata(b.trailers, ERR_TRAILERS_WANT, "bidi-third: trailers");
    },
  },
  {
    name: "deadline",
    title: "deadlines: grpc-timeout reaches the server; an expiring one ends the call DEADLINE_EXCEEDED and the server sees it cancelled",
    calls: [
      { label: "expires", method: "unary", deadlineMs: 300, requests: [{ id: "d1", delayMs: 20_000 }] },
      { label: "stream-expires", method: "serverStream", deadlineMs: 600, requests: [{ id: "d2", responseSizes: [10, 10, 10, 10], delayMs: 250 }] },
      // the server echoes the first request and is waiting out the second's delay when the deadline passes
      { label: "bidi-expires", method: "bidi", deadlineMs: 400, holdOpen: true, requests: [{ id: "d3", payload: { size: 8, seed: 8 } }, { delayMs: 20_000 }] },
      { label: "generous", method: "unary", deadlineMs: 60_000, requests: [{ id: "d4" }] },
      { label: "none", method: "unary", requests: [{ id: "d5" }] },
    ],
    async check(results, env) {
      const e = result(results, "expires");
      expectStatus(e, Code.DEADLINE_EXCEEDED);
      assert.ok(e.elapsedMs < 10_000, `expires: the call took ${e.elapsedMs} ms, its deadline was 300 ms and the server waits 20 s`);
      const s = result(results, "stream-expires");
      expectStatus(s, Code.DEADLINE_EXCEEDED);
      assert.ok(s.responses.length < 4, `stream-expires: ${s.responses.length} responses arrived, the last is due after 1 s`);
      const b = result(results, "bidi-expires");
      expectStatus(b, Code.DEADLINE_EXCEEDED);
      assert.ok(b.responses.length <= 1);
      const g = result(results, "generous");
      expectStatus(g, Code.OK);
      const left = Number(g.responses[0]!.deadlineMs);
      assert.ok(left > 50_000 && left <= 61_000, `generous: the server saw ${left} ms left of a 60 s deadline`);
      assert.equal(result(results, "none").responses[0]!.deadlineMs, "-1", "none: the server saw no deadline");
      await env.server.waitFor("d1", "cancelled");
      await env.server.waitFor("d2", "cancelled");
      await env.server.waitFor("d3", "cancelled");
    },
  },
  {
    name: "cancel",
    title: "client cancellation: mid server stream, mid bidi and during a unary call: CANCELLED on the client, the server sees it",
    calls: [
      { label: "stream", method: "serverStream", cancelAfterResponses: 2, requests: [{ id: "k1", responseSizes: Array(50).fill(100), delayMs: 100 }] },
      // cancelled while the server waits out the second request's delay (a server waiting for a
      // request could see the request stream end first: node:http2 half-closes before RST_STREAM)
      { label: "bidi", method: "bidi", holdOpen: true, cancelAfterResponses: 1, requests: [{ id: "k2", payload: { size: 100, seed: 1 } }, { delayMs: 20_000 }] },
      { label: "unary", method: "unary", cancelAfterMs: 300, requests: [{ id: "k3", delayMs: 20_000 }] },
    ],
    async check(results, env) {
      const s = result(results, "stream");
      expectStatus(s, Code.CANCELLED);
      assert.equal(s.responses.length, 2, "stream: the responses before the cancel");
      const b = result(results, "bidi");
      expectStatus(b, Code.CANCELLED);
      assert.equal(b.responses.length, 1);
      const u = result(results, "unary");
      expectStatus(u, Code.CANCELLED);
      assert.ok(u.elapsedMs < 10_000, `unary: the cancelled call took ${u.elapsedMs} ms`);
      await env.server.waitFor("k1", "cancelled");
      await env.server.waitFor("k2", "cancelled");
      await env.server.waitFor("k3", "cancelled");
    },
  },
  {
    name: "server-fails",
    title: "server-side failures: a handler that throws (UNKNOWN) and a server that cancels the call (CANCELLED), mid-stream too",
    calls: [
      { label: "unary-throws", method: "unary", requests: [{ id: "f1", fail: true }] },
      { label: "stream-throws", method: "serverStream", requests: [{ id: "f2", responseSizes: [7], fail: true }] },
      { label: "stream-cancel", method: "serverStream", requests: [{ id: "f3", responseSizes: [7], serverCancel: true }] },
      { label: "bidi-cancel", method: "bidi", pingPong: true, requests: [{ id: "f4", payload: { size: 3, seed: 3 } }, { serverCancel: true }] },
    ],
    check(results) {
      expectStatus(result(results, "unary-throws"), Code.UNKNOWN);
      const st = result(results, "stream-throws");
      expectStatus(st, Code.UNKNOWN);
      assert.equal(st.responses.length, 1);
      expectPayload(st, 0, 7, 0);
      const sc = result(results, "stream-cancel");
      expectStatus(sc, Code.CANCELLED);
      assert.equal(sc.responses.length, 1);
      const bc = result(results, "bidi-cancel");
      expectStatus(bc, Code.CANCELLED);
      assert.equal(bc.responses.length, 1);
    },
  },
];

/** The scenarios the TLS (h2) runs repeat: every method kind, large messages, metadata and statuses. */
export const tlsScenarios: Scenario[] = scenarios.filter((s) => ["unary", "bidi", "metadata", "errors"].includes(s.name));

/** The scenario named `name`; throws naming the ones there are. */
export function scenario(name: string): Scenario {
  const s = scenarios.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no scenario ${JSON.stringify(name)}; there are ${scenarios.map((x) => x.name).join(", ")}`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Server side: what every server does with a request (peer_server.py does the same)

/** The payload of response `index` to a request asking for `size` bytes from `seq`. */
export function responsePayload(size: number, seq: bigint, index: number): Uint8Array {
  return pattern(size, (seq + BigInt(index)) % 2n ** 64n);
}

/** Milliseconds until `deadline` as the server reports it in Response.deadline_ms (-1: none). */
export function deadlineLeft(deadline: Date | number | undefined): bigint {
  if (deadline === undefined) return -1n;
  const t = typeof deadline === "number" ? deadline : deadline.getTime();
  return BigInt(Math.max(0, Math.round(t - Date.now())));
}

/** Waits `ms`, or less when `signal` aborts first; returns whether the wait was cut short. */
export function cancellableDelay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => { signal.removeEventListener("abort", onAbort); resolve(false); }, ms);
    const onAbort = () => { clearTimeout(t); resolve(true); };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** base64 of a -bin value, or the text, as results carry them. */
export function metadataValue(v: string | Uint8Array): string {
  return typeof v === "string" ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

/** Summary of a decoded response, for CallResult. */
export function summarize(m: { id: string; payload: Uint8Array; seq: bigint | string | number; tags: string[]; count: bigint | string | number; totalBytes: bigint | string | number; deadlineMs: bigint | string | number }): ResponseSummary {
  return {
    id: m.id,
    seq: String(m.seq),
    tags: [...m.tags],
    count: String(m.count),
    totalBytes: String(m.totalBytes),
    deadlineMs: String(m.deadlineMs),
    size: m.payload.length,
    sha256: sha256(m.payload),
  };
}
