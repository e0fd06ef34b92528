// The npm graphql-ws client (a third-party reference client) against plangruppe:
// subscribe to messageAdded with the session token in connectionParams, print the first
// result as one JSON line on stdout, and exit.
//
//   node subscribe_once.mjs <ws-url> <token> <planId>
//
// A connection the server closes is printed as {"closeCode": <code>, "reason": "..."};
// GraphQL errors as {"errors": [...]}. Exit codes: 0 a line was printed, 3 timed out.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, planId] = process.argv.slice(2);
const TIMEOUT_MS = 30_000;

const query = `subscription($p: ID) {
  messageAdded(planId: $p) { id body author { role } plan { id } }
}`;

let done = false;
function finish(value) {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify(value) + '\n', () => process.exit(0));
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  lazy: true,
  retryAttempts: 0,
  on: { connected: () => process.stderr.write('connected\n') },
});

setTimeout(() => {
  process.stderr.write(`no message within ${TIMEOUT_MS} ms\n`);
  process.exit(3);
}, TIMEOUT_MS);

client.subscribe(
  { query, variables: { p: planId } },
  {
    next: (result) => finish(result),
    error: (err) => {
      if (Array.isArray(err)) finish({ errors: err });
      else if (err && typeof err.code === 'number') finish({ closeCode: err.code, reason: err.reason });
      else finish({ failure: String(err) });
    },
    complete: () => finish({ completed: true }),
  },
);
