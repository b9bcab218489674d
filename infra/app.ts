import { App } from 'aws-cdk-lib';
import { formatDiagnostic } from '../shared/config/load.ts';
import { ConfigError } from '../shared/errors.ts';
import { addFailoverStacks } from './stacks/failover-app.ts';

const app = new App();
try {
  addFailoverStacks(app);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  for (const d of error.diagnostics) console.error(`  ${formatDiagnostic(d)}`);
  process.exit(1);
}
app.synth();
