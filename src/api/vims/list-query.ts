import { InvalidInputError } from '../../errors.js';
import type { VimFilter } from '../../vims/model.js';

export interface VimListQuery {
  filter: VimFilter;
  fields?: string[];
  /** `?maintenance=true|false`: only VIMs in (or out of) a maintenance window now. */
  maintenance?: boolean;
}

const FILTERS: Record<string, keyof VimFilter> = {
  id: 'ids',
  name: 'names',
  tenant_id: 'tenantIds',
  type: 'types',
  status: 'statuses',
  is_default: 'isDefault',
};
export const FIELD_NAMES = new Set([
  'id', 'tenant_id', 'name', 'description', 'type', 'auth_url', 'auth_cred', 'vim_project',
  'is_default', 'extra', 'status', 'placement_attr', 'created_at', 'updated_at', 'monitor_settings',
  'conditions', 'health', 'capacity', 'maintenance',
]);

/**
 * Parses Tacker's list query string: attribute filters (repeat a key for
 * alternatives: `?name=a&name=b`) and `fields=` projections. Unknown keys are
 * refused rather than ignored, so a typo never silently widens a result.
 */
export function parseListQuery(query: Record<string, string | string[] | undefined>): VimListQuery {
  const filter: VimFilter = {};
  let fields: string[] | undefined;
  let maintenance: boolean | undefined;
  for (const [key, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (key === 'maintenance') {
      maintenance = parseBoolean(values[values.length - 1] ?? '', key);
      continue;
    }
    if (key === 'fields') {
      fields = values.flatMap((value) => value.split(',')).map((f) => f.trim()).filter((f) => f !== '');
      const unknown = fields.find((f) => !FIELD_NAMES.has(f));
      if (unknown) throw new InvalidInputError(`Unknown field '${unknown}' in fields=`);
      continue;
    }
    // Own keys only: `constructor`, `toString`, … must be refused like any unknown name.
    const target = Object.hasOwn(FILTERS, key) ? FILTERS[key] : undefined;
    if (!target) {
      throw new InvalidInputError(`Unknown query parameter '${key}'; filters: ${Object.keys(FILTERS).join(', ')}, maintenance, and fields`);
    }
    if (target === 'isDefault') {
      filter.isDefault = parseBoolean(values[values.length - 1] ?? '', key);
    } else {
      filter[target] = values;
    }
  }
  return { filter, ...(fields && { fields }), ...(maintenance !== undefined && { maintenance }) };
}

function parseBoolean(value: string, key: string): boolean {
  const lowered = value.toLowerCase();
  if (lowered === 'true' || lowered === '1') return true;
  if (lowered === 'false' || lowered === '0') return false;
  throw new InvalidInputError(`Invalid value for filter '${key}': must be true or false`);
}
