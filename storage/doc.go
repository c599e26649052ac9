// Package storage is segd's durable store: a sequence-numbered log of
// opaque records (the write-ahead log of the in-memory engine) and
// generations of named, zstd-compressed snapshot parts, both kept in
// Badger. It imports no other segd package.
//
// # Use
//
// The server's single committer applies a group of writes to the engine,
// encodes each as a record and calls Append once for the group, then
// acknowledges the clients. A background SAVE takes the engine's parts at
// some seq and calls WriteSnapshot(seq, parts), which makes them current,
// drops the previous generation and truncates the log up to seq. At start-up
// the server calls LoadSnapshot, then Replay(seq) for the records after it.
//
// # Layout
//
// Dir/log is a Badger database holding the log, LSM-only (records are small
// and short-lived). Dir/snap is a second Badger database holding snapshot
// chunks (in its value log) and the meta key. Keeping them apart lets the
// snapshot side use DropPrefix to drop a dead generation, which is what
// gives Badger's value-log GC the statistics to reclaim it, without ever
// blocking Append. In memory (Options.InMemory) one database holds both.
// Key layout: see log.go.
//
// # Durability
//
// Badger copies every committed entry into MAP_SHARED memory mappings of
// its value log (value.go, valueLog.write: copy into curlf.Data) and of the
// memtable WAL (memtable.go, logFile.writeEntry: copy into lf.Data) inside
// the write goroutine, and txn.Commit returns only after that goroutine has
// processed the request (request.Wait). Shared file mappings are the page
// cache: from that moment the data belongs to the kernel and survives the
// death of the process (kill -9, panic, OOM kill) in every fsync mode.
// TestKill9 checks exactly this for the three modes, with snapshots being
// written at the time of the kill. Recovery replays WAL transactions only
// when their commit marker is present (logFile.iterate), so a batch is all
// or nothing.
//
// For power loss or a kernel crash:
//   - FsyncAlways opens the log database with SyncWrites: the commit msyncs
//     the WAL (an error fails the Append) before returning.
//   - FsyncEverySec calls db.Sync (msync of the active WAL) once a second
//     when something was appended. A memtable rotated out within that second
//     is synced when Badger flushes it to an SSTable (msync'd), normally
//     within the same second.
//   - FsyncNo leaves write-back to the OS.
//
// Snapshots use explicit sync barriers in every mode (all WALs and value
// logs of the snapshot database fsynced, plus the directory) before and
// after the meta switch, so the meta never names a generation whose data
// is not on disk and nothing old is deleted before the switch is durable.
//
// Open repairs what a crash can leave: a partially written split batch
// (m/pending), leftover or superseded generations, log records already
// covered by the snapshot, an interrupted Reset (marker file), and
// zero-length .mem/.vlog files that Badger itself cannot open
// (dgraph-io/badger#2207).
package storage
