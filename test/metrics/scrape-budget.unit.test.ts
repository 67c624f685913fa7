import { expect } from 'chai';
import { currentScrapeReadTimeoutMs, SCRAPE_READ_TIMEOUT_MS, scrapeReadTimeoutMs, withScrapeReadTimeout } from '../../src/metrics';

describe("scrape budget (a scrape's reads get half the scraper's timeout)", () => {
  it("takes half of X-Prometheus-Scrape-Timeout-Seconds: Prometheus' default 10 s gives the 5 s used without the header", () => {
    expect(scrapeReadTimeoutMs('10')).to.equal(5000);
    expect(scrapeReadTimeoutMs('2.5')).to.equal(1250);
    expect(scrapeReadTimeoutMs(['3', '9'])).to.equal(1500);
    expect(scrapeReadTimeoutMs(undefined)).to.equal(SCRAPE_READ_TIMEOUT_MS);
  });

  it('falls back to 5 s for a header that is not a positive number of seconds, and bounds a huge one (/metrics is public)', () => {
    for (const bad of ['', '0', '-4', 'ten', 'NaN', 'Infinity']) expect(scrapeReadTimeoutMs(bad), bad).to.equal(SCRAPE_READ_TIMEOUT_MS);
    expect(scrapeReadTimeoutMs('1e9')).to.equal(60_000);
    expect(scrapeReadTimeoutMs('0.0001')).to.equal(1);
  });

  it('holds the timeout for the scrape it runs, and only there', async () => {
    expect(currentScrapeReadTimeoutMs()).to.equal(SCRAPE_READ_TIMEOUT_MS);
    const seen = await withScrapeReadTimeout(700, async () => {
      await new Promise((r) => setImmediate(r));
      return currentScrapeReadTimeoutMs();
    });
    expect(seen).to.equal(700);
    expect(currentScrapeReadTimeoutMs()).to.equal(SCRAPE_READ_TIMEOUT_MS);
  });

  it('scrapes that overlap share the shortest budget among them, so none overruns its own (each used to see its own through an AsyncLocalStorage, which cost every request of the process ~30 µs)', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const long = withScrapeReadTimeout(4000, async () => {
      await held;
      return currentScrapeReadTimeoutMs();
    });
    const short = await withScrapeReadTimeout(900, async () => {
      release();
      await new Promise((r) => setImmediate(r));
      return currentScrapeReadTimeoutMs();
    });
    expect(short).to.equal(900);
    expect(await long, 'the 4 s scrape read while the 0.9 s one was under way').to.equal(900);
    expect(await withScrapeReadTimeout(4000, async () => currentScrapeReadTimeoutMs()), 'alone').to.equal(4000);
    expect(currentScrapeReadTimeoutMs()).to.equal(SCRAPE_READ_TIMEOUT_MS);
  });
});
