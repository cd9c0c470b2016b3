/**
 * The product's words, shared by domain, rendering, queries and transports.
 * Pure types: nothing here imports Slack or the database.
 */

/** What a company's activity is measured in. */
export type Metric = 'key_actions' | 'events' | 'sessions' | 'people';
export const METRICS: readonly Metric[] = ['key_actions', 'events', 'sessions', 'people'];

/** A company's direction, from its recent rate against its own earlier baseline. */
export type Trend = 'up sharply' | 'up' | 'steady' | 'down' | 'down sharply' | 'new';
export const TRENDS: readonly Trend[] = ['up sharply', 'up', 'steady', 'down', 'down sharply', 'new'];

/** A number of whole UTC days ending with today (today included). */
export interface Range {
  days: number;
  /** How the user wrote it, for display: "30d", "4w". */
  label: string;
}

/** The four measures of a company (or a person) over a range. */
export interface Activity {
  people: number;
  events: number;
  keyActions: number;
  sessions: number;
}

/** The two windows a trend compares, summed for one metric (see domain/trend.ts). */
export interface TrendWindows {
  /** Metric total over the recent window (RECENT_DAYS complete days before today). */
  recent: number;
  /** Metric total over the baseline window (BASELINE_DAYS complete days before the recent window). */
  baseline: number;
  /** Whole days between the company's first activity and today (0 = first seen today). */
  ageDays: number;
  /**
   * The metric over each 7-day week of the baseline the company had, oldest first (12 for a
   * full baseline); the rule measures the account's own week-to-week swing on them. Absent:
   * the book's typical swing (or the assumed one) stands in.
   */
  weeks?: number[];
  /**
   * The same measured ahead (the daily rollover keeps it per company, so replies need not read
   * the weeks): the account's own dispersion over its baseline weeks (domain/trend
   * ownDispersion, the book's weekly move taken out, the latest OWN_SKIP_WEEKS left out; null
   * with too few weeks) and how many of its baseline weeks had any activity. Used when `weeks`
   * is absent.
   */
  noise?: { phi: number | null; activeWeeks: number };
}

/** One row of the company list (top, quiet, report, digest, App Home). */
export interface CompanyRow {
  key: string;
  /** Display name; null when no name was ever sent (show the key then). */
  name: string | null;
  activity: Activity;
  windows: TrendWindows;
  trend: Trend;
  /** recent rate / baseline rate - 1 (for example -0.9 for a 90 % drop); null with no baseline. */
  change: number | null;
  /** The account's usual week-to-week swing the trend was judged against (0.12 = ±12 %); null/absent with no baseline. */
  swing?: number | null;
  /** How unusual the recent window is for this account (a z-score, negative = below). Lists stay biggest drop first (CONTRACT); the z-score explains, it does not order. */
  z?: number;
  /** Nothing in the recent window after regular activity (see domain/trend isGoneQuiet). */
  goneQuiet?: boolean;
  /** The fall was called on another metric's evidence, the asked one being thin (domain/trend trendWithEvidence). */
  evidence?: { metric: Metric; change: number; asked?: Metric };
}

export interface PersonRow {
  id: string;
  /** traits.name, else traits.email, else the user id. */
  displayName: string;
  activity: Activity;
  lastSeen: Date;
}

export interface WeekPoint {
  /** First day of the 7-day block (UTC midnight). */
  start: Date;
  value: number;
}

export interface CompanyDetail extends CompanyRow {
  traits: Record<string, unknown>;
  /** People ever seen at this company. */
  peopleKnown: number;
  /** Oldest first, 12 blocks of 7 days, the last one ending today. */
  weeks: WeekPoint[];
  /** Ranked by the metric over the range, most active first. */
  people: PersonRow[];
  firstSeen: Date;
  lastSeen: Date;
  /** What its people do over the range (company_event_days); absent where not read. */
  events?: EventCounts;
}

/**
 * An event's change against its own baseline (domain/event-changes): recent rate / baseline rate
 * - 1; 'new' when it has no baseline but was used lately; null when there is nothing to say (a
 * company too young for a baseline, or an event not used lately).
 */
export type EventChange = number | 'new' | null;

/** An event whose drop against its own baseline passed the trend's test. */
export interface EventDrop {
  name: string;
  /** Its weekly rate over the baseline, and over the recent window. */
  perWeekBefore: number;
  perWeekNow: number;
  /** recent rate / baseline rate - 1 (-1: none at all lately). */
  change: number;
  trend: Trend;
}

/** An event used in most baseline weeks and not at all lately. */
export interface EventStop {
  name: string;
  perWeekBefore: number;
  /** Baseline weeks with any of it, of the `weeks` the company had. */
  activeWeeks: number;
  weeks: number;
  /** Last UTC day it was used ('YYYY-MM-DD'); null when not known. */
  lastDay: string | null;
}

/** A company's events over a range: the most frequent, and what the bound on names folded. */
export interface EventCounts {
  /** Most frequent first (not "other events"), each with its change against its own baseline. */
  top: { name: string; count: number; change?: EventChange }[];
  /** Distinct names counted in the range (not "other events"). */
  names: number;
  /** Events counted under "other events" in the range: names past the company's bound. */
  other: number;
  /** Whether the events were judged against a baseline (false: the company is too young). */
  judged?: boolean;
  /** Significant drops (not the stopped ones), largest first. */
  fellMost?: EventDrop[];
  /** Used in most baseline weeks, not at all lately; most used first. */
  stopped?: EventStop[];
}

export interface ReportCounts {
  active: number;
  growing: number;
  steady: number;
  atRisk: number;
  goneQuiet: number;
  new: number;
  total: number;
}

/** Group-key health over one window. */
export interface KeyCoverage {
  days: number;
  events: number;
  eventsWithCompany: number;
  people: number;
  peopleWithCompany: number;
}

/** Several keys or spellings that look like one company. */
export interface SplitCompany {
  /** The normalised name they share (or why they were grouped). */
  reason: string;
  companies: { key: string; name: string | null }[];
}

export interface KeyHealth {
  coverage: KeyCoverage[]; // 7 and 30 days
  splits: SplitCompany[];
  /** Keys that look like display names rather than ids ("Acme Inc" as a key). */
  nameLikeKeys: { key: string; name: string | null }[];
}

/** A company's owner, as resolved by src/app/owners.ts. */
export type Owner =
  | { kind: 'user'; userId: string; source: 'slack' | 'trait' }
  /** The trait names someone Slack could not tell us about: shown as plain text. */
  | { kind: 'unresolved'; text: string; why: 'not-in-slack' | 'not-an-email' | 'lookup-failed'; error?: string }
  /** No owner; `nobody` when it was set so in Slack. */
  | { kind: 'none'; nobody: boolean };

/** The parsed text of `/groups ...`. */
export type GroupsCommand =
  | { kind: 'top'; range: Range; metric: Metric | null; limit: number }
  | { kind: 'quiet'; range: Range }
  | { kind: 'show'; query: string; range: Range }
  /** `show NAME events [range]`: every event of the company with its count, paged. */
  | { kind: 'events'; query: string; range: Range }
  | { kind: 'report'; range: Range }
  | { kind: 'key' }
  | { kind: 'digest' }
  /** `set` null: say who owns it; `userId` null: clear the owner set in Slack; `email`: the Slack user with that email. */
  | { kind: 'owner'; query: string; set: { userId: string | null } | { email: string } | null }
  | { kind: 'watch'; query: string }
  | { kind: 'unwatch'; query: string }
  | { kind: 'mine' }
  /** `suggestion`: the subcommand an unknown first word most likely meant (`tpo` -> `top`). */
  | { kind: 'help'; unknown: string | null; problem: string | null; suggestion?: string };

/** A message as Slack takes it: a plain-text fallback plus Block Kit blocks. */
export interface SlackMessage {
  text: string;
  blocks: import('@slack/types').KnownBlock[];
}
