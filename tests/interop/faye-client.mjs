// The Faye client (npm `faye`, an independent Bayeux implementation, long-polling) against
// chatprobe's simulator, as an agent: log in, put the session cookie and the CSRF token on every
// Faye request, subscribe to /v2/me/chats, then the flow of gws-agent.mjs. Prints every Bayeux
// message received as `MSG <json>`.
// Usage: node faye-client.mjs BASE_URL USER PASSWORD
import faye from 'faye';
import { CHANNEL, chatFlow, fail, logMessage, login } from './gws-agent.mjs';

const [base, user, password] = process.argv.slice(2);
setTimeout(() => fail('TIMEOUT'), 20000);

const headers = await login(base, user, password);
const client = new faye.Client(`${base}/api/v2/notifications`);
client.disable('websocket');
client.disable('eventsource');
client.disable('autodisconnect');
// The session cookie goes into Faye's own jar: a Cookie header would be replaced by the jar's
// as soon as the server sets a cookie of its own (CometD servers set BAYEUX_BROWSER). Faye has no
// public API for the jar.
const url = `${base}/api/v2/notifications`;
client._dispatcher.cookies.setCookieSync(headers.Cookie, url);
for (const [name, value] of Object.entries(headers)) if (name !== 'Cookie') client.setHeader(name, value);
client.addExtension({
  incoming: (m, callback) => {
    logMessage(m);
    callback(m);
    // The reply to our disconnect: the run is over.
    if (m.channel === '/meta/disconnect') process.exit(m.successful ? 0 : 1);
  },
});
const flow = chatFlow(base, headers, () => client.disconnect());
client.subscribe(CHANNEL, (data) => flow.event(data).catch((e) => fail(String(e))))
  .then(() => flow.subscribed().catch((e) => fail(String(e))), (e) => fail('subscribe ' + JSON.stringify(e)));
