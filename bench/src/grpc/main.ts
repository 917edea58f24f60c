/**
 * The gRPC benchmark: requests/s and server CPU per request of unary calls on loopback, for
 * sgwire's GrpcServer and for @grpc/grpc-js with protobufjs, protobuf-es and sgwire codecs
 * (bench/README.md, "gRPC"). From bench/:
 *
 *   ./node_modules/.bin/tsx src/grpc/main.ts [--quick] [--help]
 *
 * Writes results/grpc-bench.json and prints the table. Exits 1 if any server answered a call
 * wrongly or with an error status.
 */
import { main } from "./run.js";

process.exitCode = await main(process.argv.slice(2));
