import type { Contract } from '../shared/contract.js';

/** stripe-node is generated from stripe/openapi; its types (and its API version) are the reference here. */
export const stripeContract: Contract = {
  kind: 'sdk-types',
  sdk: 'stripe',
  note: 'sandbox answers typed as Stripe.Charge, Stripe.Refund, Stripe.PaymentIntent, Stripe.Customer, Stripe.ApiList',
};
