// Drives the raftcdc web console in Debian's headless Chromium for
// cluster-tests/tests/console.rs, which feeds it commands on stdin and
// reads its findings on stdout, one line each:
//
//   argv: <console URL> <token> <connector name>
//   out:  "owner node N"           the connector's owner as the page shows it
//   in:   "expect node M node L"   the owner moved to M, L leads: the page
//                                  must show both within 2 s
//   out:  "moved"
//   out:  "paused"                 after clicking Pause on the connector page
//
// Any failure prints "error: ..." and exits 1. Nothing is saved to disk.
import readline from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, token, name] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const profile = mkdtempSync(join(tmpdir(), "raftcdc-chromium-"));
let browser;

async function main() {
  // A fresh profile directory per run (playwright passes it as
  // --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // waitForFunction evaluates code, which the page's CSP (no eval) forbids.
    bypassCSP: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = browser.pages()[0] || await browser.newPage();
  const failed = [];
  page.on("requestfailed", r => failed.push(r.url()));
  await page.goto(url);
  if (token) {
    await page.fill("#token", token);
    await page.dispatchEvent("#token", "change");
  }
  const ownerCell = `#connectors tr[data-connector="${name}"] td.owner`;
  await page.waitForFunction(sel => {
    const cell = document.querySelector(sel);
    return cell && cell.textContent.startsWith("node ");
  }, ownerCell, { timeout: 15000 });
  console.log("owner " + (await page.textContent(ownerCell)));

  const { value: command } = await lines.next();
  const m = /^expect (node \d+) (node \d+)$/.exec(command || "");
  if (!m) throw new Error("bad command " + command);
  const started = Date.now();
  await page.waitForFunction(([sel, owner, leader]) =>
    document.querySelector(sel)?.textContent === owner && document.getElementById("leader").textContent === leader,
    [ownerCell, m[1], m[2]], { timeout: 2000 });
  console.log(`moved in ${Date.now() - started} ms`);

  await page.click(`#connectors tr[data-connector="${name}"] a`);
  await page.waitForFunction(n => document.getElementById("c-name").textContent === n, name, { timeout: 15000 });
  const config = await page.textContent("#c-config");
  if (config.includes("\"secret\"") || !config.includes("********")) throw new Error("secrets not masked: " + config);
  await page.click('button[data-action="pause"]');
  await page.waitForFunction(() => document.getElementById("c-state").textContent === "PAUSED", null, { timeout: 15000 });
  const message = await page.textContent("#message");
  if (message) throw new Error("the page shows an error: " + message);
  if (failed.some(u => !u.startsWith(url.replace(/\/ui$/, "")))) throw new Error("requests outside the node: " + failed);
  console.log("paused");
}

main()
  .catch(e => { console.log("error: " + (e && e.message ? e.message : e)); process.exitCode = 1; })
  .finally(async () => {
    if (browser) await browser.close();
    rmSync(profile, { recursive: true, force: true });
    process.exit();
  });
