/** Environment variables the agent channel's functions read (set by the AgentGateway construct). */
export const AGENT_ENV = {
  table: 'STATE_TABLE_NAME',
  signingKeySecret: 'AGENT_SIGNING_KEY_SECRET_ARN',
  challengeSecret: 'AGENT_CHALLENGE_SECRET_ARN',
  callbackUrl: 'AGENT_CALLBACK_URL',
} as const;
