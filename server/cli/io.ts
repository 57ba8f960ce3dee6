/** What every `ih-mock` subcommand shares: where it writes, and the error for bad usage (exit 2). */

/** Where a command writes (stdout and stderr in the CLI, buffers in tests). */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Bad usage of a subcommand: the CLI prints its message in one line and exits 2. */
export class CommandUsageError extends Error {
  override name = 'CommandUsageError';
}
