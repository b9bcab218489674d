/**
 * The URL of the compiled CLI's entry in `dir` (default dist/cli) when its manifest says it was built after the last
 * change of every source file it was built from (paths relative to `root`); undefined when missing or stale.
 */
export function compiledCli(dir?: string, root?: string): string | undefined;
