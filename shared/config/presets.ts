import type { z } from 'zod';
import { Preset } from './schema.ts';

/**
 * Built-in SaaS/VoIP bundles. They prove reachability of each service's public front door from a vantage (DNS, TCP,
 * TLS with a valid certificate, an HTTP answer), not the health of anyone's account. Status codes are broad on
 * purpose: 401 or 403 from an API still proves the service answered.
 */
const BUILTIN: Record<string, z.input<typeof Preset>> = {
  'microsoft-365': {
    description: 'Microsoft 365: Entra ID sign-in, Exchange Online, Teams',
    checks: [
      {
        id: 'sign-in',
        http: {
          url: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
          json: { path: '$.issuer' },
        },
      },
      { id: 'exchange', tls: { host: 'outlook.office365.com' } },
      { id: 'teams', tls: { host: 'teams.microsoft.com' } },
    ],
  },
  'google-workspace': {
    description: 'Google Workspace: sign-in, Gmail, Meet',
    checks: [
      {
        id: 'sign-in',
        http: { url: 'https://accounts.google.com/.well-known/openid-configuration', json: { path: '$.issuer' } },
      },
      { id: 'gmail', tls: { host: 'mail.google.com' } },
      { id: 'meet', tls: { host: 'meet.google.com' } },
    ],
  },
  salesforce: {
    description: 'Salesforce: login and API front door',
    checks: [
      { id: 'login', http: { url: 'https://login.salesforce.com/', expectStatus: [200, 302] } },
      { id: 'api', tls: { host: 'login.salesforce.com' } },
    ],
  },
  zoom: {
    description: 'Zoom: web and signalling front door',
    checks: [
      { id: 'web', tls: { host: 'zoom.us' } },
      { id: 'api', http: { url: 'https://api.zoom.us/v2/', expectStatus: [200, 401, 404] } },
    ],
  },
  slack: {
    description: 'Slack: Web API',
    checks: [{ id: 'api', http: { url: 'https://slack.com/api/api.test', json: { path: '$.ok', equals: true } } }],
  },
  ringcentral: {
    kind: 'voip',
    description: 'RingCentral: platform API and SIP edge',
    checks: [
      { id: 'platform', tls: { host: 'platform.ringcentral.com' } },
      {
        id: 'sip',
        sip: { host: 'sip.ringcentral.com', port: 5090, transport: 'tcp', expectStatus: [200, 401, 403, 404, 405] },
      },
    ],
  },
  twilio: {
    kind: 'voip',
    description: 'Twilio: REST API and Programmable Voice',
    checks: [
      { id: 'api', http: { url: 'https://api.twilio.com/', expectStatus: [200, 401, 403] } },
      { id: 'voice', tls: { host: 'voice.twilio.com' } },
    ],
  },
};

export type PresetDef = z.output<typeof Preset>;

/** The built-in presets, validated and with defaults applied. */
export const BUILTIN_PRESETS: Readonly<Record<string, PresetDef>> = Object.fromEntries(
  Object.entries(BUILTIN).map(([name, def]) => [name, Preset.parse(def)]),
);
