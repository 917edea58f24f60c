/**
 * Suites that need something a machine may lack (DPDK, root with the test namespaces, an RDMA
 * device) never vanish: without it they register as pending, with the reason in their title, so
 * mocha counts them. SGWIRE_REQUIRE lists what must be there (comma-separated names, or "all"):
 * scripts/test.sh sets it under CI, and then a missing requirement is a failing test instead.
 *
 * Names in use: dpdk (the addon built with DPDK), veth (root, the sgw-a/sgw-b namespaces and
 * the veths of scripts/setup-system.sh), ibverbs (the addon built with libibverbs), io_uring (a
 * kernel whose io_uring has what the udp engine "uring" uses).
 */
import assert from "node:assert/strict";

/** Whether SGWIRE_REQUIRE asks for `what`. */
export function required(what: string): boolean {
  const list = (process.env.SGWIRE_REQUIRE ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return list.includes("all") || list.includes(what);
}

/** The message of a missing requirement. */
function missingMessage(what: string, why: string): string {
  return `needs ${what}, missing here: ${why}`;
}

type SuiteBody = (this: Mocha.Suite) => void;

/**
 * `describe` when `missing` is undefined (the requirement is met). Otherwise the suite is
 * registered with describe.skip, its tests pending, its title saying what is missing; and when
 * SGWIRE_REQUIRE asks for `what`, a failing test beside it names what is missing.
 */
export function describeWith(what: string, missing: string | undefined): (title: string, body: SuiteBody) => void {
  if (missing === undefined) return (title, body) => void describe(title, body);
  return (title, body) => {
    const label = `${title} [pending: ${missingMessage(what, missing)}]`;
    if (required(what)) {
      describe(title, function () {
        it(`SGWIRE_REQUIRE includes ${what}`, function () {
          assert.fail(`${title}: ${missingMessage(what, missing)}`);
        });
      });
    }
    describe.skip(label, body);
  };
}

/**
 * Inside a test: returns when the requirement is met; otherwise fails (SGWIRE_REQUIRE asks for
 * `what`) or marks the test pending.
 */
export function needIn(ctx: Mocha.Context, what: string, missing: string | undefined): void {
  if (missing === undefined) return;
  if (required(what)) assert.fail(`SGWIRE_REQUIRE includes ${what}: ${missingMessage(what, missing)}`);
  ctx.skip();
}
