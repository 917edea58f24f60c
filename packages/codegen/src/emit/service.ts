import type { MethodModel, ServiceModel, TypeRef } from "../model.js";
import type { CodeWriter } from "./writer.js";

/**
 * What the generator writes for `service` definitions:
 * - `grpc` (default): the service descriptor (`defineService` of @sgwire/core) and two types for
 *   @sgwire/grpc, `<Service>Client` and `<Service>Server`;
 * - `descriptors`: the descriptor only (the module does not import @sgwire/grpc);
 * - `none`: nothing.
 */
export type ServicesMode = "grpc" | "descriptors" | "none";

export const SERVICES_MODES: readonly ServicesMode[] = ["grpc", "descriptors", "none"];

/** Whether `v` names a services mode. */
export function isServicesMode(v: unknown): v is ServicesMode {
  return (SERVICES_MODES as readonly unknown[]).includes(v);
}

/** How a service's code names things in its module. */
export interface ServiceScope {
  /** a message type, as a type and a value */
  ref(r: TypeRef): string;
  /** an @sgwire/core symbol (marks it imported) */
  use(symbol: string): string;
  /** an @sgwire/grpc type (marks it imported) */
  grpc(symbol: "Client" | "ServiceImplementation"): string;
  /** the exported names of a service's client and server types */
  typeNames(s: ServiceModel): { client: string; server: string };
}

/**
 * The lines of a comment as protoc records it (SourceCodeInfo leading_comments: what follows `//`
 * with its line break, or a block comment's text), ready for a JSDoc block: the `/` of `///`
 * lines and the `*` of a `/**` comment dropped, common indentation removed, blank lines at either
 * end dropped, and `*\/` made harmless.
 */
export function commentLines(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  let lines = raw.split("\n").map((l) => l.replace(/\s+$/, ""));
  if (lines.every((l) => l === "" || l.startsWith("/"))) lines = lines.map((l) => l.slice(1));
  if (lines[0]!.startsWith("*")) lines[0] = lines[0]!.slice(1);
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^\s*/.exec(l)![0].length);
  const cut = indents.length === 0 ? 0 : Math.min(...indents);
  lines = lines.map((l) => (l.trim() === "" ? "" : l.slice(cut)));
  while (lines.length > 0 && lines[0] === "") lines.shift();
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => l.replace(/\*\//g, "*\\/"));
}

/** Writes a JSDoc block: the comment's lines, a blank line, then `tail` lines. */
function doc(w: CodeWriter, comment: string | undefined, tail: string[]): void {
  const body = commentLines(comment);
  const all = body.length > 0 ? [...body, "", ...tail] : tail;
  if (all.length === 1) {
    w.line(`/** ${all[0]} */`);
    return;
  }
  w.line("/**");
  for (const l of all) w.line(l === "" ? " *" : ` * ${l}`);
  w.line(" */");
}

/** The method's declaration, as a .proto would write it, with full type names. */
function rpcLine(m: MethodModel): string {
  const stream = (on: boolean) => (on ? "stream " : "");
  const inStream = m.kind === "client_streaming" || m.kind === "bidi_streaming";
  const outStream = m.kind === "server_streaming" || m.kind === "bidi_streaming";
  const level = m.idempotency === undefined ? "" : ` (idempotency_level = ${m.idempotency.toUpperCase()})`;
  return `rpc ${m.name}(${stream(inStream)}${m.input.fullName}) returns (${stream(outStream)}${m.output.fullName})${level}`;
}

/** The members of the service's type parameter: one MethodType per method, documented. */
function methodTypes(w: CodeWriter, s: ServiceModel, scope: ServiceScope): void {
  const methodType = scope.use("MethodType");
  w.indent(() => {
    for (const m of s.methods) {
      doc(w, m.comment, [rpcLine(m), ...(m.deprecated ? ["@deprecated"] : [])]);
      w.line(`${m.localName}: ${methodType}<${scope.ref(m.input)}, ${scope.ref(m.output)}, ${JSON.stringify(m.kind)}>;`);
    }
  });
}

/**
 * Emits one service: its descriptor, and in `grpc` mode the client and server types. `declare`:
 * for a .d.ts (the descriptor's type, no value).
 */
export function emitService(w: CodeWriter, s: ServiceModel, scope: ServiceScope, mode: ServicesMode, declare: boolean): void {
  if (mode === "none") return;
  const deprecated = s.deprecated ? ["@deprecated"] : [];
  doc(w, s.comment, [`protobuf service \`${s.fullName}\``, ...deprecated]);
  if (s.methods.length === 0) {
    const type = `${scope.use(declare ? "ServiceType" : "defineService")}<{}>`;
    w.line(declare ? `export declare const ${s.tsName}: ${type};` : `export const ${s.tsName} = ${type}(${JSON.stringify(s.fullName)}, {});`);
  } else if (declare) {
    w.line(`export declare const ${s.tsName}: ${scope.use("ServiceType")}<{`);
    methodTypes(w, s, scope);
    w.line("}>;");
  } else {
    w.line(`export const ${s.tsName} = ${scope.use("defineService")}<{`);
    methodTypes(w, s, scope);
    w.line(`}>(${JSON.stringify(s.fullName)}, {`);
    w.indent(() => {
      for (const m of s.methods) {
        const idem = m.idempotency !== undefined ? `, idempotency: ${JSON.stringify(m.idempotency)}` : "";
        w.line(`${m.localName}: { name: ${JSON.stringify(m.name)}, kind: ${JSON.stringify(m.kind)}, input: ${scope.ref(m.input)}, output: ${scope.ref(m.output)}${idem} },`);
      }
    });
    w.line("});");
  }
  if (mode === "grpc") {
    const { client, server } = scope.typeNames(s);
    doc(w, undefined, [`A client of \`${s.fullName}\` (see @sgwire/grpc createClient).`, ...deprecated]);
    w.line(`export type ${client} = ${scope.grpc("Client")}<typeof ${s.tsName}>;`);
    doc(w, undefined, [`What a server of \`${s.fullName}\` implements (see @sgwire/grpc GrpcServer#addService).`, ...deprecated]);
    w.line(`export type ${server} = ${scope.grpc("ServiceImplementation")}<typeof ${s.tsName}>;`);
  }
  w.line();
}
