// The store's checkout function: packaged deterministically, signed, and deployed only after
// its signature verifies.
import { greet } from './greet.mjs';

export const handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({
    message: greet(event?.name ?? 'customer'),
    total: (event?.items ?? []).reduce((sum, item) => sum + item.price, 0),
  }),
});
