import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { addVethNamespace, dotted, ip, ipv4ToNumber, namespacesOf, removeNamespace, setUpOrUndo, sweepStale, workerSubnetBase } from './netns-kit.js';

// Namespaces here get no address at all: nothing can be sent anywhere.
const PREFIX = 'vimkit-';
function linkExists(name: string): boolean {
  try {
    ip(['link', 'show', name]);
    return true;
  } catch {
    return false;
  }
}
const deadPid = () => spawnSync('true').pid;

afterEach(() => {
  for (const { name, pid } of namespacesOf(PREFIX)) removeNamespace(name, `vkh${pid}`);
});

describe('netns-kit', () => {
  it('sweeps the namespaces and host links of dead processes and keeps those of live ones', () => {
    const dead = deadPid();
    const live = process.ppid;
    for (const pid of [dead, live, process.pid]) {
      addVethNamespace({ namespace: `${PREFIX}${pid}`, hostSide: `vkh${pid}`, farSide: `vkn${pid}`, hostAddresses: [], loopback: false });
    }
    expect(sweepStale(PREFIX, (pid) => `vkh${pid}`)).toEqual([`${PREFIX}${dead}`]);
    expect(namespacesOf(PREFIX).map(({ name, live }) => [name, live]).sort()).toEqual(
      [[`${PREFIX}${live}`, true], [`${PREFIX}${process.pid}`, true]].sort(),
    );
    expect(linkExists(`vkh${dead}`)).toBe(false);
    expect(linkExists(`vkh${live}`)).toBe(true);
  });

  it('undoes a failed set-up and says what ip said', () => {
    const namespace = `${PREFIX}${process.pid}`;
    const net = { namespace, hostSide: `vkh${process.pid}`, farSide: `vkn${process.pid}`, hostAddresses: [], loopback: true };
    addVethNamespace(net);
    expect(() => setUpOrUndo(`could not set up ${namespace}`, () => removeNamespace(namespace, net.hostSide), () => addVethNamespace(net))).toThrow(
      new RegExp(`^could not set up ${namespace}: .*File exists`),
    );
    expect(namespacesOf(PREFIX)).toEqual([]);
    expect(linkExists(net.hostSide)).toBe(false);
  });

  it('counts IPv4 addresses as numbers and keeps worker subnets inside 198.19.128.0/17', () => {
    expect(ipv4ToNumber('198.19.128.0')).toBe(198 * 2 ** 24 + 19 * 2 ** 16 + 128 * 2 ** 8);
    expect(dotted(ipv4ToNumber('198.18.64.255') + 1)).toBe('198.18.65.0');
    expect(dotted(workerSubnetBase(4095))).toBe('198.19.255.248');
    expect(dotted(workerSubnetBase(4096 + 3))).toBe('198.19.128.24');
  });
});
