/**
 * The benchmark's service descriptor, `grpcbench.Bench`, over the messages sgwire generated from
 * schemas/grpc-bench.proto.
 */
import { defineService, type MethodType } from "@sgwire/core";
import { GetBlobRequest, GetBlobResponse, SmallRequest, SmallResponse } from "../generated/grpc-bench.sg.js";

export const Bench = defineService<{
  getBlob: MethodType<GetBlobRequest, GetBlobResponse, "unary">;
  small: MethodType<SmallRequest, SmallResponse, "unary">;
}>("grpcbench.Bench", {
  getBlob: { name: "GetBlob", kind: "unary", input: GetBlobRequest, output: GetBlobResponse },
  small: { name: "Small", kind: "unary", input: SmallRequest, output: SmallResponse },
});

export { GetBlobRequest, GetBlobResponse, SmallRequest, SmallResponse };
