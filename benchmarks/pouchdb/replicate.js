// PouchDB on both ends of the shaped link of benchmarks/slow_link.py.
//
//   node replicate.js serve DIR RECORDS   loads RECORDS (one {"id", "record"} JSON a line)
//                                         into a LevelDB PouchDB in DIR, serves it with
//                                         express-pouchdb and prints {"port"}
//   node replicate.js pull DIR URL BATCH  replicates URL into a LevelDB PouchDB in DIR,
//                                         BATCH changes a request (PouchDB's default: 100),
//                                         and prints {"seconds", "cpu_seconds", "peak_mb", "pulled"}

import { createReadStream, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import PouchDB from "pouchdb";

const require = createRequire(import.meta.url);
const BULK = 5000;

/** @param {string} dir @param {string} records */
async function serve(dir, records) {
  mkdirSync(dir, { recursive: true });
  const Server = PouchDB.defaults({ prefix: `${dir}/` });
  const app = require("express-pouchdb")(Server, {
    configPath: join(dir, "config.json"),
    logPath: join(dir, "log.txt"),
  });
  const db = new Server("accounts");
  let batch = [];
  for await (const line of createInterface({ input: createReadStream(records) })) {
    const { id, record } = JSON.parse(line);
    batch.push({ _id: id, ...record });
    if (batch.length === BULK) {
      await db.bulkDocs(batch);
      batch = [];
    }
  }
  if (batch.length) await db.bulkDocs(batch);
  const listener = app.listen(0, "127.0.0.1", () => {
    console.log(JSON.stringify({ port: listener.address().port }));
  });
}

/** @param {string} dir @param {string} url @param {number} batch */
async function pull(dir, url, batch) {
  mkdirSync(dir, { recursive: true });
  const device = new PouchDB(join(dir, "device"));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await device.replicate.from(url, { batch_size: batch });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await device.close();
  console.log(
    JSON.stringify({
      seconds,
      cpu_seconds: (used.user + used.system) / 1e6,
      peak_mb: process.resourceUsage().maxRSS / 1024,
      pulled: result.docs_written,
    }),
  );
}

const [command, dir, arg, batch] = process.argv.slice(2);
if (command === "serve") await serve(dir, arg);
else if (command === "pull") await pull(dir, arg, Number(batch ?? 100));
else throw new Error(`unknown command ${command}`);
