import type { Metadata } from "./metadata.js";

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export enum Status {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/**
 * A call that ended with a status other than OK. Clients reject with it; a server handler throws
 * it to end a call with that status, message and trailers (any other thrown error ends the call
 * as UNKNOWN, its message not sent to the peer).
 */
export class GrpcError extends Error {
  override readonly name = "GrpcError";
  constructor(
    readonly code: Status,
    /** `grpc-message`: what went wrong, for people */
    readonly details: string,
    /** trailers received with the status (client side) or to send with it (server side) */
    readonly metadata?: Metadata,
  ) {
    super(`${Status[code] ?? `status ${code}`}: ${details}`);
  }
}
