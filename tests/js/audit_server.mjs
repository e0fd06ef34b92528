// The npm graphql-http server audit (GraphQL over HTTP conformance) against plangruppe:
// every audit's result as one JSON line on stdout ({"id", "name", "status", "reason"}),
// status "ok", "notice" (a MAY), "warn" (a SHOULD) or "error" (a MUST).
//
//   node audit_server.mjs <http-url-of-/graphql>
//
// Exit codes: 0 every audit ran (whatever its status), 2 bad arguments, 1 an audit crashed.
import { auditServer } from 'graphql-http';

const [url] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node audit_server.mjs <url>\n');
  process.exit(2);
}

const results = await auditServer({ url });
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    line.httpStatus = result.response.status;
    line.contentType = result.response.headers.get('content-type');
    line.body = await result.response.text();
  }
  process.stdout.write(JSON.stringify(line) + '\n');
}
