/**
 * The real @segment/analytics-node SDK, pointed at the real server, against a
 * real database: identify, group, track and page calls end up exactly in the
 * per-company rollups.
 */
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companyTotals, company, person } from './helpers/dbq.js';
import { startTestApp, WRITE_KEY } from './harness.js';

describe('ingestion through @segment/analytics-node', () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  beforeAll(async () => {
    app = await startTestApp({ env: { KEY_ACTIONS: 'Report Exported, Invite Sent' } });
  });
  afterAll(async () => {
    await app?.stop();
    await app?.dropDatabase();
  });

  it('stores identify, group, track and page calls per company', async () => {
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: app.url, path: '/v1/batch', flushAt: 7, flushInterval: 50, maxRetries: 3 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const t0 = Date.parse('2026-11-20T10:00:00Z');
    const at = (min: number) => new Date(t0 + min * 60_000);

    analytics.identify({ userId: 'u1', traits: { name: 'Ada Lovelace', email: 'ada@acme.test', company: { id: 'acme', name: 'Acme Inc' } }, timestamp: at(0) });
    analytics.group({ userId: 'u2', groupId: 'acme', traits: { name: 'Acme Inc', plan: 'enterprise' }, timestamp: at(0) });
    analytics.identify({ userId: 'u2', traits: { email: 'bob@acme.test' }, timestamp: at(0) });
    analytics.group({ userId: 'u3', groupId: 'globex', traits: { name: 'Globex' }, timestamp: at(0) });
    // The SDK may send batches concurrently, so a later batch can be stored first; the
    // tracks below rely on u2's group call being stored already (README, the group key).
    await analytics.flush({ timeout: 10_000 });
    // u1: two sessions (gap of 45 minutes), 3 events, 2 key actions.
    analytics.track({ userId: 'u1', event: 'Report Exported', timestamp: at(1) });
    analytics.page({ userId: 'u1', name: 'Dashboard', timestamp: at(10) });
    analytics.track({ userId: 'u1', event: 'Invite Sent', timestamp: at(55) });
    // u2: one session, company from the earlier group call.
    analytics.track({ userId: 'u2', event: 'Viewed Chart', timestamp: at(5) });
    analytics.track({ userId: 'u2', event: 'Report Exported', timestamp: at(20) });
    // u3 at globex via context.groupId on the event itself.
    analytics.track({ userId: 'u3', event: 'Viewed Chart', context: { groupId: 'globex' }, timestamp: at(3) });
    // An anonymous visitor with no company: ungrouped, counted, not dropped.
    analytics.page({ anonymousId: 'anon-1', name: 'Pricing', timestamp: at(2) });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);

    const totals = await companyTotals(app.database.db);
    expect(totals).toEqual([
      { company_key: '', events: 1, key_actions: 0, sessions: 1, person_days: 1 },
      { company_key: 'acme', events: 5, key_actions: 3, sessions: 3, person_days: 2 },
      { company_key: 'globex', events: 1, key_actions: 0, sessions: 1, person_days: 1 },
    ]);
    expect(await company(app.database.db, 'acme')).toMatchObject({ name: 'Acme Inc', traits: { name: 'Acme Inc', plan: 'enterprise' } });
    expect(await person(app.database.db, 'u1')).toMatchObject({ company_key: 'acme', name: 'Ada Lovelace', email: 'ada@acme.test' });
    expect(await person(app.database.db, 'u2')).toMatchObject({ company_key: 'acme', name: null, email: 'bob@acme.test' });
  });

  it('an alias in a batch is accepted and changes nothing; the batch around it is stored', async () => {
    const analytics = new Analytics({ writeKey: WRITE_KEY, host: app.url, path: '/v1/batch', flushAt: 3, flushInterval: 50, maxRetries: 3 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const before = await companyTotals(app.database.db);
    const t = new Date(Date.parse('2026-11-21T10:00:00Z'));
    analytics.track({ userId: 'al1', event: 'Viewed Chart', context: { groupId: 'initech' }, timestamp: t });
    analytics.alias({ userId: 'al1', previousId: 'anon-al1', timestamp: t });
    analytics.track({ userId: 'al1', event: 'Viewed Chart', context: { groupId: 'initech' }, timestamp: new Date(t.getTime() + 60_000) });
    await analytics.closeAndFlush({ timeout: 10_000 });
    expect(errors).toEqual([]);
    const after = await companyTotals(app.database.db);
    expect(after.find((r) => r.company_key === 'initech')).toEqual({ company_key: 'initech', events: 2, key_actions: 0, sessions: 1, person_days: 1 });
    expect(after.filter((r) => r.company_key !== 'initech')).toEqual(before);
    expect(await person(app.database.db, 'anon-al1')).toBeUndefined();
  });
});
