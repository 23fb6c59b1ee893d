import { toUsd } from '../shared/money.js';
import { jsonBody, notCharged, num, ok, unknownCost, type Metering, type MeterRequest } from '../shared/meter.js';
import type { PriceTable } from '../shared/prices.js';
import { retryHeaders, type Dialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';

// Twilio serves a resource with `.json`, `.xml` or no extension (then XML): the same send, the same bill.
const MESSAGES = /^\/2010-04-01\/Accounts\/[^/]+\/Messages(\.json|\.xml)?$/;

/** A sent message's cost: its `price` (a negative decimal in `price_unit`), or the US segment estimate. */
function messageUsd(obj: Record<string, unknown>, prices: PriceTable): number | null {
  if (obj.price !== null && obj.price !== undefined && obj.price !== '') {
    const price = Math.abs(Number(obj.price));
    return Number.isFinite(price)
      ? toUsd(prices.units, price, typeof obj.price_unit === 'string' ? obj.price_unit : 'usd')
      : null;
  }
  const perSegment = prices.units.sms_segment_us;
  const segments = num(Number(obj.num_segments));
  return typeof obj.to === 'string' && obj.to.startsWith('+1') && segments > 0 && perSegment !== undefined
    ? segments * perSegment
    : null;
}

/**
 * What a Twilio call costs: sending a message is priced (from a JSON answer; an XML one is
 * unknown); a call's cost accrues while it lasts (unknown here); reads (polling a message's
 * status) are free; any other POST is unknown, never free (it is charged its estimate).
 */
function twilioMeter(req: MeterRequest, prices: PriceTable): Metering {
  if (req.method !== 'POST') return notCharged;
  if (!MESSAGES.test(req.path)) return unknownCost;
  return {
    cost(res) {
      if (!ok(res.status)) return 0;
      const obj = jsonBody(res);
      return obj ? messageUsd(obj, prices) : null;
    },
  };
}

/** Twilio error codes (twilio.com/docs/api/errors) nearest to each refusal. */
function twilioCode(status: number, code: string): number {
  if (status === 401) return 20003;
  if (status === 403 || code === 'spend_cap_exceeded') return 20403;
  if (status === 429) return 20429;
  if (status >= 500) return status === 500 ? 20500 : 20503;
  return 20001;
}

/**
 * Twilio's error body, `{"code", "message", "more_info", "status"}`: the SDK's RestException
 * carries them as `code`, `message`, `moreInfo`, `status` (and `details`). The message starts
 * with our verdict so `String(e)` says what happened.
 */
const refusal: Dialect = (r) => {
  const status = r.code === 'spend_cap_exceeded' ? 403 : r.status;
  const code = twilioCode(status, r.code);
  const body = {
    code,
    message: `${r.code}: ${r.message}`,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
    details: { tourniquet_code: r.code },
  };
  return { status, headers: retryHeaders(r), body };
};

export const twilioProxy: ProxyFacts = {
  baseUrl: 'https://api.twilio.com',
  key: { kind: 'basic-sid' },
  vaultKeyIn: ['basic', 'bearer'],
  recognises: ({ path }) => path.startsWith('/2010-04-01/'),
  customerIdPaths: ['body.To'],
  meter: twilioMeter,
  refusal,
};
