import { describe, expectTypeOf, it } from 'vitest';
import type { MonitorSettings } from '../../monitors/settings.js';
import { monitorSettingsProperties } from '../../monitors/settings.js';
import type { VimType } from '../../vims/model.js';
import { createSubscriptionBody, type CreateSubscriptionBody } from '../subscriptions/schemas.js';
import { createVimBody, updateVimBody, type CreateVimBody, type UpdateVimBody } from './schemas.js';

// Checked by the type checker (`npm run typecheck`, part of `npm test` and CI): a body type kept by hand drifts from its schema.
describe('request body types', () => {
  it('have exactly the attributes their schemas declare', () => {
    expectTypeOf<keyof CreateVimBody['vim']>().toEqualTypeOf<keyof typeof createVimBody.properties.vim.properties>();
    expectTypeOf<keyof UpdateVimBody['vim']>().toEqualTypeOf<keyof typeof updateVimBody.properties.vim.properties>();
    expectTypeOf<keyof CreateSubscriptionBody['subscription']>().toEqualTypeOf<
      keyof typeof createSubscriptionBody.properties.subscription.properties
    >();
    expectTypeOf<keyof MonitorSettings>().toEqualTypeOf<keyof typeof monitorSettingsProperties>();
  });

  it('take required attributes, enums and nullability from the schema', () => {
    expectTypeOf<CreateVimBody['vim']['type']>().toEqualTypeOf<VimType>();
    expectTypeOf<CreateVimBody['vim']['name']>().toEqualTypeOf<string>();
    expectTypeOf<UpdateVimBody['vim']['name']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<CreateVimBody['vim']['monitor_settings']>().toEqualTypeOf<Partial<MonitorSettings> | null | undefined>();
    expectTypeOf<CreateSubscriptionBody['subscription']['callback_url']>().toEqualTypeOf<string>();
  });
});
