// The checkpoint page's service worker: keeps the page and its files so the page opens and
// decides with no network (lists and scans live in IndexedDB, never here). The page itself is
// fetched network-first (a fresh sign-in state when online), its files cache-first; API calls
// are never cached. __ROOT__ is the node's path prefix (a hub-hosted region has one).
const ROOT = "__ROOT__";
const CACHE = "ymt-checkpoint-3";
const PAGE = `${ROOT}/checkpoint`;
const FILES = [
  "css/app.css",
  "css/checkpoint.css",
  "js/checkpoint/page.mjs",
  "js/checkpoint/verifier.mjs",
  "js/checkpoint/code.mjs",
  "js/checkpoint/base45.mjs",
  "js/checkpoint/jcs.mjs",
  "js/checkpoint/lists.mjs",
  "js/checkpoint/international.mjs",
  "js/checkpoint/dcc-schema.mjs",
  "js/checkpoint/dcc-valuesets.json",
  "js/checkpoint/policy.mjs",
  "js/checkpoint/texts.mjs",
  "js/checkpoint/clock.mjs",
  "js/checkpoint/store.mjs",
  "js/checkpoint/camera.mjs",
  "vendor/cborg/cborg.mjs",
  "vendor/certlogic-js/certlogic.mjs",
  "vendor/jsqr/jsqr.mjs",
].map((f) => `${ROOT}/static/${f}`);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([PAGE, ...FILES]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("ymt-checkpoint-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && !response.redirected) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(PAGE, copy));
          }
          return response;
        })
        .catch(() => caches.match(PAGE).then((hit) => hit || Response.error())),
    );
    return;
  }
  if (url.pathname.startsWith(`${ROOT}/static/`)) {
    // Stale while revalidate: the kept copy answers at once, a fresh one replaces it.
    event.respondWith(
      caches.open(CACHE).then(async (cache) => {
        const hit = await cache.match(request, { ignoreSearch: true });
        const fresh = fetch(request)
          .then((response) => {
            if (response.ok) cache.put(request, response.clone());
            return response;
          })
          .catch(() => hit || Response.error());
        return hit || fresh;
      }),
    );
  }
});
