import type { ProbeResult } from '../contracts/observation.ts';
import type { ProbeSpec } from '../config/checks.ts';
import { dnsProbe } from './dns.ts';
import { httpProbe } from './http.ts';
import { down, describeError } from './result.ts';
import { sipProbe } from './sip.ts';
import { tcpProbe } from './tcp.ts';
import { tlsProbe } from './tls.ts';
import type { ProbeContext } from './types.ts';
import { voipProbe } from './voip.ts';

/** Runs the probe of `spec`'s kind. Like every probe it never throws: an unexpected bug becomes a `protocol` result. */
export async function runProbe(spec: ProbeSpec, ctx: ProbeContext): Promise<ProbeResult> {
  try {
    switch (spec.kind) {
      case 'http':
        return await httpProbe(spec.http, ctx);
      case 'tcp':
        return await tcpProbe(spec.tcp, ctx);
      case 'tls':
        return await tlsProbe(spec.tls, ctx);
      case 'dns':
        return await dnsProbe(spec.dns, ctx);
      case 'sip':
        return await sipProbe(spec.sip, ctx);
      case 'voip':
        return await voipProbe(spec.voip, ctx);
    }
  } catch (error) {
    return down('protocol', `probe failed unexpectedly: ${describeError(error)}`);
  }
}

export type { Probe, ProbeContext } from './types.ts';
