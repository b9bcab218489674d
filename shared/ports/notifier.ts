import type { AlertAction } from '../domain/model.ts';

/**
 * Tells people: SNS topics in the cloud (critical to SMS and email, warning to email), console and a JSONL file
 * locally. Suppressed alerts never reach a notifier (the dispatcher records them only). Errors that may pass on a
 * retry are TransientError; any other error is permanent.
 */
export interface Notifier {
  notify(alert: AlertAction): Promise<{ readonly detail: string; readonly messageId?: string }>;
}
