import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAllowed, isPrivateAddress, safeFetch } from '../../src/intake/safe-fetch.ts';

// Media named in a provider's payload is fetched only from the provider's hosts: a stranger who
// forges or replays a payload must not make phananh fetch from inside its network.

describe('what counts as private', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '::1', '::', 'fc00::1', 'fd12::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '0:0:0:0:0:ffff:7f00:1', '::127.0.0.1', '64:ff9b:1::a00:1', '2002:7f00:1::', 'not-an-ip',
  ])('%s is private', (a) => expect(isPrivateAddress(a)).toBe(true));
  it.each(['8.8.8.8', '157.240.1.35', '2a03:2880:f10c:83:face:b00c:0:25de', '::ffff:8.8.8.8'])('%s is public', (a) => expect(isPrivateAddress(a)).toBe(false));
});

describe('host allow-lists', () => {
  it('matches exact names and suffixes, never a look-alike', () => {
    const hosts = ['api.twilio.com', '.fbcdn.net'];
    expect(hostAllowed('api.twilio.com', hosts)).toBe(true);
    expect(hostAllowed('API.Twilio.com.', hosts)).toBe(true);
    expect(hostAllowed('scontent.xx.fbcdn.net', hosts)).toBe(true);
    expect(hostAllowed('evilfbcdn.net', hosts)).toBe(false);
    expect(hostAllowed('fbcdn.net.evil.com', hosts)).toBe(false);
    expect(hostAllowed('api.twilio.com.evil.com', hosts)).toBe(false);
    expect(hostAllowed('.fbcdn.net', hosts)).toBe(false);
  });
});

describe('safeFetch', () => {
  let server: http.Server;
  let origin: string;
  const hits: { path: string; auth: string | undefined }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push({ path: req.url ?? '', auth: req.headers.authorization });
      if (req.url === '/photo') return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': 4 }).end('abcd');
      if (req.url === '/big') return void res.writeHead(200, { 'content-length': 5000 }).end('x'.repeat(5000));
      if (req.url === '/chunked') {
        res.writeHead(200);
        for (let i = 0; i < 10; i++) res.write('y'.repeat(500));
        return void res.end();
      }
      if (req.url === '/to-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (req.url === '/to-photo') return void res.writeHead(307, { location: '/photo' }).end();
      if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const trusted = () => ({ hosts: [], trustedOrigins: [origin], headers: { authorization: 'Basic c2VjcmV0' } });
  const limits = { maxBytes: 1024 };

  it('fetches from an origin the operator configured, with its credentials, following a redirect on it', async () => {
    const got = await safeFetch(`${origin}/to-photo`, trusted(), limits);
    expect(Buffer.from(got.bytes).toString()).toBe('abcd');
    expect(hits.at(-1)).toEqual({ path: '/photo', auth: 'Basic c2VjcmV0' });
  });

  it('refuses a loopback, private or plain-http URL that is not the configured origin, without a request', async () => {
    const before = hits.length;
    for (const url of [`${origin}/photo`, 'http://169.254.169.254/latest/meta-data', 'https://10.0.0.5/x.png', 'https://[::1]/x', 'file:///etc/passwd', 'gopher://x', 'not a url']) {
      await expect(safeFetch(url, { hosts: ['10.0.0.5', '::1', 'x'] }, limits)).rejects.toMatchObject({ code: 'media_refused' });
    }
    expect(hits.length).toBe(before);
  });

  it('refuses an allowed host name that resolves to a private address (checked when connecting)', async () => {
    await expect(safeFetch('https://localhost:1/x.png', { hosts: ['localhost'] }, limits)).rejects.toMatchObject({ code: 'media_refused' });
  });

  it('refuses a redirect that leads off the allowed hosts', async () => {
    await expect(safeFetch(`${origin}/to-metadata`, trusted(), limits)).rejects.toMatchObject({ code: 'media_refused' });
    await expect(safeFetch(`${origin}/loop`, trusted(), limits)).rejects.toMatchObject({ code: 'media_refused', message: 'too many redirects' });
  });

  it('stops reading past the size limit, declared or not', async () => {
    await expect(safeFetch(`${origin}/big`, trusted(), limits)).rejects.toMatchObject({ code: 'media_refused' });
    await expect(safeFetch(`${origin}/chunked`, trusted(), limits)).rejects.toMatchObject({ code: 'media_refused' });
  });

  it('refuses a URL with credentials in it', async () => {
    await expect(safeFetch(`http://user:pw@${origin.slice(7)}/photo`, trusted(), limits)).rejects.toMatchObject({ code: 'media_refused' });
  });
});
