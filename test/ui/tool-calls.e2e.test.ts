import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { BrowserContext, Page } from 'playwright-core';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { httpClient } from '../mcp/support/clients';
import { requireService } from '../support/services';
import { chromiumAvailable, launchChromium, CHROMIUM } from './support/browser';
import { startUiGateway, type UiGateway } from './support/ui-gateway';

// What page.evaluate callbacks see (they run in the browser; the project's tsconfig has no DOM lib).
declare const document: { activeElement: { id: string } | null; title: string; querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> };
declare const location: { hash: string };
declare const window: { staleRows?: string[]; staleWatch?: { disconnect(): void } };
declare const MutationObserver: new (cb: () => void) => { observe(target: unknown, o: object): void; disconnect(): void };

const OUT = join(__dirname, '..', '..', 'test-output', 'ui');
/** An upstream's text that would be an element (and run its handler) if a view wrote it as HTML. */
const MARKUP = '<img src=x id=pwned onerror="document.title=\'pwned\'"> hello calls';

describe('dashboard /ui tool calls in headless Chromium: calls made through the gateway, listed and opened', function () {
  this.timeout(180_000);
  let gw: UiGateway;
  let dir: string;
  let context: BrowserContext;
  let closeBrowser: (() => Promise<void>) | undefined;
  let page: Page;
  let mcp: Client | undefined;
  const ids: Record<string, string> = {};

  const apiCall = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${gw.adminKey}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
  /** The newest recorded call of a tool, once the read model shows it answered. */
  const newest = async (server: string, tool: string) => {
    for (let i = 0; i < 100; i++) {
      const c = (await apiCall(`/v1/tool-calls?server=${server}&tool=${tool}&limit=1`)).body.items[0];
      if (c && c.status !== 'requested') return c as { id: string; taskId?: string; argumentsHash: string };
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no answered call of ${server}__${tool}`);
  };
  /**
   * Wait until the table lists exactly these calls. After a filter change the table first shows
   * nothing (loading), then the new rows: "an old row left" or "a row is there" alone is true too early.
   */
  const rowsAre = async (...callIds: string[]) => {
    const want = [...callIds].sort().join(' ');
    const shown = () => page.evaluate(() => Array.from(document.querySelectorAll('tr[data-call]'), (r) => r.getAttribute('data-call')!).sort().join(' '));
    await page.waitForFunction((w) => Array.from(document.querySelectorAll('tr[data-call]'), (r) => r.getAttribute('data-call')!).sort().join(' ') === w, want, { timeout: 15_000 }).catch(async (err: Error) => {
      throw new Error(`the table lists [${await shown()}], not [${want}]: ${err.message}`);
    });
  };
  /** Wait until the table lists `n` calls. */
  const rowCountIs = async (n: number) => {
    await page.waitForFunction((k) => document.querySelectorAll('tr[data-call]').length === k, n, { timeout: 15_000 }).catch(async (err: Error) => {
      throw new Error(`the table lists ${await page.locator('tr[data-call]').count()} calls, not ${n}: ${err.message}`);
    });
  };

  before(async function () {
    await requireService(this, `Debian chromium at ${CHROMIUM} (apt-get install -y chromium)`, chromiumAvailable);
    dir = mkdtempSync(join(tmpdir(), 'omc-ui-calls-'));
    // A second copy of the example server with its test tools (a tool error, a JSON-RPC error).
    const servers = join(dir, 'servers.json');
    writeFileSync(servers, JSON.stringify({ mcpServers: { tester: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER], env: { MCP_EXAMPLE_TEST_TOOLS: 'on' } } } }));
    const launched = launchChromium({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', acceptDownloads: false });
    launched.then((b) => (closeBrowser = b.close), () => {});
    gw = await startUiGateway({ UI_HEARTBEAT_MS: '1000', MCP_SERVERS_FILE: servers });
    const browser = await launched;
    context = browser.context;
    page = context.pages()[0] ?? (await context.newPage());
    mcp = await httpClient(`${gw.url}/mcp`, gw.adminKey);
  });

  // A failure on a loaded CI machine is seldom seen twice: keep what the page showed.
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !page) return;
    const name = this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    await page.screenshot({ path: join(OUT, 'failed', `${name}.png`), fullPage: true }).catch(() => {});
  });

  after(async () => {
    await mcp?.close().catch(() => {});
    await closeBrowser?.();
    await gw?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (gw) rmSync(gw.dataDir, { recursive: true, force: true });
  });

  it('lists a call made over /mcp as it is made (live), its markup shown as text', async () => {
    await page.goto(`${gw.url}/ui`);
    await page.getByLabel('API key').fill(gw.adminKey);
    await page.keyboard.press('Enter');
    await page.locator('[data-live="live"]').waitFor();
    await nav('Tool calls').click();
    await page.getByRole('heading', { name: 'Tool calls' }).waitFor();
    await page.getByText('No tool call yet.').waitFor();

    const res = await mcp!.callTool({ name: 'examples__echo', arguments: { text: MARKUP } });
    expect(res.isError).to.not.equal(true);
    const echo = await newest('examples', 'echo');
    ids.echo = echo.id;
    // The live list may show the call first as requested (a refresh between its two events): wait for the answer.
    const row = page.locator(`tr[data-call="${echo.id}"]`);
    await row.locator('.badge-completed').waitFor({ timeout: 15_000 });
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[1]).to.equal('examples__echo');
    expect(cells[2]).to.contain('Completed');
    expect(cells[3]).to.match(/\d.*(µs|ms|s)$/);
    expect(cells[6], 'no task: made over /mcp').to.equal('—');
    expect(await page.locator('#pwned').count()).to.equal(0);
  });

  it('shows a tool error, a failed call with its error code, and a task step with its task link; filters by status and server', async () => {
    const fail = await mcp!.callTool({ name: 'tester__fail', arguments: { message: 'it went <b>wrong</b>' } });
    expect(fail.isError).to.equal(true);
    ids.fail = (await newest('tester', 'fail')).id;
    const rejected = await mcp!.callTool({ name: 'tester__reject', arguments: { message: 'no <script>alert(1)</script> thanks \u202etxt.exe' } }).catch((err: Error) => err);
    expect(rejected).to.be.instanceOf(Error);
    ids.reject = (await newest('tester', 'reject')).id;
    const task = await apiCall('/v1/tasks', { method: 'POST', body: { steps: [{ tool: 'examples__reverse', arguments: { text: 'from a task' } }] } });
    expect(task.status, JSON.stringify(task.body)).to.equal(202);
    const step = await newest('examples', 'reverse');
    expect(step.taskId).to.equal(task.body.id);
    ids.task = task.body.id;
    ids.step = step.id;

    await page.locator(`tr[data-call="${ids.step}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator(`tr[data-call="${ids.fail}"] [data-is-error]`).innerText()).to.equal('yes');
    expect(await page.locator(`tr[data-call="${ids.reject}"] td`).nth(2).innerText()).to.match(/Failed \S+/);
    expect(await page.locator(`tr[data-call="${ids.step}"] [data-task-link]`).getAttribute('href')).to.equal(`#/tasks/${ids.task}`);

    // A status applies at once, keeps the focus in the form, and goes in the link; no render, not
    // even the first one under the new link, lists a call the filter leaves out.
    await page.evaluate((echo) => {
      window.staleRows = [];
      const watch = new MutationObserver(() => {
        if (location.hash.includes('status=failed') && document.querySelectorAll(`tr[data-call="${echo}"]`).length) window.staleRows!.push(location.hash);
      });
      watch.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
      window.staleWatch = watch;
    }, ids.echo);
    await page.getByLabel('Status').focus();
    await page.getByLabel('Status').selectOption('failed');
    await page.waitForFunction(() => location.hash === '#/tool-calls?status=failed');
    await rowsAre(ids.reject);
    expect(await page.evaluate(() => (window.staleWatch!.disconnect(), window.staleRows)), 'renders listing the echo under status=failed').to.deep.equal([]);
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('call-status');

    await page.getByLabel('Status').selectOption('');
    await page.waitForFunction(() => location.hash === '#/tool-calls');
    await page.getByLabel('Server', { exact: true }).fill('tester');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => location.hash === '#/tool-calls?server=tester');
    await rowsAre(ids.fail, ids.reject);
    await page.getByLabel('Status').selectOption('requested');
    await page.getByText('No tool call matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Show all calls' }).click();
    await page.locator(`tr[data-call="${ids.echo}"]`).waitFor();
    expect(await page.getByLabel('Server', { exact: true }).inputValue(), 'the form shows the filter applied').to.equal('');
    // A filter the API refuses says so, with none of the calls the filter before it listed: not
    // even for the one render before its request is made (each DOM change after the hash is watched).
    await page.evaluate(`window.staleRows = 0;
      new MutationObserver(() => void (document.querySelector('tr[data-call]') && window.staleRows++)).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      location.hash = '#/tool-calls?taskId=not-a-task';`);
    await page.getByText('a task id is a UUID').waitFor();
    expect(await page.locator('tr[data-call]').count(), 'no rows of the previous filter').to.equal(0);
    expect(await page.evaluate('window.staleRows'), 'renders showing the rows of the previous filter').to.equal(0);
    await page.getByRole('button', { name: 'Show all calls' }).click();
    await page.locator(`tr[data-call="${ids.echo}"]`).waitFor();
    await page.screenshot({ path: join(OUT, 'tool-calls-desktop.png'), fullPage: true });
  });

  it("opens a call: hashes, the recorded arguments and result as text, a failed call's error, a step's task", async () => {
    // From the list itself, whatever the case before left on screen.
    await nav('Tool calls').click();
    await page.locator(`tr[data-call="${ids.echo}"] a`).first().click();
    await page.getByRole('heading', { name: 'Tool call examples__echo' }).waitFor();
    const argumentsHash = (await apiCall(`/v1/tool-calls/${ids.echo}`)).body.argumentsHash;
    expect(await page.locator('dd code.hex').first().getAttribute('title')).to.equal(argumentsHash);
    expect(await page.locator('[data-payload="arguments"] pre.json').innerText()).to.contain(MARKUP.replace(/"/g, '\\"'));
    expect(await page.locator('[data-payload="result"] pre.json').innerText()).to.contain('hello calls');
    expect(await page.locator('#pwned').count()).to.equal(0);
    expect(await page.evaluate(() => document.title)).to.not.equal('pwned');
    await page.screenshot({ path: join(OUT, 'tool-call-desktop.png'), fullPage: true });

    await page.goto(`${gw.url}/ui#/tool-calls/${ids.reject}`);
    await page.getByRole('heading', { name: 'Tool call tester__reject' }).waitFor();
    expect(await page.locator('[data-error]').innerText()).to.contain('no <script>alert(1)</script> thanks');
    // A bidirectional override in the upstream's text is shown as its escape: raw, "\u202etxt.exe" reads "exe.txt".
    expect(await page.locator('[data-error]').innerText()).to.contain('thanks \\u202etxt.exe').and.not.contain('\u202e');
    expect(await page.locator('[data-payload="result"]').getAttribute('data-state')).to.equal('none');

    await page.goto(`${gw.url}/ui#/tool-calls/${ids.fail}`);
    await page.getByRole('heading', { name: 'Tool call tester__fail' }).waitFor();
    expect(await page.locator('[data-is-error]').getAttribute('data-is-error')).to.equal('true');

    await page.goto(`${gw.url}/ui#/tool-calls/${ids.step}`);
    await page.locator('[data-task-link]').click();
    await page.getByRole('heading', { name: /Task/ }).waitFor();
    // And back: the task's own calls, filtered by it.
    await page.locator('[data-task-calls]').click();
    await page.locator('[data-task-filter]').waitFor();
    await rowsAre(ids.step);
  });

  it('pages back through older calls, newest first, 50 at a time', async () => {
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 10 }, (_, j) => mcp!.callTool({ name: 'examples__echo', arguments: { text: `page ${i}-${j}` } })));
    await nav('Tool calls').click();
    // 54 answered calls now: the first (echo) is on the second page.
    // The read model may still be catching up when the list loads: a live refresh completes the page.
    await page.waitForFunction((echo) => document.querySelectorAll('tr[data-call]').length === 50 && !document.querySelectorAll(`tr[data-call="${echo}"]`).length, ids.echo, { timeout: 15_000 });
    await page.getByRole('button', { name: 'Load older calls' }).click();
    await page.locator(`tr[data-call="${ids.echo}"]`).waitFor({ timeout: 15_000 });
    await rowCountIs(54);
    expect(await page.getByRole('button', { name: 'Load older calls' }).count()).to.equal(0);
  });

  it("links a server's calls from the MCP page", async () => {
    await nav('MCP servers').click();
    await page.locator('tr[data-server="tester"] [data-server-calls]').click();
    await page.waitForFunction(() => location.hash === '#/tool-calls?server=tester');
    expect(await page.getByLabel('Server', { exact: true }).inputValue()).to.equal('tester');
    await rowsAre(ids.fail, ids.reject);
  });
});
