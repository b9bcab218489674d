import { formatDiagnostic } from '../../shared/config/load.ts';
import { formatReport, toJson } from '../../shared/simulator/format.ts';
import { simulate } from '../../shared/simulator/run.ts';
import { loadScenario, ScenarioError } from '../../shared/simulator/scenario.ts';
import { paint } from '../output.ts';

/**
 * `failover simulate SCENARIO.yaml [--json]`: replays the scenario through the engine and the DynamoDB adapter on an
 * in-process dynalite. Exit 0 when every expectation is met, 1 when one is not, 2 for a bad scenario file.
 */
export async function simulateCommand(file: string, opts: { json?: boolean }): Promise<number> {
  let scenario;
  try {
    scenario = await loadScenario(file);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    if (opts.json) console.log(JSON.stringify({ error: error.message, files: error.files }, null, 2));
    for (const f of error.files) {
      console.error(`${f.file}: ${f.diagnostics.length} problem${f.diagnostics.length === 1 ? '' : 's'}`);
      for (const d of f.diagnostics) console.error(`  ${formatDiagnostic(d)}`);
    }
    return 2;
  }
  const result = await simulate(scenario);
  if (opts.json) {
    console.log(JSON.stringify(toJson(result), null, 2));
  } else {
    const report = formatReport(result)
      .replace(/^(\s*)(NOT MET)/gm, (_, pad: string, text: string) => pad + paint('red', text))
      .replace(
        /^(PASS|FAIL)(:)/m,
        (_, word: string, colon: string) => paint(word === 'PASS' ? 'green' : 'red', word) + colon,
      );
    console.log(report);
  }
  return result.passed ? 0 : 1;
}
