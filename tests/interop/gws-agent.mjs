// What both Node peers (cometd-js-client.mjs, faye-client.mjs) do around their Bayeux client,
// against chatprobe's simulator: the agent's Basic login (the session cookie and the CSRF token
// from the answer to the login, after any rotation), the agent's and customer's HTTP requests, and
// the flow: once subscribed, the agent goes Ready and a customer requests a chat; on the Invited
// offer the agent accepts and the customer says something; the NewMessages carrying it ends the
// run. Every Bayeux message the peer receives is printed as one `MSG <json>` line.

export const CHANNEL = '/v2/me/chats';
const TEXT = 'hello from the interop customer';

export async function login(base, user, password) {
  const me = await fetch(`${base}/api/v2/me`, {
    headers: { Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') },
  });
  const cookie = me.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('JSESSIONID='));
  const csrfHeader = me.headers.get('x-csrf-header') || 'X-CSRF-TOKEN';
  const csrf = me.headers.get(csrfHeader);
  if (me.status !== 200 || !cookie || !csrf) fail(`login: HTTP ${me.status}, cookie ${cookie}, ${csrfHeader} ${csrf}`);
  // The headers every agent request, CometD's included, must carry.
  return { Cookie: cookie, [csrfHeader]: csrf };
}

export function fail(why) {
  console.log('FAILED', why);
  process.exit(1);
}

export function logMessage(message) {
  console.log('MSG ' + JSON.stringify(message));
}

async function post(base, path, body, headers) {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const answer = await r.json().catch(() => null);
  if (r.status !== 200 || !answer || answer.statusCode !== 0) fail(`POST ${path}: HTTP ${r.status} ${JSON.stringify(answer)}`);
  return answer;
}

/// The agent and customer side of the run; `done` is called once the NewMessages arrived.
export function chatFlow(base, agentHeaders, done) {
  const customer = { ContactCenterId: 'interop' };
  let customerChat = null;
  let accepted = false;
  let finished = false;
  return {
    async subscribed() {
      await post(base, '/api/v2/me', { operationName: 'StartContactCenterSession', channels: ['chat'] }, agentHeaders);
      await post(base, '/api/v2/me/channels/chat', { operationName: 'Ready' }, agentHeaders);
      const chat = await post(base, '/api/v2/chats', { operationName: 'RequestChat', nickname: 'Interop' }, customer);
      customerChat = chat.id;
    },
    async event(data) {
      if (!data) return;
      if (data.notificationType === 'StatusChange' && data.chat && data.chat.state === 'Invited' && !accepted) {
        accepted = true;
        await post(base, `/api/v2/me/chats/${data.chat.id}`, { operationName: 'Accept', nickname: 'Agent' }, agentHeaders);
        await post(base, `/api/v2/chats/${customerChat}`, { operationName: 'SendMessage', text: TEXT }, customer);
      }
      const said = data.notificationType === 'NewMessages' && (data.messages || []).some((m) => m.text === TEXT);
      if (said && !finished) {
        finished = true;
        done();
      }
    },
  };
}
