// The automerge-repo sync server of copnet's benchmarks, set up as automerge-repo's own
// sync-server example: a websocket server adapter, storage on disk, and a share policy that
// syncs only the documents a client asks for.
//
//   node server.mjs --docs DIR --storage DIR --ids FILE
//
// Imports every DIR/*.automerge file (the documents copnet generated and exported), writes their
// automerge-repo ids to FILE, then prints one JSON line {"port": N, "docs": N} and serves.

import fs from "node:fs"
import path from "node:path"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const arg = (name) => {
  const i = process.argv.indexOf(name)
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${name}`)
  return process.argv[i + 1]
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 })
await new Promise((resolve) => wss.on("listening", resolve))
// The adapter's default keep-alive (a ping every 5 s, the socket dropped if no pong came back) drops
// a client whose event loop is busy for 5 s receiving thousands of documents, as happens at 10,000
// documents on 2 cores; a minute lets the transfer finish.
const KEEP_ALIVE_MS = 60_000
const repo = new Repo({
  network: [new WebSocketServerAdapter(wss, KEEP_ALIVE_MS)],
  storage: new NodeFSStorageAdapter(arg("--storage")),
  sharePolicy: async () => false,
})

const dir = arg("--docs")
const ids = []
for (const name of fs.readdirSync(dir).sort()) {
  if (!name.endsWith(".automerge")) continue
  const handle = repo.import(new Uint8Array(fs.readFileSync(path.join(dir, name))))
  ids.push(handle.documentId)
}
await repo.flush()
fs.writeFileSync(arg("--ids"), JSON.stringify(ids))
console.log(JSON.stringify({ port: wss.address().port, docs: ids.length }))
