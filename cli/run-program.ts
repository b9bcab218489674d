import { CommanderError, type Command } from 'commander';
import { reportError } from './output.ts';

/** Parses argv and runs the chosen command; sets the exit code: 0 for help and version, 2 for a usage error. */
export async function runProgram(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  quietOnClosedOutput();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
    } else {
      process.exitCode = reportError(error);
    }
  }
}

/**
 * `failover ... | head`: once the reader has gone (EPIPE), what is left to print is dropped and the command ends
 * as it would have, with its own exit code, instead of dying of an unhandled stream error.
 */
export function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
  }
}
