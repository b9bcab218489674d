import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SipStreamParser,
  header,
  headerParam,
  headerValues,
  parseSipMessage,
  parseVia,
  viaParam,
  type SipMessage,
  type SipResponse,
} from '../../shared/probes/sip-message.ts';
import { startSipResponder, type SipResponder } from '../../shared/responders/sip-responder.ts';

let responder: SipResponder;
let client: dgram.Socket;
let clientPort: number;

beforeAll(async () => {
  responder = await startSipResponder({ host: '127.0.0.1' });
  client = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => client.bind({ address: '127.0.0.1', port: 0 }, resolve));
  clientPort = client.address().port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => client.close(() => resolve()));
  await responder.close();
});

/** Sends one datagram and returns the first answer within `waitMs`, if any. */
function exchange(text: string, waitMs = 1000): Promise<SipResponse | undefined> {
  return new Promise((resolve) => {
    const onMessage = (msg: Buffer): void => {
      clearTimeout(timer);
      client.off('message', onMessage);
      const parsed = parseSipMessage(msg);
      resolve(parsed.kind === 'response' ? parsed : undefined);
    };
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      resolve(undefined);
    }, waitMs);
    client.on('message', onMessage);
    client.send(text, responder.udpPort, '127.0.0.1');
  });
}

function options(via: string, extra: string[] = [], method = 'OPTIONS'): string {
  return [
    `${method} sip:127.0.0.1 SIP/2.0`,
    `Via: ${via}`,
    'Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKupstream',
    'Max-Forwards: 70',
    'From: <sip:tester@127.0.0.1>;tag=abc',
    'To: <sip:127.0.0.1>',
    'Call-ID: call-1@127.0.0.1',
    `CSeq: 7 ${method}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('startSipResponder', () => {
  it('listens on one port for UDP and TCP', () => {
    expect(responder.udpPort).toBe(responder.port);
    expect(responder.tcpPort).toBe(responder.port);
  });

  it('answers OPTIONS mirroring Via (with received and rport), From, To with a tag, Call-ID and CSeq', async () => {
    const response = await exchange(options('SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bKabc;rport'));
    expect(response).toMatchObject({ status: 200, reason: 'OK' });
    const vias = headerValues(response!, 'via');
    expect(vias).toHaveLength(2);
    const top = parseVia(vias[0]!);
    expect(top).toMatchObject({ transport: 'UDP', host: '10.9.9.9', port: 5070 });
    expect(viaParam(top, 'branch')).toBe('z9hG4bKabc');
    expect(viaParam(top, 'rport')).toBe(String(clientPort));
    expect(viaParam(top, 'received')).toBe('127.0.0.1');
    expect(vias[1]).toBe('SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKupstream');
    expect(header(response!, 'from')).toBe('<sip:tester@127.0.0.1>;tag=abc');
    expect(headerParam(header(response!, 'to')!, 'tag')).toMatch(/^[0-9a-f]+$/);
    expect(header(response!, 'call-id')).toBe('call-1@127.0.0.1');
    expect(header(response!, 'cseq')).toBe('7 OPTIONS');
    expect(header(response!, 'content-length')).toBe('0');
  });

  it('adds received only when the sent-by host differs from the source, without rport', async () => {
    const same = await exchange(options(`SIP/2.0/UDP 127.0.0.1:${clientPort};branch=z9hG4bKsame`));
    expect(viaParam(parseVia(headerValues(same!, 'via')[0]!), 'received')).toBeUndefined();
    expect(viaParam(parseVia(headerValues(same!, 'via')[0]!), 'rport')).toBeUndefined();
    const other = await exchange(options('SIP/2.0/UDP pbx.example.test;branch=z9hG4bKother'));
    expect(viaParam(parseVia(headerValues(other!, 'via')[0]!), 'received')).toBe('127.0.0.1');
  });

  it('gives a retransmission the same To tag and keeps an existing one', async () => {
    const first = await exchange(options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKre'));
    const again = await exchange(options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKre'));
    expect(header(again!, 'to')).toBe(header(first!, 'to'));
    const tagged = await exchange(
      options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKt').replace('To: <sip:127.0.0.1>', 'To: <sip:127.0.0.1>;tag=x1'),
    );
    expect(header(tagged!, 'to')).toBe('<sip:127.0.0.1>;tag=x1');
  });

  it('understands compact header names', async () => {
    const text = [
      'OPTIONS sip:127.0.0.1 SIP/2.0',
      'v: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKcompact;rport',
      'f: <sip:a@127.0.0.1>;tag=1',
      't: <sip:127.0.0.1>',
      'i: compact@127.0.0.1',
      'CSeq: 1 OPTIONS',
      'l: 0',
      '',
      '',
    ].join('\r\n');
    const response = await exchange(text);
    expect(response?.status).toBe(200);
    expect(header(response!, 'call-id')).toBe('compact@127.0.0.1');
  });

  it('answers other methods with 405 and ACK with nothing', async () => {
    const invite = await exchange(options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKinv', [], 'INVITE'));
    expect(invite).toMatchObject({ status: 405, reason: 'Method Not Allowed' });
    expect(header(invite!, 'allow')).toBe('OPTIONS');
    const ack = await exchange(options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKinv', [], 'ACK'), 200);
    expect(ack).toBeUndefined();
  });

  it('answers garbage and requests without mandatory headers with 400, and keeps serving', async () => {
    const garbage = await exchange('\u0000\u0001 hello there\r\n\r\n');
    expect(garbage?.status).toBe(400);
    const noCallId = await exchange(
      options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx').replace('Call-ID: call-1@127.0.0.1\r\n', ''),
    );
    expect(noCallId?.status).toBe(400);
    const badVia = await exchange(options('not a via'));
    expect(badVia?.status).toBe(400);
    const short = await exchange(
      options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx').replace('Content-Length: 0', 'Content-Length: 99'),
    );
    expect(short?.status).toBe(400);
    const ok = await exchange(options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKok'));
    expect(ok?.status).toBe(200);
  });

  it('ignores responses and keep-alives', async () => {
    expect(await exchange('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', 200)).toBeUndefined();
    expect(await exchange('\r\n\r\n', 200)).toBeUndefined();
  });

  it('sends the configured status, and nothing while silent', async () => {
    responder.setStatus(503);
    try {
      const busy = await exchange(options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKs'));
      expect(busy).toMatchObject({ status: 503, reason: 'Service Unavailable' });
    } finally {
      responder.setStatus(200);
    }
    responder.setSilent(true);
    try {
      expect(await exchange(options('SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKq'), 200)).toBeUndefined();
    } finally {
      responder.setSilent(false);
    }
  });

  it('answers pipelined requests over TCP and closes on garbage with a 400', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: responder.tcpPort });
    const parser = new SipStreamParser();
    const received: SipMessage[] = [];
    let closed = false;
    socket.on('data', (chunk: Buffer) => received.push(...parser.push(chunk)));
    socket.on('close', () => (closed = true));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const one = options('SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKp1');
    const two = options('SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKp2').replace('CSeq: 7', 'CSeq: 8');
    socket.write(one + two.slice(0, 30));
    setTimeout(() => socket.write(two.slice(30)), 30);
    await until(() => received.length >= 2);
    expect(received.map((m) => (m.kind === 'response' ? header(m, 'cseq') : ''))).toEqual(['7 OPTIONS', '8 OPTIONS']);
    socket.write('garbage without end\r\n\r\n');
    await until(() => closed);
    expect(closed).toBe(true);
    expect(received[2]).toMatchObject({ kind: 'response', status: 400 });
  });

  it('closes with TCP connections still open', async () => {
    const other = await startSipResponder({});
    const socket = net.connect({ host: '127.0.0.1', port: other.tcpPort });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await other.close();
    await until(() => socket.destroyed || socket.readableEnded);
    socket.destroy();
  });
});

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition() && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}
