// A plangruppe client with nothing but `fetch` and `graphql-ws` (no framework):
//
//   1. log in: password, then the one-time code (engangskode);
//   2. list my plans;
//   3. open one, asking only for what `myAccess` and `visibleFields` allow;
//   4. subscribe to `messageAdded`, post a message, and receive it live;
//   5. log out.
//
// Run it (Node 20+):
//
//   cd examples && npm ci
//   PLANGRUPPE_USERNAME=demo.koordinator PLANGRUPPE_PASSWORD=... npm start
//
// Settings come from the environment:
//   PLANGRUPPE_URL       the gateway (default http://127.0.0.1:8000)
//   PLANGRUPPE_USERNAME  PLANGRUPPE_PASSWORD   the account
//   PLANGRUPPE_CODE      the one-time code; unset: read one line from standard input
//   PLANGRUPPE_PLAN_ID   the plan to open (default: the first of my plans)
//   PLANGRUPPE_MESSAGE   the message to post (default: a greeting)
//
// Exit codes: 0 done, 1 the gateway refused something (its errors are printed).
import { createInterface } from 'node:readline';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const BASE = (process.env.PLANGRUPPE_URL ?? 'http://127.0.0.1:8000').replace(/\/$/, '');
const LIVE_TIMEOUT_MS = 30_000;

type Access = 'NONE' | 'READ' | 'WRITE';
type Section = 'participants' | 'goals' | 'activities' | 'messages' | 'calendar' | 'documents';
type AccessGrant = Record<Section, Access> & { editPerson: boolean; print: boolean };

interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; reason?: string; [key: string]: unknown };
}

class Refused extends Error {
  constructor(readonly errors: GraphQLError[]) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; '));
  }
}

// --- GraphQL over HTTP ------------------------------------------------------------------

let token: string | null = null;

/** One operation over HTTP. Any error in the answer is thrown: this client asks only for
 * what it may read, so a FORBIDDEN would be a bug in the client. */
async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: GraphQLError[] };
  if (body.errors?.length) throw new Refused(body.errors);
  if (body.data == null) throw new Error(`HTTP ${response.status} without data`);
  return body.data;
}

// --- 1. log in ------------------------------------------------------------------------------

async function readLine(prompt: string): Promise<string> {
  process.stderr.write(prompt); // a prompt, not output
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line.trim();
  }
  throw new Error('no code on standard input');
}

async function logIn(username: string, password: string): Promise<string> {
  const { login } = await gql<{
    login: { challengeId: string; channel: string; maskedDestination: string };
  }>(
    `mutation Login($u: String!, $p: String!) {
      login(username: $u, password: $p) { challengeId channel maskedDestination }
    }`,
    { u: username, p: password },
  );
  console.log(`Code sent by ${login.channel} to ${login.maskedDestination}.`);
  const code = process.env.PLANGRUPPE_CODE ?? (await readLine('One-time code: '));
  const { verifyLoginCode } = await gql<{
    verifyLoginCode: { token: string; person: { firstName: string; lastName: string } };
  }>(
    `mutation Verify($c: ID!, $code: String!) {
      verifyLoginCode(challengeId: $c, code: $code) { token person { firstName lastName } }
    }`,
    { c: login.challengeId, code },
  );
  token = verifyLoginCode.token;
  const me = verifyLoginCode.person;
  console.log(`Logged in as ${me.firstName} ${me.lastName}.`);
  return token;
}

// --- 2. my plans ----------------------------------------------------------------------------

interface PlanRow {
  id: string;
  shortName: string;
  type: string;
  status: string;
  consentExpiresOn: string | null;
  hasUnreadMessages: boolean;
}

async function listPlans(): Promise<PlanRow[]> {
  // The plan list's columns are plan header fields: everyone who sees a plan may read them.
  const { plans } = await gql<{ plans: { totalCount: number; edges: { node: PlanRow }[] } }>(
    `query MyPlans {
      plans(first: 20) {
        totalCount
        edges { node { id shortName type status consentExpiresOn hasUnreadMessages } }
      }
    }`,
  );
  console.log(`My plans (${plans.totalCount}):`);
  for (const { node } of plans.edges) {
    const unread = node.hasUnreadMessages ? ', new messages' : '';
    const consent = node.consentExpiresOn ? `, consent until ${node.consentExpiresOn}` : '';
    console.log(`  - ${node.shortName} [${node.type}, ${node.status}${consent}${unread}]`);
  }
  return plans.edges.map((e) => e.node);
}

// --- 3. open a plan -------------------------------------------------------------------------

const SECTIONS: Section[] = [
  'participants',
  'goals',
  'activities',
  'messages',
  'calendar',
  'documents',
];

// PersonField -> the Person field that shows it.
const PERSON_FIELDS: Record<string, string> = {
  BIRTH_DATE: 'birthDate',
  WORKPLACE: 'workplace',
  EMAIL: 'email',
  MOBILE: 'mobile',
  PHONE: 'phone',
  FAX: 'fax',
  ADDRESS: 'address { street postcode city }',
};

const readable = (access: Access): boolean => access !== 'NONE';

/** The selection for one plan: only the sections `myAccess` lets me read. */
function planSelection(my: AccessGrant): string {
  const parts: string[] = [];
  if (readable(my.participants)) {
    parts.push('participants { id role responsibility person { firstName lastName position } }');
  }
  if (readable(my.goals)) {
    // Activities sit under goals; ask for them only with ACTIVITIES >= READ too.
    const activities = readable(my.activities) ? 'activities { title status }' : '';
    parts.push(`goals { title status ${activities} subGoals { title status } }`);
  }
  if (readable(my.messages)) {
    parts.push('messages(first: 5) { edges { node { body createdAt author { role } } } }');
  }
  if (readable(my.calendar)) parts.push('calendar { title startsAt location }');
  if (readable(my.documents)) parts.push('documents { name contentType sizeBytes }');
  return parts.join('\n');
}

interface OpenedPlan {
  id: string;
  myAccess: AccessGrant;
}

async function openPlan(planId: string): Promise<OpenedPlan> {
  // First the header, my access, and which of the coordinator's contact fields I may read.
  const { plan } = await gql<{
    plan: {
      id: string;
      shortName: string;
      status: string;
      myAccess: AccessGrant;
      coordinator: { person: { id: string; firstName: string; lastName: string; visibleFields: string[] } } | null;
    };
  }>(
    `query PlanHeader($id: ID!) {
      plan(id: $id) {
        id shortName status
        myAccess { participants goals activities messages calendar documents editPerson print }
        coordinator { person { id firstName lastName visibleFields } }
      }
    }`,
    { id: planId },
  );
  const my = plan.myAccess;
  console.log(`\nOpened ${plan.shortName} (${plan.status})`);
  console.log(
    'My access: ' +
      SECTIONS.map((s) => `${s} ${my[s]}`).join(', ') +
      `; print ${my.print ? 'yes' : 'no'}`,
  );

  if (plan.coordinator) {
    const person = plan.coordinator.person;
    const fields = person.visibleFields.map((f) => PERSON_FIELDS[f]).filter(Boolean);
    let contact = '';
    if (fields.length) {
      const data = await gql<{ person: Record<string, unknown> }>(
        `query Contact($id: ID!) { person(id: $id) { ${fields.join(' ')} } }`,
        { id: person.id },
      );
      contact = Object.entries(data.person)
        .map(([k, v]) => `${k} ${typeof v === 'object' && v ? Object.values(v).join(' ') : v}`)
        .join(', ');
    }
    console.log(
      `Coordinator: ${person.firstName} ${person.lastName}` +
        ` (visible fields: ${person.visibleFields.join(', ') || 'none'})` +
        (contact ? `: ${contact}` : ''),
    );
  }

  // Then the sections, asking for nothing myAccess denies: the answer has no errors.
  const selection = planSelection(my);
  const { plan: body } = await gql<{ plan: Record<string, any> }>(
    `query PlanBody($id: ID!) { plan(id: $id) { id ${selection} } }`,
    { id: planId },
  );
  for (const section of SECTIONS) {
    if (!readable(my[section])) {
      console.log(`${title(section)}: not shown (myAccess ${section} NONE)`);
      continue;
    }
    if (section === 'activities') {
      const goals: any[] = body.goals ?? [];
      const count = goals.reduce((n, g) => n + (g.activities?.length ?? 0), 0);
      console.log(`Activities: ${count}${readable(my.goals) ? '' : ' (not reachable without GOALS)'}`);
      continue;
    }
    const value = section === 'messages' ? body.messages.edges.map((e: any) => e.node) : body[section];
    console.log(`${title(section)}: ${value.length}`);
    for (const item of value.slice(0, 5)) console.log(`  - ${describe(section, item)}`);
  }
  return { id: plan.id, myAccess: my };
}

const title = (section: string): string => section[0].toUpperCase() + section.slice(1);

function describe(section: Section, item: any): string {
  switch (section) {
    case 'participants':
      return `${item.person.firstName} ${item.person.lastName} (${item.role})`;
    case 'goals':
      return `${item.title} [${item.status}]`;
    case 'messages':
      return `${item.author.role}: ${item.body}`;
    case 'calendar':
      return `${item.startsAt} ${item.title}`;
    case 'documents':
      return `${item.name} (${item.contentType}, ${item.sizeBytes} bytes)`;
    default:
      return JSON.stringify(item);
  }
}

// --- 4. live messages -----------------------------------------------------------------------

interface LiveMessage {
  id: string;
  body: string;
  author: { role: string; person: { firstName: string } };
}

/** Subscribe to the plan's messages, post one, and resolve with it once it arrives live.
 *
 * graphql-transport-ws does not acknowledge a `subscribe`, so a client cannot know when its
 * subscription is live. A message posted in that first moment is not delivered; this example
 * therefore posts again (at most five times, two seconds apart) until one arrives. An app that
 * subscribes when a plan opens, long before the user has typed, does not need that. */
async function postAndReceive(client: Client, planId: string, text: string): Promise<LiveMessage> {
  const posted = new Set<string>();
  return new Promise<LiveMessage>((resolve, reject) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const finish = (fn: () => void) => {
      clearInterval(timer);
      unsubscribe();
      fn();
    };
    const unsubscribe = client.subscribe<{ messageAdded: LiveMessage }>(
      {
        query: `subscription Live($p: ID!) {
          messageAdded(planId: $p) { id body author { role person { firstName } } }
        }`,
        variables: { p: planId },
      },
      {
        next: ({ data, errors }) => {
          if (errors?.length) return finish(() => reject(new Refused([...errors] as GraphQLError[])));
          const message = data?.messageAdded;
          if (message && posted.has(message.id)) finish(() => resolve(message));
        },
        error: (err) => finish(() => reject(Array.isArray(err) ? new Refused(err) : err)),
        complete: () => finish(() => reject(new Error('the subscription ended'))),
      },
    );
    let tries = 0;
    const post = async () => {
      if (++tries > 5) return finish(() => reject(new Error('my message never arrived live')));
      const { postMessage } = await gql<{ postMessage: { id: string } }>(
        `mutation Post($p: ID!, $body: String!) { postMessage(planId: $p, body: $body) { id } }`,
        { p: planId, body: text },
      );
      posted.add(postMessage.id);
    };
    client.on('connected', () => {
      post().catch((e) => finish(() => reject(e)));
      timer = setInterval(() => post().catch((e) => finish(() => reject(e))), 2_000);
    });
  });
}

async function live(planId: string, my: AccessGrant, sessionToken: string): Promise<void> {
  if (!readable(my.messages)) {
    console.log('\nLive messages: not shown (myAccess messages NONE)');
    return;
  }
  if (my.messages !== 'WRITE') {
    console.log('\nLive messages: I may read but not post (myAccess messages READ)');
    return;
  }
  const client = createClient({
    url: BASE.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${sessionToken}` },
    retryAttempts: 0,
  });
  const text = process.env.PLANGRUPPE_MESSAGE ?? `Hei fra eksempelklienten (${new Date().toISOString()})`;
  const timeout = setTimeout(() => {
    console.error(`No live message within ${LIVE_TIMEOUT_MS} ms.`);
    process.exit(1);
  }, LIVE_TIMEOUT_MS);
  try {
    const message = await postAndReceive(client, planId, text);
    console.log(`\nLive: ${message.author.person.firstName} (${message.author.role}) wrote: ${message.body}`);
  } finally {
    clearTimeout(timeout);
    await client.dispose();
  }
}

// --- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const username = process.env.PLANGRUPPE_USERNAME;
  const password = process.env.PLANGRUPPE_PASSWORD;
  if (!username || !password) {
    throw new Error('set PLANGRUPPE_USERNAME and PLANGRUPPE_PASSWORD');
  }
  const sessionToken = await logIn(username, password);
  const plans = await listPlans();
  const planId = process.env.PLANGRUPPE_PLAN_ID ?? plans[0]?.id;
  if (!planId) {
    console.log('No plan to open.');
  } else {
    const opened = await openPlan(planId);
    await live(opened.id, opened.myAccess, sessionToken);
  }
  await gql<{ logout: boolean }>('mutation { logout }');
  console.log('Logged out.');
}

main().catch((err: unknown) => {
  if (err instanceof Refused) {
    console.error('The gateway refused:');
    for (const e of err.errors) console.error(`  ${JSON.stringify(e)}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
