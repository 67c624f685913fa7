/** The fewest characters a chosen OPENMCP_ADMIN_KEY may have. */
export const ADMIN_KEY_MIN_LENGTH = 32;
/** The least estimated entropy (bits) of a chosen OPENMCP_ADMIN_KEY. */
const MIN_BITS = 96;

export const ADMIN_KEY_ADVICE = 'generate one with `openssl rand -base64 32` (or `node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64url\'))"`)';

/**
 * Why a chosen admin key is too weak to be stored as an unsalted SHA-256 (a leaked database
 * allows an offline search of it), or undefined when it is fine. The estimate is the key's length
 * times the Shannon entropy of its characters, and a key that repeats a shorter one is refused:
 * it catches short, repetitive and small-alphabet keys, not a dictionary phrase — use a random one.
 * Generated keys (`omk_` + 43 random characters) and `openssl rand -hex 16` or more pass.
 * @example adminKeyWeakness('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') // 'too repetitive …'
 */
export function adminKeyWeakness(key: string): string | undefined {
  if (key.length < ADMIN_KEY_MIN_LENGTH) return `shorter than ${ADMIN_KEY_MIN_LENGTH} characters`;
  const counts = new Map<string, number>();
  for (const c of key) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / key.length) * Math.log2(n / key.length);
  // The shortest period p with key[i] === key[i - p] throughout: `abcabc…` is `abc` repeated.
  const repeats = [...Array(Math.floor(key.length / 2) + 1).keys()].some((p) => p > 0 && [...key].every((c, i) => i < p || c === key[i - p]));
  if (repeats || perChar * key.length < MIN_BITS) return 'too repetitive or from too few distinct characters to be a random secret';
  return undefined;
}
