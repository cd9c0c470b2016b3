/**
 * Bolt's HTTP receiver, reading Slack's form bodies as Slack means them: one value per
 * field.
 *
 * Bolt parses a form body (slash commands, and interactivity's `payload`) with
 * node:querystring, which turns a repeated key (`text=a&text=b`) into an array. Nothing
 * downstream expects one: `command.text` would be an array (the listener throws, nothing
 * is acknowledged, Slack reports a failure after 3 seconds), Bolt would build `respond`
 * from an array of URLs, and a repeated `payload` is not parsed at all. So here, between
 * Bolt's parse and the app, each repeated field keeps its first value (as
 * URLSearchParams.get does) and a `payload` is then parsed as Bolt parses it.
 *
 * HTTP only, and only form bodies (a JSON body's arrays are meant): Socket Mode delivers
 * each payload as JSON, where a field cannot repeat.
 */
import { parse as parseQuery } from 'node:querystring';
import { HTTPReceiver, type App, type HTTPReceiverOptions, type ReceiverEvent } from '@slack/bolt';

/**
 * Carries, through Bolt's custom-properties hook, the form of a body in which some field
 * repeats (parsed as Bolt parses it); taken out again before the app sees the event.
 */
const REPEATED = 'leadmapsRepeatedForm';

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** A parsed form with one value per field (the first), its `payload` parsed as Bolt parses it. */
export function oneValuePerField(form: Record<string, unknown>): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(form)) flat[k] = Array.isArray(v) ? v[0] : v;
  if (typeof flat.payload === 'string') {
    try {
      return JSON.parse(flat.payload) as Record<string, unknown>;
    } catch {
      return flat; // Bolt finds no type in it and answers as for any body it cannot place
    }
  }
  return flat;
}

export class SlackFormReceiver extends HTTPReceiver {
  constructor(opts: HTTPReceiverOptions) {
    super({
      ...opts,
      customPropertiesExtractor: (req) => {
        const own = opts.customPropertiesExtractor?.(req) ?? {};
        // Bolt parses a body as a form only for exactly this content type; so here.
        if (req.headers['content-type'] !== FORM_TYPE) return own;
        const form = parseQuery(req.rawBody.toString());
        return Object.values(form).some(Array.isArray) ? { ...own, [REPEATED]: form } : own;
      },
    });
  }

  override init(app: App): void {
    // The receiver hands every event to app.processEvent, and uses nothing else of the app.
    const processEvent = (event: ReceiverEvent) => {
      const { [REPEATED]: form, ...rest } = event.customProperties ?? {};
      if (!form) return app.processEvent(event);
      return app.processEvent({ ...event, customProperties: rest, body: oneValuePerField(form as Record<string, unknown>) });
    };
    super.init({ processEvent } as unknown as App);
  }
}
