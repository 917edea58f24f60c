#!/usr/bin/env bash
# Installs sgwire the way a user does, outside this workspace, and uses it:
#   1. `npm pack` and `pnpm pack` of @sgwire/core, @sgwire/codegen, @sgwire/nic and @sgwire/grpc into a temp dir;
#      the tarballs must carry README.md, LICENSE and no machine-built .node file, and no
#      `workspace:` range where an installer reads one (dependencies, peer and optional ones);
#   2. a fresh project under /tmp, installed with npm from the npm-packed tarballs (no overrides),
#      with yarn 1.22.22 from the same tarballs, and with pnpm 12.4.2 from the pnpm-packed ones;
#   3. in each: `sgwire compile` a schema that imports google/protobuf/timestamp.proto, `tsc --strict`
#      the generated code plus a small program (typescript is the project's only other package;
#      "types": [] so @types/node must come from @sgwire/nic's declarations), then run the program:
#      a 48 KiB referenced bytes field over UDP and a 4 MiB one over TCP, both to itself, received
#      byte-identical; a unary gRPC call of the schema's service, served and called with
#      @sgwire/grpc over h2c; and the native addon was built by @sgwire/nic's install script if this
#      machine has the DPDK headers.
# Needs the packages built (dist/): the workspace install does that (`npx -y pnpm@12.4.2 install`).
# Exits non-zero, naming the step, on any failure. KEEP=1 keeps the temp dir for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PNPM=(npx -y pnpm@12.4.2)
step() { printf '\n== test-packages: %s\n' "$*"; }
fail() { printf '\ntest-packages: FAILED: %s\n' "$*" >&2; exit 1; }

for p in core codegen nic grpc; do
  [[ -f packages/$p/dist/index.js && -f packages/$p/dist/index.d.ts ]] ||
    fail "packages/$p/dist is not built; run: npx -y pnpm@12.4.2 -r --workspace-concurrency=1 run build"
done

TMP=$(mktemp -d /tmp/sgwire-test-packages.XXXXXX)
if [[ -n "${KEEP:-}" ]]; then echo "test-packages: keeping $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi
mkdir -p "$TMP/tarballs"

step "npm pack and pnpm pack"
mkdir -p "$TMP/npm-tarballs"
for p in core codegen nic grpc; do
  (cd "packages/$p" && "${PNPM[@]}" pack --pack-destination "$TMP/tarballs" >/dev/null) || fail "pnpm pack of packages/$p failed"
  (cd "packages/$p" && npm pack --silent --pack-destination "$TMP/npm-tarballs" >/dev/null) || fail "npm pack of packages/$p failed"
done
CORE=$(ls "$TMP"/tarballs/sgwire-core-*.tgz) CODEGEN=$(ls "$TMP"/tarballs/sgwire-codegen-*.tgz) NIC=$(ls "$TMP"/tarballs/sgwire-nic-*.tgz)
GRPC=$(ls "$TMP"/tarballs/sgwire-grpc-*.tgz)
for t in "$CORE" "$CODEGEN" "$NIC" "$GRPC" "$TMP"/npm-tarballs/*.tgz; do
  list=$(tar -tzf "$t")
  for f in package/README.md package/LICENSE package/package.json package/dist/index.js package/dist/index.d.ts; do
    grep -qx "$f" <<<"$list" || fail "$(basename "$t") has no $f"
  done
  if grep -E '\.node$' <<<"$list"; then fail "$(basename "$t") carries a built .node file (listed above): binaries must be built where the package is installed"; fi
  # npm pack leaves devDependencies as they are (installers never read a dependency's own)
  bad=$(tar -xzOf "$t" package/package.json | node -e '
    const p = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const k of ["dependencies", "peerDependencies", "optionalDependencies"])
      for (const [n, r] of Object.entries(p[k] ?? {})) if (String(r).startsWith("workspace:")) console.log(`${k}.${n}: ${r}`);')
  [[ -z $bad ]] || fail "$(basename "$t"): package.json has a workspace: range an installer cannot resolve: $bad"
  echo "$(dirname "$t" | xargs basename)/$(basename "$t"): $(wc -l <<<"$list") files, $(du -k "$t" | cut -f1) KiB"
done
# the peer range the packages give @sgwire/core must take the version this repository builds
core_version=$(node -p 'require("./packages/core/package.json").version')
for p in codegen nic grpc; do
  range=$(node -p "require('./packages/$p/package.json').peerDependencies['@sgwire/core']")
  [[ $range == "^$core_version" ]] || fail "packages/$p: peer range of @sgwire/core is $range, but @sgwire/core is $core_version (use ^$core_version)"
done
niclist=$(tar -tzf "$NIC")
for f in package/scripts/install.mjs package/scripts/build-addon.mjs package/native/binding.gyp package/native/addon.cc; do
  grep -qx "$f" <<<"$niclist" || fail "$(basename "$NIC") has no $f (its install script builds the addon from it)"
done

# the consumer project: a schema, a program, a strict tsconfig
write_project() {
  local dir=$1
  mkdir -p "$dir/proto" "$dir/src"
  cat >"$dir/package.json" <<'EOF'
{ "name": "sgwire-consumer", "version": "1.0.0", "private": true, "type": "module" }
EOF
  cat >"$dir/proto/blob.proto" <<'EOF'
syntax = "proto3";
package consumer;
import "google/protobuf/timestamp.proto";
message Blob {
  uint64 id = 1;
  google.protobuf.Timestamp at = 2;
  bytes data = 3;
}
message Key { uint64 id = 1; }
// serves stored blobs: the generated code has a descriptor, a client and a server interface
service BlobStore {
  rpc Get(Key) returns (Blob);
}
EOF
  cat >"$dir/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022", "lib": ["ES2022"], "types": [],
    "module": "NodeNext", "moduleResolution": "NodeNext",
    "strict": true, "skipLibCheck": false, "outDir": "dist", "rootDir": "src"
  },
  "include": ["src"]
}
EOF
  cat >"$dir/src/main.ts" <<'EOF'
import { openPort, nicInfo } from "@sgwire/nic";
import { GrpcServer, createChannel, createClient } from "@sgwire/grpc";
import { Blob, BlobStore, type BlobStoreClient, type BlobStoreServer } from "./gen/blob.sg.js";

const timer = setTimeout(() => {
  console.error("consumer: timed out after 60 s waiting for a message");
  process.exit(1);
}, 60_000);

async function roundTrip(backend: "udp" | "tcp", engine: "default" | "dgram" | "net", size: number): Promise<void> {
  const options = engine === "default" ? { backend } : ({ backend, engine } as never);
  const receiver = await openPort(options);
  const sender = await openPort(options);
  // the install script built the addon: the default is the native engine, never a silent fallback
  const want = engine === "default" ? `kernel-${backend}-native` : `kernel-${backend}`;
  if (sender.caps.driver !== want) throw new Error(`${backend} ${engine}: driver ${sender.caps.driver}, expected ${want}`);
  const data = sender.allocate(size); // memory the port can lend to the kernel
  for (let i = 0; i < size; i++) data.bytes[i] = (i * 131 + 17) & 0xff;
  const at = { seconds: 1_700_000_000n, nanos: 123_456_789 };
  const list = Blob.encode(Blob.create({ id: 42n, at, data: data.bytes }), sender.policy);
  if (list.bytesReferenced < size) throw new Error(`${backend}: the ${size}-byte field was copied, not referenced (${list.bytesReferenced} B referenced)`);
  const got = new Promise<void>((resolve, reject) => {
    receiver.onMessage((m) => {
      try {
        const b = m.decode(Blob);
        if (b.id !== 42n) throw new Error(`${backend}: id ${b.id}, sent 42`);
        if (b.at?.seconds !== at.seconds || b.at.nanos !== at.nanos) throw new Error(`${backend}: timestamp ${JSON.stringify(String(b.at?.seconds))}/${b.at?.nanos} differs`);
        if (b.data.length !== size) throw new Error(`${backend}: received ${b.data.length} bytes, sent ${size}`);
        for (let i = 0; i < size; i++) if (b.data[i] !== data.bytes[i]) throw new Error(`${backend}: byte ${i} differs`);
        m.release();
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
  sender.send(list, receiver.localAddress);
  await sender.completions();
  await got;
  data.release();
  await sender.close();
  await receiver.close();
  console.log(`consumer: ${backend} (${sender.caps.driver}): ${size} bytes referenced (${list.segments.length} segments), received byte-identical`);
}

// the default engines are the native ones: the addon is built by the package's install script on
// Linux and needs no system package; Node's own sockets (dgram, net) stay available
await roundTrip("udp", "default", 48 * 1024);
await roundTrip("tcp", "default", 4 * 1024 * 1024);
await roundTrip("udp", "dgram", 48 * 1024);
await roundTrip("tcp", "net", 4 * 1024 * 1024);
// gRPC: a server implementing the generated interface, a client of the generated type (h2c)
const value = new Uint8Array(64 * 1024).fill(7);
const impl: BlobStoreServer = {
  get(key) {
    return Blob.create({ id: key.id, data: value });
  },
};
const server = new GrpcServer();
server.addService(BlobStore, impl);
const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
const channel = createChannel(`http://127.0.0.1:${port}`);
const client: BlobStoreClient = createClient(BlobStore, channel);
const got = await client.get({ id: 9n });
if (got.id !== 9n || got.data.length !== value.length || got.data.some((b) => b !== 7)) throw new Error("grpc: the blob came back different");
channel.close();
await server.close();
console.log(`consumer: grpc: unary BlobStore.Get over h2c returned ${got.data.length} bytes`);
const dpdk = nicInfo().backends.find((b) => b.name === "dpdk");
console.log(`consumer: dpdk backend available: ${dpdk?.available}${dpdk?.available ? "" : ` (${dpdk?.reason})`}`);
clearTimeout(timer);
EOF
}

# compile, type-check, run; $1 = project dir, $2 = how it was installed
use_project() {
  local dir=$1 how=$2
  cd "$dir"
  step "$how: sgwire compile"
  ./node_modules/.bin/sgwire compile --out src/gen -I proto proto/blob.proto || fail "$how: sgwire compile failed"
  [[ -f src/gen/blob.sg.ts ]] || fail "$how: sgwire compile wrote no src/gen/blob.sg.ts"
  step "$how: tsc --strict"
  ./node_modules/.bin/tsc -p tsconfig.json --strict || fail "$how: tsc --strict failed on the generated code or src/main.ts (errors above)"
  step "$how: run"
  local out
  out=$(node dist/main.js 2>&1) || { echo "$out"; fail "$how: the program failed (output above)"; }
  echo "$out"
  if pkg-config --exists libdpdk 2>/dev/null && ! grep -q "dpdk backend available: true" <<<"$out"; then
    fail "$how: this machine has libdpdk but @sgwire/nic's install script did not build the addon with it (see the install output above)"
  fi
  cd "$ROOT"
}

step "npm install (fresh project, npm-packed tarballs, no overrides)"
write_project "$TMP/npm"
NT=$TMP/npm-tarballs
(cd "$TMP/npm" && npm install --no-audit --no-fund --foreground-scripts --loglevel=error "$NT"/sgwire-core-*.tgz "$NT"/sgwire-codegen-*.tgz "$NT"/sgwire-nic-*.tgz "$NT"/sgwire-grpc-*.tgz typescript@5.9.3) ||
  fail "npm install of the tarballs failed (output above)"
use_project "$TMP/npm" npm

step "yarn add (fresh project, npm-packed tarballs)"
write_project "$TMP/yarn"
(cd "$TMP/yarn" && npx -y yarn@1.22.22 add --non-interactive --no-progress "$NT"/sgwire-core-*.tgz "$NT"/sgwire-codegen-*.tgz "$NT"/sgwire-nic-*.tgz "$NT"/sgwire-grpc-*.tgz typescript@5.9.3) ||
  fail "yarn add of the tarballs failed (output above)"
use_project "$TMP/yarn" yarn

step "pnpm add (fresh project, pnpm-packed tarballs; allowBuilds lets @sgwire/nic's install script build the addon)"
write_project "$TMP/pnpm"
# pnpm approves a tarball dependency's build by its spec (the bare name is for registry installs)
printf "allowBuilds:\n  '@sgwire/nic': true\n  '@sgwire/nic@file:../tarballs/%s': true\n" "$(basename "$NIC")" >"$TMP/pnpm/pnpm-workspace.yaml"
# --config.side-effects-cache=false: build the addon here rather than reuse a build from pnpm's store.
# pnpm warns "Issues with peer dependencies": it counts a tarball's version (file:...) as not
# matching the ^0.1.0 peer range, but links that same @sgwire/core as the peer (one copy).
(cd "$TMP/pnpm" && "${PNPM[@]}" add --config.side-effects-cache=false "$CORE" "$CODEGEN" "$NIC" "$GRPC" typescript@5.9.3) ||
  fail "pnpm add of the tarballs failed (output above)"
use_project "$TMP/pnpm" pnpm

printf '\ntest-packages: OK (npm, yarn and pnpm: installed from tarballs, compiled, type-checked strictly, sent and received, served and called over gRPC)\n'
