import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { verifyOutputSignature } from '../../src/agent';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, getCreateAddress } from 'ethers';
import type { BrowserContext, Page } from 'playwright-core';
import { runEventsProof } from '../../src/cli/events-proof';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import { createRpcProvider } from '../../src/web3/provider';
import { deployDemoToken, loadDemoTokenArtifact } from '../../src/web3/sample-contracts';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { freePort } from '../support/free-port';
import { startOpenAiFake, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { requireService } from '../support/services';

// What page.evaluate callbacks see (they run in the browser; the project's tsconfig has no DOM lib).
declare const sessionStorage: { getItem(k: string): string | null };
declare const localStorage: { length: number };
declare const document: { activeElement: { tagName: string } | null; documentElement: { scrollWidth: number } };
declare function getComputedStyle(el: unknown): { color: string };
import { chromiumAvailable, launchChromium, CHROMIUM } from './support/browser';
import { startUiGateway, type UiGateway } from './support/ui-gateway';

/** Hardhat's well-known account #1: the agent's wallet (account #0 anchors). Demo key only. */
const AGENT_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const AGENT = new Wallet(AGENT_KEY).address.toLowerCase();
/** DemoToken is the first contract account #1 deploys, so its address is known before the chain runs. */
const TOKEN = getCreateAddress({ from: AGENT, nonce: 0 }).toLowerCase();
const RECIPIENT = '0x000000000000000000000000000000000000beef';
const OUT = join(__dirname, '..', '..', 'test-output', 'ui');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
/** Not the machine's zone: times on screen must follow the viewer's. */
const VIEWER_ZONE = 'Asia/Kolkata';

/** The model: move DEMO when asked ("send N DEMO to 0x…"), then report. */
function treasurer(chainId: number) {
  return (req: ChatRequest): FakeReply => {
    const instruction = String(req.messages.find((m) => m.role === 'user')?.content ?? '');
    const m = instruction.match(/send (\d+) DEMO to (0x[0-9a-fA-F]{40})/i);
    if (!m) return { content: 'I only move DEMO.' };
    if (!req.messages.some((x) => x.role === 'tool')) {
      return { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId, contract: 'DemoToken', method: 'transfer', args: [m[2], m[1]] } }] };
    }
    return { content: `Transferred ${m[1]} DEMO.` };
  };
}

/** What FEED_WATCH keeps in the page: its approvals list loads, its live feed's hello, the tasks it was told ended. */
type FeedWatch = { __feed: { loads: number; hello: boolean; ended: string[] } };
declare const window: FeedWatch;
/**
 * The dashboard's wait between a matching notice and the reload it makes: useLiveRefresh's default,
 * which the Approvals page uses, read from ui/app/components.js (a constant here, waiting less than
 * a longer default, would count before a needless reload came, and pass).
 */
const REFRESH_DEBOUNCE_MS = (() => {
  const source = readFileSync(join(__dirname, '../../ui/app/components.js'), 'utf8');
  const waitMs = /export function useLiveRefresh\(match, fn, waitMs = ([\d_]+)\)/.exec(source)?.[1];
  const approvals = readFileSync(join(__dirname, '../../ui/app/views/approvals.js'), 'utf8');
  if (!waitMs || !/useLiveRefresh\(\(n\) => changesApprovals\(n, shown\.current\), pending\.reload\);/.test(approvals)) {
    throw new Error("the Approvals page's refresh wait is no longer useLiveRefresh's default: read it where it is now");
  }
  return Number(waitMs.replaceAll('_', ''));
})();
/**
 * An init script counting, in the page itself, its loads of the approvals list, and noting what
 * its live feed tells as the page's own reader takes it (a stream it reads through this one):
 * no network timing is involved in what a test reads from it.
 */
const FEED_WATCH = `(() => {
  const feed = (window.__feed = { loads: 0, hello: false, ended: [] });
  const fetch = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    if (url.includes('/v1/tasks?status=running')) feed.loads++;
    const res = await fetch(input, init);
    if (!url.includes('/ui/api/stream') || !res.body) return res;
    const decoder = new TextDecoder();
    let text = '';
    const watch = new TransformStream({
      transform(chunk, out) {
        text += decoder.decode(chunk, { stream: true });
        for (let i; (i = text.indexOf('\\n\\n')) >= 0; text = text.slice(i + 2)) {
          const frame = text.slice(0, i);
          if (frame.startsWith('event: hello')) feed.hello = true;
          const notice = /^event: event\\ndata: (.+)$/m.exec(frame);
          if (notice) {
            const n = JSON.parse(notice[1]);
            if (n.type === 'TaskCompleted' || n.type === 'TaskFailed') feed.ended.push(n.taskId);
          }
        }
        out.enqueue(chunk);
      },
    });
    return new Response(res.body.pipeThrough(watch), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
})();`;

describe('dashboard /ui in headless Chromium against a running gateway', function () {
  this.timeout(240_000);
  let gw: UiGateway;
  let fake: OpenAiFake;
  let dir: string;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;
  let page: Page;
  const requests: string[] = [];
  let taskId = '';

  const apiCall = async (path: string, init: { method?: string; body?: unknown; key?: string } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${init.key ?? gw.adminKey}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };

  const shoot = async (name: string) => {
    await page.screenshot({ path: join(OUT, `${name}-desktop.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(OUT, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(DESKTOP);
  };

  before(async function () {
    await requireService(this, `Debian chromium at ${CHROMIUM} (apt-get install -y chromium)`, chromiumAvailable);
    mkdirSync(OUT, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'omc-ui-e2e-'));
    const chainPort = await freePort();
    fake = await startOpenAiFake(treasurer(31337));
    const chainsFile = join(dir, 'chains.json');
    writeFileSync(chainsFile, JSON.stringify({ chains: [{ chainId: 31337, rpcUrl: `http://127.0.0.1:${chainPort}`, confirmations: 1, wallet: { type: 'key', privateKey: AGENT_KEY }, contracts: [{ name: 'DemoToken', address: TOKEN, abi: loadDemoTokenArtifact().abi }] }] }));
    const policyFile = join(dir, 'policy.json');
    const demo = (rule: object) => [{ chainId: 31337, address: TOKEN, name: 'DemoToken', methods: { transfer: { amountArg: 1, maxAmount: '1000', approvalAbove: '100', ...rule } } }];
    // Tenant "four": two distinct approvers, neither of them the task's submitter.
    const policies = [
      { tenant: 'default', tools: { allow: ['examples__*', 'chain__*'] }, contracts: demo({}) },
      { tenant: 'four', tools: { allow: ['chain__*'] }, contracts: demo({ approvals: 2, selfApproval: false }) },
    ];
    writeFileSync(policyFile, JSON.stringify({ policies }));
    // The browser starts while the gateway does (both take seconds, neither needs the other yet).
    const launched = launchChromium({ viewport: DESKTOP, timezoneId: VIEWER_ZONE, locale: 'en-GB', acceptDownloads: true });
    launched.then((b) => (closeBrowser = b.close), () => {});
    gw = await startUiGateway({ UI_HEARTBEAT_MS: '1000', CHAIN_PORT: String(chainPort), OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'sk-test', OPENAI_MODEL: 'fake-model', CHAINS_FILE: chainsFile, POLICY_FILE: policyFile });
    const provider = createRpcProvider(gw.rpcUrl);
    const { address } = await deployDemoToken(new Wallet(AGENT_KEY, provider), 1_000_000n);
    provider.destroy();
    expect(address.toLowerCase()).to.equal(TOKEN);

    const browser = await launched;
    context = browser.context;
    context.on('request', (r) => requests.push(r.url()));
    page = context.pages()[0] ?? (await context.newPage());
  });

  // A failure on a loaded CI machine is seldom seen twice: keep what the page showed.
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !page) return;
    const name = this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    await page.screenshot({ path: join(OUT, 'failed', `${name}.png`), fullPage: true }).catch(() => {});
  });

  after(async () => {
    await closeBrowser?.();
    await gw?.stop();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (gw) rmSync(gw.dataDir, { recursive: true, force: true });
  });

  it('signs in with an API key kept in session storage only, never in the URL', async () => {
    await page.goto(`${gw.url}/ui`);
    await page.getByLabel('API key').fill('omk_not-a-real-key-at-all-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This key was not accepted.').waitFor();

    await page.getByLabel('API key').fill(gw.adminKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Live activity' }).waitFor();
    await page.locator('[data-live="live"]').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('openmcp.apiKey'))).to.equal(gw.adminKey);
    expect(await page.evaluate(() => localStorage.length)).to.equal(0);
    expect(page.url()).to.not.include(gw.adminKey);
    expect(requests.some((u) => u.includes(gw.adminKey))).to.equal(false);
  });

  it('shows a task submitted through the API appear and complete live, without a reload', async () => {
    let loads = 0;
    page.on('load', () => loads++);
    const res = await apiCall('/v1/tasks', { method: 'POST', body: { steps: [{ tool: 'examples__echo', arguments: { text: 'hello dashboard' } }] } });
    expect(res.status).to.equal(202);
    taskId = res.body.id;
    const row = page.locator(`tr[data-task="${taskId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await row.locator('.badge-completed').waitFor({ timeout: 90_000 });
    expect(loads).to.equal(0);
    // Times in the viewer's zone: the submitted cell names IST, not the machine's UTC.
    expect(await row.locator('td').nth(4).innerText()).to.match(/GMT\+5:30|IST/);
    await page.locator('.spark').first().waitFor();
    // The bootstrap key is cross-tenant: its counts take in every tenant, its task list is its own
    // tenant's (GET /v1/tasks), and the page says so rather than seem to disagree with itself.
    expect(await page.locator('[data-scope="all-tenants"]').innerText()).to.contain("every tenant (your key is cross-tenant); the tasks below are tenant default's");
    await shoot('activity');
  });

  it("opens the task's timeline: every event in order, each with its proof link", async () => {
    await page.locator(`tr[data-task="${taskId}"] a`).click();
    await page.getByRole('heading', { name: /Task/ }).waitFor();
    const types = page.locator('.timeline li');
    await page.locator('.timeline li[data-type="TaskCompleted"]').waitFor();
    const order = await types.evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    expect(order[0]).to.equal('TaskSubmitted');
    expect(order[order.length - 1]).to.equal('TaskCompleted');
    expect(order).to.include.members(['TaskStarted', 'PolicyEvaluated', 'TaskStepStarted', 'ToolCallRequested', 'ToolCallCompleted', 'TaskStepCompleted']);
    // Each line shows a clock time only: the heading names the viewer's zone once.
    expect(await page.locator('[data-zone]').innerText()).to.match(/times in (GMT\+5:30|IST)$/);
    // Keyboard: the page heading has focus after navigation, and the payload toggles from the keyboard.
    expect(await page.evaluate(() => document.activeElement?.tagName)).to.equal('H1');
    const toggle = page.locator('.timeline li').first().getByRole('button', { name: 'Show payload' });
    await toggle.focus();
    await page.keyboard.press('Enter');
    await page.locator('.timeline li').first().locator('pre.json').waitFor();
    await shoot('task-timeline');
  });

  it("verifies an event's proof in the browser, all checks green, reading the root from the chain itself", async () => {
    const first = page.locator('.timeline li[data-type="TaskSubmitted"]');
    await first.locator('[data-verify]').waitFor({ timeout: 60_000 });
    const before = requests.length;
    await first.locator('[data-verify]').click();
    await page.locator('[data-verdict="passed"]').waitFor({ timeout: 90_000 });
    const checks = await page.locator('[data-check]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-check'), e.getAttribute('data-ok')]));
    expect(checks).to.deep.equal(['proof format', 'event hash', 'leaf', 'root from path', 'batch signature', 'on-chain root', 'on-chain inclusion'].map((n) => [n, 'true']));
    expect(requests.slice(before).some((u) => u.startsWith(gw.rpcUrl)), 'the browser itself called the chain RPC').to.equal(true);
    // The address filled in is the gateway's setting, not the auditor's pin: the page says so, by the field and the verdict.
    expect(await page.locator('label[for="contract"]').innerText()).to.contain("filled in from this gateway's settings");
    expect(await page.locator('[data-pin-note]').innerText()).to.contain("the gateway's word for it, not a pin of yours");
    await shoot('verify-passed');
  });

  it('"Download this proof file" saves the very bytes the gateway sent, the file `openmcp events proof` saves', async () => {
    // On the page of the previous test: the proof of the task's TaskSubmitted, fetched and verified.
    const eventId = decodeURIComponent(new URL(page.url()).hash.replace('#/verify/', ''));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download this proof file' }).click()]);
    expect(download.suggestedFilename()).to.equal(`proof-${eventId}.json`);
    const saved = readFileSync(await download.path());
    const cliFile = join(dir, 'cli-proof.json');
    const client = clientFromEnvironment({ env: { OPENMCP_URL: gw.url, OPENMCP_API_KEY: gw.adminKey } });
    expect(await runEventsProof(client, eventId, { out: cliFile }, () => {})).to.equal(0);
    // Was: JSON.stringify(proof, null, 2), another text (and, for another reader, keys in another order).
    expect(saved.equals(readFileSync(cliFile)), `saved ${saved.length} bytes, the CLI ${readFileSync(cliFile).length}`).to.equal(true);
  });

  it('names the failing check in red for a tampered proof file dropped on the page', async () => {
    const events = await apiCall(`/v1/tasks/${taskId}/events`);
    const submitted = events.body.items.find((e: { type: string }) => e.type === 'TaskSubmitted');
    const proof = (await apiCall(`/v1/events/${submitted.id}/proof`)).body;
    proof.event.data.steps[0].arguments.text = 'something else';
    const file = join(dir, 'tampered-proof.json');
    writeFileSync(file, JSON.stringify(proof));
    await page.locator('#proof-file').setInputFiles(file);
    await page.locator('[data-verdict="failed"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-verdict]').innerText()).to.equal('FAILED: event hash');
    const bad = page.locator('[data-check="event hash"]');
    expect(await bad.getAttribute('data-ok')).to.equal('false');
    expect(await bad.getAttribute('class')).to.contain('check-bad');
    const colour = await bad.locator('.check-name').evaluate((el) => getComputedStyle(el).color);
    const [r, g, b] = colour.match(/\d+/g)!.map(Number);
    expect(r, `failing check colour ${colour}`).to.be.greaterThan(150);
    expect(g).to.be.lessThan(80);
    expect(b).to.be.lessThan(80);
    // The untouched parts of the file still check out: the failure is the payload, nothing else.
    expect(await page.locator('[data-check="root from path"]').getAttribute('data-ok')).to.equal('true');
    await shoot('verify-tampered');
  });

  // `openmcp verify --event <id>` failed a proof of another event; the page had no such field, and a
  // proof of any event dropped on the page of event X passed, naming the other event in a detail only.
  it('fails "proof format" for a dropped proof of another event than the Event id, as `openmcp verify --event`; an empty field takes any', async () => {
    const events = await apiCall(`/v1/tasks/${taskId}/events`);
    const submitted = events.body.items.find((e: { type: string }) => e.type === 'TaskSubmitted');
    const completed = events.body.items.find((e: { type: string }) => e.type === 'TaskCompleted');
    let answer = await apiCall(`/v1/events/${completed.id}/proof`);
    for (let i = 0; answer.status === 409 && i < 120; i++) {
      await new Promise((r) => setTimeout(r, 500));
      answer = await apiCall(`/v1/events/${completed.id}/proof`);
    }
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const file = join(dir, 'other-event-proof.json');
    writeFileSync(file, JSON.stringify(answer.body));
    await page.goto(`${gw.url}/ui#/verify`);
    await page.getByRole('heading', { name: "Verify an event's proof" }).waitFor();
    await page.locator('#event-id').fill(submitted.id);
    await page.locator('#proof-file').setInputFiles(file);
    // The page may still show the previous test's failed verdict (a hash change keeps the view): wait for this run's first check.
    await page.locator('[data-check="proof format"] .check-detail', { hasText: `not event ${submitted.id}` }).waitFor({ timeout: 60_000 });
    await page.locator('[data-verdict="failed"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-verdict]').innerText()).to.equal('FAILED: proof format');
    expect(await page.locator('[data-check="proof format"] .check-detail').innerText()).to.match(new RegExp(`^openmcp-proof/1, event ${completed.id} \\(TaskCompleted\\) .*: not event ${submitted.id}, the one asked for$`));
    expect(await page.locator('[data-source]').innerText()).to.contain(`which must prove event ${submitted.id}`);
    // The rest of the file still checks out: the failure is which event it proves, nothing else.
    await page.locator('[data-check="on-chain inclusion"][data-ok="true"]').waitFor({ timeout: 60_000 });
    await shoot('verify-other-event');
    await page.locator('#event-id').fill('');
    await page.locator('#proof-file').setInputFiles([]);
    await page.locator('#proof-file').setInputFiles(file);
    await page.locator('[data-verdict="passed"]').waitFor({ timeout: 60_000 });
    await page.locator('#event-id').fill('task-1');
    await page.locator('#proof-file').setInputFiles([]);
    await page.locator('#proof-file').setInputFiles(file);
    await page.locator('.error').waitFor({ timeout: 30_000 });
    expect(await page.locator('.error').innerText()).to.contain('An event id is a UUID');
    expect(await page.locator('[data-verdict]').count()).to.equal(0);
    // Nor is the gateway's word taken for which event it sent: the proof fetched for an id must be of that event.
    const proofPath = `**/v1/events/${submitted.id}/proof`;
    await page.route(proofPath, (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(answer.body) }));
    try {
      await page.locator('#event-id').fill(submitted.id);
      await page.getByRole('button', { name: 'Fetch proof and verify' }).click();
      await page.locator('[data-verdict="failed"]').waitFor({ timeout: 60_000 });
      expect(await page.locator('[data-verdict]').innerText()).to.equal('FAILED: proof format');
      expect(await page.locator('[data-check="proof format"] .check-detail').innerText()).to.contain(`: not event ${submitted.id}, the one asked for`);
    } finally {
      await page.unroute(proofPath);
    }
  });

  it("refuses a fetched proof that names a key twice in one object, as it refuses such a dropped file, before any check", async () => {
    const events = await apiCall(`/v1/tasks/${taskId}/events`);
    const submitted = events.body.items.find((e: { type: string }) => e.type === 'TaskSubmitted');
    const res = await fetch(`${gw.url}/v1/events/${submitted.id}/proof`, { headers: { authorization: `Bearer ${gw.adminKey}` } });
    const proof = await res.text();
    // A proof to tamper with (not a refusal, which the page would show otherwise).
    expect(res.status, proof.slice(0, 300)).to.equal(200);
    expect(proof).to.contain('"event":{');
    // JSON.parse keeps the last "tenant", other readers the first: the checks would pass on the real one.
    const twice = proof.replace('"event":{', '"event":{"tenant":"mallory",');
    const proofPath = `**/v1/events/${submitted.id}/proof`;
    let served = 0;
    await page.route(proofPath, (r) => (served++, r.fulfill({ status: 200, contentType: 'application/json', body: twice })));
    try {
      // From another page, on screen before going on: the verify page of this very event may be the one
      // shown, with its checks, and the view stays as it is when the route it reads from location.hash
      // has not changed. Two hash changes the page handles only after both (the second page.goto came
      // before the first's hashchange: seen in CI once, no .error within 30 s) leave it so, fetching nothing.
      await page.goto(`${gw.url}/ui#/`);
      await page.getByRole('heading', { name: 'Live activity' }).waitFor();
      await page.goto(`${gw.url}/ui#/verify/${submitted.id}`);
      await page.locator('.error').waitFor({ timeout: 30_000 }).catch(async (err: Error) => {
        // Say what the page shows instead: its heading, the proof's source, a verdict, and whether it fetched the proof.
        const shows = await page.locator('main h1, main [data-source], main [data-verdict]').allInnerTexts().catch(() => ['?']);
        throw new Error(`${err.message}\npage ${page.url()} (the proof fetched ${served} times since it was routed) shows: ${shows.join(' | ').slice(0, 500)}`);
      });
      expect(served, 'the page fetched the proof it refuses').to.be.greaterThan(0);
      expect(await page.locator('.error').innerText()).to.contain(`The gateway's answer for event ${submitted.id} names "tenant" twice in one object`);
      expect(await page.locator('[data-verdict]').count()).to.equal(0);
    } finally {
      await page.unroute(proofPath);
    }
  });

  it('lists MCP servers with health, breaker and their own limits, searches the tool catalog, and shows batches with their anchors', async () => {
    const patient = await apiCall('/v1/mcp-servers', {
      method: 'POST',
      body: { name: 'patient', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER], timeoutMs: 120_000, connectTimeoutMs: 60_000, maxConcurrent: 2 },
    });
    expect(patient.status, JSON.stringify(patient.body)).to.equal(201);
    await page.getByRole('link', { name: 'MCP servers' }).click();
    await page.locator('tr[data-server="examples"] .badge-up').waitFor();
    expect(await page.locator('tr[data-server="patient"] [data-limits]').innerText()).to.equal('timeout 2 min · connect within 1 min · at most 2 in flight');
    expect(await page.locator('tr[data-server="examples"] [data-limits]').count(), 'no limits of its own: nothing shown').to.equal(0);
    expect(await page.locator('[data-scope="all-tenants"]').innerText(), 'call counts of every tenant, said so').to.contain("the Tool calls page lists tenant default's");
    await page.getByLabel('Search tools by what they do').fill('echo');
    await page.locator('.tools li', { hasText: 'examples__echo' }).waitFor();
    await shoot('mcp');
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.locator('tr[data-batch="0"]').waitFor();
    expect(await page.locator('tr[data-batch="0"]').innerText()).to.contain('Anchored');
    await shoot('batches');
    await page.getByRole('link', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: "Verify an event's proof" }).waitFor();
    await shoot('verify-empty');
  });

  it('approves a held transaction, bound to its proposal hash; the completed task proves with openmcp verify', async function () {
    const probe = await apiCall('/v1/tasks/01937a6e-7f00-7000-8000-000000000001/approvals', { method: 'POST', body: { proposalHash: `0x${'0'.repeat(64)}`, decision: 'approve' } });
    if (probe.status === 501) {
      console.warn(`\n  !!! PENDING: this gateway (${gw.entry}) has no approvals service (POST /v1/tasks/:id/approvals answers 501): src/main.ts must pass ApprovalsService to buildApp.\n`);
      this.skip();
    }
    const res = await apiCall('/v1/tasks', { method: 'POST', body: { instruction: `Send 500 DEMO to ${RECIPIENT} please` } });
    expect(res.status).to.equal(202);
    const id = res.body.id;
    await page.getByRole('link', { name: 'Approvals' }).click();
    const card = page.locator('article.approval').filter({ has: page.locator(`a[href="#/tasks/${id}"]`) });
    await card.waitFor({ timeout: 90_000 });
    const text = await card.innerText();
    expect(text).to.contain('transfer(address,uint256)', 'the exact function signed').and.contain(TOKEN).and.contain(RECIPIENT).and.contain('500');
    expect(text).to.contain('matches SHA-256 of the proposal above');
    // "500 DEMO" in the instruction, 500 base units in the call: the approver must see the difference.
    expect(text).to.contain('DemoToken');
    expect(await card.locator('[data-signature]').innerText()).to.equal('transfer(address to, uint256 amount)');
    expect(await card.locator('[data-token-amount]').innerText()).to.equal('= 0.0000000000000005 DEMO');
    await shoot('approvals');
    // On a phone the card wraps the 42-character address quoted in the instruction instead of widening the page.
    await page.setViewportSize(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).to.be.at.most(PHONE.width);
    await page.setViewportSize(DESKTOP);

    // An auditor (another tab: its own session storage) sees the same card but is offered no
    // decision a 403 would refuse.
    const auditorKey = (await apiCall('/v1/keys', { method: 'POST', body: { role: 'auditor', tenant: 'default', name: 'e2e auditor' } })).body.key;
    const auditor = await context.newPage();
    await auditor.goto(`${gw.url}/ui#/approvals`);
    await auditor.getByLabel('API key').fill(auditorKey);
    await auditor.keyboard.press('Enter');
    const seen = auditor.locator('article.approval').filter({ has: auditor.locator(`a[href="#/tasks/${id}"]`) });
    await seen.waitFor({ timeout: 30_000 });
    expect(await seen.innerText()).to.contain(RECIPIENT);
    expect(await seen.getByRole('button').count(), 'decision buttons for a role without tasks:approve').to.equal(0);
    expect(await auditor.locator('[data-cannot-decide]').innerText()).to.contain('auditor');
    await auditor.close();

    // With several cards, a screen reader names which proposal an Approve button decides.
    const describedBy = await card.getByRole('button', { name: 'Approve' }).getAttribute('aria-describedby');
    expect(await card.locator(`h2[id="${describedBy}"]`).innerText()).to.contain('transfer');

    const proposalHash = await card.getAttribute('data-proposal');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByText('Approved.').waitFor();
    const done = async () => (await apiCall(`/v1/tasks/${id}`)).body.status;
    for (let i = 0; i < 180 && (await done()) !== 'completed'; i++) await new Promise((r) => setTimeout(r, 500));
    expect(await done()).to.equal('completed');
    const trail = (await apiCall(`/v1/tasks/${id}/events?limit=200`)).body.items as { type: string; data: { proposalHash?: string } }[];
    expect(trail.find((e) => e.type === 'ApprovalGranted')?.data.proposalHash).to.equal(proposalHash);
    expect(trail.some((e) => e.type === 'TransactionConfirmed')).to.equal(true);

    // The auditor's side of the same task: its signed TaskCompleted verifies on-chain with the CLI.
    const completed = (trail as { id: string; type: string; data: any }[]).find((e) => e.type === 'TaskCompleted')!;
    expect(verifyOutputSignature(completed.data)).to.equal(true);
    let proof: { status: number; body: any } = { status: 0, body: undefined };
    for (let i = 0; i < 120 && proof.status !== 200; i++) {
      proof = await apiCall(`/v1/events/${completed.id}/proof`);
      if (proof.status !== 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(proof.status).to.equal(200);
    const file = join(gw.dataDir, 'task-completed.proof.json');
    writeFileSync(file, JSON.stringify(proof.body));
    const verify = spawnSync(process.execPath, [join(__dirname, '..', '..', 'bin', 'openmcp'), 'verify', file, '--rpc', gw.rpcUrl], { encoding: 'utf8' });
    expect(verify.status, verify.stdout + verify.stderr).to.equal(0);
  });

  it('four-eyes: the card counts recorded approvals (after a reload and live), and offers Approve to no one who cannot give one', async () => {
    const issue = async (name: string) => (await apiCall('/v1/keys', { method: 'POST', body: { role: 'operator', tenant: 'four', name } })).body as { id: string; key: string };
    const alice = await issue('e2e alice');
    const bob = await issue('e2e bob');
    const res = await apiCall('/v1/tasks', { method: 'POST', key: alice.key, body: { instruction: `Send 300 DEMO to ${RECIPIENT} please` } });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const id = res.body.id;
    const open = async (key: string) => {
      const tab = await context.newPage();
      await tab.goto(`${gw.url}/ui#/approvals`);
      await tab.getByLabel('API key').fill(key);
      await tab.keyboard.press('Enter');
      const card = tab.locator('article.approval').filter({ has: tab.locator(`a[href="#/tasks/${id}"]`) });
      await card.waitFor({ timeout: 90_000 });
      return { tab, card };
    };
    // The submitter may reject but not approve (the API would answer 403 APPROVAL_SELF_NOT_ALLOWED).
    const a = await open(alice.key);
    expect(await a.card.locator('[data-approvals]').innerText()).to.contain('0 of 2 approvals');
    expect(await a.card.getByRole('button', { name: 'Approve' }).count(), 'Approve for the submitter').to.equal(0);
    expect(await a.card.getByRole('button', { name: 'Reject' }).count()).to.equal(1);

    const b = await open(bob.key);
    await b.card.getByRole('button', { name: 'Approve' }).click();
    await b.card.getByText('Your approval is recorded (1 of 2)').waitFor();
    // Another approver's page hears of it live, and names who approved.
    await a.card.locator('[data-approvals]', { hasText: '1 of 2 approvals' }).waitFor({ timeout: 15_000 });
    expect(await a.card.locator('[data-approvals]').innerText()).to.contain(bob.id);
    // After a reload the first approver's card is read from the record: no Approve that would do nothing.
    await b.tab.reload();
    await b.card.locator('[data-approvals]', { hasText: '1 of 2 approvals' }).waitFor({ timeout: 30_000 });
    await b.card.getByText('You approved').waitFor();
    expect(await b.card.getByRole('button', { name: 'Approve' }).count(), 'Approve after approving').to.equal(0);
    expect(await b.card.getByRole('button', { name: 'Reject' }).count()).to.equal(1);
    await b.tab.screenshot({ path: join(OUT, 'approvals-four-eyes-desktop.png'), fullPage: true });

    // One rejection, here the submitter's, ends it: the card leaves both pages.
    await a.card.getByRole('button', { name: 'Reject' }).click();
    await a.card.waitFor({ state: 'detached', timeout: 30_000 });
    await b.card.waitFor({ state: 'detached', timeout: 30_000 });
    const status = async () => (await apiCall(`/v1/tasks/${id}`, { key: alice.key })).body.status;
    for (let i = 0; i < 60 && (await status()) !== 'failed'; i++) await new Promise((r) => setTimeout(r, 500));
    expect(await status()).to.equal('failed');
    await a.tab.close();
    await b.tab.close();
  });

  let busy: { status: number; body: any }[] = [];

  it('leaves the Approvals page quiet while unrelated tasks run and end (no reload per task)', async () => {
    // Counted in a page of its own, by the page itself (FEED_WATCH): the main page has shown the
    // transactions the tests before held and decided, and reloads as their last notices come in,
    // later and later the busier the machine (past the start of the count: 2 reloads). The feed
    // tells events in the log's order, so once this page has been told of a task submitted after
    // it connected, every notice of theirs is behind it, and its reloads are flushed (settled).
    const tab = await context.newPage();
    await tab.addInitScript(FEED_WATCH);
    await tab.goto(`${gw.url}/ui#/approvals`);
    await tab.getByLabel('API key').fill(gw.adminKey);
    await tab.keyboard.press('Enter');
    await tab.getByText('Nothing waits for approval').waitFor({ timeout: 30_000 });
    await tab.waitForFunction(() => window.__feed.hello);
    const told = (ids: string[]) => tab.waitForFunction((wanted) => wanted.every((id) => window.__feed.ended.includes(id)), ids, { timeout: 120_000 });
    const settled = async () => {
      await tab.evaluate((ms) => new Promise((r) => setTimeout(r, ms)), REFRESH_DEBOUNCE_MS);
      return tab.evaluate(() => window.__feed.loads);
    };
    const marker = await apiCall('/v1/tasks', { method: 'POST', body: { steps: [{ tool: 'examples__echo', arguments: { text: 'before the busy tasks' } }] } });
    await told([marker.body.id]);
    const before = await settled();
    busy = await Promise.all(Array.from({ length: 50 }, (_, i) => apiCall('/v1/tasks', { method: 'POST', body: { steps: [{ tool: 'examples__echo', arguments: { text: `busy ${i}` } }] } })));
    expect(busy.every((r) => r.status === 202)).to.equal(true);
    // Each one's end told to the page, and what it made the page do done.
    await told(busy.map((r) => r.body.id));
    expect((await settled()) - before, 'reloads of the approvals list while 50 unrelated tasks ran').to.equal(0);
    await tab.close();
  });

  it('pages back through older tasks, newest first, 50 at a time', async () => {
    const submitted = busy;
    await page.getByRole('link', { name: 'Activity' }).click();
    await page.locator(`tr[data-task="${submitted[49].body.id}"]`).waitFor({ timeout: 30_000 });
    // The first task of this run is now the 52nd newest: on the second page.
    expect(await page.locator(`tr[data-task="${taskId}"]`).count()).to.equal(0);
    await page.getByRole('button', { name: 'Load older tasks' }).click();
    await page.locator(`tr[data-task="${taskId}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-task]').count()).to.be.at.least(52);
  });

  it('keeps the key when the gateway does not answer at a reload, and offers to try again', async () => {
    const tab = await context.newPage();
    await tab.goto(`${gw.url}/ui`);
    await tab.getByLabel('API key').fill(gw.adminKey);
    await tab.keyboard.press('Enter');
    await tab.getByRole('heading', { name: 'Live activity' }).waitFor();
    // As during a restart: the page loads (from cache or another replica), the key check cannot connect.
    await tab.route('**/ui/api/config', (r) => r.abort('connectionrefused'));
    await tab.reload();
    await tab.getByText('The gateway did not answer.').waitFor();
    expect(await tab.evaluate(() => sessionStorage.getItem('openmcp.apiKey'))).to.equal(gw.adminKey);
    await tab.unroute('**/ui/api/config');
    await tab.getByRole('button', { name: 'Try again' }).click();
    await tab.getByRole('heading', { name: 'Live activity' }).waitFor();
    // A task list that did not load has no counts to show: not a row of zeros passing for "no tasks".
    await tab.route(/\/v1\/tasks\?/, (r) => r.abort('connectionrefused'));
    await tab.reload();
    await tab.getByText('The gateway cannot be reached').first().waitFor();
    expect(await tab.locator('button[data-status] strong').allInnerTexts()).to.deep.equal(['—', '—', '—', '—', '—']);
    expect(await tab.locator('#by-status').innerText()).to.equal('Tasks by status');
    await tab.close();
  });

  it('asks for a key again when its key is revoked, even on a page that makes no REST call', async () => {
    const created = (await apiCall('/v1/keys', { method: 'POST', body: { role: 'operator', tenant: 'default', name: 'e2e revoked' } })).body;
    const tab = await context.newPage();
    await tab.goto(`${gw.url}/ui#/verify`);
    await tab.getByLabel('API key').fill(created.key);
    await tab.keyboard.press('Enter');
    await tab.locator('[data-live="live"]').waitFor();
    expect((await apiCall(`/v1/keys/${created.id}`, { method: 'DELETE' })).status).to.equal(204);
    // The live stream is the only connection left: the server ends it at its next heartbeat (UI_HEARTBEAT_MS: 1 s here, 15 s by default).
    await tab.getByText('Your key was refused').waitFor({ timeout: 60_000 });
    expect(await tab.getByLabel('API key').isVisible()).to.equal(true);
    expect(await tab.evaluate(() => sessionStorage.getItem('openmcp.apiKey'))).to.equal(null);
    await tab.close();
  });

  it("shows a viewer a task without the audit trail its role may not read, and no Try again on a 403", async () => {
    const viewer = (await apiCall('/v1/keys', { method: 'POST', body: { role: 'viewer', tenant: 'default', name: 'e2e viewer' } })).body;
    const tab = await context.newPage();
    const asked: string[] = [];
    tab.on('request', (r) => asked.push(r.url()));
    await tab.goto(`${gw.url}/ui#/tasks/${taskId}`);
    await tab.getByLabel('API key').fill(viewer.key);
    await tab.keyboard.press('Enter');
    await tab.getByText("Your key's role (viewer) cannot read a task's audit trail").waitFor();
    expect(await tab.locator('h2', { hasText: 'Timeline' }).innerText(), 'no count of events it cannot read').to.equal('Timeline');
    expect(asked.filter((u) => u.includes('/events')), 'no request its role is refused').to.deep.equal([]);
    await tab.getByRole('link', { name: 'Batches' }).click();
    await tab.getByText('role viewer lacks proofs:read').waitFor();
    expect(await tab.getByRole('button', { name: 'Try again' }).count(), 'the same key would be refused again').to.equal(0);
    await tab.close();
  });

  it('keeps an idle page current: per-minute counts and "ago" times move on with the clock', async () => {
    const tab = await context.newPage();
    await tab.clock.install();
    let counts = 0;
    tab.on('request', (r) => void (r.url().includes('/ui/api/activity') && counts++));
    await tab.goto(`${gw.url}/ui`);
    await tab.getByLabel('API key').fill(gw.adminKey);
    await tab.keyboard.press('Enter');
    const updated = tab.locator('tr[data-task]').first().locator('td').nth(5);
    await updated.waitFor();
    const [before, loads] = [await updated.innerText(), counts];
    // Nothing happens meanwhile (no notice reloads anything): only the clock moves.
    await tab.clock.fastForward(61_000);
    // The page's refetch and render take real time, more on a loaded machine: poll against the wall clock.
    for (const until = Date.now() + 15_000; (counts === loads || (await updated.innerText()) === before) && Date.now() < until; ) await tab.waitForTimeout(50);
    expect(counts, 'the per-minute counts read again').to.be.greaterThan(loads);
    expect(await updated.innerText(), `"${before}" a minute later`).to.not.equal(before);
    await tab.close();
  });

  it('sent no request anywhere but the gateway and the chain RPC', () => {
    const allowed = [new URL(gw.url).origin, new URL(gw.rpcUrl).origin];
    const stray = requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && !allowed.includes(new URL(u).origin));
    expect(requests.length).to.be.greaterThan(10);
    expect(stray, stray.join('\n')).to.deep.equal([]);
  });
});
