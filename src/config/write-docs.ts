/** `npm run docs:config`: regenerates the configuration tables of README.md and docs/notifications.md from the schema. */
import { fileURLToPath } from 'node:url';
import { writeConfigTables } from './docs-table.js';

// dist/config/ or src/config/: the repository root is two levels up either way.
const root = fileURLToPath(new URL('../..', import.meta.url));
const changed = writeConfigTables(root);
console.log(changed.length > 0 ? `rewrote the configuration table of ${changed.join(', ')}` : 'configuration tables already up to date');
