/**
 * Credentials never reach a recording. The recorder redacts the places credentials travel
 * (Authorization, the WebSocket subprotocol, `key_secret` in token-exchange bodies, `access_token`
 * in their answers) and remembers every secret it has seen, so a secret echoed anywhere else (a
 * body, an error message, a frame) is scrubbed too before a line is written.
 */

export const REDACTED = '[redacted]';

export const REDACTED_WHAT: readonly string[] = [
  'the credential in Authorization headers (the scheme is kept: "Bearer [redacted]")',
  'credentials offered or selected as WebSocket subprotocols ("access_token" itself is kept)',
  'key_secret in token-exchange request bodies',
  'access_token in token-exchange responses',
  'any later occurrence of a secret seen in one of those places',
];

/** Secrets shorter than this are not scrubbed from free text (they would match ordinary words). */
const MIN_SCRUB_LENGTH = 6;

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remember a secret, so it is scrubbed wherever it appears later. */
  learn(secret: string | undefined | null): void {
    if (typeof secret === 'string' && secret.length >= MIN_SCRUB_LENGTH && secret !== REDACTED) this.secrets.add(secret);
  }

  /** `Bearer <credential>` → `Bearer [redacted]`; anything else whole. */
  authorization(value: string): string {
    const match = /^(\S+)\s+(.+)$/.exec(value.trim());
    if (match) {
      this.learn(match[2]!);
      return `${match[1]} ${REDACTED}`;
    }
    this.learn(value);
    return REDACTED;
  }

  /** Subprotocols: every offered value but the literal `access_token` is a credential (PROTOCOL 1). */
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

  /** A JSON value with `key_secret` / `access_token` fields redacted (at any depth) and known secrets scrubbed. */
  json(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.json(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if ((key === 'key_secret' || key === 'access_token') && typeof v === 'string') {
          this.learn(v);
          out[key] = REDACTED;
        } else {
          out[key] = this.json(v);
        }
      }
      return out;
    }
    return value;
  }

  /** Free text with every known secret replaced. */
  text(value: string): string {
    let out = value;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }
}
