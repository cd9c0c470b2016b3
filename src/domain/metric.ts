import type { Activity, Metric } from './types.js';

/** The metric's total in an activity. */
export function metricTotal(a: Activity, metric: Metric): number {
  switch (metric) {
    case 'key_actions':
      return a.keyActions;
    case 'events':
      return a.events;
    case 'sessions':
      return a.sessions;
    case 'people':
      return a.people;
  }
}
