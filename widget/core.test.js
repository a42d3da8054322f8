// Unit tests of the client core (widget/core.js), with node's own test runner:
//   node --test widget/
// Fetch, WebSocket and timers are fakes the tests drive; nothing touches the network.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { ApiError, createHttp, MessageLog, catchUp, connectSocket, uuid } = require("./core.js");

const message = (seq, text, conversationId = "c_1") => ({ conversation_id: conversationId, seq, text });

/** A fetch that answers from a list of [status, body, headers] (or throws for "down"). */
function scriptedFetch(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (next === "down") throw new TypeError("Failed to fetch");
    const [status, body, headers] = next;
    return {
      ok: status >= 200 && status < 300,
      status,
      text: async () => (typeof body === "string" ? body : JSON.stringify(body)),
      headers: { get: (name) => (headers || {})[name] || null },
    };
  };
  return { fetch, calls };
}

const noWait = [];
const http = (answers, extra) => {
  const scripted = scriptedFetch(answers);
  const request = createHttp({ base: "https://api.example/", token: () => "t0k", fetch: scripted.fetch, sleep: async (ms) => noWait.push(ms), ...extra });
  return { request, calls: scripted.calls };
};

test("a request sends the bearer and JSON and returns the parsed answer", async () => {
  const { request, calls } = http([[200, { ok: 1 }]]);
  assert.deepEqual(await request("POST", "/v1/x", { a: 1 }), { ok: 1 });
  assert.equal(calls[0].url, "https://api.example/v1/x");
  assert.equal(calls[0].init.headers.authorization, "Bearer t0k");
  assert.equal(calls[0].init.headers["content-type"], "application/json");
  assert.equal(calls[0].init.body, '{"a":1}');
});

test("an error answer becomes an ApiError with the API's code; a non-JSON one with http_<status>", async () => {
  const { request } = http([[422, { error: { code: "bad_field", message: "nope" } }], [404, "<html>"]]);
  await assert.rejects(request("POST", "/v1/x", {}), (e) => e instanceof ApiError && e.status === 422 && e.code === "bad_field" && e.message === "nope");
  await assert.rejects(request("POST", "/v1/x", {}), (e) => e.status === 404 && e.code === "http_404");
});

test("a network failure is wrapped as code network (never a raw TypeError)", async () => {
  const { request } = http(["down"], { networkMessage: "Cannot reach support right now." });
  await assert.rejects(request("POST", "/v1/x", {}), (e) => e instanceof ApiError && e.status === 0 && e.code === "network" && e.message === "Cannot reach support right now.");
});

test("a GET is retried after a network failure and a 503, then succeeds", async () => {
  noWait.length = 0;
  const { request, calls } = http(["down", [503, {}], [200, { fine: true }]]);
  assert.deepEqual(await request("GET", "/v1/x"), { fine: true });
  assert.equal(calls.length, 3);
  assert.deepEqual(noWait, [300, 600]);
});

test("a 429 waits for the server's Retry-After", async () => {
  noWait.length = 0;
  const { request } = http([[429, { error: { code: "rate_limited" } }, { "retry-after": "2" }], [200, {}]]);
  await request("GET", "/v1/x");
  assert.deepEqual(noWait, [2000]);
});

test("retries stop after the limit and the last error is thrown", async () => {
  const { request, calls } = http(["down", "down", "down", "down"]);
  await assert.rejects(request("GET", "/v1/x"), (e) => e.code === "network");
  assert.equal(calls.length, 3);
});

test("a POST is not repeated unless marked retry; a 4xx is never repeated", async () => {
  let h = http(["down", [200, {}]]);
  await assert.rejects(h.request("POST", "/v1/x", {}), (e) => e.code === "network");
  assert.equal(h.calls.length, 1);
  h = http(["down", [200, { sent: 1 }]]);
  assert.deepEqual(await h.request("POST", "/v1/x", {}, { retry: true }), { sent: 1 });
  h = http([[400, {}], [200, {}]]);
  await assert.rejects(h.request("GET", "/v1/x"), (e) => e.status === 400);
  assert.equal(h.calls.length, 1);
});

test("an explicit null token sends no authorization", async () => {
  const { request, calls } = http([[200, {}]]);
  await request("GET", "/v1/widget/config", undefined, { token: null });
  assert.equal(calls[0].init.headers.authorization, undefined);
});

test("the log keeps each seq once, in order, and only its own conversation", () => {
  const log = new MessageLog("c_1");
  assert.equal(log.add(message(3, "c")), true);
  assert.equal(log.add(message(1, "a")), true);
  assert.equal(log.add(message(3, "c again")), false);
  assert.equal(log.add(message(2, "b", "c_other")), false);
  assert.equal(log.add(message(2, "b")), true);
  assert.deepEqual(log.messages.map((m) => m.text), ["a", "b", "c"]);
  assert.equal(log.lastSeq, 3);
  assert.equal(log.oldestSeq, 1);
});

test("a redaction replaces its seq in place, or adds it when not loaded", () => {
  const log = new MessageLog("c_1");
  log.add(message(1, "secret"));
  assert.equal(log.replace({ ...message(1, ""), redacted: true }), true);
  assert.deepEqual(log.messages.map((m) => m.redacted === true), [true]);
  assert.equal(log.replace({ ...message(2, ""), redacted: true }), true);
  assert.equal(log.messages.length, 2);
});

test("catch-up pages from the last seq until a short page, adding only new messages", async () => {
  const log = new MessageLog("c_1");
  log.add(message(1, "known"));
  const asked = [];
  const pages = [
    { messages: [message(1, "known"), message(2, "b")] },
    { messages: [message(3, "c")] },
  ];
  const request = async (method, path) => {
    asked.push(path);
    return pages.shift();
  };
  assert.equal(await catchUp(request, log, 2), 2);
  assert.deepEqual(asked, [
    "/v1/conversations/c_1/messages?after_seq=1&limit=2",
    "/v1/conversations/c_1/messages?after_seq=2&limit=2",
  ]);
  assert.deepEqual(log.messages.map((m) => m.seq), [1, 2, 3]);
});

/** WebSocket and timer fakes: the test opens, delivers and closes sockets by hand. */
function fakeNetwork() {
  const sockets = [];
  const timers = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      sockets.push(this);
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close() {
      this.onclose && this.onclose();
    }
  }
  const setTimeout = (fn, ms) => timers.push({ fn, ms });
  const fire = () => timers.shift().fn();
  return { sockets, timers, FakeSocket, setTimeout, fire };
}

test("frames are parsed and a repeated frame id is dropped; garbage is ignored", () => {
  const net = fakeNetwork();
  const frames = [];
  connectSocket({ url: () => "wss://x", WebSocket: net.FakeSocket, setTimeout: net.setTimeout, onFrame: (f) => frames.push(f) });
  const s = net.sockets[0];
  s.onopen();
  s.onmessage({ data: '{"id":"f1","type":"message.created"}' });
  s.onmessage({ data: '{"id":"f1","type":"message.created"}' });
  s.onmessage({ data: "not json" });
  s.onmessage({ data: '{"type":"typing"}' });
  assert.deepEqual(frames.map((f) => f.type), ["message.created", "typing"]);
});

test("a closed socket reconnects with doubling back-off, reset once up, with a fresh url", () => {
  const net = fakeNetwork();
  let token = "a";
  let ups = 0;
  let downs = 0;
  connectSocket({
    url: () => "wss://x?token=" + token,
    WebSocket: net.FakeSocket,
    setTimeout: net.setTimeout,
    onFrame() {},
    onUp: () => ups++,
    onDown: () => downs++,
  });
  net.sockets[0].onclose();
  net.fire();
  net.sockets[1].onclose();
  net.fire();
  net.sockets[2].onclose();
  assert.deepEqual(net.timers.map((t) => t.ms), [2000]);
  token = "b";
  net.fire();
  assert.equal(net.sockets[3].url, "wss://x?token=b");
  net.sockets[3].onopen();
  assert.equal(ups, 1);
  net.sockets[3].onclose();
  assert.equal(downs, 4);
  assert.deepEqual(net.timers.map((t) => t.ms), [500]);
});

test("send works only while up; close() stops reconnecting", () => {
  const net = fakeNetwork();
  const c = connectSocket({ url: () => "wss://x", WebSocket: net.FakeSocket, setTimeout: net.setTimeout, onFrame() {} });
  assert.equal(c.send({ action: "subscribe" }), false);
  net.sockets[0].onopen();
  assert.equal(c.up, true);
  assert.equal(c.send({ action: "subscribe", conversation_id: "c_1" }), true);
  assert.deepEqual(net.sockets[0].sent, [{ action: "subscribe", conversation_id: "c_1" }]);
  c.close();
  assert.equal(c.up, false);
  assert.equal(net.timers.length, 0);
});

test("uuid is a version 4 UUID, also where randomUUID is missing", () => {
  const pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(uuid(), pattern);
  const randomUUID = crypto.randomUUID;
  try {
    crypto.randomUUID = undefined;
    const ids = new Set([uuid(), uuid(), uuid()]);
    for (const id of ids) assert.match(id, pattern);
    assert.equal(ids.size, 3);
  } finally {
    crypto.randomUUID = randomUUID;
  }
});
