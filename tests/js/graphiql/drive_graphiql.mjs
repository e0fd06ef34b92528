// Headless Chromium through the gateway's GraphiQL page (tests/http/test_graphiql.py):
//
//   node drive_graphiql.mjs <chromium> <gateway-url> <token> <planId>
//
// Every request to a host other than the gateway's is aborted and recorded, so the page must
// work with no internet. In GraphiQL it runs, one after another, `{ __typename }`; with the
// token in the header editor, `{ me { id } }`; and a messageAdded subscription for the plan,
// posting messages (over plain HTTP, outside the browser) until one shows in the result pane.
// Prints one JSON line: what the result pane showed after each, the other hosts the page
// tried, CSP violations and console errors. Exit codes: 0 printed, 3 a step timed out.
import { chromium } from 'playwright-core';

const [executablePath, gatewayUrl, token, planId] = process.argv.slice(2);
const STEP_MS = 30_000;
const origin = new URL(gatewayUrl).origin;
const graphqlUrl = `${origin}/graphql`;

const report = { foreignRequests: [], webSockets: [], cspViolations: [], consoleErrors: [] };

class StepTimeout extends Error {}

function fail(what) {
  throw new StepTimeout(what);
}

function print(value, code) {
  process.stdout.write(JSON.stringify(value) + '\n', () => process.exit(code));
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // Root in a container has no user namespaces for Chromium's sandbox.
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const context = await browser.newContext();
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || new URL(url).origin === origin) return route.continue();
    report.foreignRequests.push(url);
    return route.abort('blockedbyclient');
  });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') report.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => report.consoleErrors.push(String(err)));
  page.on('websocket', (ws) => report.webSockets.push(ws.url()));
  page.setDefaultTimeout(STEP_MS);

  await page.goto(graphqlUrl, { waitUntil: 'load' });
  await page.locator('.graphiql-query-editor .CodeMirror').waitFor();

  // The editors are CodeMirror 5 instances; set their text as a user's typing would.
  async function setEditor(selector, text) {
    await page.evaluate(
      ([sel, value]) => document.querySelector(sel).CodeMirror.setValue(value),
      [selector, text],
    );
  }

  async function run(query, expected) {
    await setEditor('.graphiql-query-editor .CodeMirror', query);
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    try {
      await result.filter({ hasText: expected }).waitFor({ timeout: STEP_MS });
    } catch {
      return null;
    }
    return (await result.innerText()).replace(/\s+/g, ' ');
  }

  report.typename = await run('{ __typename }', '"Query"');
  if (report.typename === null) fail('{ __typename }');

  // The header editor: its tab is open (defaultEditorToolsVisibility: 'headers').
  await page.locator('.graphiql-editor-tools button', { hasText: 'Headers' }).click();
  const headers = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
  await page.locator(headers).waitFor();
  await setEditor(headers, JSON.stringify({ Authorization: `Bearer ${token}` }));
  report.me = await run('{ me { id } }', '"me": {');
  if (report.me === null) fail('{ me { id } }');

  // A subscription over graphql-transport-ws; messages are posted until one arrives.
  const body = `Hei fra GraphiQL ${Date.now()}`;
  await setEditor(
    '.graphiql-query-editor .CodeMirror',
    `subscription { messageAdded(planId: "${planId}") { body } }`,
  );
  // GraphiQL parses the editor's text after a short debounce, and sends an operation over
  // WebSocket only once that parse says it is a subscription.
  await page.waitForTimeout(1000);
  await page.locator('.graphiql-execute-button').click();
  const deadline = Date.now() + STEP_MS;
  const shown = page.locator('.result-window', { hasText: body });
  while (!(await shown.count())) {
    if (Date.now() > deadline) fail('messageAdded');
    const posted = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: 'mutation($p: ID!, $b: String!) { postMessage(planId: $p, body: $b) { id } }',
        variables: { p: planId, b: body },
      }),
    });
    if (!posted.ok) throw new Error(`postMessage: ${posted.status} ${await posted.text()}`);
    await page.waitForTimeout(300);
  }
  report.subscription = (await shown.first().innerText()).replace(/\s+/g, ' ');
} catch (err) {
  if (!(err instanceof StepTimeout)) throw err;
  report.timedOut = err.message;
} finally {
  const pages = browser.contexts().flatMap((c) => c.pages());
  if (pages.length) report.cspViolations = await pages[0].evaluate(() => window.__cspViolations);
  await browser.close();
}
print(report, report.timedOut ? 3 : 0);
