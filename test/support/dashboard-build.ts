import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const UI_ROOT = fileURLToPath(new URL('../../ui/', import.meta.url));

/**
 * Builds the dashboard from ui/ into dist/dashboard, as `npm run build`
 * does, so a browser test never runs against a stale build (about a second).
 */
export async function buildDashboard(): Promise<void> {
  await build({ root: UI_ROOT, logLevel: 'warn', configFile: `${UI_ROOT}vite.config.ts` });
}
