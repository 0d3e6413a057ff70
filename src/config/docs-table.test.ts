import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_TABLES, configRows, renderTable, withTable, type DocumentedSchema } from './docs-table.js';
import { configSchema } from './schema.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the configuration tables', () => {
  it.each(CONFIG_TABLES.map((table) => [table.file, table] as const))('of %s are what the schema says (run `npm run docs:config`)', (file, table) => {
    const document = readFileSync(join(ROOT, file), 'utf8');
    expect(document).toBe(withTable(document, table.marker, renderTable(table)));
  });

  it('document every key of the schema, so a new key without regenerated docs fails the test above', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const withNewKey: DocumentedSchema = {
      ...configSchema,
      properties: {
        ...configSchema.properties,
        server: { ...configSchema.properties.server, properties: { ...configSchema.properties.server.properties, brand_new: { type: 'integer', default: 7, description: 'a new key' } } },
      },
    };
    const table = { schema: withNewKey, elsewhere: {} };
    expect(renderTable(table)).toContain('| `server.brand_new` | `7` | a new key |');
    expect(withTable(readme, 'config-table', renderTable(table))).not.toBe(readme);
  });

  it('refuses a key without a description', () => {
    const undocumented: DocumentedSchema = { type: 'object', properties: { server: { type: 'object', properties: { port: { type: 'integer' } } } } };
    expect(() => configRows(undocumented)).toThrow('configuration key server.port has no description');
  });

  it('shows a section documented on its own page as one row that names its keys and the page', () => {
    const rows = configRows(configSchema, { 'notifications.amqp': 'docs/notifications.md' });
    const amqp = rows.filter((row) => row.key.startsWith('`notifications.'));
    expect(amqp).toHaveLength(1);
    expect(amqp[0]?.key).toBe('`notifications.amqp.*`');
    expect(amqp[0]?.meaning).toMatch(/`enabled`, `url`, .*see \[docs\/notifications\.md\]\(docs\/notifications\.md\)$/);
  });

  it('escapes a pipe in a description, which would otherwise split the cell', () => {
    const table = renderTable({ schema: { type: 'object', properties: { a: { type: 'string', description: 'x | y' } } }, elsewhere: {} });
    expect(table.split('\n')[2]).toBe('| `a` | — | x \\| y |');
  });
});
