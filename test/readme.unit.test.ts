import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CONFIG_VARIABLES, ConfigSchema, loadConfig } from '../src/config';
import { parse } from 'yaml';
import { z } from 'zod';
import { buildCli } from '../src/cli/main';
import { migrationSource } from '../migrations';

const ROOT = join(__dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
/** README's reference, moved out of it: the variable table, and the interfaces with the CLI's commands. */
const configuration = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
const interfaces = readFileSync(join(ROOT, 'docs', 'interfaces.md'), 'utf8');
/** README and the two docs its reference moved to: what it sends a newcomer to, checked as README was. */
const PAGES = { 'README.md': readme, 'docs/configuration.md': configuration, 'docs/interfaces.md': interfaces };

/** A `## heading` section of a markdown text, its subsections included, up to the next `## `. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  expect(start, `section "## ${heading}"`).to.be.greaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The CLI's reference (docs/interfaces.md, "CLI" and "`openmcp mcp stdio`"): what README's CLI line held. */
const cliText = () => section(interfaces, 'CLI') + section(interfaces, '`openmcp mcp stdio`');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Variables src/ reads outside the configuration schema: `process.env.X`, `env.X` (the CLI's
 * client settings), commander's `.env('X')` defaults of an option.
 */
function variablesReadOutsideConfig(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [/\bprocess\.env\.([A-Z][A-Z0-9_]+)/g, /\bprocess\.env\[['"]([A-Z][A-Z0-9_]+)['"]\]/g, /\benv\.([A-Z][A-Z0-9_]+)/g, /\.env\(\s*'([A-Z][A-Z0-9_]+)'\s*\)/g];
  for (const f of sources(join(ROOT, 'src'))) {
    if (f === join(ROOT, 'src', 'config.ts')) continue;
    const text = readFileSync(f, 'utf8');
    for (const re of patterns) for (const m of text.matchAll(re)) if (!found.has(m[1])) found.set(m[1], f.slice(ROOT.length + 1));
  }
  return found;
}

/** README is part of the product: these checks keep it true as the code changes. */
describe('README', () => {
  it('documents every configuration variable in the table of docs/configuration.md', () => {
    const missing = CONFIG_VARIABLES.filter((v) => !configuration.includes(`| \`${v}\` |`));
    expect(missing, 'variables missing from docs/configuration.md').to.deep.equal([]);
  });

  it('keeps in its Configuration section the variables that switch each part to production, PORT and DATA_DIR, and a link to the full table', () => {
    const orientation = section(readme, 'Configuration');
    const switches = ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'KURRENTDB_URL', 'CHAIN_RPC_URL', 'ANCHOR_CONTRACT', 'ANCHORER_PRIVATE_KEY', 'ANCHORER_KEYSTORE', 'OPENAI_BASE_URL', 'OPENAI_API_KEY', 'EMBEDDING_MODEL_DIR', 'PORT', 'DATA_DIR'];
    expect(switches.filter((v) => !(CONFIG_VARIABLES as string[]).includes(v)), 'settings the schema has').to.deep.equal([]);
    expect(switches.filter((v) => !orientation.includes(`\`${v}`)), "missing from README's Configuration").to.deep.equal([]);
    expect(orientation).to.include('](docs/configuration.md)');
  });

  it("states each variable's default as the schema has it", () => {
    const defaults = ConfigSchema.parse({}) as Record<string, unknown>;
    // Without a schema default: unset (—), made at first start (generated), or derived from another setting.
    const derived: Record<string, string> = {
      DATABASE_URL: '`sqlite:DATA_DIR/openmcp.db`',
      LLM_CACHE_TTL_MS: '`86400000`, `0` under `LLM_REDACTION=hash-only`',
      MCP_CACHE_TTL_MS: '`5000`, `0` under `MCP_PAYLOAD_POLICY=hash-only` or `encrypted`',
      OPENMCP_EXAMPLES: '`on` until an admin removes `examples`',
    };
    const wrong = CONFIG_VARIABLES.flatMap((v) => {
      const cell = configuration.split('\n').find((l) => l.startsWith(`| \`${v}\` |`))?.split('|')[2].trim();
      const want = defaults[v] === undefined ? (derived[v] ?? ['—', 'generated']) : [`\`${String(defaults[v])}\``];
      return ([] as string[]).concat(want).includes(cell ?? '') ? [] : [`${v}: docs/configuration.md says ${cell}, the schema ${JSON.stringify(defaults[v] ?? null)}`];
    });
    expect(wrong).to.deep.equal([]);
  });

  it("states each numeric variable's bounds as the schema has them (was: twenty rows gave none, so a value past one was found only when the start refused it)", () => {
    /** Each number setting's accepted range: `min to max` (or `min–max`) in its row, as the schema checks it. */
    const wrong: string[] = [];
    for (const v of CONFIG_VARIABLES) {
      let schema = ConfigSchema.shape[v] as unknown as { unwrap?: () => unknown; minValue?: number | null; maxValue?: number | null };
      while (typeof schema.unwrap === 'function') schema = schema.unwrap() as typeof schema;
      if (!(schema instanceof z.ZodNumber)) continue;
      const cell = configuration.split('\n').find((l) => l.startsWith(`| \`${v}\` |`))!.split('|').slice(3).join('|');
      // `a to b` (or `a–b`), `at least a` (no upper bound), `above a, up to b` (a itself refused: BATCH_MAX_SECONDS).
      const stated = [...cell.matchAll(/\b(\d+) ?(?:to|–) ?(\d+)\b|\bat least (\d+)\b|\babove (\d+), up to (\d+)\b/g)].map((m) =>
        m[1] !== undefined ? [Number(m[1]), Number(m[2])] : m[3] !== undefined ? [Number(m[3]), Number.MAX_SAFE_INTEGER] : [Number(m[4]), Number(m[5])],
      );
      const [min, max] = [schema.minValue ?? 0, schema.maxValue ?? Number.MAX_SAFE_INTEGER];
      // A port says so; an unbounded count (1 and up, 0 and up) needs no range.
      if (/\bport\b/.test(cell) && min === 1 && max === 65535) continue;
      if (min <= 1 && max === Number.MAX_SAFE_INTEGER && !stated.length) continue;
      if (!stated.length) wrong.push(`${v}: no range, the schema takes ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}`);
      else if (stated[0][0] !== min || stated[0][1] !== max) wrong.push(`${v}: docs/configuration.md says ${stated[0].join(' to ')}, the schema ${min} to ${max}`);
    }
    expect(wrong).to.deep.equal([]);
  });

  it('names no variable the configuration schema does not have (a row of the table in docs/configuration.md or README)', () => {
    const rows = Object.entries(PAGES).flatMap(([page, text]) => [...text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => `${page}: ${m[1]}`));
    expect(rows.length, 'the rows of docs/configuration.md').to.be.greaterThan(CONFIG_VARIABLES.length);
    const unknown = rows.filter((r) => r.split(': ')[1] !== 'OPENMCP_CONFIG' && !(CONFIG_VARIABLES as string[]).includes(r.split(': ')[1]));
    expect(unknown).to.deep.equal([]);
  });

  it('documents every variable read outside the configuration schema (client commands, verify) in docs/configuration.md or docs/interfaces.md', () => {
    const outside = variablesReadOutsideConfig();
    expect(outside.size, 'the scan finds the client settings').to.be.greaterThan(1);
    const missing = [...outside].filter(([v]) => !configuration.includes(`\`${v}\``) && !interfaces.includes(`\`${v}\``)).map(([v, f]) => `${v} (${f})`);
    expect(missing, 'variables missing from docs/configuration.md and docs/interfaces.md').to.deep.equal([]);
  });

  it('docs/operations.md names every variable the product reads', () => {
    const all = [...CONFIG_VARIABLES, 'OPENMCP_CONFIG', ...variablesReadOutsideConfig().keys()];
    const missing = all.filter((v) => !operations.includes(`\`${v}\``));
    expect(missing, 'variables missing from docs/operations.md').to.deep.equal([]);
  });

  it('names (here, in docs/ and in infra/) no setting that does not exist: an UPPER_SNAKE word of a settings family (KAFKA_, MCP_, OPENMCP_, …) is a variable the product reads, or a name the code, its tests or a compose service has', () => {
    const read = new Set<string>([...CONFIG_VARIABLES, 'OPENMCP_CONFIG', ...variablesReadOutsideConfig().keys()]);
    const families = new Set([...read].map((v) => /^[A-Z]+_/.exec(v)?.[0]).filter((p): p is string => p !== undefined));
    expect([...families], 'the families').to.include.members(['OPENMCP_', 'KAFKA_', 'MCP_', 'AGENT_']);
    // Constants, error codes and test or benchmark settings: any UPPER_SNAKE word in the sources.
    const known = new Set(read);
    for (const dir of ['src', 'events', 'test', 'bench']) for (const f of sources(join(ROOT, dir))) for (const m of readFileSync(f, 'utf8').matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/g)) known.add(m[0]);
    // The other images' settings (Kafka's, MySQL's) and the secrets compose reads from infra/.env.
    const infra = ['docker-compose.yml', '.env.example', 'Dockerfile', 'docker-compose.scale.yml', 'prometheus/alerts.yml', 'config/mcp-servers.yaml', 'config/policy.yaml'].map((f) => join('infra', f));
    const compose = parse(readFileSync(join(ROOT, 'infra', 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
    for (const s of Object.values(compose.services)) for (const k of Object.keys(s.environment ?? {})) known.add(k);
    for (const m of readFileSync(join(ROOT, 'infra', 'docker-compose.yml'), 'utf8').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)) known.add(m[1]);
    // Names the docs make up as examples: a wallet's privateKeyEnv and passwordEnv (docs/agent.md), and a prefix.
    for (const example of ['AGENT_WALLET_KEY', 'AGENT_WALLET_PASSWORD', 'MCP_UPSTREAM_']) known.add(example);
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f)), ...infra];
    const unknown: string[] = [];
    for (const doc of docs) {
      for (const m of readFileSync(join(ROOT, doc), 'utf8').matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*\b/g)) {
        const family = /^[A-Z]+_/.exec(m[0])![0];
        if (families.has(family) && !known.has(m[0])) unknown.push(`${doc}: ${m[0]}`);
      }
    }
    expect([...new Set(unknown)], 'settings no code reads').to.deep.equal([]);
  });

  it('names every key file the code keeps in DATA_DIR, in docs/configuration.md and in the backup table of docs/operations.md', () => {
    const files = new Set<string>();
    for (const f of sources(join(ROOT, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(/['`]([a-z-]+\.key)['`]/g)) files.add(m[1]);
    expect([...files], 'the scan finds the key files').to.include.members(['admin.key', 'sealer.key']);
    const dataDirRow = configuration.split('\n').find((l) => l.startsWith('| `DATA_DIR` |'));
    expect(dataDirRow, 'the DATA_DIR row of docs/configuration.md').to.be.a('string');
    expect([...files].filter((k) => !dataDirRow!.includes(`\`${k}\``)), 'missing from the DATA_DIR row of docs/configuration.md').to.deep.equal([]);
    expect([...files].filter((k) => !operations.includes(`| **DATA_DIR/${k}** |`)), 'missing from the backup table of docs/operations.md').to.deep.equal([]);
  });

  // A migration added to a release after its rollback note was written (20261211050000_subject_events)
  // was left out of the statement: an operator going back to 2026-12-06 kept it recorded, and
  // upgrading again skipped its backfill of the subject index.
  it('the rollback statement of docs/operations.md forgets every migration of the releases after 2026-12-06', async () => {
    const names = await migrationSource.getMigrations([]);
    const statement = operations.split('\n').find((l) => l.includes('DELETE FROM knex_migrations WHERE name IN'));
    expect(statement, 'the rollback statement').to.be.a('string');
    const listed = [...statement!.matchAll(/'(\d{14}_[a-z_]+)'/g)].map((m) => m[1]);
    expect(listed).to.deep.equal(names.filter((n) => n >= '20261210'));
  });

  it('the backup table of docs/operations.md covers the embedded database, with a copy that holds what its WAL file holds', () => {
    const file = basename(loadConfig({}, ROOT).databaseUrl.replace(/^sqlite:/, ''));
    const row = operations.split('\n').find((l) => l.startsWith(`| **DATA_DIR/${file}**`));
    expect(row, `a row for DATA_DIR/${file}`).to.be.a('string');
    // A copy of the file alone, while the gateway runs, misses every commit still in DATA_DIR/<file>-wal.
    expect(row).to.include(`${file}-wal`);
    expect(row).to.include('.backup(');
  });

  it('shows the two commands and the test command .ci/run uses', () => {
    expect(readme).to.include('npm install && npm start');
    expect(readme).to.include('npm install && npm test');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(readme).to.include(pkg.scripts.test);
    const ciRun = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    expect(ciRun).to.match(/^npm test$/m);
    // What .ci/run provisions before the tests, README says it provisions (and that without it suites skip).
    for (const [service, pattern] of [['MariaDB', /mariadbd/], ['Redis', /redis-server/], ['chromium', /apt-get install[^\n]*\bchromium\b/]] as const) {
      if (pattern.test(ciRun)) expect(readme, `.ci/run provisions ${service}`).to.include(service);
    }
  });

  it('lists only CLI commands that exist (docs/interfaces.md, "CLI" and "`openmcp mcp stdio`")', () => {
    const cli = buildCli();
    const names = new Set<string>();
    const walk = (c: typeof cli, prefix: string) =>
      c.commands.forEach((s) => {
        names.add(`${prefix}${s.name()}`);
        walk(s, `${prefix}${s.name()} `);
      });
    walk(cli, '');
    const line = cliText();
    const listed = [...line.matchAll(/`([a-z][a-z-]*(?: [a-z][a-z|-]*)?)(?: [<[-][^`]*)?`/g)].map((m) => m[1]).filter((n) => n !== 'openmcp');
    for (const entry of listed) {
      const [head, sub] = entry.split(' ');
      for (const s of sub ? sub.split('|').map((x) => `${head} ${x}`) : [head]) expect(names.has(s), `openmcp ${s}`).to.equal(true);
    }
  });

  /** Every `openmcp …` README and docs/ show: in code blocks, in inline code, and the entries of the CLI's reference in docs/interfaces.md. */
  function readmeInvocations(): string[] {
    const out: string[] = [];
    const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(ROOT, 'docs', f), 'utf8'));
    for (const text of [readme, ...docs]) {
      for (const block of text.matchAll(/^```(?:sh|bash)?\n([\s\S]*?)^```/gm)) {
        for (const line of block[1].split('\n')) {
          const i = line.indexOf('openmcp ');
          if (i >= 0) out.push(line.slice(i + 'openmcp '.length).replace(/\s+#\s.*$/, ''));
        }
      }
      for (const m of text.matchAll(/`openmcp ([^`]+)`/g)) out.push(m[1]);
    }
    for (const m of cliText().matchAll(/`([a-z][^`]*)`/g)) out.push(m[1]);
    // infra/docker-compose.yml: its services' commands, and those its header shows.
    const compose = readFileSync(join(ROOT, 'infra', 'docker-compose.yml'), 'utf8');
    for (const m of compose.matchAll(/^#.*\bbin\/openmcp (.+)$/gm)) out.push(m[1]);
    for (const s of Object.values((parse(compose, { merge: true }) as { services: Record<string, { command?: string[] }> }).services)) {
      const i = s.command?.indexOf('bin/openmcp') ?? -1;
      if (i >= 0) out.push(s.command!.slice(i + 1).join(' '));
    }
    return out;
  }

  it('shows (here, in docs/ and in infra/docker-compose.yml) only options the CLI parser has, on the command that has them', () => {
    const cli = buildCli();
    let checked = 0;
    for (const invocation of readmeInvocations()) {
      const tokens = invocation.split(' -- ')[0].split(/\s+/).filter(Boolean);
      // `tasks list|show` names two commands: check each.
      const [head, ...rest] = tokens;
      for (const first of head.split('|')) {
        let cmd = cli.commands.find((c) => c.name() === first);
        if (!cmd) continue;
        let k = 0;
        for (; k < rest.length; k++) {
          const subs = rest[k].split('|').map((n) => cmd!.commands.find((c) => c.name() === n));
          if (!subs.every(Boolean)) break;
          cmd = subs[0]!;
        }
        for (const t of rest.slice(k)) {
          const opt = /^\[?(--[a-z][a-z-]*)/.exec(t)?.[1];
          if (!opt) continue;
          checked++;
          expect(cmd.options.map((o) => o.long), `openmcp ${invocation}: ${opt}`).to.include(opt);
        }
      }
    }
    expect(checked, 'options found in README').to.be.greaterThan(10);
  });

  it('lists every CLI command in the CLI reference of docs/interfaces.md', () => {
    const line = cliText();
    const entries = [...line.matchAll(/`([a-z][a-z-]*(?: [a-z][a-z|-]*)*)/g)].map((m) => m[1].split(' '));
    const listed = new Set(entries.flatMap(([head, sub, third]) => (sub ? sub.split('|').flatMap((x) => (third ? third.split('|').map((y) => `${head} ${x} ${y}`) : [`${head} ${x}`])) : [head])));
    const leaves: string[] = [];
    const walk = (c: ReturnType<typeof buildCli>, prefix: string) =>
      c.commands.forEach((s) => (s.commands.length ? walk(s, `${prefix}${s.name()} `) : leaves.push(`${prefix}${s.name()}`)));
    walk(buildCli(), '');
    expect(leaves.filter((l) => !listed.has(l)), 'commands missing from docs/interfaces.md').to.deep.equal([]);
  });

  it('links (README, docs/configuration.md, docs/interfaces.md) only to docs that exist, and to headings they have', () => {
    // GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    let linked = 0;
    for (const [page, text] of Object.entries(PAGES)) {
      // A link to a markdown file of the repository, relative to the page (`docs/agent.md` from README, `agent.md` or `../README.md` from docs/).
      for (const m of text.matchAll(/\]\(((?:\.\.\/)*[\w./-]+\.md)(?:#([^)]+))?\)/g)) {
        const target = join(dirname(page), m[1]);
        linked++;
        expect(existsSync(join(ROOT, target)), `${page}: ${m[1]}`).to.equal(true);
        if (m[2] === undefined) continue;
        const anchors = [...readFileSync(join(ROOT, target), 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((h) => slug(h[1]));
        expect(anchors, `${page}: ${m[1]}#${m[2]}`).to.include(m[2]);
      }
    }
    expect(linked, 'links found').to.be.greaterThan(10);
  });

  it('names (README, docs/configuration.md, docs/interfaces.md) only files and folders of the repository that exist (examples/mcp-http/server.ts, src/sdk…), so every command shown runs from a clone', () => {
    const paths = Object.values(PAGES).flatMap((text) => [...text.matchAll(/(?<![\w/.$-])(?:\$PWD\/)?((?:bin|contracts|docs|events|examples|infra|migrations|projections|scripts|src|test|ui)\/[\w./-]*\w)/g)].map((m) => m[1])).filter((p) => !p.includes('*'));
    expect(paths).to.include.members(['examples/mcp-http/server.ts', 'examples/mcp-stdio/server.ts', 'src/config.ts', 'src/sdk']);
    for (const p of new Set(paths)) expect(existsSync(join(ROOT, p)), p).to.equal(true);
  });

  /**
   * The sections a markdown file has, by name: its headings (`## Rotating keys`), each with the text under it up to the
   * next heading of its level or above, and its paragraphs' bold run-ins (`**Health across replicas.**`). Code spans are
   * read without their asterisks, so a masked value (`***`) does not pair with the next bold run.
   */
  function sectionsOf(file: string): { name: string; body: string }[] {
    const flat = (s: string) => s.replace(/\s+/g, ' ').trim();
    const text = readFileSync(join(ROOT, file), 'utf8').replace(/`[^`\n]*`/g, (code) => code.replace(/\*/g, ''));
    const lines = text.split('\n');
    const out: { name: string; body: string }[] = [];
    let fence = false;
    lines.forEach((l, i) => {
      if (l.startsWith('```')) fence = !fence;
      const h = fence ? null : /^(#{1,6}) (.+)$/.exec(l);
      if (!h) return;
      const next = lines.findIndex((m, j) => j > i && new RegExp(`^#{1,${h[1].length}} `).test(m));
      out.push({ name: flat(h[2]), body: lines.slice(i, next < 0 ? undefined : next).join('\n') });
    });
    for (const m of text.matchAll(/\*\*([^*]+)\*\*/g)) out.push({ name: flat(m[1]), body: '' });
    return out;
  }

  /** The name a citation gives matches a section's: exactly, or before its ` (…)`, or without its closing `.` or `:`. */
  const names = (section: string, cited: string) => section === cited || section.startsWith(`${cited} (`) || section.replace(/[.:]$/, '') === cited;

  /**
   * Where README, docs/ and src/ (comments, error messages) send a reader to a section by name: `docs/operations.md,
   * "Rotating keys"`, `[docs/agent.md](agent.md), "Sealed answers"`, `README, "More MCP servers"`, and a named paragraph
   * within a section, `docs/security.md, "Personal data", "What erasure leaves, and what it does not break"`;
   * `docs/proofs.md §6` by its number.
   */
  function citations(): { where: string; file: string; section: string; paragraph?: string }[] {
    const flat = (s: string) => s.replace(/\s+/g, ' ').trim();
    const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const code = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'test'))].map((f) => f.slice(ROOT.length + 1));
    const out: { where: string; file: string; section: string; paragraph?: string }[] = [];
    for (const where of [...pages, ...code]) {
      let text = readFileSync(join(ROOT, where), 'utf8');
      // A comment's lines read as one: ` * ` and `// ` at a line's start are not part of the name.
      if (where.endsWith('.ts')) text = text.replace(/\n\s*(?:\*(?!\/)|\/\/)\s?/g, '\n');
      for (const m of text.matchAll(/\b(docs\/[a-z-]+\.md|README)\]?(?:\([^)]*\))?,? "([^"]+)"(?:, "([^"]+)")?/g)) {
        out.push({ where, file: m[1] === 'README' ? 'README.md' : m[1], section: flat(m[2]), paragraph: m[3] === undefined ? undefined : flat(m[3]) });
      }
      for (const m of text.matchAll(/\b(docs\/[a-z-]+\.md) §(\d+)/g)) out.push({ where, file: m[1], section: `§${m[2]}` });
    }
    return out;
  }

  it('names only sections the docs have, where README, a doc under docs/ or src/ sends a reader to one by name (docs/operations.md, "Rotating keys"), and a named paragraph within the section named', () => {
    const refs = citations();
    expect(refs.length, 'README, docs/ and src/ send readers to sections by name').to.be.greaterThan(200);
    expect(refs.filter((r) => r.where.startsWith('src/')).length, 'src/ among them').to.be.greaterThan(3);
    const dangling: string[] = [];
    for (const { where, file, section, paragraph } of refs) {
      const cite = `${where}: ${file}, "${section}"${paragraph === undefined ? '' : `, "${paragraph}"`}`;
      if (!existsSync(join(ROOT, file))) {
        dangling.push(`${cite} (no such file)`);
        continue;
      }
      const sections = sectionsOf(file);
      const found = section.startsWith('§') ? sections.filter((s) => s.name.startsWith(`${section.slice(1)}. `)) : sections.filter((s) => names(s.name, section));
      if (!found.length) dangling.push(cite);
      else if (paragraph !== undefined) {
        const within = found.flatMap((s) => [...s.body.matchAll(/^#{1,6} (.+)$/gm), ...s.body.matchAll(/\*\*([^*]+)\*\*/g)].map((m) => m[1].replace(/\s+/g, ' ').trim()));
        if (!within.some((n) => names(n, paragraph))) dangling.push(`${cite} (no such paragraph in that section)`);
      }
    }
    expect(dangling, 'citations of a section that is not there: name the heading that holds the text, or the heading and the paragraph').to.deep.equal([]);
  });
});
