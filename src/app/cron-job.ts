/**
 * One scheduled job in this process, as the digest and the direct alerts use it:
 * node-cron fires on an expression in a time zone; `noOverlap` and the in-flight
 * promise keep one run at a time here (a firing or `runNow` during a run joins it);
 * across processes and restarts the job's own claim rows in PostgreSQL decide
 * (node-cron's `distributed` mode is not used: it keeps no state across crashes).
 */
import cron from 'node-cron';
import type { Logger } from '../log.js';

export interface CronJob<T> {
  /** Run once now, as a firing would (joining a run in progress). */
  runNow(): Promise<T | 'error'>;
  /** Stop firing; a run in progress sees the signal, gives up its waits and finishes before this resolves. */
  stop(): Promise<void>;
}

export function startCronJob<T>(opts: {
  name: string;
  cron: string;
  tz: string;
  log: Logger;
  /** One run; `signal` aborts when the job stops. */
  run: (signal: AbortSignal) => Promise<T>;
  /** Logged, with `failureFields` and the error, when a run throws; the run's outcome is then 'error'. */
  failure: string;
  failureFields?: Record<string, unknown>;
  onRun?: (outcome: T | 'error') => void;
}): CronJob<T> {
  const { log } = opts;
  const stopping = new AbortController();
  let inFlight: Promise<T | 'error'> | null = null;

  const fire = (): Promise<T | 'error'> => {
    if (inFlight) return inFlight;
    const run = opts.run(stopping.signal).catch((error: unknown) => {
      log.error(opts.failure, { ...opts.failureFields, error });
      return 'error' as const;
    });
    inFlight = run.finally(() => {
      inFlight = null;
    });
    void inFlight.then((outcome) => opts.onRun?.(outcome));
    return inFlight;
  };

  const task = cron.schedule(opts.cron, () => (stopping.signal.aborted ? undefined : fire()), {
    name: opts.name,
    timezone: opts.tz,
    noOverlap: true,
    logger: {
      info: (m) => log.debug(`node-cron: ${m}`),
      warn: (m) => log.warn(`node-cron: ${m}`),
      error: (m, e) => log.error(`node-cron: ${m instanceof Error ? m.message : m}`, e ? { error: e } : undefined),
      debug: () => {},
    },
  });

  return {
    runNow: fire,
    async stop() {
      stopping.abort();
      await task.stop();
      if (inFlight) await inFlight;
      await task.destroy();
    },
  };
}

/** A run's wait: resolves true after `ms`, or false at once when the job stops (`signal` aborts). */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
