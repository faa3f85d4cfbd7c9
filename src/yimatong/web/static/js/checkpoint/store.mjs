// The device's IndexedDB: the signed lists exactly as received (``kv``) and the scan queue
// (``scans``, keyed by the scan id made on the device). Small promise wrappers, no library.
const DB = "ymt-checkpoint";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class Store {
  constructor(name = DB) {
    this.name = name;
    this.db = null;
  }
  async open() {
    if (this.db) return this;
    const req = indexedDB.open(this.name, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
      if (!db.objectStoreNames.contains("scans")) {
        const scans = db.createObjectStore("scans", { keyPath: "id" });
        scans.createIndex("state", "state");
      }
    };
    this.db = await request(req);
    return this;
  }
  async tx(store, mode, fn) {
    const t = this.db.transaction(store, mode);
    const result = await fn(t.objectStore(store));
    await new Promise((resolve, reject) => {
      t.oncomplete = resolve;
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
    return result;
  }
  get(key) {
    return this.tx("kv", "readonly", (s) => request(s.get(key)));
  }
  put(key, value) {
    return this.tx("kv", "readwrite", (s) => request(s.put(value, key)));
  }
  delete(key) {
    return this.tx("kv", "readwrite", (s) => request(s.delete(key)));
  }
  addScan(scan) {
    return this.tx("scans", "readwrite", (s) => request(s.add(scan)));
  }
  pending(limit = 200) {
    return this.tx("scans", "readonly", async (s) => {
      const all = await request(s.index("state").getAll("pending"));
      return all.sort((a, b) => a.seq - b.seq).slice(0, limit);
    });
  }
  ack(ids) {
    return this.tx("scans", "readwrite", async (s) => {
      for (const id of ids) await request(s.delete(id));
    });
  }
  reject(id, error) {
    return this.tx("scans", "readwrite", async (s) => {
      const scan = await request(s.get(id));
      if (scan) await request(s.put({ ...scan, state: "rejected", error: String(error).slice(0, 200) }));
    });
  }
  count(state = "pending") {
    return this.tx("scans", "readonly", (s) => request(s.index("state").count(state)));
  }
}
