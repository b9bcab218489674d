import { CommanderError, type Command } from 'commander';
import { reportError } from './output.ts';

/** Parses argv and runs the chosen command; sets the exit code: 0 for help and version, 2 for a usage error. */
export async function runProgram(program: Command, argv: readonly string[] = process.argv): Promise<void> {
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
