import { fileURLToPath } from "node:url";
import { dirname, join, resolve, sep } from "node:path";

/** This package's folder (dist/ or src/ -> ..). */
const PKG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The command that builds the native addon where this copy of @sgwire/nic is installed: in the
 * sgwire repository the workspace build; in a user's project the package's own build script, by its
 * absolute path (works with npm, pnpm and yarn alike, needs nothing but node), plus, under pnpm, how
 * to let the install script run on the next install.
 */
export function addonBuildHint(pkgDir = PKG_DIR): string {
  const parts = pkgDir.split(sep);
  if (!parts.includes("node_modules")) return "pnpm --filter @sgwire/nic run build";
  const direct = `node ${join(pkgDir, "scripts", "build-addon.mjs")}`;
  if (parts.includes(".pnpm")) {
    return (
      `${direct} (or \`pnpm approve-builds\` and pick @sgwire/nic: pnpm runs a dependency's install ` +
      `script only once it is approved, in allowBuilds of pnpm-workspace.yaml)`
    );
  }
  return `${direct} (or: npm rebuild @sgwire/nic)`;
}
