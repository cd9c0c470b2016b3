/** Checks and look-ups on a Home view (`{ type: 'home', blocks, private_metadata }`), for the pure and the wire tests. */
import { expect } from 'vitest';

export interface ViewLike {
  type: string;
  blocks: Record<string, any>[];
  private_metadata?: string;
}

export interface TextObj {
  type: string;
  text: string;
  verbatim?: boolean;
}

export function walk(node: unknown, visit: (o: Record<string, any>) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node && typeof node === 'object') {
    visit(node as Record<string, any>);
    Object.values(node).forEach((v) => walk(v, visit));
  }
}

/** Every mrkdwn text of the view, in order. */
export function mrkdwnTexts(view: ViewLike): string[] {
  const out: string[] = [];
  walk(view.blocks, (o) => {
    if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
  });
  return out;
}

/** Everything visible, mrkdwn and plain text, joined. */
export function allText(view: ViewLike): string {
  const out: string[] = [];
  walk(view.blocks, (o) => {
    if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o.text);
  });
  return out.join('\n');
}

export interface Element {
  type: string;
  action_id: string;
  value?: string;
  text?: TextObj;
  options?: { text: TextObj; value: string }[];
  initial_option?: { text: TextObj; value: string };
}

/** Every interactive element (buttons and selects), in order. */
export function elements(view: ViewLike): Element[] {
  const out: Element[] = [];
  walk(view.blocks, (o) => {
    if ((o.type === 'button' || o.type === 'static_select') && typeof o.action_id === 'string') out.push(o as Element);
  });
  return out;
}

export function buttonNamed(view: ViewLike, text: string | RegExp): Element | undefined {
  return elements(view).find((e) => e.type === 'button' && (typeof text === 'string' ? e.text?.text === text : text.test(e.text?.text ?? '')));
}

export function selectOf(view: ViewLike, actionId: string): Element | undefined {
  return elements(view).find((e) => e.type === 'static_select' && e.action_id === actionId);
}

/** The sections that carry a Details button: [their mrkdwn, the button]. */
export function companySections(view: ViewLike): { text: string; button: Element }[] {
  return view.blocks
    .filter((b) => b.type === 'section' && b.accessory?.type === 'button' && /^groups:show:/.test(b.accessory.action_id))
    .map((b) => ({ text: b.text.text as string, button: b.accessory as Element }));
}

/** Splits the list view's company sections into the ranked list and the "Going quiet" list (after the divider). */
export function listParts(view: ViewLike): { ranked: string[]; quiet: string[]; rankedButtons: Element[]; quietButtons: Element[] } {
  const divider = view.blocks.findIndex((b) => b.type === 'divider');
  const part = (blocks: Record<string, any>[]) => companySections({ type: 'home', blocks });
  const before = part(divider < 0 ? view.blocks : view.blocks.slice(0, divider));
  const after = divider < 0 ? [] : part(view.blocks.slice(divider + 1));
  return {
    ranked: before.map((s) => s.text),
    quiet: after.map((s) => s.text),
    rankedButtons: before.map((s) => s.button),
    quietButtons: after.map((s) => s.button),
  };
}

export function viewBytes(view: unknown): number {
  return Buffer.byteLength(JSON.stringify(view), 'utf8');
}

/** What every Home view must satisfy, whatever its data. */
export function expectValidView(view: ViewLike): void {
  expect(view.type).toBe('home');
  expect(view.blocks.length).toBeGreaterThan(0);
  expect(view.blocks.length).toBeLessThanOrEqual(100);
  expect(viewBytes(view)).toBeLessThan(250_000);
  if (view.private_metadata !== undefined) expect(view.private_metadata.length).toBeLessThanOrEqual(3000);
  const ids: string[] = [];
  walk(view.blocks, (o) => {
    expect(o).not.toHaveProperty('link_names');
    expect(o).not.toHaveProperty('parse');
    if (o.type === 'mrkdwn') {
      expect(o.verbatim).toBe(true);
      expect(o.text.length).toBeGreaterThan(0);
      expect(o.text.length).toBeLessThan(3000);
      // The only link or mention we write ourselves is an owner's mention (<@U…>); no other < or > may reach mrkdwn; & only as an entity.
      expect(o.text.replace(/<@[UW][A-Z0-9]{2,30}>/g, '')).not.toMatch(/[<>]/);
      expect(o.text).not.toMatch(/&(?!(amp|lt|gt);)/);
    }
    if (o.type === 'header') expect(o.text.text.length).toBeLessThanOrEqual(150);
    if (o.type === 'actions') {
      expect(o.elements.length).toBeGreaterThan(0);
      expect(o.elements.length).toBeLessThanOrEqual(25);
    }
    if (o.type === 'button' || o.type === 'static_select') {
      expect(o.action_id.length).toBeLessThanOrEqual(255);
      expect(o.action_id).toMatch(/^groups:(show|back|page|range|metric|watch|unwatch|disown)(:\d{1,6})?$/);
      ids.push(o.action_id);
    }
    if (o.type === 'button') {
      expect(o.text.type).toBe('plain_text');
      expect(o.text.text.length).toBeLessThanOrEqual(75);
      if (o.value !== undefined) expect(o.value.length).toBeLessThanOrEqual(2000);
    }
    if (o.type === 'static_select') {
      expect(o.options.length).toBeGreaterThan(0);
      expect(o.options.length).toBeLessThanOrEqual(100);
      if (o.initial_option) expect(o.options).toContainEqual(o.initial_option);
    }
  });
  expect(new Set(ids).size).toBe(ids.length); // action ids unique within the view
}

/** The escaped form of a raw string, as it must appear in mrkdwn. */
export function escaped(raw: string): string {
  return raw.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
