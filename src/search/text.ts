const STOPWORDS = new Set(
  'a an the to of for and or in on at by with from into my me i we our you your it its this that these those is are be was were do does can could should would will please want need some any all what which who how when where there here up out about as so then than via using use'.split(' '),
);

/**
 * Words of a text: camelCase, snake_case and `server__tool` names split, lowercased, accents
 * dropped (`Créer` → `creer`). Letters and digits of every script count: splitting on what is not
 * `[a-z0-9]` cut `créer` into `cr` and `er` and left a Cyrillic or Greek description no word at all.
 */
export function words(text: string): string[] {
  return text
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** A light suffix stemmer: enough to meet "issues"/"issue", "creating"/"create", "sent"/"send" stays apart. */
export function stem(w: string): string {
  let s = w;
  if (s.length > 4 && s.endsWith('ies')) s = `${s.slice(0, -3)}y`;
  else if (s.length > 5 && s.endsWith('ing')) s = s.slice(0, -3);
  else if (s.length > 4 && s.endsWith('ed')) s = s.slice(0, -2);
  else if (s.length > 3 && s.endsWith('s') && !s.endsWith('ss')) s = s.slice(0, -1);
  if (s.length > 4 && s.endsWith('e')) s = s.slice(0, -1);
  return s;
}

/** Index/query term processing shared by the lexical index: stopwords dropped, stems kept. */
export function processTerm(term: string): string | null {
  const t = term.toLowerCase();
  if (STOPWORDS.has(t)) return null;
  return stem(t);
}

/**
 * Everyday words for what tools name formally. Expanding a query with them lets BM25 meet a
 * description that says "delete" when the user said "remove" (expansions score below the original words).
 */
export const SYNONYMS: Record<string, string[]> = {
  remove: ['delete'],
  erase: ['delete'],
  delete: ['remove'],
  fetch: ['get', 'read', 'download'],
  retrieve: ['get', 'read'],
  show: ['get', 'list', 'read'],
  find: ['search', 'lookup'],
  look: ['search', 'find'],
  lookup: ['search', 'find'],
  make: ['create'],
  add: ['create', 'insert'],
  new: ['create'],
  open: ['create'],
  write: ['create', 'update', 'save'],
  change: ['update', 'edit', 'modify'],
  edit: ['update', 'modify'],
  modify: ['update'],
  message: ['send', 'chat', 'post'],
  tell: ['send', 'notify', 'message'],
  notify: ['send', 'alert'],
  ping: ['send', 'notify'],
  mail: ['email'],
  email: ['mail'],
  ticket: ['issue'],
  bug: ['issue'],
  doc: ['document', 'file'],
  docs: ['document'],
  picture: ['image', 'photo'],
  photo: ['image'],
  image: ['picture', 'photo'],
  meeting: ['event', 'calendar'],
  schedule: ['event', 'calendar', 'create'],
  appointment: ['event', 'calendar'],
  money: ['payment', 'charge'],
  pay: ['payment', 'charge'],
  refund: ['payment', 'refund'],
  customer: ['user', 'contact'],
  person: ['contact', 'user'],
  weather: ['forecast'],
  temperature: ['weather', 'forecast'],
  translate: ['translation', 'language'],
  run: ['execute', 'query'],
  execute: ['run'],
  sql: ['query', 'database'],
  db: ['database'],
  table: ['database', 'sheet'],
  spreadsheet: ['sheet', 'table'],
  cell: ['sheet'],
  repo: ['repository'],
  pr: ['pull', 'request'],
  merge: ['pull', 'request'],
  deploy: ['deployment', 'release'],
  container: ['docker', 'pod'],
  log: ['logs'],
  error: ['exception', 'incident'],
  crash: ['error', 'exception'],
  rain: ['weather', 'forecast'],
  snow: ['weather', 'forecast'],
  euro: ['currency', 'exchange'],
  dollar: ['currency', 'exchange'],
  currency: ['exchange'],
  compute: ['evaluate', 'math', 'calculate'],
  calculate: ['evaluate', 'math'],
  percent: ['evaluate', 'math'],
  rename: ['move'],
  save: ['write', 'store'],
  hour: ['time'],
  minute: ['time'],
  submit: ['click', 'form'],
  page: ['alert', 'incident', 'notion'],
  summarize: ['summary'],
  price: ['quote', 'stock'],
  stock: ['quote', 'price'],
  balance: ['account', 'wallet'],
  crypto: ['token', 'wallet'],
  transfer: ['send', 'transaction'],
  directions: ['route'],
  address: ['geocode', 'location'],
  map: ['location', 'route'],
  song: ['track', 'music'],
  music: ['track', 'song', 'playlist'],
  video: ['youtube'],
  shorten: ['short', 'link'],
  url: ['link', 'web', 'page'],
  website: ['web', 'page', 'url'],
  browse: ['navigate', 'web', 'page'],
  screenshot: ['capture', 'screen'],
  click: ['browser', 'element'],
};

/** Distinct words of a query that are searched for. */
export const MAX_QUERY_WORDS = 64;

/** Query words plus their synonyms (synonyms marked so they can be scored lower). */
export function expandQuery(q: string): { original: string[]; expanded: string[] } {
  // Each distinct word once, at most MAX_QUERY_WORDS: a word repeated or a pasted page costs no more than a sentence.
  const original = [...new Set(words(q).filter((w) => !STOPWORDS.has(w)))].slice(0, MAX_QUERY_WORDS);
  const have = new Set(original);
  const expanded: string[] = [];
  // A query naming a web address is about opening it.
  if (/https?:\/\/|\b[\w-]+\.(com|org|net|io|dev|app)\b/i.test(q) && !have.has('url')) (have.add('url'), expanded.push('url'));
  for (const w of original) for (const s of SYNONYMS[w] ?? SYNONYMS[stem(w)] ?? SYNONYMS[w.replace(/s$/, '')] ?? []) if (!have.has(s)) (have.add(s), expanded.push(s));
  return { original, expanded };
}
