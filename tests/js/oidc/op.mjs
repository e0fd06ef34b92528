// A real OpenID Provider (the certified npm package oidc-provider, pinned in package.json) for
// the Python tests of OpenID Connect login. tests/oidc_op.py writes the config file, starts
// `node op.mjs <config.json>` and waits for the line READY on stdout.
//
// There is no HTML interaction: POST /test/next-login {"sub", "pid", "acr"} says who the next
// interaction logs in as (kept until changed), and GET /interaction/:uid finishes the login
// and consent prompts by itself (each is its own interaction: login first, then consent), so an
// HTTP client that follows redirects arrives at the client's redirect_uri with code, state and
// iss. Everything is kept in memory (oidc-provider's development adapter, hence its warning):
// a restart forgets sessions, grants and codes.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node op.mjs <config.json>');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));

// Who the next interaction logs in as, and each account's pid as last set for it: findAccount
// is called again at the token endpoint, after the login, so the pid cannot live only in
// nextLogin.
let nextLogin = null;
const pidBySub = new Map();

function sendJson(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

async function readJsonBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

// The logout confirmation page, answered 200 by GET end_session: the library's form (hidden xsrf)
// plus logout=yes ("Yes, sign me out"), submitted by script as soon as the page loads, so the
// logout needs no click. follow_to_client in tests/oidc_op.py posts it as a browser would; the OP
// then redirects to the post_logout_redirect_uri with state.
async function logoutSource(ctx, form) {
  const autoForm = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Logout Request</title></head>
<body>
${autoForm}
<script>document.getElementById('op.logoutForm').submit()</script>
</body></html>`;
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: { keys: config.signing_keys }, // the first RS256 key signs, the others only verify
  findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const pid = pidBySub.get(id);
        return pid == null ? { sub: id } : { sub: id, pid };
      },
    };
  },
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub'], profile: ['pid'] },
  // Put the scope-requested claims (pid) into the ID token, as ID-porten does, even though an
  // access token is issued as well.
  conformIdTokenClaims: false,
  acrValues: config.acr_values,
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 supports
  clientAuthMethods: ['private_key_jwt'],
  responseTypes: ['code'],
  // All set, so that oidc-provider has no "default ttl function called" notices to print.
  ttl: {
    IdToken: config.id_token_ttl,
    AccessToken: 600,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  // Fixed keys: cookies stay verifiable across a restart (the sessions behind them do not).
  cookies: { keys: ['oidc-op-test-cookie-key-not-secret'] },
  clientBasedCORS: () => true,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true, logoutSource },
  },
  async renderError(ctx, out) {
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(out);
  },
});

for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error',
  'userinfo.error', 'jwks.error', 'discovery.error', 'revocation.error', 'introspection.error']) {
  provider.on(event, (ctx, err) => {
    console.error(`${event}: ${ctx.method} ${ctx.path}: ${err.error ?? ''} ${err.error_description ?? err.message} ${err.error_detail ?? ''}`);
    if (event === 'server_error') console.error(err.stack);
  });
}

async function finishInteraction(ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;

  if (prompt.name === 'login') {
    if (!nextLogin) {
      sendJson(ctx, 409, { error: 'no login set: POST /test/next-login first' });
      return;
    }
    const login = { accountId: nextLogin.sub, acr: nextLogin.acr };
    await provider.interactionFinished(ctx.req, ctx.res, { login }, {
      mergeWithLastSubmission: false,
    });
    ctx.respond = false;
    return;
  }

  if (prompt.name === 'consent') {
    // As the library's example: extend the grant this session already has for the client, or
    // make a new one, with exactly what the prompt says is missing.
    let { grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) {
      grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    }
    if (prompt.details.missingOIDCClaims) {
      grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    }
    if (prompt.details.missingResourceScopes) {
      for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes)) {
        grant.addResourceScope(indicator, scope.join(' '));
      }
    }
    grantId = await grant.save();
    const consent = details.grantId ? {} : { grantId };
    // Merge: the login of an earlier submission of this interaction (if any) must stay.
    await provider.interactionFinished(ctx.req, ctx.res, { consent }, {
      mergeWithLastSubmission: true,
    });
    ctx.respond = false;
    return;
  }

  sendJson(ctx, 500, { error: `unexpected prompt ${prompt.name}` });
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/test/next-login') {
    if (ctx.method !== 'POST') {
      sendJson(ctx, 405, { error: 'POST only' });
      return;
    }
    let body;
    try {
      body = await readJsonBody(ctx.req);
    } catch (err) {
      sendJson(ctx, 400, { error: `bad JSON: ${err.message}` });
      return;
    }
    if (typeof body.sub !== 'string' || !body.sub || typeof body.acr !== 'string'
      || !(body.pid === null || body.pid === undefined || typeof body.pid === 'string')) {
      sendJson(ctx, 400, { error: 'expected {"sub": str, "pid": str|null, "acr": str}' });
      return;
    }
    nextLogin = { sub: body.sub, pid: body.pid ?? null, acr: body.acr };
    pidBySub.set(body.sub, nextLogin.pid);
    sendJson(ctx, 200, nextLogin);
    return;
  }

  const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (match && ctx.method === 'GET') {
    ctx.set('cache-control', 'no-store');
    try {
      await finishInteraction(ctx);
    } catch (err) {
      console.error(`interaction ${match[1]}: ${err.stack ?? err}`);
      if (ctx.respond !== false) {
        sendJson(ctx, err.statusCode ?? 500, {
          error: err.error ?? 'server_error',
          error_description: err.error_description ?? err.message,
        });
      }
    }
    return;
  }

  await next();
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log('READY');
});
server.on('error', (err) => {
  console.error(`listen failed: ${err.stack ?? err}`);
  process.exit(1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
