/**
 * Credentials never reach a recording. The recorder redacts the places credentials travel
 * (Authorization, the WebSocket subprotocol, `key_secret` in token-exchange bodies, `access_token`
 * in their answers, credential-like query parameters and form fields) and remembers every secret it
 * has seen, so a secret echoed anywhere else (a body, an error message, a frame) is scrubbed too
 * before a line is written. Bodies are scanned for secrets before anything in them is written, and
 * longer secrets are replaced before shorter ones, so no part of a secret is left behind.
 */

export const REDACTED = '[redacted]';

export const REDACTED_WHAT: readonly string[] = [
  'the credential in Authorization headers (the scheme is kept: "Bearer [redacted]")',
  'credentials offered or selected as WebSocket subprotocols ("access_token" itself is kept)',
  'key_secret in token-exchange request bodies, access_token in their answers (any value type)',
  'credential-like query parameters and form fields (access_token, token, api_key, key, key_secret, secret, password)',
  'token-exchange bodies that are not valid JSON (recorded as size and hash only)',
  'any later occurrence of a secret seen in one of those places',
];

/** Field, parameter and form names whose values are credentials. */
const CREDENTIAL_NAME = /^(access_token|token|api_key|apikey|key|key_secret|secret|password|authorization)$/i;

/** Secrets shorter than this are not scrubbed from free text (they would match ordinary words). */
const MIN_SCRUB_LENGTH = 6;

export function isCredentialName(name: string): boolean {
  return CREDENTIAL_NAME.test(name);
}

export class Redactor {
  private readonly secrets = new Set<string>();
  /** Longest first, so a secret that contains another is replaced whole. */
  private ordered: string[] = [];

  /** Remember a secret, so it is scrubbed wherever it appears later. */
  learn(secret: unknown): void {
    const value = typeof secret === 'number' ? String(secret) : secret;
    if (typeof value !== 'string' || value.length < MIN_SCRUB_LENGTH || value === REDACTED || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.ordered = [...this.secrets].sort((a, b) => b.length - a.length);
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

  /** Subprotocols: every offered value but the literal `access_token` is a credential (docs/protocol.md §1). */
  subprotocols(value: string): string {
    return value
      .split(',')
      .map((p) => p.trim())
      .map((p) => {
        if (p === 'access_token' || p === '') return p;
        this.learn(p);
        return REDACTED;
      })
      .join(', ');
  }

  /** A query string (without `?`) with credential-like parameters redacted and known secrets scrubbed. */
  query(query: string): string {
    if (query === '') return query;
    const params = new URLSearchParams(query);
    for (const [name, value] of params) if (isCredentialName(name)) this.learn(value);
    const parts = query.split('&').map((part) => {
      const name = decodeURIComponent(part.split('=')[0] ?? '');
      return isCredentialName(name) && part.includes('=') ? `${part.slice(0, part.indexOf('='))}=${encodeURIComponent(REDACTED)}` : part;
    });
    return this.text(parts.join('&'));
  }

  /**
   * A JSON value with credential fields redacted (at any depth, whatever their type) and known
   * secrets scrubbed. Secrets are learned from the whole value first, so a field before the
   * credential's own field cannot keep it.
   */
  json(value: unknown): unknown {
    this.learnFrom(value);
    return this.scrub(value);
  }

  /** A form field's value: redacted when the field is a credential, else scrubbed. */
  field(name: string, value: string): string {
    if (isCredentialName(name)) {
      this.learn(value);
      return REDACTED;
    }
    return this.text(value);
  }

  /** Free text with every known secret replaced. */
  text(value: string): string {
    let out = value;
    for (const secret of this.ordered) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  private learnFrom(value: unknown): void {
    if (Array.isArray(value)) for (const v of value) this.learnFrom(v);
    else if (value !== null && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (isCredentialName(key) && (typeof v === 'string' || typeof v === 'number')) this.learn(v);
        else this.learnFrom(v);
      }
    }
  }

  private scrub(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.scrub(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) out[key] = isCredentialName(key) && v !== null && typeof v !== 'object' ? REDACTED : this.scrub(v);
      return out;
    }
    return value;
  }
}
