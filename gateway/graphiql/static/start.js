// plangruppe's GraphiQL page (served at GET /graphql in development; docs/operations.md).
// Queries and mutations go to this page's own URL over HTTP, subscriptions to the same URL
// over WebSocket (graphql-transport-ws). The headers typed in GraphiQL's header editor,
// e.g. {"Authorization": "Bearer <token>"}, go with every HTTP request and, as the
// connection_init payload, with every subscription. Nothing is loaded from another host.
(function () {
  'use strict';

  var http = new URL(window.location.href);
  http.search = '';
  http.hash = '';
  var ws = new URL(http.href);
  ws.protocol = http.protocol === 'https:' ? 'wss:' : 'ws:';

  var WELCOME = [
    '# plangruppe GraphiQL',
    '#',
    '# Log in: run `login(username, password)`, then `verifyLoginCode(challengeId, code)`',
    '# with the one-time code (without a mail server it is printed in the gateway log).',
    '# Put the session token in Headers below:',
    '#',
    '#   { "Authorization": "Bearer <token>" }',
    '#',
    '# It goes with every query and mutation, and with subscriptions over WebSocket.',
    '# Run with Ctrl-Enter. The API is described in docs/api.md.',
    '',
    '{ __typename }',
    '',
  ].join('\n');

  var fetcher = GraphiQL.createFetcher({ url: http.href, subscriptionUrl: ws.href });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: WELCOME,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    }),
  );
})();
