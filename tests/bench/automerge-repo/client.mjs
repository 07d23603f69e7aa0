// The automerge-repo client of copnet's benchmarks: connects to the sync server over the
// websocket network adapter, with storage on disk, and asks for every document by id.
//
//   node client.mjs --url ws://127.0.0.1:PORT --ids FILE --storage DIR
//
// Run on an empty storage directory it replicates every document (S2); run again on the same
// directory it reconnects holding them all (S3). It counts the messages each way, waits until no
// message has moved for a second, and prints one JSON line.

import fs from "node:fs"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const arg = (name) => {
  const i = process.argv.indexOf(name)
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${name}`)
  return process.argv[i + 1]
}
const QUIET_MS = 1000

const ids = JSON.parse(fs.readFileSync(arg("--ids"), "utf8"))
const adapter = new WebSocketClientAdapter(arg("--url"))
const counts = { sent: 0, received: 0, bytes_received: 0 }
let last = performance.now()
const send = adapter.send.bind(adapter)
adapter.send = (message) => {
  counts.sent += 1
  last = performance.now()
  send(message)
}
const receive = adapter.receiveMessage.bind(adapter)
adapter.receiveMessage = (bytes) => {
  counts.received += 1
  counts.bytes_received += bytes.byteLength
  last = performance.now()
  receive(bytes)
}

const start = performance.now()
const repo = new Repo({ network: [adapter], storage: new NodeFSStorageAdapter(arg("--storage")) })
await adapter.whenReady()
// Asking for every document at once makes automerge-repo 2.5.6 give up on some ("Document … is
// unavailable") at a few thousand documents. "Unavailable" is not final there: the server may answer
// a request with `doc-unavailable` while it still loads the document from its storage, then sync it.
// So ask in slices, accept an unavailable handle, and wait for it to become ready.
const SLICE = 500
const handles = []
let unavailableAtFirst = 0
for (let i = 0; i < ids.length; i += SLICE) {
  const slice = ids.slice(i, i + SLICE)
  const found = await Promise.all(
    slice.map(async (id) => {
      const handle = await repo.find(id, { allowableStates: ["ready", "unavailable"] })
      if (!handle.isReady()) {
        unavailableAtFirst += 1
        await handle.whenReady(["ready"])
      }
      return handle
    }),
  )
  handles.push(...found)
}
const found = performance.now()
await repo.flush()
while (performance.now() - last < QUIET_MS) {
  await new Promise((resolve) => setTimeout(resolve, 50))
}
const usage = process.resourceUsage()
console.log(
  JSON.stringify({
    docs: handles.filter((h) => h.isReady()).length,
    unavailable_at_first: unavailableAtFirst,
    all_found_ms: found - start,
    last_message_ms: last - start,
    messages_sent: counts.sent,
    messages_received: counts.received,
    message_bytes_received: counts.bytes_received,
    peak_rss_bytes: usage.maxRSS * 1024,
  }),
)
process.exit(0)
