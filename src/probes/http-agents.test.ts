import { describe, expect, it } from 'vitest';
import { AgentPool } from './http-agents.js';

describe('the HTTP agent pool of the probes', () => {
  it('shares one agent between VIMs with the same purpose and TLS settings', async () => {
    const pool = new AgentPool();
    const a = pool.agentFor('vim-a', 'api', { verify: true });
    const b = pool.agentFor('vim-b', 'api', { verify: true });
    expect(a).toBe(b);
    expect(pool.size()).toBe(1);
    expect(pool.agentFor('vim-c', 'api', { verify: false })).not.toBe(a);
    expect(pool.agentFor('vim-a', 'kube-auth', { verify: true })).not.toBe(a);
    expect(pool.size()).toBe(3);
    await pool.close();
  });

  it('closes an agent once the last VIM using it is forgotten, and moves a VIM whose settings changed', async () => {
    const pool = new AgentPool();
    pool.agentFor('vim-a', 'api', { verify: true });
    pool.agentFor('vim-b', 'api', { verify: true });
    pool.forget('vim-a');
    expect(pool.size()).toBe(1);
    pool.agentFor('vim-b', 'api', { verify: false });
    expect(pool.size()).toBe(1);
    pool.forget('vim-b');
    expect(pool.size()).toBe(0);
    await pool.close();
  });
});
