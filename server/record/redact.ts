/**
 * Credentials never reach a recording. The recorder redacts by WHERE a credential travels, and then
 * by EXACT later occurrences of the credentials it found there; it never guesses from words.
 *
 * Where: the credential in `Authorization` (and `Proxy-Authorization`), the credential position of
 * `Sec-WebSocket-Protocol` (a single offered value, or the value after `access_token`; other offered
 * words are kept), fields named like credentials in JSON bodies and frames (`key_secret`,
 * `access_token`, …) whatever their JSON type, query parameters and form fields of those names,
 * cookie values, and credential headers that are not recorded at all (`Cookie`, `X-API-Key`, …).
 *
 * Later occurrences of a credential learned there are replaced where they stand whole: a JSON string
 * (or key) equal to it, a token in free text equal to it (not glued to letters, digits or `_` on a
 * side where the credential itself starts or ends with one), a path segment or query value equal to
 * it; inside multipart file names and field values, any occurrence of a credential of at least
 * `MIN_SUBSTRING_LENGTH` characters. So `session_idle_timeout_seconds` stays whole even after a
 * client offered the subprotocol `session`, and a 3-character secret is still scrubbed where it
 * reappears on its own.
 */

export const REDACTED = '[redacted]';

export const REDACTED_WHAT: readonly string[] = [
  'the credential in Authorization headers (the scheme is kept: "Bearer [redacted]")',
  'the credential position of Sec-WebSocket-Protocol: a single offered value, or the value after "access_token" (other offered words are kept)',
  'fields named like credentials (key_secret, access_token, api_key, token, secret, password, …) in JSON bodies and frames, whatever their JSON type',
  'query parameters and form fields named like credentials',
  'token-exchange bodies that are not valid JSON (recorded as size and hash only)',
  'any later exact occurrence of a credential found in one of those places (or in a Cookie or X-API-Key header): a whole JSON string or key, a whole token in text, a path segment, or inside a multipart file name or field value',
];

/** Field, parameter and form names whose values are credentials. */
const CREDENTIAL_NAME = /^(access_token|refresh_token|id_token|token|api_key|apikey|key|key_secret|client_secret|secret|password|authorization)$/i;

/** Request headers whose values are credentials (learned, never recorded). */
export const CREDENTIAL_HEADERS: readonly string[] = ['proxy-authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token'];

/**
 * Credentials at least this long are also scrubbed from inside multipart file names and field
 * values (`report-<key>_final.mp4`); shorter ones only where they stand whole, or `video.mkv` would
 * lose its `k` to a one-letter key.
 */
const MIN_SUBSTRING_LENGTH = 6;

const WORD_CHAR = /[A-Za-z0-9_]/;
const ONLY_WORD_CHARS = /^[A-Za-z0-9_]+$/;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

export class Redactor {
  /** Every credential learned, for exact comparisons (JSON strings, path segments, query values). */
  private readonly secrets = new Set<string>();
  /** Credentials made only of word characters: found in text by looking up each word. */
  private readonly wordSecrets = new Set<string>();
  /** The others, longest first: found in text by searching for each. */
  private otherSecrets: string[] = [];
  /** Credentials long enough to scrub from inside file names and field values, longest first. */
  private longSecrets: string[] = [];

  /** Remember a credential (a string or number, or every such value inside an array or object). */
  learn(secret: unknown): void {
    if (Array.isArray(secret)) {
      for (const v of secret) this.learn(v);
      return;
    }
    if (secret !== null && typeof secret === 'object') {
      for (const v of Object.values(secret)) this.learn(v);
      return;
    }
    const value = typeof secret === 'number' || typeof secret === 'bigint' ? String(secret) : secret;
    if (typeof value !== 'string') return;
    const trimmed = value.trim();
    if (trimmed === '' || trimmed === REDACTED || this.secrets.has(trimmed)) return;
    this.secrets.add(trimmed);
    if (ONLY_WORD_CHARS.test(trimmed)) this.wordSecrets.add(trimmed);
    else this.otherSecrets = [...this.otherSecrets, trimmed].sort((a, b) => b.length - a.length);
    if (trimmed.length >= MIN_SUBSTRING_LENGTH) this.longSecrets = [...this.longSecrets, trimmed].sort((a, b) => b.length - a.length);
  }

  /** Whether `value` is exactly a credential learned so far. */
  isSecret(value: string): boolean {
    return this.secrets.has(value.trim());
  }

  /** `Bearer <credential>` → `Bearer [redacted]`; anything else whole. */
  authorization(value: string): string {
    const match = /^(\S+)\s+(.+)$/.exec(value.trim());
    if (match) {
      this.learn(match[2]!);
      if (/^basic$/i.test(match[1]!)) {
        // Basic carries id:secret in base64: the secret is the credential to scrub elsewhere.
        const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
        this.learn(decoded.slice(decoded.indexOf(':') + 1));
      }
      return `${match[1]} ${REDACTED}`;
    }
    this.learn(value);
    return REDACTED;
  }

  /**
   * An offered `Sec-WebSocket-Protocol`: the credential positions (a single offered value, or the
   * value after `access_token`) are redacted and learned; other words are kept as they are.
   */
  subprotocols(value: string): string {
    const offered = value.split(',').map((p) => p.trim());
    const present = offered.filter(Boolean);
    const positions = new Set<number>();
    if (present.length === 1) positions.add(offered.indexOf(present[0]!));
    offered.forEach((p, i) => {
      if (p !== 'access_token') return;
      const next = offered.findIndex((q, j) => j > i && q !== '');
      if (next >= 0) positions.add(next);
    });
    return offered
      .map((p, i) => {
        if (!positions.has(i) || p === 'access_token') return p;
        this.learn(p);
        return REDACTED;
      })
      .join(', ');
  }

  /** The subprotocol a server selected: redacted when it is a credential (the single-value form echoes it). */
  selectedProtocol(value: string): string {
    return this.isSecret(value) ? REDACTED : value;
  }

  /** Learn the values of a `Cookie` header (or of any other credential header). */
  credentialHeader(name: string, value: string): void {
    if (name !== 'cookie') {
      this.learn(value);
      return;
    }
    for (const pair of value.split(';')) {
      const at = pair.indexOf('=');
      this.learn(at < 0 ? pair : pair.slice(at + 1));
    }
  }

  /**
   * A query string (without `?`) or a form-urlencoded body: parameters named like credentials are
   * redacted and learned, a parameter whose value is a known credential is redacted, and the rest
   * is scrubbed as text. Bad percent-escapes are kept as they came (a proxy forwards them; the
   * upstream decides).
   */
  query(query: string): string {
    if (query === '') return query;
    const parts = query.split('&').map((part) => {
      const at = part.indexOf('=');
      return { part, name: safeDecode(at < 0 ? part : part.slice(0, at)), value: at < 0 ? null : safeDecode(part.slice(at + 1)), rawName: at < 0 ? part : part.slice(0, at) };
    });
    for (const p of parts) if (p.value !== null && isCredentialName(p.name)) this.learn(p.value);
    return parts
      .map((p) => {
        if (p.value === null) return this.isSecret(p.name) ? encodeURIComponent(REDACTED) : this.text(p.part);
        if (isCredentialName(p.name) || this.isSecret(p.value)) return `${this.isSecret(p.name) ? encodeURIComponent(REDACTED) : p.rawName}=${encodeURIComponent(REDACTED)}`;
        return this.text(p.part);
      })
      .join('&');
  }

  /** A request path with every segment that is exactly a known credential redacted. */
  path(path: string): string {
    return path
      .split('/')
      .map((segment) => (segment !== '' && (this.isSecret(segment) || this.isSecret(safeDecode(segment))) ? encodeURIComponent(REDACTED) : segment))
      .join('/');
  }

  /**
   * A JSON value with credential fields redacted (at any depth, whatever their type) and known
   * credentials replaced where a string or key equals one. Credentials are learned from the whole
   * value first, so a field before the credential's own field cannot keep it.
   */
  json(value: unknown): unknown {
    this.learnFrom(value);
    return this.scrub(value).value;
  }

  /**
   * A text frame or text body: as JSON when it parses (structurally, so keys and other strings stay
   * whole), kept byte for byte when nothing in it needed redacting; else scrubbed as text.
   */
  jsonOrText(text: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.text(text);
    }
    this.learnFrom(parsed);
    const { value, changed } = this.scrub(parsed);
    return changed ? JSON.stringify(value) : text;
  }

  /** A form field's value: redacted when the field is named like a credential, else scrubbed (see `contained`). */
  field(name: string, value: string): string {
    if (isCredentialName(name)) {
      this.learn(value);
      return REDACTED;
    }
    return this.contained(value);
  }

  /** A multipart file name or field value: any known credential in it replaced, wherever it stands. */
  contained(value: string): string {
    let out = this.text(value);
    for (const secret of this.longSecrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  /** Free text with every known credential replaced where it stands whole (see the module comment). */
  text(value: string): string {
    let out = this.wordSecrets.size === 0 ? value : value.replace(/[A-Za-z0-9_]+/g, (word) => (this.wordSecrets.has(word) ? REDACTED : word));
    for (const secret of this.otherSecrets) if (out.includes(secret)) out = replaceWhole(out, secret);
    return out;
  }

  private learnFrom(value: unknown): void {
    if (Array.isArray(value)) for (const v of value) this.learnFrom(v);
    else if (value !== null && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (isCredentialName(key)) this.learn(v);
        else this.learnFrom(v);
      }
    }
  }

  /** The value redacted, and whether anything changed (so an unchanged frame is kept byte for byte). */
  private scrub(value: unknown): { value: unknown; changed: boolean } {
    if (typeof value === 'string') return this.isSecret(value) ? { value: REDACTED, changed: true } : { value, changed: false };
    if (Array.isArray(value)) {
      let changed = false;
      const out = value.map((v) => {
        const r = this.scrub(v);
        changed ||= r.changed;
        return r.value;
      });
      return { value: changed ? out : value, changed };
    }
    if (value !== null && typeof value === 'object') {
      let changed = false;
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const name = this.isSecret(key) ? REDACTED : key;
        // A credential field is redacted whatever it holds (a string, a number, an array, an object); null and booleans hold no secret.
        const redactWhole = isCredentialName(key) && v !== null && typeof v !== 'boolean' && v !== REDACTED;
        const r = redactWhole ? { value: REDACTED, changed: true } : this.scrub(v);
        changed ||= r.changed || name !== key;
        out[name] = r.value;
      }
      return { value: changed ? out : value, changed };
    }
    return { value, changed: false };
  }
}

/** Decode a percent-encoded query or path part; a malformed escape leaves it as it came. */
function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

/** Replace each occurrence of `secret` that is not glued to a word character on a side where `secret` begins or ends with one. */
function replaceWhole(text: string, secret: string): string {
  const needsLeft = WORD_CHAR.test(secret[0]!);
  const needsRight = WORD_CHAR.test(secret[secret.length - 1]!);
  let out = '';
  let from = 0;
  for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) {
    if (at < from) continue;
    const before = at > 0 ? text[at - 1]! : '';
    const after = text[at + secret.length] ?? '';
    if ((needsLeft && WORD_CHAR.test(before)) || (needsRight && WORD_CHAR.test(after))) continue;
    out += text.slice(from, at) + REDACTED;
    from = at + secret.length;
  }
  return out + text.slice(from);
}
