/** A mistake in how the command was called: the message and the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Something the command could not do (no stream, unreadable file, nothing in range): the message, exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}
