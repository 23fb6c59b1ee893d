import { stripeClient } from './refund-agent.js';

/**
 * The other consumers of the same Stripe account in seed 002's story: the billing webhook
 * handler and the reconciliation cron. Each makes one harmless call; "broken" means refused.
 */
export interface Consumer {
  name: string;
  key: string;
  baseUrl: string;
}

export interface ConsumerCheck {
  name: string;
  works: boolean;
  status: number;
}

export async function checkConsumer(c: Consumer, chargeId: string): Promise<ConsumerCheck> {
  const stripe = stripeClient(c.key, c.baseUrl);
  try {
    if (c.name === 'reconciliation-cron') await stripe.charges.list({ limit: 3 });
    else await stripe.charges.retrieve(chargeId);
    return { name: c.name, works: true, status: 200 };
  } catch (err) {
    return { name: c.name, works: false, status: (err as { statusCode?: number }).statusCode ?? 0 };
  }
}

export const CONSUMER_NAMES = ['billing-webhook', 'reconciliation-cron'] as const;
