import { it } from 'vitest';
import { startKeystone } from './keystone.js';
it('starts', async () => {
  const k = await startKeystone();
  console.log('startup ms', k.startupMs, k.url);
  const t0 = Date.now();
  const tok = await k.issueToken(k.member);
  console.log('token ms', Date.now() - t0, tok.length);
  const t1 = Date.now();
  const r = await k.runCli(k.member, ['token', 'issue', '-f', 'json']);
  console.log('cli ms', Date.now() - t1, r);
  await k.stop();
}, 120000);
