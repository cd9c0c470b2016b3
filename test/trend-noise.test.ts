/**
 * The noise estimator of the trend rule (issue 12), pinned on hand-made series: each
 * account's own week-to-week swing, robust to one odd week, shrunk toward the book's.
 */
import { describe, expect, it } from 'vitest';
import {
  binomCdf,
  binomSf,
  DOWN_TEST_ALPHA,
  EVIDENCE_STEADY_BELOW_Z,
  EVIDENCE_TEST_ALPHA,
  NORMAL_ENOUGH,
  ESTIMATE_REL_VAR,
  PRIOR_FIT_DIFFS,
  PRIOR_WEIGHT,
  PRIOR_WEIGHT_MAX,
  priorWeightAt,
  STEADY_BELOW_Z,
  TEST_ALPHA,
  compareByDrop,
  CLEAR_Z,
  ORDINARY_Z,
  normalTail,
  decideTrend,
  dispersionOf,
  explainTrend,
  fitNoisePrior,
  isGoneQuiet,
  ownDispersion,
  priorDispersion,
  trendVerdict,
  usedToBeActive,
  type NoisePrior,
} from '../src/domain/trend.js';
import type { TrendWindows } from '../src/domain/types.js';
import { mulberry32, poisson } from '../bench/simulate-book.js';

const OLD = 365;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** An old account with these baseline weeks and this much in the last 14 days. */
const acct = (weeks: number[], recent: number, ageDays = OLD): TrendWindows => ({ recent, baseline: sum(weeks), ageDays, weeks });
/** A swing of ±s around m, alternating, 12 weeks. */
const swinging = (m: number, s: number) => Array.from({ length: 12 }, (_, i) => Math.round(m * (1 + (i % 2 ? s : -s))));

describe('ownDispersion: the account\'s own week-to-week variance over its mean', () => {
  it('is zero for a flat account and grows with the swing', () => {
    expect(ownDispersion(new Array(12).fill(100))!.phi).toBe(0);
    const small = ownDispersion(swinging(100, 0.05))!.phi;
    const big = ownDispersion(swinging(100, 0.2))!.phi;
    expect(big).toBeGreaterThan(10 * small);
  });

  it('measures a known swing: ±10 % alternating on 1,000 a week is an sd of about 100 (phi ~10)', () => {
    // Differences are all 200; sd of a difference = sqrt(2) sd, so sd ~ 200/sqrt(2)/sqrt(0.92).
    const phi = ownDispersion(swinging(1000, 0.1))!.phi;
    expect(Math.sqrt(phi * 1000)).toBeGreaterThan(140);
    expect(Math.sqrt(phi * 1000)).toBeLessThan(150);
  });

  const steady = [100, 104, 97, 101, 99, 103, 98, 100, 102, 96, 101, 99];
  it('is barely moved by one holiday week (x0.3), even before the book\'s move is taken out', () => {
    const holiday = [...steady];
    holiday[6] = 30;
    const base = ownDispersion(steady)!.phi;
    const withHoliday = ownDispersion(holiday)!.phi;
    // Unclipped, the two differences of ~70 would make phi ~ 5; clipped it stays near the steady one.
    expect(withHoliday).toBeLessThan(3 * base + 0.5);
    const raw = sum(holiday.slice(1).map((y, i) => (y - holiday[i]) ** 2)) / 11 / 2 / (sum(holiday) / 12);
    expect(raw).toBeGreaterThan(4);
  });

  it('is barely moved by one outlier week (x3)', () => {
    const outlier = [...steady];
    outlier[3] = 300;
    expect(ownDispersion(outlier)!.phi).toBeLessThan(3 * ownDispersion(steady)!.phi + 0.5);
  });

  it('is not moved by a slow growth (differences, not spread around the mean)', () => {
    const growing = steady.map((x, i) => x + 10 * i);
    expect(ownDispersion(growing)!.phi).toBeLessThan(2);
  });

  it('needs two weeks with something in them', () => {
    expect(ownDispersion([5])).toBeNull();
    expect(ownDispersion([0, 0, 0])).toBeNull();
  });
});

describe('dispersionOf: own swing shrunk toward the book\'s at the same volume', () => {
  const prior: NoisePrior = { perWeek: [5, 50, 500, 5000], phi: [1.5, 2.5, 8, 60] };

  it('interpolates the book\'s typical noise in log volume, flat outside', () => {
    expect(priorDispersion(1, prior)).toBe(1.5);
    expect(priorDispersion(50, prior)).toBe(2.5);
    expect(priorDispersion(Math.sqrt(50 * 500), prior)).toBeCloseTo((2.5 + 8) / 2, 6);
    expect(priorDispersion(1e6, prior)).toBe(60);
    // No prior: the rule's assumption before issue 12 (2 x Poisson + a 20 % swing).
    expect(priorDispersion(100, null)).toBeCloseTo(2 + 0.04 * 100, 9);
  });

  it('a young account (4 baseline weeks) is judged mostly on the book', () => {
    const young = acct([50, 50, 50, 50], 100, 14 + 28);
    const d = dispersionOf(young, prior);
    expect(d.own).toBe(true);
    // Its 2 oldest weeks (the latest 2 are left out): 1 difference of weight 0.4 against the
    // book's 2.5 at weight 3.
    expect(d.phi).toBeCloseTo((2.5 * 3) / 3.4, 6);
    // A full year's flat account leans further toward its own calm.
    expect(dispersionOf(acct(new Array(12).fill(50), 100), prior).phi).toBeLessThan(d.phi);
    // Three weeks: nothing of its own to measure yet, the book's alone.
    expect(dispersionOf(acct([50, 50, 50], 100, 14 + 21), prior)).toEqual({ phi: 2.5, own: false });
  });

  it('a tiny account is never judged below Poisson', () => {
    expect(dispersionOf(acct([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 0), prior).phi).toBeGreaterThanOrEqual(1);
  });

  it('a steady giant: its calm is believed, so a -30 % fall shows where the assumed 20 % swing hid it', () => {
    const giant = [70000, 70400, 69800, 70100, 69900, 70300, 69700, 70000, 70200, 69600, 70100, 69900];
    const fell = acct(giant, 0.7 * 140000);
    expect(decideTrend({ ...fell, weeks: undefined })).toBe('steady'); // the assumed swing
    expect(decideTrend(fell, undefined, prior)).toBe('down');
    // A giant that really swings ±25 % a week keeps its -30 % steady.
    expect(decideTrend(acct(swinging(70000, 0.25), 0.7 * 140000), undefined, prior)).toBe('steady');
  });
});

describe('fitNoisePrior: the book\'s typical noise by volume', () => {
  it('needs enough accounts with a full baseline', () => {
    expect(fitNoisePrior(Array.from({ length: 10 }, () => new Array(12).fill(10)))).toBeNull();
    expect(fitNoisePrior(Array.from({ length: 100 }, () => [10, 10, 10]))).toBeNull();
  });

  it('is higher where the book is noisier, and never under Poisson', () => {
    // Small accounts flat (phi 0 -> 1), large ones swinging ±20 %.
    const book = [
      ...Array.from({ length: 60 }, (_, i) => new Array(12).fill(5 + (i % 5))),
      // (half of them in the opposite phase, so the book as a whole is flat)
      ...Array.from({ length: 60 }, (_, i) => swinging(1000 + 10 * i, i % 2 ? 0.2 : -0.2)),
    ];
    const prior = fitNoisePrior(book)!;
    expect(prior.perWeek.length).toBeGreaterThan(1);
    expect(prior.phi[0]).toBe(1);
    expect(prior.phi[prior.phi.length - 1]).toBeGreaterThan(40);
    expect([...prior.perWeek].sort((a, b) => a - b)).toEqual(prior.perWeek);
    expect(prior.weekFactors!.every((f) => Math.abs(f - 1) < 0.01)).toBe(true);
  });

  it('weighs the book by how much its accounts truly differ in noise (empirical Bayes)', () => {
    // Poisson weeks: every account shares one noise (phi 1), so their estimates scatter by
    // chance alone and the book's word is nearly final.
    const rand = mulberry32(7);
    const poissonWeek = (mean: number) => poisson(rand, mean);
    const alike = Array.from({ length: 800 }, () => Array.from({ length: 12 }, () => poissonWeek(40)));
    const shared = fitNoisePrior(alike)!;
    expect(shared.weight!.every((w) => w >= 10)).toBe(true);
    // Half the accounts calm (Poisson), half swinging ±30 % a week: they truly differ, and
    // each account's own estimate counts for more than the fixed weight gave it.
    const differ = Array.from({ length: 200 }, (_, i) => Array.from({ length: 12 }, () => Math.round(i % 2 ? poissonWeek(40) : 40 * (1 + 0.3 * (rand() < 0.5 ? -1 : 1)))));
    const mixed = fitNoisePrior(differ)!;
    const sorted = [...mixed.weight!].sort((a, b) => a - b);
    expect(sorted[sorted.length >> 1]).toBeLessThan(PRIOR_WEIGHT);
    // How the weight moves an account's dispersion: a swinging account of the mixed book keeps
    // most of its own swing; in the book of alike accounts an account's chance high estimate
    // is pulled back to the book's.
    const swinger = acct(differ[0], 80);
    expect(dispersionOf(swinger, mixed).phi).toBeGreaterThan(dispersionOf(swinger, { ...mixed, weight: undefined }).phi);
    const lucky = acct([40, 52, 30, 47, 33, 49, 31, 44, 40, 40, 40, 40], 80);
    expect(dispersionOf(lucky, shared).phi).toBeLessThan(dispersionOf(lucky, { ...shared, weight: undefined }).phi);
    // Interpolated like the noise itself; a prior stored without weights keeps PRIOR_WEIGHT.
    expect(priorWeightAt(1e9, shared)).toBe(shared.weight![shared.weight!.length - 1]);
    expect(priorWeightAt(40, { ...shared, weight: undefined })).toBe(PRIOR_WEIGHT);
    expect(Math.max(...shared.weight!)).toBeLessThanOrEqual(PRIOR_WEIGHT_MAX);
  });

  it('ESTIMATE_REL_VAR: how far an own estimate on a full baseline scatters by chance, as measured', () => {
    const rand = mulberry32(11);
    const poissonWeek = (mean: number) => poisson(rand, mean);
    for (const mean of [5, 40, 400]) {
      const phis = Array.from({ length: 6000 }, () => ownDispersion(Array.from({ length: PRIOR_FIT_DIFFS + 1 }, () => poissonWeek(mean)))!.phi);
      const m = phis.reduce((a, b) => a + b, 0) / phis.length;
      const v = phis.reduce((a, b) => a + (b - m) ** 2, 0) / phis.length;
      const sorted = [...phis].sort((a, b) => a - b);
      const kept = sorted.slice(600, 5400);
      const km = kept.reduce((a, b) => a + b, 0) / kept.length;
      const trimmed = kept.reduce((a, b) => a + (b - km) ** 2, 0) / (kept.length - 1) / 0.661;
      expect(v / (m * m), `own, ${mean} a week`).toBeCloseTo(ESTIMATE_REL_VAR.own, 1);
      expect(trimmed / (m * m), `trimmed, ${mean} a week`).toBeCloseTo(ESTIMATE_REL_VAR.trimmed, 1);
    }
  });

  it('takes the book\'s move (a holiday week) out of every account\'s weeks', () => {
    // 100 accounts at 20..119 a week with a little swing; week 6 is a holiday (x0.3) for all.
    const book = Array.from({ length: 100 }, (_, i) => swinging(20 + i, i % 2 ? 0.05 : -0.05).map((x, wk) => (wk === 6 ? Math.round(0.3 * x) : x)));
    const prior = fitNoisePrior(book)!;
    expect(prior.weekFactors![6]).toBeGreaterThan(0.28);
    expect(prior.weekFactors![6]).toBeLessThan(0.33);
    // An account of this book: its own swing with the holiday taken out is near its ±5 %.
    const w = acct(book[50], 140);
    const withBook = dispersionOf(w, prior).phi;
    const alone = dispersionOf(w, { ...prior, weekFactors: undefined }).phi;
    expect(withBook).toBeLessThan(alone);
  });
});

describe('tiny accounts and gone quiet', () => {
  it('a tiny account (a few a week) is never "sharply" anything', () => {
    for (let perWeek = 1; perWeek < 10; perWeek++) {
      for (const recent of [0, 1, 2, perWeek, 19]) {
        const t = decideTrend(acct(new Array(12).fill(perWeek), recent));
        expect(t, `${perWeek} a week -> ${recent}`).not.toMatch(/sharply/);
      }
    }
  });

  it('gone quiet: silent 14 days after activity in every baseline week, whatever the size', () => {
    const regular = acct([2, 3, 1, 2, 2, 4, 1, 2, 3, 2, 1, 2], 0);
    expect(isGoneQuiet(regular)).toBe(true);
    expect(decideTrend(regular)).toBe('down');
    expect(usedToBeActive(regular)).toBe(true);
    // Once every few weeks: two silent weeks are its habit, not news.
    const sporadic = acct([2, 0, 0, 3, 0, 1, 0, 0, 2, 0, 1, 0], 0);
    expect(isGoneQuiet(sporadic)).toBe(false);
    expect(decideTrend(sporadic)).toBe('steady');
    expect(usedToBeActive(sporadic)).toBe(false);
    // Too young to tell (3 weeks of baseline).
    expect(isGoneQuiet(acct([2, 3, 2], 0, 14 + 21))).toBe(false);
  });
});

describe('what the person sees', () => {
  it('show says why: the fall and the account\'s usual swing', () => {
    const v = trendVerdict(acct(swinging(100, 0.12), 108));
    expect(v.trend).toBe('down');
    expect(explainTrend(v)).toMatch(/^−46 % over the last 14 days; its weekly swing is usually ±\d+ %$/);
    expect(explainTrend({ trend: 'new', change: null, swing: null, goneQuiet: false })).toContain('no baseline yet');
  });

  it('quiet stays biggest drop first (CONTRACT); the z-score explains, it does not reorder', () => {
    // A steady giant down 35 % is more unusual than a small account swinging ±20 % that is
    // down 60 %, yet the 60 % drop is listed first.
    const giant = acct(new Array(12).fill(7000), 0.65 * 14000);
    const noisy = acct(swinging(60, 0.2), 0.4 * 120);
    const rows = [
      { key: 'giant', windows: giant, ...trendVerdict(giant) },
      { key: 'noisy', windows: noisy, ...trendVerdict(noisy) },
    ];
    expect(rows.map((r) => r.trend)).toEqual(['down', 'down sharply']);
    expect(rows[0].z).toBeLessThan(rows[1].z);
    expect(rows.sort(compareByDrop).map((r) => r.key)).toEqual(['noisy', 'giant']);
  });
});

describe('STEADY_BELOW_Z: what PostgreSQL may leave out before the rule runs', () => {
  it(`no window within ${STEADY_BELOW_Z} standard deviations passes the test (binomial variance >= ${NORMAL_ENOUGH})`, () => {
    let lowest = 1;
    for (const p of [0.01, 0.05, 0.1, 14 / 98, 0.2, 0.3, 0.5, 0.7, 0.9]) {
      for (let n = 5; n < 200_000; n = Math.ceil(n * 1.07)) {
        const npq = n * p * (1 - p);
        if (npq < NORMAL_ENOUGH) continue;
        const d = STEADY_BELOW_Z * Math.sqrt(npq);
        lowest = Math.min(lowest, binomCdf(n * p - d, n, p), binomSf(n * p + d, n, p));
      }
    }
    expect(lowest).toBeGreaterThan(Math.max(DOWN_TEST_ALPHA, TEST_ALPHA));
  });

  it(`nor under ${NORMAL_ENOUGH} (a skewed binomial): every p the book's factor can make, every deflated count`, () => {
    // p = 14 f / (14 f + baseline days): 0.03 to 0.83 for f in [0.2, 5] and 14 to 84 days; the grid is wider.
    let lowest = 1;
    for (let p = 0.01; p < 0.96; p *= 1.03) {
      for (let n = 0.02; n * p * (1 - p) < NORMAL_ENOUGH; n *= 1.01) {
        const sd = Math.sqrt(n * p * (1 - p));
        const d = STEADY_BELOW_Z * sd;
        // The recent count is between 0 and n: the tails are lowest at the edge of the band.
        lowest = Math.min(lowest, binomCdf(Math.max(0, n * p - d), n, p), binomSf(Math.min(n, n * p + d), n, p));
      }
    }
    expect(lowest).toBeGreaterThan(Math.max(DOWN_TEST_ALPHA, TEST_ALPHA));
  });

  it(`EVIDENCE_STEADY_BELOW_Z (${EVIDENCE_STEADY_BELOW_Z}): no window that close below its expectation passes a fall's test at the evidence's level`, () => {
    let lowest = 1;
    for (const p of [0.01, 0.05, 0.1, 14 / 98, 0.2, 0.3, 0.5, 0.7, 0.9]) {
      for (let n = 5; n < 200_000; n = Math.ceil(n * 1.07)) {
        const npq = n * p * (1 - p);
        if (npq >= NORMAL_ENOUGH) lowest = Math.min(lowest, binomCdf(n * p - EVIDENCE_STEADY_BELOW_Z * Math.sqrt(npq), n, p));
      }
    }
    for (let p = 0.01; p < 0.96; p *= 1.03) {
      for (let n = 0.02; n * p * (1 - p) < NORMAL_ENOUGH; n *= 1.01) {
        lowest = Math.min(lowest, binomCdf(Math.max(0, n * p - EVIDENCE_STEADY_BELOW_Z * Math.sqrt(n * p * (1 - p))), n, p));
      }
    }
    expect(lowest).toBeGreaterThan(EVIDENCE_TEST_ALPHA);
    expect(EVIDENCE_STEADY_BELOW_Z).toBeLessThanOrEqual(STEADY_BELOW_Z);
  });

  it('CLEAR_Z and ORDINARY_Z sit where the rule takes the normal tail\'s word (a thirtieth of, and 30 times, the test level)', () => {
    expect(normalTail(CLEAR_Z)).toBeLessThan(Math.min(DOWN_TEST_ALPHA, TEST_ALPHA) / 30);
    expect(normalTail(CLEAR_Z - 0.02)).toBeGreaterThan(Math.min(DOWN_TEST_ALPHA, TEST_ALPHA) / 30);
    expect(normalTail(ORDINARY_Z)).toBeGreaterThan(30 * Math.max(DOWN_TEST_ALPHA, TEST_ALPHA));
    expect(normalTail(ORDINARY_Z + 0.02)).toBeLessThan(30 * Math.max(DOWN_TEST_ALPHA, TEST_ALPHA));
    expect(ORDINARY_Z).toBeLessThan(STEADY_BELOW_Z);
  });
});
