/** What every `ih-mock` subcommand shares: where it writes, and the errors that end it in one line. */

/** Where a command writes (stdout and stderr in the CLI, buffers in tests). */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Bad usage of a subcommand: the CLI prints its message in one line and exits 2. */
export class CommandUsageError extends Error {
  override name = 'CommandUsageError';
}

/**
 * The command was used correctly but could not do its job (a port in use, a host it cannot listen
 * on): the CLI prints its message in one line, without a stack trace, and exits 1.
 */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}
