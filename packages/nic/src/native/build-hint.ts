import { fileURLToPath } from "node:url";
import { dirname, resolve, sep } from "node:path";

/** This package's folder (dist/native or src/native -> ../..). */
const PKG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * The command that builds the native addon where this copy of @sgwire/nic is installed: in the
 * sgwire repository the workspace build; in a user's project the package manager's rebuild, which
 * runs the package's install script (scripts/install.mjs: node-gyp from the package's own
 * dependencies, no tsc). Under pnpm the install script runs only once the build is approved.
 */
export function addonBuildHint(pkgDir = PKG_DIR): string {
  const parts = pkgDir.split(sep);
  if (!parts.includes("node_modules")) return "pnpm --filter @sgwire/nic run build";
  if (parts.includes(".pnpm")) {
    return (
      "pnpm rebuild @sgwire/nic (pnpm runs a dependency's install script only once it is approved: " +
      "`pnpm approve-builds` and pick @sgwire/nic, or allowBuilds: { '@sgwire/nic': true } in pnpm-workspace.yaml)"
    );
  }
  return "npm rebuild @sgwire/nic";
}
