/**
 * The configuration tables of README.md and docs/notifications.md, generated
 * from the schema's `description`s so that a key's documentation has one
 * source. `npm run docs:config` rewrites them; docs-table.test.ts fails when
 * a file differs from what the schema says.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { amqpNotificationsSchema } from '../events/sinks/amqp-config.js';
import { configSchema } from './schema.js';

/** The part of a JSON schema the tables read. */
export interface DocumentedSchema {
  type?: string | readonly string[];
  description?: string;
  default?: unknown;
  properties?: Readonly<Record<string, DocumentedSchema>>;
}

export interface ConfigTable {
  /** Relative to the repository root. */
  file: string;
  /** Between `<!-- NAME:start -->` and `<!-- NAME:end -->`. */
  marker: string;
  /** Keys are shown relative to this schema (docs/notifications.md names `url`, under its `notifications.amqp` heading). */
  schema: DocumentedSchema;
  /** Sections shown as one row that points to their own page, keyed by dotted path. */
  elsewhere: Readonly<Record<string, string>>;
}

export const CONFIG_TABLES: readonly ConfigTable[] = [
  {
    file: 'README.md',
    marker: 'config-table',
    schema: configSchema,
    // Thirteen broker keys with oslo.messaging's names belong with the rest of the AMQP documentation.
    elsewhere: { 'notifications.amqp': 'docs/notifications.md' },
  },
  { file: 'docs/notifications.md', marker: 'amqp-config-table', schema: amqpNotificationsSchema, elsewhere: {} },
];

interface Row {
  key: string;
  default: string;
  meaning: string;
}

/** One row per configuration key (a leaf of the schema); a key without a description is an error. */
export function configRows(schema: DocumentedSchema, elsewhere: Readonly<Record<string, string>> = {}, path = ''): Row[] {
  const rows: Row[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const key = path ? `${path}.${name}` : name;
    const page = elsewhere[key];
    if (page !== undefined) {
      const keys = Object.keys(property.properties ?? {}).map((sub) => `\`${sub}\``);
      rows.push({ key: `\`${key}.*\``, default: '—', meaning: `${describe(property, key)}: ${keys.join(', ')}; see [${page}](${page})` });
    } else if (property.properties) {
      rows.push(...configRows(property, elsewhere, key));
    } else {
      rows.push({ key: `\`${key}\``, default: renderDefault(property.default), meaning: describe(property, key) });
    }
  }
  return rows;
}

export function renderTable(table: Pick<ConfigTable, 'schema' | 'elsewhere'>): string {
  const rows = configRows(table.schema, table.elsewhere);
  const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = ['| key | default | meaning |', '|---|---|---|'];
  for (const row of rows) lines.push(`| ${cell(row.key)} | ${cell(row.default)} | ${cell(row.meaning)} |`);
  return lines.join('\n');
}

/** The document with the table between its markers replaced; throws when the markers are missing. */
export function withTable(document: string, marker: string, table: string): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from < 0 || to < from) throw new Error(`markers ${start} … ${end} not found`);
  return `${document.slice(0, from + start.length)}\n${table}\n${document.slice(to)}`;
}

/** Rewrites every generated table under `root`; returns the files that changed. */
export function writeConfigTables(root: string): string[] {
  const changed: string[] = [];
  for (const table of CONFIG_TABLES) {
    const path = join(root, table.file);
    const before = readFileSync(path, 'utf8');
    const after = withTable(before, table.marker, renderTable(table));
    if (after !== before) {
      writeFileSync(path, after);
      changed.push(table.file);
    }
  }
  return changed;
}

function describe(property: DocumentedSchema, key: string): string {
  if (!property.description) throw new Error(`configuration key ${key} has no description: add one in its schema`);
  return property.description;
}

function renderDefault(value: unknown): string {
  if (value === undefined) return '—';
  if (Array.isArray(value)) return `\`[${value.join(', ')}]\``;
  return `\`${typeof value === 'object' ? JSON.stringify(value) : String(value)}\``;
}
