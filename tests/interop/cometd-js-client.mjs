// The official CometD JavaScript client (npm `cometd`, long-polling through
// `cometd-nodejs-client`) against chatprobe's simulator: authenticate over HTTP, hand the
// session cookie to CometD, subscribe to /v2/me/chats, make the agent Ready, have a customer
// request a chat, and print the Invited notification the agent receives.
// Usage: node cometd-js-client.mjs BASE_URL USER PASSWORD
import { adapt } from 'cometd-nodejs-client';
import { CometD } from 'cometd';

adapt();
const [base, user, password] = process.argv.slice(2);
const deadline = setTimeout(() => { console.log('TIMEOUT'); process.exit(2); }, 20000);

const me = await fetch(`${base}/api/v2/me`, {
  headers: { Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') },
});
const cookie = (me.headers.get('set-cookie') || '').split(';')[0];
const csrfHeader = me.headers.get('x-csrf-header') || 'X-CSRF-TOKEN';
const csrf = me.headers.get('x-csrf-token');
if (!cookie || !csrf) { console.log('NO SESSION', me.status); process.exit(1); }

const post = (path, body, headers = {}) => fetch(`${base}${path}`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
}).then((r) => r.json());
const agentHeaders = { Cookie: cookie, [csrfHeader]: csrf };

const cometd = new CometD();
cometd.unregisterTransport('websocket');
cometd.unregisterTransport('callback-polling');
cometd.configure({ url: `${base}/api/v2/notifications`, requestHeaders: { Cookie: cookie } });
cometd.handshake((hs) => {
  if (!hs.successful) { console.log('HANDSHAKE FAILED', JSON.stringify(hs)); process.exit(1); }
  console.log('HANDSHAKE', JSON.stringify(hs));
  cometd.subscribe('/v2/me/chats', (message) => {
    console.log('EVENT', JSON.stringify(message));
    if (message.data && message.data.chat && message.data.chat.state === 'Invited') {
      cometd.disconnect(() => { clearTimeout(deadline); process.exit(0); });
    }
  }, async (sub) => {
    if (!sub.successful) { console.log('SUBSCRIBE FAILED', JSON.stringify(sub)); process.exit(1); }
    console.log('SUBSCRIBED', JSON.stringify(sub));
    await post('/api/v2/me', { operationName: 'StartContactCenterSession', channels: ['chat'] }, agentHeaders);
    await post('/api/v2/me/channels/chat', { operationName: 'Ready' }, agentHeaders);
    const chat = await post('/api/v2/chats', { operationName: 'RequestChat', nickname: 'Interop' }, { ContactCenterId: 'interop' });
    console.log('REQUESTED', JSON.stringify(chat));
  });
});
