// The official CometD JavaScript client (npm `cometd`, long-polling through
// `cometd-nodejs-client`) against chatprobe's simulator, as an agent: log in, hand the session
// cookie and the CSRF token to CometD (sent on every CometD request), subscribe to /v2/me/chats,
// then the flow of gws-agent.mjs. Prints every Bayeux message received as `MSG <json>`.
// Usage: node cometd-js-client.mjs BASE_URL USER PASSWORD
import { adapt } from 'cometd-nodejs-client';
import { CometD } from 'cometd';
import { CHANNEL, chatFlow, fail, logMessage, login } from './gws-agent.mjs';

adapt();
const [base, user, password] = process.argv.slice(2);
setTimeout(() => fail('TIMEOUT'), 20000);

const headers = await login(base, user, password);
const cometd = new CometD();
cometd.unregisterTransport('websocket');
cometd.unregisterTransport('callback-polling');
cometd.registerExtension('log', { incoming: (m) => (logMessage(m), m) });
cometd.configure({ url: `${base}/api/v2/notifications`, requestHeaders: headers });
const flow = chatFlow(base, headers, () => cometd.disconnect(() => process.exit(0)));
cometd.handshake((hs) => {
  if (!hs.successful) fail('handshake ' + JSON.stringify(hs));
  cometd.subscribe(CHANNEL, (m) => flow.event(m.data).catch((e) => fail(String(e))), (sub) => {
    if (!sub.successful) fail('subscribe ' + JSON.stringify(sub));
    flow.subscribed().catch((e) => fail(String(e)));
  });
});
