import { startEchoResponder } from '../../shared/responders/echo-responder.ts';

/** `failover echo-responder`: serves the voip probe until interrupted. */
export async function echoResponderCommand(opts: { port: number; host: string; loss: number; delay: number }) {
  const responder = await startEchoResponder({
    host: opts.host,
    port: opts.port,
    lossPct: opts.loss,
    delayMs: opts.delay,
  });
  console.log(`echo responder listening on udp ${responder.address}:${responder.port}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const stats = responder.stats();
  await responder.close();
  console.log(`echo responder stopped: ${stats.received} received, ${stats.echoed} echoed, ${stats.dropped} dropped`);
}
