// A real CometD server (npm `cometd-nodejs-server`, with its ack extension installed) behind a
// thin GWS-shaped front, for tests/it/interop/cometd_server.rs to run chatprobe's Bayeux client
// against. Only the protocol layer is real here; the GWS parts are stubs:
//   GET  /api/v2/diagnostics/version  opens an anonymous HTTP session (cookie + CSRF token)
//   GET  /api/v2/me                    Basic login: a NEW session id and a NEW token (rotation)
//   POST /api/v2/notifications[/...]   CSRF enforced (403 otherwise), then handed to CometD
// Test hooks (no auth), each answering JSON:
//   GET  /test/state                   what the server saw (see `state` below)
//   POST /test/publish                 body: data, published on /v2/me/chats
//   POST /test/drop                    body: data (optional), queued to every session, then every
//                                      session disconnected server-side (the next connect is a 402)
//   POST /test/on-subscribe            body: data, delivered to the next session that subscribes,
//                                      from inside the subscribe: it rides on the subscribe reply
//   POST /test/on-handshake            body: data, put in front of the next handshake reply
//   POST /test/advise                  body: advice, merged into the next /meta/connect reply
//   POST /test/deny-handshakes         the security policy refuses every handshake from now on
// Usage: node gws-cometd-front.cjs '{"timeout":10000,"interval":0,"user":"agent1","password":"pw"}'
// Prints `LISTENING <port>` once bound to 127.0.0.1 on a free port.
'use strict';
const http = require('http');
const crypto = require('crypto');
const { performance } = require('perf_hooks');
const cometd = require('cometd-nodejs-server');
const { AcknowledgedMessagesExtension } = require('cometd-nodejs-server/ack-extension');

const opts = JSON.parse(process.argv[2] || '{}');
const USER = opts.user || 'agent1';
const PASSWORD = opts.password || 'password';
const CSRF_HEADER = opts.csrfHeader || 'X-CSRF-TOKEN';
const CHANNEL = '/v2/me/chats';
const NOTIFICATIONS = '/api/v2/notifications';

const server = cometd.createCometDServer({
  timeout: opts.timeout ?? 10000,
  interval: opts.interval ?? 0,
  maxInterval: opts.maxInterval ?? 15000,
});
server.addExtension(new AcknowledgedMessagesExtension());

// What the tests read back.
const state = {
  current: null,         // {session, token} of the last login
  csrfRefused: [],       // {path, reason}
  bayeuxPosts: [],       // {channel, clientId, session, token, ext}
  handshakes: 0,         // handshake replies written
  resumedByEvent: 0,     // held connects woken by a delivery
  held: {},              // clientId -> whether a connect is held now
  queued: [],            // data of every non-meta message queued to a session
  connectGaps: [],       // ms from a connect answer being written to that client's next connect
  handshakeExts: [],     // ext of every handshake reply
};
const lastConnectAnswer = {};   // clientId -> performance.now() at writing
const armed = { onSubscribe: null, onHandshake: null, advise: null, denyHandshakes: false };
const sessions = {};            // cometd sessions by id

server.policy = {
  canHandshake: (session, message, callback) => callback(undefined, !armed.denyHandshakes),
};
server.addListener('sessionAdded', (session) => {
  sessions[session.id] = session;
  session.addListener('suspended', () => { state.held[session.id] = true; });
  session.addListener('resumed', (s, m, expired) => {
    state.held[session.id] = false;
    if (!expired) state.resumedByEvent += 1;
  });
});
server.addListener('sessionRemoved', (session) => { delete sessions[session.id]; delete state.held[session.id]; });
server.addListener('subscribed', (channel, session) => {
  if (armed.onSubscribe !== null && channel.name === CHANNEL) {
    const data = armed.onSubscribe;
    armed.onSubscribe = null;
    session.deliver(null, CHANNEL, data);
  }
});
server.addExtension({
  outgoing: (srv, sender, session, message, callback) => {
    if (!message.channel.startsWith('/meta/') && message.data !== undefined) state.queued.push(message.data);
    if (message.channel === '/meta/connect' && armed.advise) {
      message.advice = Object.assign(message.advice || {}, armed.advise);
      armed.advise = null;
    }
    callback(undefined, true);
  },
});

// GWS-shaped HTTP sessions: JSESSIONID -> {user, token}.
const httpSessions = {};
const fresh = () => crypto.randomBytes(12).toString('hex');
function cookieOf(req) {
  const m = /(?:^|;\s*)JSESSIONID=([^;]+)/.exec(req.headers.cookie || '');
  return m && httpSessions[m[1]] ? m[1] : null;
}
function open(user) {
  const id = fresh();
  httpSessions[id] = { user, token: fresh() };
  return id;
}
function handOut(res, id, status, body) {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Set-Cookie': `JSESSIONID=${id}; Path=/; HttpOnly`,
    'X-CSRF-HEADER': CSRF_HEADER,
    [CSRF_HEADER]: httpSessions[id].token,
  });
  res.end(JSON.stringify(body));
}
function basicOk(req) {
  const m = /^Basic (.+)$/.exec(req.headers.authorization || '');
  return !!m && Buffer.from(m[1], 'base64').toString() === `${USER}:${PASSWORD}`;
}
function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
function readBody(req, then) {
  let b = '';
  req.on('data', (c) => { b += c; });
  req.on('end', () => then(b));
}

// Time the gaps between connects, note each handshake reply's ext, inject the armed handshake event.
function watchBayeux(req, res, messages) {
  const first = messages[0] || {};
  const clientId = first.clientId;
  if (first.channel === '/meta/connect' && lastConnectAnswer[clientId] !== undefined) {
    state.connectGaps.push(performance.now() - lastConnectAnswer[clientId]);
  }
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    let body = chunk;
    if (first.channel === '/meta/handshake' && typeof chunk === 'string' && chunk.startsWith('[')) {
      const written = JSON.parse(chunk);
      state.handshakes += 1;
      written.forEach((m) => { if (m.channel === '/meta/handshake') state.handshakeExts.push(m.ext ?? null); });
      if (armed.onHandshake !== null) {
        body = JSON.stringify([{ channel: CHANNEL, data: armed.onHandshake }, ...written]);
        armed.onHandshake = null;
      }
    }
    if (first.channel === '/meta/connect') lastConnectAnswer[clientId] = performance.now();
    return end(body, ...rest);
  };
}

const front = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://front');
  const path = url.pathname;
  if (path.startsWith('/test/')) return hook(req, res, path);
  if (req.method === 'GET') {
    const known = cookieOf(req);
    if (path === '/api/v2/me') {
      const loggedIn = known && httpSessions[known].user;
      if (!loggedIn && !basicOk(req)) return json(res, 401, { statusCode: 20, statusMessage: 'Not authenticated' });
      let id = known;
      if (!loggedIn) {
        // The login replaces the session (id and token), as Spring Security does.
        if (known) delete httpSessions[known];
        id = open(USER);
        state.current = { session: id, token: httpSessions[id].token };
      }
      return handOut(res, id, 200, { statusCode: 0, user: { id: 'u1', userName: USER } });
    }
    if (path === '/api/v2/diagnostics/version') {
      return handOut(res, known || open(null), 200, { statusCode: 0, version: '8.5.200.50' });
    }
    return json(res, 404, { statusCode: 4 });
  }
  if (req.method === 'POST' && (path === NOTIFICATIONS || path.startsWith(NOTIFICATIONS + '/'))) {
    const id = cookieOf(req);
    const sent = req.headers[CSRF_HEADER.toLowerCase()];
    const expected = id && httpSessions[id].user ? httpSessions[id].token : null;
    if (!expected || sent !== expected) {
      state.csrfRefused.push({ path, reason: !id ? 'no session' : !expected ? 'not logged in' : 'wrong token' });
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      return res.end('Missing or invalid Csrf token');
    }
    return readBody(req, (raw) => {
      let parsed = null;
      try { parsed = JSON.parse(raw); } catch (e) { /* answered below */ }
      if (parsed === null || typeof parsed !== 'object') { res.writeHead(400); return res.end(); }
      const messages = [].concat(parsed);
      messages.forEach((m) => state.bayeuxPosts.push({
        channel: m.channel, clientId: m.clientId ?? null, session: id, token: sent, ext: m.ext ?? null,
      }));
      watchBayeux(req, res, messages);
      // CometD takes a body already read as `request.body`.
      req.body = parsed;
      server.handle(req, res);
    });
  }
  json(res, 404, { statusCode: 4 });
});

function hook(req, res, path) {
  if (req.method === 'GET' && path === '/test/state') return json(res, 200, state);
  readBody(req, (b) => {
    let data = null;
    try { data = b ? JSON.parse(b) : null; } catch (e) { return json(res, 400, { error: String(e) }); }
    switch (path) {
      case '/test/publish':
        // Looked up each time: an idle channel is swept, a cached object goes stale.
        server.createServerChannel(CHANNEL).publish(null, data);
        return json(res, 200, { ok: true });
      case '/test/drop': {
        const ids = Object.keys(sessions);
        const held = ids.filter((id) => state.held[id]);
        for (const id of ids) {
          const s = sessions[id];
          if (data !== null) s.deliver(null, CHANNEL, data);
          s.disconnect();
        }
        return json(res, 200, { dropped: ids.length, held: held.length });
      }
      case '/test/on-subscribe': armed.onSubscribe = data; return json(res, 200, { ok: true });
      case '/test/on-handshake': armed.onHandshake = data; return json(res, 200, { ok: true });
      case '/test/advise': armed.advise = data; return json(res, 200, { ok: true });
      case '/test/deny-handshakes': armed.denyHandshakes = true; return json(res, 200, { ok: true });
      default: return json(res, 404, { error: `no hook ${path}` });
    }
  });
}

front.timeout = 120000;
front.listen(0, '127.0.0.1', () => console.log(`LISTENING ${front.address().port}`));
