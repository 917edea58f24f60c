/**
 * test/suite/requirements.ts: a suite whose requirement is missing shows as pending with all its
 * tests counted, and fails when SGWIRE_REQUIRE asks for the missing thing (scripts/test.sh sets it
 * under CI). Mocha runs a fixture file in a child process and reports JSON.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const mocha = createRequire(import.meta.url).resolve("mocha/bin/mocha.js");

interface Report {
  stats: { tests: number; passes: number; pending: number; failures: number };
  pending: Array<{ fullTitle: string }>;
  failures: Array<{ fullTitle: string; err: { message: string } }>;
}

function run(require: string | undefined): { status: number | null; report: Report } {
  const env = { ...process.env };
  delete env.SGWIRE_REQUIRE;
  if (require !== undefined) env.SGWIRE_REQUIRE = require;
  const r = spawnSync(process.execPath, ["--import", "tsx", mocha, "--no-config", "--reporter", "json", join(here, "fixtures", "requirement-suites.ts")], { encoding: "utf8", env, cwd: join(here, "..") });
  assert.ok(r.stdout.includes("{"), `mocha printed no report (exit ${r.status}): ${r.stderr}`);
  return { status: r.status, report: JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as Report };
}

describe("requirements: missing suites are pending, or failures when required", function () {
  this.timeout(60000);

  it("without SGWIRE_REQUIRE: the unmet suite's 3 tests and the test that needs it are pending, with the reason in the title", function () {
    const { status, report } = run(undefined);
    assert.equal(status, 0);
    assert.deepEqual([report.stats.passes, report.stats.pending, report.stats.failures], [1, 4, 0]);
    const titles = report.pending.map((t) => t.fullTitle);
    assert.ok(titles.some((t) => t.includes("unmet suite [pending: needs absent-thing, missing here: the absent thing is not installed] nested third")), titles.join("\n"));
  });

  it("SGWIRE_REQUIRE=absent-thing: each unmet requirement fails, naming it; the suite's tests still counted as pending", function () {
    const { status, report } = run("other,absent-thing");
    assert.equal(status, 2);
    assert.equal(report.stats.failures, 2);
    assert.equal(report.stats.pending, 3);
    for (const f of report.failures) assert.match(f.err.message, /absent-thing, missing here: the absent thing is not installed/);
  });

  it("SGWIRE_REQUIRE=all requires everything; a requirement that is met changes nothing", function () {
    assert.equal(run("all").report.stats.failures, 2);
    const counts = (r: Report) => [r.stats.tests, r.stats.passes, r.stats.pending, r.stats.failures];
    assert.deepEqual(counts(run("present-thing").report), counts(run(undefined).report));
  });
});
