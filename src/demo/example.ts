/**
 * The product brief's worked example as Segment calls: Acme Inc (14 people,
 * 1,200 key actions over the last 30 days, up), Northwind Ltd (9, 800, steady),
 * Globex (11, 120, down sharply). Deterministic: the same `now` gives the same
 * calls. The demo and the acceptance test send exactly these.
 */
import { dayString, utcDay } from '../domain/period.js';

export const EXAMPLE_KEY_ACTIONS = ['Report Created', 'Dashboard Shared', 'Invite Sent'];
/** Days of history sent: enough for the trend's 14 + 84-day windows. */
export const EXAMPLE_DAYS = 120;

interface CompanyPlan {
  key: string;
  name: string;
  plan: string;
  people: string[];
  /** Key actions on the day `back` days before today (1 = yesterday). */
  keyActionsOn(back: number): number;
}

const first = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'John', 'Radia', 'Tim', 'Katherine', 'Dennis'];
const last = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Allen', 'Backus', 'Perlman', 'Berners-Lee', 'Johnson', 'Ritchie'];

/**
 * Spread `total` over `days` whole days as evenly as integers allow (the first
 * days take the remainder), so a window's sum is exact.
 */
function even(total: number, days: number, index: number): number {
  const base = Math.floor(total / days);
  return base + (index < total % days ? 1 : 0);
}

/** The last 30 days of the range are yesterday back to 29 days ago (today holds nothing yet). */
const RANGE_DAYS = 29;

export const EXAMPLE_COMPANIES: CompanyPlan[] = [
  {
    key: 'acct_acme',
    name: 'Acme Inc',
    plan: 'Enterprise',
    people: first.slice(0, 14),
    // Grew: about 20 a day before, 1,200 over the last 30 days.
    keyActionsOn: (back) => (back <= RANGE_DAYS ? even(1200, RANGE_DAYS, back - 1) : 20),
  },
  {
    key: 'acct_northwind',
    name: 'Northwind Ltd',
    plan: 'Team',
    people: first.slice(0, 9),
    // Steady: 800 over every 30 days.
    keyActionsOn: (back) => (back <= RANGE_DAYS ? even(800, RANGE_DAYS, back - 1) : even(800, RANGE_DAYS, (back - 1) % RANGE_DAYS)),
  },
  {
    key: 'acct_globex',
    name: 'Globex',
    plan: 'Business',
    people: first.slice(0, 11),
    // Slipping: about 40 a day until six weeks ago, a trickle since (120 over the last 30 days).
    keyActionsOn: (back) => (back <= RANGE_DAYS ? even(120, RANGE_DAYS, back - 1) : back <= 45 ? 4 : 40),
  },
];

export interface SegmentCall {
  type: 'identify' | 'group' | 'track' | 'page';
  userId: string;
  messageId: string;
  timestamp: string;
  [k: string]: unknown;
}

/** Every call of the example, oldest first, as of `now`. */
export function workedExampleCalls(now: Date): SegmentCall[] {
  const calls: SegmentCall[] = [];
  const start = utcDay(now, -EXAMPLE_DAYS);
  for (const c of EXAMPLE_COMPANIES) {
    const domain = c.name.split(' ')[0].toLowerCase();
    c.people.forEach((firstName, i) => {
      const userId = `${domain}-${i + 1}`;
      const at = new Date(start.getTime() + i * 60_000).toISOString();
      const name = `${firstName} ${last[first.indexOf(firstName)]}`;
      calls.push({ type: 'identify', userId, messageId: `ex-${userId}-identify`, timestamp: at, traits: { name, email: `${firstName.toLowerCase()}@${domain}.example` } });
      calls.push({ type: 'group', userId, messageId: `ex-${userId}-group`, timestamp: at, groupId: c.key, traits: { name: c.name, plan: c.plan } });
    });
    for (let back = EXAMPLE_DAYS - 1; back >= 1; back--) {
      const day = utcDay(now, -back);
      const n = c.keyActionsOn(back);
      for (let j = 0; j < n; j++) {
        // Round-robin over people, so everyone is active in the last 30 days; 09:00 onwards, two minutes apart.
        const person = (j + back) % c.people.length;
        const userId = `${domain}-${person + 1}`;
        const t = new Date(day.getTime() + 9 * 3_600_000 + j * 120_000).toISOString();
        const event = EXAMPLE_KEY_ACTIONS[(j + back) % EXAMPLE_KEY_ACTIONS.length];
        calls.push({ type: 'track', userId, messageId: `ex-${c.key}-${dayString(day)}-${j}`, timestamp: t, event, context: { groupId: c.key } });
        if (j % 3 === 0) {
          calls.push({ type: 'page', userId, messageId: `ex-${c.key}-${dayString(day)}-${j}-page`, timestamp: t, name: 'Dashboard', context: { groupId: c.key } });
        }
      }
    }
  }
  return calls;
}

/** The calls in Segment batches under the 500 KB limit. */
export function workedExampleBatches(now: Date, size = 500): { batch: SegmentCall[] }[] {
  const calls = workedExampleCalls(now);
  const out: { batch: SegmentCall[] }[] = [];
  for (let i = 0; i < calls.length; i += size) out.push({ batch: calls.slice(i, i + size) });
  return out;
}
