/**
 * The servers under test: the same service (grpc-bench.proto's Bench: GetBlob returns a stored
 * value, Small computes a small response) and the same stored values, served by
 *
 *   sgwire             @sgwire/grpc's GrpcServer with the service sgwire generated
 *                      (src/generated/grpc-bench.sg.ts); the stored value is
 *                      sent by reference (a segment of the response, written to the stream as is)
 *   grpc-js+protobufjs @grpc/grpc-js with the service loaded by @grpc/proto-loader (protobufjs)
 *   grpc-js+protobuf-es @grpc/grpc-js with protobuf-es (@bufbuild/protobuf 2.x) serialize/deserialize
 *   grpc-js+sgwire     @grpc/grpc-js with sgwire's codecs (toGrpcJsService: one copy per message)
 *
 * Each handler counts its calls (the bench reads the count with the server's CPU time).
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { create, fromBinary, toBinary, type Message } from "@bufbuild/protobuf";
import { blobStore, smallResponse, type SmallIn } from "./data.js";
import { esSchemas, GRPC_BENCH_PROTO } from "./es.js";
import { Bench } from "../generated/grpc-bench.sg.js";

/** The server implementations the bench compares, in table order. */
export const SERVER_KINDS = ["sgwire", "grpc-js+protobufjs", "grpc-js+protobuf-es", "grpc-js+sgwire"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** What each row is, for the table's legend and the JSON. */
export const SERVER_DESCRIPTIONS: Record<ServerKind, string> = {
  sgwire: "@sgwire/grpc GrpcServer, generated service, stored value sent by reference",
  "grpc-js+protobufjs": "@grpc/grpc-js server, service from @grpc/proto-loader (protobufjs)",
  "grpc-js+protobuf-es": "@grpc/grpc-js server, protobuf-es (@bufbuild/protobuf) serialize/deserialize",
  "grpc-js+sgwire": "@grpc/grpc-js server, sgwire codecs via toGrpcJsService (one copy per message)",
};

export function isServerKind(s: string): s is ServerKind {
  return (SERVER_KINDS as readonly string[]).includes(s);
}

export interface ServerOptions {
  /** Size of each stored value (GetBlob). */
  blobBytes: number;
  /** How many stored values. */
  keys: number;
}

export interface RunningServer {
  port: number;
  /** Calls each handler has received. */
  calls: { getBlob: number; small: number };
  close(): Promise<void>;
}

const MAX_MESSAGE = 64 * 1024 * 1024;

/** Starts `kind` on 127.0.0.1 (an ephemeral port). */
export async function startServer(kind: ServerKind, o: ServerOptions): Promise<RunningServer> {
  const store = blobStore(o.keys, o.blobBytes);
  const calls = { getBlob: 0, small: 0 };
  const missing = (key: unknown) => `no stored value for key ${JSON.stringify(key)}`;

  if (kind === "sgwire") {
    // imported here: a process serving a grpc-js row does not load sgwire's transport at all
    const { GrpcError, GrpcServer, Status } = await import("@sgwire/grpc");
    const server = new GrpcServer({ maxReceiveMessageBytes: MAX_MESSAGE, maxSendMessageBytes: MAX_MESSAGE });
    server.addService(Bench, {
      getBlob(req) {
        calls.getBlob++;
        const v = store.get(req.key);
        if (v === undefined) throw new GrpcError(Status.NOT_FOUND, missing(req.key));
        return { key: req.key, value: v.value, version: v.version };
      },
      small(req) {
        calls.small++;
        return smallResponse(req);
      },
    });
    const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
    return { port, calls, close: () => server.close(1000) };
  }

  // grpc-js: the stored values as Buffers (views of the same memory), as its users keep them
  const buffers = new Map([...store].map(([k, v]) => [k, { value: Buffer.from(v.value.buffer, v.value.byteOffset, v.value.byteLength), version: v.version }]));
  const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_MESSAGE, "grpc.max_send_message_length": MAX_MESSAGE });
  const notFound = (key: unknown): Partial<grpc.StatusObject> => ({ code: grpc.status.NOT_FOUND, details: missing(key) });

  if (kind === "grpc-js+protobufjs") {
    // the options of grpc-js's own examples
    const def = protoLoader.loadSync(GRPC_BENCH_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpcbench: { Bench: grpc.ServiceClientConstructor } };
    server.addService(pkg.grpcbench.Bench.service, {
      GetBlob(call: grpc.ServerUnaryCall<{ key: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
        calls.getBlob++;
        const key = call.request.key;
        const v = buffers.get(key);
        if (v === undefined) cb(notFound(key));
        else cb(null, { key, value: v.value, version: v.version });
      },
      Small(call: grpc.ServerUnaryCall<SmallIn, unknown>, cb: grpc.sendUnaryData<unknown>) {
        calls.small++;
        cb(null, smallResponse(call.request));
      },
    });
  } else if (kind === "grpc-js+protobuf-es") {
    const s = esSchemas();
    // toBinary returns a Uint8Array of its own: wrapped as a Buffer without a copy
    const ser = (schema: typeof s.GetBlobResponse) => (m: unknown) => {
      const u = toBinary(schema, m as Message);
      return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
    };
    const de = (schema: typeof s.GetBlobRequest) => (b: Buffer): unknown => fromBinary(schema, b);
    const unary = (path: string, req: typeof s.GetBlobRequest, res: typeof s.GetBlobResponse, originalName: string) => ({
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: ser(req),
      requestDeserialize: de(req),
      responseSerialize: ser(res),
      responseDeserialize: de(res),
      originalName,
    });
    const service: grpc.ServiceDefinition = {
      getBlob: unary("/grpcbench.Bench/GetBlob", s.GetBlobRequest, s.GetBlobResponse, "GetBlob"),
      small: unary("/grpcbench.Bench/Small", s.SmallRequest, s.SmallResponse, "Small"),
    };
    server.addService(service, {
      getBlob(call: grpc.ServerUnaryCall<{ key: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
        calls.getBlob++;
        const key = call.request.key;
        const v = buffers.get(key);
        if (v === undefined) cb(notFound(key));
        else cb(null, create(s.GetBlobResponse, { key, value: v.value, version: v.version } as never));
      },
      small(call: grpc.ServerUnaryCall<SmallIn, unknown>, cb: grpc.sendUnaryData<unknown>) {
        calls.small++;
        cb(null, create(s.SmallResponse, smallResponse(call.request) as never));
      },
    });
  } else if (kind === "grpc-js+sgwire") {
    const { toGrpcJsService } = await import("@sgwire/grpc");
    server.addService(toGrpcJsService(Bench) as unknown as grpc.ServiceDefinition, {
      getBlob(call: grpc.ServerUnaryCall<{ key: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
        calls.getBlob++;
        const key = call.request.key;
        const v = store.get(key);
        if (v === undefined) cb(notFound(key));
        else cb(null, { key, value: v.value, version: v.version });
      },
      small(call: grpc.ServerUnaryCall<SmallIn, unknown>, cb: grpc.sendUnaryData<unknown>) {
        calls.small++;
        cb(null, smallResponse(call.request));
      },
    });
  } else {
    throw new Error(`unknown server kind ${String(kind)} (one of ${SERVER_KINDS.join(", ")})`);
  }

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      }),
  };
}
