// Unit tests of the attachment upload (widget/uploads.js): admit → upload → complete, with a
// fake HTTP and a fake XMLHttpRequest (node --test widget/).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { sendFile } = require("./uploads.js");

const file = { name: "receipt.png", type: "image/png", size: 3 };

/** A fake XMLHttpRequest answering `status` (0: the network failed), remembering what it sent. */
function fakeXhr(status, sent) {
  return class {
    constructor() {
      this.headers = {};
      this.upload = {};
    }
    open(method, url) {
      Object.assign(sent, { method, url });
    }
    setRequestHeader(k, v) {
      this.headers[k] = v;
    }
    send(payload) {
      Object.assign(sent, { payload, headers: this.headers });
      this.upload.onprogress({ lengthComputable: true, loaded: 1, total: 2 });
      this.status = status;
      if (status === 0) this.onerror();
      else this.onload();
    }
  };
}

function fakeApi(target, completion) {
  const calls = [];
  const request = async (method, path, body) => {
    calls.push([method, path, body]);
    if (path.endsWith("/complete")) return completion;
    return { attachment_id: "att_1", upload: target };
  };
  return { request, calls };
}

test("a PUT target gets the file with its signed headers (not content-length); progress ends at 1", async () => {
  const sent = {};
  const progress = [];
  const target = { method: "PUT", url: "http://127.0.0.1/u", headers: { "x-sig": "s", "Content-Length": "3" } };
  const { request, calls } = fakeApi(target, { status: "clean" });
  const id = await sendFile({ request, conversationId: "c_1", file, onProgress: (f) => progress.push(f), XMLHttpRequest: fakeXhr(200, sent) });
  assert.equal(id, "att_1");
  assert.deepEqual(calls, [
    ["POST", "/v1/conversations/c_1/attachments", { file_name: "receipt.png", content_type: "image/png", size: 3 }],
    ["POST", "/v1/conversations/c_1/attachments/att_1/complete", {}],
  ]);
  assert.deepEqual([sent.method, sent.url, sent.payload, sent.headers], ["PUT", "http://127.0.0.1/u", file, { "x-sig": "s" }]);
  assert.deepEqual(progress, [0.5, 1]);
});

test("a POST target gets S3's form fields first and the file last", async () => {
  const sent = {};
  const target = { method: "POST", url: "https://bucket.s3/", fields: { key: "a/k", policy: "p" } };
  const { request } = fakeApi(target, { status: "clean" });
  const blob = new Blob(["abc"], { type: "image/png" });
  await sendFile({ request, conversationId: "c_1", file: Object.assign(blob, { name: "receipt.png" }), XMLHttpRequest: fakeXhr(204, sent) });
  assert.ok(sent.payload instanceof FormData);
  assert.deepEqual([...sent.payload.keys()], ["key", "policy", "file"]);
});

test("a file refused after upload rejects with its reason, and nothing is referenced", async () => {
  const { request } = fakeApi({ method: "PUT", url: "u" }, { status: "rejected", reason: "content does not match .png" });
  await assert.rejects(
    sendFile({ request, conversationId: "c_1", file, XMLHttpRequest: fakeXhr(200, {}) }),
    (e) => e.code === "rejected" && e.reason === "content does not match .png"
  );
});

test("a failed upload (status or network) rejects with upload_failed and never completes", async () => {
  for (const status of [403, 0]) {
    const { request, calls } = fakeApi({ method: "PUT", url: "u" }, { status: "clean" });
    await assert.rejects(
      sendFile({ request, conversationId: "c_1", file, XMLHttpRequest: fakeXhr(status, {}) }),
      (e) => e.code === "upload_failed" && e.status === status
    );
    assert.equal(calls.length, 1, "only the admission");
  }
});
