import { fromEnv } from '@aws-sdk/credential-provider-env';

/** What the SDK clients pass their default credential provider (the client's resolved configuration). */
type ProviderInit = Parameters<typeof fromEnv>[0];

/**
 * The SDK's default credential provider as the Lambda bundles carry it: esbuild aliases
 * `@aws-sdk/credential-provider-node` to this file (infra/constructs/lambda-bundling.ts). Lambda hands a function
 * its role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, the first link of the
 * SDK's own chain; the other links (SSO, ini files, processes, web identity, IMDS, containers) never answer there
 * and cost every bundle about 105 KB. Code run outside a bundle keeps the SDK's full chain.
 */
export const defaultProvider = (init: ProviderInit = {}) => {
  const provider = fromEnv(init);
  return async () => {
    try {
      return await provider();
    } catch (error) {
      throw new Error(
        'no AWS credentials in the environment: this Lambda bundle reads only AWS_ACCESS_KEY_ID and ' +
          'AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), which Lambda sets from the execution role',
        { cause: error },
      );
    }
  };
};
