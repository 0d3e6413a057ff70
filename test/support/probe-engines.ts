/**
 * The probe engines a probe test runs against: the Node.js drivers always,
 * the native engine when its addon is built. Under CI=true the native engine
 * must be there: a CI run that silently tested only the fallback would prove
 * nothing about the engine the service runs by default.
 */
import { loadNativeBinding } from '../../src/probes/engine/native-binding.js';
import { ProbeEngine } from '../../src/probes/engine/probe-engine.js';

export type EngineName = 'node' | 'native';

/** For describe.each: ['node'] plus 'native' when it loads or CI requires it. */
export function probeEngineNames(): EngineName[] {
  return loadNativeBinding().ok || process.env.CI === 'true' ? ['node', 'native'] : ['node'];
}

/** A native engine for one test file; throws, saying how to build it, when the addon is missing. */
export function startNativeEngine(): ProbeEngine {
  const loaded = loadNativeBinding();
  if (!loaded.ok) throw new Error(`these tests need the native probe engine${process.env.CI === 'true' ? ' (required under CI=true)' : ''}: ${loaded.reason}`);
  return new ProbeEngine(loaded.binding);
}
